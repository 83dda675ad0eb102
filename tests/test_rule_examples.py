"""Every rule's VALID and INVALID examples, run as tests (Fixit style)."""

import textwrap

import pytest

from bnlint.lint.check import lint_source
from bnlint.lint.registry import all_rules
from bnlint.rulekit.rule import Invalid
from bnlint.core.settings import Settings

CASES_VALID = [(code, i, src) for code, rule in all_rules().items() for i, src in enumerate(rule.VALID)]
CASES_INVALID = [
    (code, i, ex if isinstance(ex, Invalid) else Invalid(ex))
    for code, rule in all_rules().items()
    for i, ex in enumerate(rule.INVALID)
]


def _lint(code, src):
    return lint_source(textwrap.dedent(src).lstrip("\n"), "example.py", Settings(select=[code]))


@pytest.mark.parametrize("code,i,src", CASES_VALID, ids=[f"{c}-valid-{i}" for c, i, _ in CASES_VALID])
def test_valid_examples_are_clean(code, i, src):
    found = [d for d in _lint(code, src) if d.code == code]
    assert found == [], [d.format_text() for d in found]


@pytest.mark.parametrize("code,i,ex", CASES_INVALID, ids=[f"{c}-invalid-{i}" for c, i, _ in CASES_INVALID])
def test_invalid_examples_are_flagged(code, i, ex):
    found = [d for d in _lint(code, ex.code) if d.code == code]
    assert found, f"{code} did not fire on INVALID example {i}"
    if ex.lines:
        assert sorted(d.location.row for d in found) == sorted(ex.lines), [d.format_text() for d in found]
    if ex.expected_fix is not None:
        from bnlint.run.fixer import fix_text
        from bnlint.source.reading import SourceFile

        text = textwrap.dedent(ex.code).lstrip("\n")
        src = SourceFile(path="example.py", raw=text.encode(), text=text, encoding="utf-8", bom=False)
        fixed = fix_text(src, _lint(code, ex.code), lambda new: _lint(code, new), unsafe=True)
        assert fixed.text == textwrap.dedent(ex.expected_fix).lstrip("\n")


def test_every_rule_has_examples_and_docs():
    for code, rule in all_rules().items():
        assert rule.VALID and rule.INVALID, code
        page = rule.page()
        for section in ("## What it does", "## Why is this bad?", "## Fix", "## Fix safety"):
            assert section in page, (code, section)
