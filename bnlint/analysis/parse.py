"""Parsing one decoded file into the ``ModuleInfo`` every rule reads (libcst, with a Python 2
fallback for analysis only).
"""

from __future__ import annotations

from bnlint.source.reading import SourceError, SourceFile, parse_module


def parse(src: SourceFile, modname: str, compiles: bool = False):
    """ModuleInfo for a decoded source, or raise SourceError with the parser's reason (CPython's
    message and position; Python 2 files are analysed through a line-preserving rendering).
    ``compiles``: CPython already compiled this text (see ``code_ast``)."""
    from bnlint.analysis.module_info import ModuleInfo

    module, python2 = parse_module(src.text, compiles)
    try:
        return ModuleInfo(module, src.path, modname, python2=python2)
    except RecursionError:
        raise SourceError("expression nesting too deep to analyse") from None
