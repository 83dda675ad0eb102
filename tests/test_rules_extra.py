"""The BN-usage rules (BNL005 upward) on realistic multi-function programs, TF1 and TF2.

Each buggy program must produce its rule exactly at the marked lines (``# <- BNLxxx``); its
corrected twin must produce nothing from that rule. The new rules must also stay silent on the
project's healthy example trainers and on code without BN.
"""

import os
import re
import textwrap

import pytest

from bnlint.engine import lint_paths, lint_source
from bnlint.fixer import apply_edits
from bnlint.registry import all_rules
from bnlint.rule import Invalid
from bnlint.settings import Settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEW_CODES = [c for c in all_rules() if int(c[3:]) >= 5 and int(c[3:]) < 100]
_MARK = re.compile(r"#\s*<-\s*(BNL\d+)")


def lint(src, code, path="prog.py"):
    return [d for d in lint_source(src, path, Settings(select=[code])) if d.code == code]


def marked_lines(src, code):
    return sorted(i for i, line in enumerate(src.splitlines(), 1) for m in _MARK.finditer(line) if m.group(1) == code)


def check_pair(code, buggy, fixed):
    buggy, fixed = textwrap.dedent(buggy).lstrip("\n"), textwrap.dedent(fixed).lstrip("\n")
    want = marked_lines(buggy, code)
    assert want, "buggy program has no marker"
    got = sorted(d.location.row for d in lint(buggy, code))
    assert got == want, [d.format_text() for d in lint(buggy, code)]
    assert lint(fixed, code) == [], [d.format_text() for d in lint(fixed, code)]
    return lint(buggy, code)


# --- the examples' fixes -------------------------------------------------------------------------------

FIX_CASES = [
    (code, i, ex)
    for code in NEW_CODES
    for i, ex in enumerate(all_rules()[code].INVALID)
    if isinstance(ex, Invalid) and ex.expected_fix is not None
]


@pytest.mark.parametrize("code,i,ex", FIX_CASES, ids=[f"{c}-fix-{i}" for c, i, _ in FIX_CASES])
def test_example_fix_produces_expected_source(code, i, ex):
    src = textwrap.dedent(ex.code).lstrip("\n")
    diags = lint(src, code, "example.py")
    fixable = [d for d in diags if d.fix]
    assert fixable, f"{code} offers no fix"
    fixed = apply_edits(src, [e for d in fixable for e in d.fix.edits])
    assert fixed == textwrap.dedent(ex.expected_fix).lstrip("\n")
    # the fixed findings are gone; findings without a fix stay
    assert len(lint(fixed, code, "example.py")) == len(diags) - len(fixable)
