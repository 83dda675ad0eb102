"""Fix sweep: ``bnlint --fix --unsafe-fixes`` over real code, and proof that it broke nothing.

    python benchmarks/fix_sweep.py                       # tensorflow, tf_keras, keras; every rule
    python benchmarks/fix_sweep.py --packages keras --json
    python benchmarks/fix_sweep.py --select BNL001,BNL002,BNL003 --keep /tmp/swept
    python benchmarks/fix_sweep.py --corpus                 # the real-code corpus, fixes reviewed
    BNLINT_CORPUS=/path/to/corpus python benchmarks/fix_sweep.py --corpus --list

With ``--corpus [ROOT]`` (default ``$BNLINT_CORPUS`` or ``~/.cache/bnlint-corpus``, the unpacked
projects of the accuracy issue under ``ROOT/src/*``) every project is swept on its own (as its
users would run bnlint), every fix written is listed (project, file, line, code, applicability,
message) and compared with the committed review ``benchmarks/fix_review.toml``: a fix missing
from the review, a reviewed fix no longer written, or any fix reviewed ``wrong`` is a failure.

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
# --show-fixes: "path:" then "    row:col CODE [applicability] message" per applied fix.
_SHOWN_FILE = re.compile(r"^(\S.*):$")
_SHOWN_FIX = re.compile(r"^    (\d+):\d+ (BNL\d+) \[(safe|unsafe)\] (.*)$")
REVIEW = os.path.join(HERE, "fix_review.toml")
VERDICTS = ("correct", "unsafe", "wrong")


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


def shown_fixes(stdout: str) -> List[dict]:
    """The fixes ``--show-fixes`` lists (positions in the file before fixing)."""
    out, path = [], None
    for line in stdout.splitlines():
        m = _SHOWN_FIX.match(line)
        if m and path is not None:
            out.append({"file": os.path.normpath(path), "line": int(m.group(1)), "code": m.group(2),
                        "applicability": m.group(3), "message": m.group(4)})
            continue
        m = _SHOWN_FILE.match(line)
        path = m.group(1) if m else None
    return out


def run_fix(root: str, select: str, jobs: int) -> dict:
    cmd = [sys.executable, "-m", "bnlint", "--isolated", "--no-cache", "--select", select, "--fix",
           "--unsafe-fixes", "--show-fixes", "--timeout", "60", "."]
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
        "fixes": shown_fixes(proc.stdout),
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
    corpus_sources, _ = _corpus_helpers()
    out = sweep_roots(corpus_sources(packages), select, jobs, keep)
    out["packages"] = list(packages)
    return out


def sweep_roots(roots: Sequence[str], select: str = "ALL", jobs: int = 0, keep: str = "") -> dict:
    """Copy the ``.py`` files of ``roots`` to a folder, fix them there, check the result."""
    _, copy_corpus = _corpus_helpers()
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
        "select": select,
        "files": len(files),
        "changed_files": len(changed),
        "fixes_applied": sum(first["applied"].values()),
        "fixes_by_code": first["applied"],
        "not_analysed": first["not_analysed"],
        "failures": failures,
        "seconds": {"first_run": first["seconds"], "second_run": second["seconds"]},
        "changed": changed,
        "fixes": first["fixes"],
    }


# --- the real-code corpus ------------------------------------------------------------------------------


def corpus_root(arg: str) -> str:
    return arg or os.environ.get("BNLINT_CORPUS") or os.path.expanduser("~/.cache/bnlint-corpus")


def corpus_projects(root: str) -> List[str]:
    """The unpacked projects: ``ROOT/src/*`` (or ``ROOT/*`` when it has no ``src``)."""
    src = os.path.join(root, "src") if os.path.isdir(os.path.join(root, "src")) else root
    if not os.path.isdir(src):
        sys.exit(f"fix_sweep.py: no corpus at {root} (set BNLINT_CORPUS or pass --corpus ROOT)")
    return sorted(os.path.join(src, d) for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))


def load_review(path: str = REVIEW) -> Dict[tuple, dict]:
    """Reviewed fixes by (project, file, line, code)."""
    if not os.path.exists(path):
        return {}
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return {(f["project"], f["file"], int(f["line"]), f["code"]): f for f in data.get("fix", [])}


def review_key(fix: dict) -> tuple:
    return (fix["project"], fix["file"], fix["line"], fix["code"])


def compare_review(fixes: Sequence[dict], review: Dict[tuple, dict]) -> Dict[str, list]:
    written = {review_key(f): f for f in fixes}
    return {
        "unreviewed": [f for k, f in written.items() if k not in review],
        "gone": [r for k, r in review.items() if k not in written],
        "wrong": [review[k] for k in written if k in review and review[k].get("verdict") == "wrong"],
        "bad_verdict": [r for r in review.values() if r.get("verdict") not in VERDICTS or not r.get("reason")],
    }


def sweep_corpus(root: str, select: str = "ALL", jobs: int = 0, keep: str = "") -> dict:
    projects = corpus_projects(root)
    out = {"corpus": root, "select": select, "projects": len(projects), "files": 0, "changed_files": 0,
           "fixes_applied": 0, "fixes_by_code": Counter(), "not_analysed": [], "failures": [], "fixes": [],
           "seconds": {"first_run": 0.0, "second_run": 0.0}, "changed": []}
    base = keep or tempfile.mkdtemp(prefix="bnlint-corpus-sweep-")
    try:
        for project in projects:
            name = os.path.basename(project)
            one = sweep_roots([project], select, jobs, os.path.join(base, name))
            print(f"{name}: {one['files']} files, {one['fixes_applied']} fixes, {len(one['failures'])} failures",
                  file=sys.stderr, flush=True)
            for key in ("files", "changed_files", "fixes_applied"):
                out[key] += one[key]
            out["fixes_by_code"].update(one["fixes_by_code"])
            out["not_analysed"] += [f"{name}/{x}" for x in one["not_analysed"]]
            out["failures"] += [f"{name}: {x}" for x in one["failures"]]
            out["changed"] += [f"{name}/{x}" for x in one["changed"]]
            for fix in one["fixes"]:
                fix = dict(fix, project=name, file=os.path.relpath(fix["file"], name))
                out["fixes"].append(fix)
            for k in out["seconds"]:
                out["seconds"][k] = round(out["seconds"][k] + one["seconds"][k], 1)
    finally:
        if not keep:
            import shutil

            shutil.rmtree(base, ignore_errors=True)
    out["fixes_by_code"] = dict(out["fixes_by_code"])
    review = compare_review(out["fixes"], load_review())
    out["review"] = {k: len(v) for k, v in review.items()}
    out["verdicts"] = dict(Counter(load_review().get(review_key(f), {}).get("verdict", "unreviewed")
                                   for f in out["fixes"]))
    out["failures"] += [f"fix not in {os.path.basename(REVIEW)}: {f['project']}/{f['file']}:{f['line']} "
                        f"{f['code']} [{f['applicability']}] {f['message']}" for f in review["unreviewed"]]
    out["failures"] += [f"reviewed fix no longer written: {r['project']}/{r['file']}:{r['line']} {r['code']}"
                        for r in review["gone"]]
    out["failures"] += [f"fix reviewed wrong: {r['project']}/{r['file']}:{r['line']} {r['code']}: {r['reason']}"
                        for r in review["wrong"]]
    out["failures"] += [f"review entry without a verdict ({'/'.join(VERDICTS)}) and reason: {r}"
                        for r in review["bad_verdict"]]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--packages", nargs="+", default=list(PACKAGES), help="installed packages to sweep")
    p.add_argument("--select", default="ALL", help="rules to enable (default ALL, opt-in rules included)")
    p.add_argument("-j", "--jobs", type=int, default=0, help="bnlint workers (default: bnlint's choice)")
    p.add_argument("--keep", default="", help="sweep in this folder and keep it (default: a temporary one)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--corpus", nargs="?", const="", default=None, metavar="ROOT",
                   help="sweep the real-code corpus (ROOT/src/*; default $BNLINT_CORPUS or ~/.cache/bnlint-corpus)")
    p.add_argument("--list", action="store_true", help="list every fix written, with its reviewed verdict")
    args = p.parse_args(argv)
    if args.corpus is not None:
        summary = sweep_corpus(corpus_root(args.corpus), args.select, args.jobs, args.keep)
    else:
        summary = sweep(args.packages, args.select, args.jobs, args.keep)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        by_code = ", ".join(f"{n} × {c}" for c, n in sorted(summary["fixes_by_code"].items())) or "none"
        if "corpus" in summary:
            print(f"corpus:         {summary['corpus']} ({summary['projects']} projects, --select {summary['select']})")
        else:
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
        if "verdicts" in summary:
            print("verdicts:       " + ", ".join(f"{n} {v}" for v, n in sorted(summary["verdicts"].items())))
        if args.list:
            review = load_review()
            for f in summary["fixes"]:
                where = f"{f.get('project', '')}/{f['file']}".lstrip("/")
                verdict = review.get(review_key(f), {}).get("verdict", "unreviewed") if "project" in f else "-"
                print(f"    {verdict:10} {where}:{f['line']} {f['code']} [{f['applicability']}] {f['message']}")
        s = summary["seconds"]
        print(f"time:           {s['first_run']} s (fix), {s['second_run']} s (second run)")
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
