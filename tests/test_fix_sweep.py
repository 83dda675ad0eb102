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
