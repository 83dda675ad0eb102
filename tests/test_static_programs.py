"""Realistic trainers (tests/programs/): findings exactly where a `# expect: CODE` comment says.

Correct programs carry no expectation, so any finding on them is a false positive.
"""

import os
import re

import pytest

from bnlint.run.paths import lint_paths
from bnlint.core.settings import Settings

HERE = os.path.join(os.path.dirname(__file__), "programs")
_EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")


def _expected(path):
    out = set()
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            m = _EXPECT.search(line)
            if m:
                for code in re.split(r"[,\s]+", m.group(1).strip()):
                    out.add((os.path.relpath(path, HERE), lineno, code))
    return out


def _targets():
    for entry in sorted(os.listdir(HERE)):
        full = os.path.join(HERE, entry)
        if entry.endswith(".py") or os.path.isdir(full):
            yield entry


@pytest.mark.parametrize("entry", list(_targets()))
def test_program_findings_match_expectations(entry):
    full = os.path.join(HERE, entry)
    files = [full] if os.path.isfile(full) else sorted(
        os.path.join(d, f) for d, _, names in os.walk(full) for f in names if f.endswith(".py"))
    expected = set()
    for f in files:
        expected |= _expected(f)
    result = lint_paths([full], Settings())
    assert not [e for e in result.errors], [e.format_text() for e in result.errors]
    got = {(os.path.relpath(d.filename, HERE), d.location.row, d.code) for d in result.diagnostics}
    assert got == expected, "\n".join(d.format_text() for d in result.diagnostics)


def test_cross_module_producer_needs_the_other_module():
    # Linting train.py alone (as pre-commit does): the models module it imports is analysed for
    # facts only (bnlint.analysis.local_imports), so the findings equal those of linting the whole folder.
    alone = lint_paths([os.path.join(HERE, "two_modules", "train.py")], Settings())
    whole = lint_paths([os.path.join(HERE, "two_modules")], Settings())
    key = lambda r: sorted((os.path.basename(d.filename), d.location.row, d.code) for d in r.diagnostics)
    assert key(alone) == key(whole) and {c for _, _, c in key(alone)} == {"BNL001", "BNL003"}
    assert alone.files_seen == 1


def test_python2_file_is_analysed_without_fixes():
    result = lint_paths([os.path.join(HERE, "python2_trainer.py")], Settings())
    assert [d.code for d in result.diagnostics] == ["BNL003"]
    assert all(d.fix is None for d in result.diagnostics)
