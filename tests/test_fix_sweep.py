"""The fix sweep (benchmarks/fix_sweep.py) over the installed tensorflow, tf_keras and keras sources:
every rule's fixes applied to ~3300 real files, every changed file still compiles, a second run
changes nothing, no fix is refused and bnlint reports no internal error. About a minute."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_fix_sweep_over_installed_tensorflow_and_keras():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "fix_sweep.py"), "--json"],
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    print(json.dumps({k: v for k, v in summary.items() if k != "changed"}, indent=2))
    assert summary["failures"] == [], summary["failures"]
    assert proc.returncode == 0
    assert summary["files"] > 3000
    # Library code rarely has training bugs, but the corpus does exercise real fixes.
    assert summary["fixes_applied"] >= 1 and 1 <= summary["changed_files"] <= summary["fixes_applied"]
    assert summary["not_analysed"] == [], summary["not_analysed"]


def _sweep_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("fix_sweep", os.path.join(ROOT, "benchmarks", "fix_sweep.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fix_list_and_review_comparison():
    sweep = _sweep_module()
    shown = sweep.shown_fixes("pkg/a.py:\n    12:5 BNL015 [unsafe] Drop the bias before BN\n"
                              "    30:1 BNL003 [safe] Run `minimize` under ...\nFound 2 findings\n")
    assert [(f["file"], f["line"], f["code"], f["applicability"]) for f in shown] == [
        ("pkg/a.py", 12, "BNL015", "unsafe"), ("pkg/a.py", 30, "BNL003", "safe")]
    fixes = [dict(f, project="p") for f in shown]
    review = {("p", "pkg/a.py", 12, "BNL015"): {"project": "p", "file": "pkg/a.py", "line": 12, "code": "BNL015",
                                                "verdict": "wrong", "reason": "r"},
              ("p", "pkg/b.py", 1, "BNL001"): {"project": "p", "file": "pkg/b.py", "line": 1, "code": "BNL001",
                                               "verdict": "correct", "reason": "r"}}
    got = sweep.compare_review(fixes, review)
    assert [f["line"] for f in got["unreviewed"]] == [30]
    assert [r["file"] for r in got["gone"]] == ["pkg/b.py"] and len(got["wrong"]) == 1


def test_committed_review_has_a_verdict_and_reason_for_every_fix_and_none_wrong():
    sweep = _sweep_module()
    review = sweep.load_review()
    assert review and all(r["verdict"] in ("correct", "unsafe") and r["reason"] for r in review.values())
