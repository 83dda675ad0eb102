"""Fix sweep: ``bnlint --fix --unsafe-fixes`` over real code, and proof that it broke nothing.

    python benchmarks/fix_sweep.py                       # tensorflow, tf_keras, keras; every rule
    python benchmarks/fix_sweep.py --packages keras --json
    python benchmarks/fix_sweep.py --select BNL001,BNL002,BNL003 --keep /tmp/swept

The ``.py`` files of the installed packages are copied to a temporary folder (the originals are
never touched) and fixed there with every rule enabled (``--select ALL``: library code rarely trips
the default rules, and every fix deserves the test). Then:

- every file the fix changed must still ``compile()``;
- a second ``--fix`` run must change nothing (fixes reach a fixpoint in one run);
- no fix may be refused by the fixer's own checks, and bnlint must not report an internal error.

Prints the counts (files, changed files, fixes applied per code, files bnlint could not analyse,
failures). Exit status 0 when there are no failures, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from typing import Dict, List, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGES = ("tensorflow", "tf_keras", "keras")
_FIXED = re.compile(r"^Fixed (\d+) findings? in (\d+) files? \((.*)\)\.$", re.M)
_REFUSED = re.compile(r"^bnlint: error: (.+?): fixes not applied, (.*)$", re.M)
_FINDING = re.compile(r"^(.+?):\d+:\d+: (BNL\d+) (.*)$", re.M)


def _corpus_helpers():
    """``corpus_sources``/``copy_corpus`` of benchmarks/run.py: one definition of the corpus."""
    spec = importlib.util.spec_from_file_location("bnlint_bench_run", os.path.join(HERE, "run.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.corpus_sources, module.copy_corpus


def digests(root: str, files: Sequence[str]) -> Dict[str, str]:
    out = {}
    for rel in files:
        with open(os.path.join(root, rel), "rb") as fh:
            out[rel] = hashlib.sha256(fh.read()).hexdigest()
    return out


def run_fix(root: str, select: str, jobs: int) -> dict:
    cmd = [sys.executable, "-m", "bnlint", "--isolated", "--no-cache", "--select", select, "--fix",
           "--unsafe-fixes", "--timeout", "60", "."]
    if jobs:
        cmd[3:3] = ["-j", str(jobs)]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    seconds = time.monotonic() - start
    applied: Counter = Counter()
    for m in _FIXED.finditer(proc.stderr):
        for part in m.group(3).split(", "):
            n, _, code = part.partition(" × ")
            applied[code] += int(n)
    remaining = [(os.path.normpath(m.group(1)), m.group(2), m.group(3)) for m in _FINDING.finditer(proc.stdout)]
    return {
        "seconds": round(seconds, 1),
        "exit": proc.returncode,
        "applied": dict(applied),
        "refused": [f"{os.path.normpath(p)}: {why}" for p, why in _REFUSED.findall(proc.stderr)],
        "not_analysed": [f"{p}: {code} {msg}" for p, code, msg in remaining if code in ("BNL900", "BNL901")],
        "internal_errors": [f"{p}: {msg}" for p, code, msg in remaining if "internal error" in msg],
        "crashed": proc.returncode not in (0, 1, 2) or "Traceback" in proc.stderr,
        "stderr_tail": proc.stderr[-2000:],
    }


def compiles(path: str) -> str:
    """'' when the file compiles, else the error."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        compile(data, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def sweep(packages: Sequence[str], select: str = "ALL", jobs: int = 0, keep: str = "") -> dict:
    corpus_sources, copy_corpus = _corpus_helpers()
    roots = corpus_sources(packages)
    root = keep or tempfile.mkdtemp(prefix="bnlint-sweep-")
    os.makedirs(root, exist_ok=True)
    try:
        files = copy_corpus(roots, root)
        before = digests(root, files)
        first = run_fix(root, select, jobs)
        after = digests(root, files)
        changed = sorted(f for f in files if before[f] != after[f])
        broken = {f: err for f in changed for err in [compiles(os.path.join(root, f))] if err}
        second = run_fix(root, select, jobs)
        again = digests(root, files)
        rechanged = sorted(f for f in files if after[f] != again[f])
        leftovers = sorted(os.path.relpath(os.path.join(d, n), root) for d, _, names in os.walk(root)
                           for n in names if n.endswith(".bnlint-tmp"))
    finally:
        if not keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
    failures: List[str] = []
    failures += [f"fix refused: {r}" for r in first["refused"]]
    failures += [f"does not compile after fixing: {f}: {e}" for f, e in broken.items()]
    failures += [f"second run changed it again: {f}" for f in rechanged]
    failures += [f"bnlint internal error: {e}" for e in first["internal_errors"] + second["internal_errors"]]
    failures += [f"temporary file left behind: {f}" for f in leftovers]
    failures += [f"bnlint crashed (exit {r['exit']}): {r['stderr_tail']}" for r in (first, second) if r["crashed"]]
    if second["applied"]:
        failures.append(f"second run applied fixes again: {second['applied']}")
    return {
        "packages": list(packages),
        "select": select,
        "files": len(files),
        "changed_files": len(changed),
        "fixes_applied": sum(first["applied"].values()),
        "fixes_by_code": first["applied"],
        "not_analysed": first["not_analysed"],
        "failures": failures,
        "seconds": {"first_run": first["seconds"], "second_run": second["seconds"]},
        "changed": changed,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--packages", nargs="+", default=list(PACKAGES), help="installed packages to sweep")
    p.add_argument("--select", default="ALL", help="rules to enable (default ALL, opt-in rules included)")
    p.add_argument("-j", "--jobs", type=int, default=0, help="bnlint workers (default: bnlint's choice)")
    p.add_argument("--keep", default="", help="sweep in this folder and keep it (default: a temporary one)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)
    summary = sweep(args.packages, args.select, args.jobs, args.keep)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        by_code = ", ".join(f"{n} × {c}" for c, n in sorted(summary["fixes_by_code"].items())) or "none"
        print(f"packages:       {' '.join(summary['packages'])} (--select {summary['select']})")
        print(f"files:          {summary['files']}")
        print(f"changed files:  {summary['changed_files']}")
        print(f"fixes applied:  {summary['fixes_applied']} ({by_code})")
        print(f"not analysed:   {len(summary['not_analysed'])}")
        for line in summary["not_analysed"]:
            print(f"    {line}")
        print(f"failures:       {len(summary['failures'])}")
        for line in summary["failures"]:
            print(f"    {line}")
        s = summary["seconds"]
        print(f"time:           {s['first_run']} s (fix), {s['second_run']} s (second run)")
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
