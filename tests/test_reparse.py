"""The language server's statement-by-statement re-parse (bnlint.analysis.reparse) gives the same findings,
positions and fixes as a whole parse, on every test program and after edits."""

import ast
import glob
import os

import pytest

from bnlint.analysis.reparse import StatementCache
from bnlint.core.settings import Settings
from bnlint.run.single_file import lint_text

PROGRAMS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "programs", "**", "*.py"), recursive=True))


def _same(path, text, cache):
    whole = lint_text(path, text, Settings())
    pieces = lint_text(path, text, Settings(), pieces=cache)
    assert [(d.code, d.location, d.end_location, d.message, d.fix) for d in pieces.diagnostics] == \
        [(d.code, d.location, d.end_location, d.message, d.fix) for d in whole.diagnostics]
    return pieces


@pytest.mark.parametrize("path", PROGRAMS, ids=os.path.basename)
def test_pieces_match_the_whole_parse(path):
    text = open(path, encoding="utf-8").read()
    cache = StatementCache()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        pytest.skip("Python 2 program: parsed whole")
    info = cache.info(text, tree, path, "m")
    if not tree.body:  # an empty module (a package's __init__.py) is parsed whole, by design
        assert info is None
        _same(path, text, cache)
        return
    assert info is not None and info.module.code == text  # the assembled module prints back as the text
    _same(path, text, cache)
    # Edits: a line added at the top, a statement changed in the middle, a comment at the end.
    lines = text.splitlines(keepends=True)
    middle = len(lines) // 2
    for edited in ("# edited\n" + text, "".join(lines[:middle] + ["\n", "x_edit = 1\n"] + lines[middle:]),
                   text + "\n# trailing comment\n"):
        try:
            ast.parse(edited)
        except SyntaxError:
            continue  # the middle of a bracket: not a valid edit
        _same(path, edited, cache)


def test_mixed_indentation_units_fall_back_to_the_whole_parse():
    text = "def f():\n    return 1\n\n\ndef g():\n  return 2\n"
    assert StatementCache().info(text, ast.parse(text), "m.py", "m") is None


def _examples():
    import textwrap

    from bnlint.lint.registry import all_rules

    for code, rule in all_rules().items():
        for i, ex in enumerate(rule.INVALID):
            yield code, i, textwrap.dedent(getattr(ex, "code", ex)).lstrip("\n")


@pytest.mark.parametrize("code,i,src", list(_examples()), ids=lambda v: str(v)[:12])
def test_rule_examples_match_the_whole_parse(tmp_path, code, i, src):
    path = str(tmp_path / "example.py")
    try:
        ast.parse(src)
    except SyntaxError:
        pytest.skip("not Python 3")
    settings = Settings(select=["ALL"])
    cache = StatementCache()
    whole = lint_text(path, src, settings)
    pieces = lint_text(path, src, settings, pieces=cache)
    assert [(d.code, d.location, d.end_location, d.message, d.fix) for d in pieces.diagnostics] == \
        [(d.code, d.location, d.end_location, d.message, d.fix) for d in whole.diagnostics]
