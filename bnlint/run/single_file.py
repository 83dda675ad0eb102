"""Linting one file's text on its own (flake8, the language server): the text may be unsaved, and the
cross-module facts the CLI gets from the whole tree come from the local modules it imports
(``bnlint.analysis.local_imports``, read from disk and cached per process)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Iterable, List, Optional

from bnlint.core.diagnostics import Diagnostic, Location
from bnlint.core.codes import PARSE_ERROR
from bnlint.core.settings import Settings
from bnlint.source.reading import SourceError, SourceFile


@dataclass
class FileLint:
    diagnostics: List[Diagnostic] = field(default_factory=list)
    source: Optional[SourceFile] = None
    info: object = None  # the ModuleInfo (None when the file cannot matter or did not parse)
    dependencies: list = field(default_factory=list)  # ModuleInfos of the local modules it imports


def problem(filename: str, message: str, row: int = 1, col: int = 1) -> Diagnostic:
    return Diagnostic(code=PARSE_ERROR, message=message, filename=filename, location=Location(row, col))


def lint_text(filename: str, text: str, settings: Settings, *, tree: Optional[ast.AST] = None,
              codes: Optional[Iterable[str]] = None, source: Optional[SourceFile] = None,
              noqa: bool = True, pieces=None) -> FileLint:
    """Findings of ``text`` as the file ``filename``, sorted. ``tree``: CPython's AST when the
    caller has it (flake8); ``codes``: the rules to run (None: all); ``source``: the SourceFile to
    analyse as (a notebook's, whose ``text`` is its cell text); ``noqa``: apply ``# noqa`` (flake8
    does that itself); ``pieces``: a ``reparse.StatementCache`` for this buffer (editors). A file
    CPython rejects is reported (BNL900) only when it can matter to BN."""
    if pieces is not None:
        with pieces.memo.active():
            return _lint_text(filename, text, settings, tree, codes, source, noqa, pieces)
    return _lint_text(filename, text, settings, tree, codes, source, noqa, pieces)


def _lint_text(filename, text, settings, tree, codes, source, noqa, pieces) -> FileLint:
    from bnlint.source.discover import code_ast, prefilter, uses_bn
    from bnlint.lint.check import noqa_filter, run_rules
    from bnlint.analysis.parse import parse
    from bnlint.analysis.local_imports import dependency_modules, package_name

    compiled = tree is not None or (tree := code_ast(text)) is not None
    out = FileLint()
    raw = text.encode("utf-8", "surrogateescape")
    if compiled:
        out.dependencies = dependency_modules(filename, tree, text)
    if not out.dependencies and not (prefilter(raw) and (not compiled or uses_bn(tree))):
        return out
    src = source or SourceFile(path=filename, raw=raw, text=text, encoding="utf-8", bom=False)
    modname = package_name(filename)[0]
    try:
        out.info = pieces.info(text, tree, filename, modname) if pieces is not None and compiled else None
        if out.info is None:
            out.info = parse(src, modname, compiles=compiled)
    except SourceError as exc:
        out.diagnostics = [problem(filename, f"bnlint cannot analyse this file: {exc}", exc.row, exc.col)]
        return out
    out.source = src
    if compiled:
        from bnlint.fix.edits import _memo

        _memo(out.info)["cpython_tree"] = (text, tree)  # the fix checks need it too (rule.checked_fix)
    diags = run_rules([out.info, *out.dependencies], settings, codes=codes, only=[out.info])  # imports: facts only
    if noqa:
        diags = noqa_filter(diags, {filename: src})
    out.diagnostics = sorted(diags, key=Diagnostic.sort_key)
    return out
