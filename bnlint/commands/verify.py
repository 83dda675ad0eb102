"""``bnlint verify``: fix a training script, run the original and the fixed copy, compare.

    bnlint verify [--devices N] [--steps K] [--format text|json] [--max-ratio R] SCRIPT [-- ARGS...]

The script is copied to a temporary folder and fixed there (unsafe fixes included); the user's
file is never written. Both programs then run in this process under the runtime inspector
(:func:`bnlint.runtime.script.run_script`: N CPU devices, ``/gpu:i`` mapped to ``/cpu:i`` when no
GPU exists), and a before/after table shows, per BN layer, whether its moving mean/variance
changed and how far they ended from the batch statistics of the layer's input, plus the losses
of the script's ``RESULT train_loss=.. infer_loss=..`` line and the runtime findings.

A TF2/Keras script (no v1 Session/graph API) runs in child processes (:mod:`bnlint.runtime.tf2_script`):
the original on N logical CPUs, the fixed copy on N and on each of 2 and 4 (``MirroredStrategy()``
mirrors over them); every fixed run must be healthy.

The fixed run is healthy when it finishes, the inspector reports nothing (warnings or errors),
every trained BN layer's moving statistics changed, and the inference loss is at most R times the
train loss. Exit 0 when healthy, 1 when not (or when the fixes could not be applied), 2 on errors
(script crashed, TensorFlow missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from bnlint.core.diagnostics import Diagnostic

EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_ERROR = 0, 1, 2
TF2_REPLICAS = (2, 4)  # a fixed TF2 copy is run under MirroredStrategy with each of these replica counts
DEFAULT_MAX_RATIO = 5.0  # buggy programs measure 20x..5000x, healthy ones 0.2x..1.5x


@dataclass
class Verification:
    script: str
    argv: List[str]
    devices: int
    steps: int
    max_ratio: float
    applied: List[Diagnostic] = field(default_factory=list)  # static findings fixed in the copy
    remaining: List[Diagnostic] = field(default_factory=list)  # static findings left in the copy
    fix_error: Optional[str] = None
    diff: str = ""
    before: object = None  # RunReport of the original
    after: object = None  # RunReport of the fixed copy
    also: List = field(default_factory=list)  # TF2: the fixed copy on other replica counts (RunReports)

    @property
    def problems(self) -> List[str]:
        """Why the fixed run is not healthy (empty: healthy)."""
        if self.fix_error:
            return [f"the fixes could not be applied: {self.fix_error}"]
        out = run_problems(self.after, self.max_ratio)
        for report in self.also:
            out += [f"on {report.devices} replicas: {p}" for p in run_problems(report, self.max_ratio)]
        return out

    @property
    def exit_code(self) -> int:
        if any(r is not None and r.error for r in (self.before, self.after, *self.also)):
            return EXIT_ERROR
        return EXIT_UNHEALTHY if self.problems else EXIT_HEALTHY

    def to_json(self) -> dict:
        return {
            "script": self.script,
            "argv": self.argv,
            "devices": self.devices,
            "steps": self.steps,
            "max_ratio": self.max_ratio,
            "fixes": [d.to_json() for d in self.applied],
            "remaining": [d.to_json() for d in self.remaining],
            "fix_error": self.fix_error,
            "diff": self.diff,
            "before": self.before.to_json() if self.before is not None else None,
            "after": self.after.to_json() if self.after is not None else None,
            "also": [r.to_json() for r in self.also],
            "layers": layer_rows(self.before, self.after),
            "healthy": not self.problems,
            "problems": self.problems,
            "exit_code": self.exit_code,
        }


def loss_ratio(report) -> Optional[float]:
    result = getattr(report, "result", None) or {}
    train, infer = result.get("train_loss"), result.get("infer_loss")
    if train is None or infer is None:
        return None
    return infer / train if train > 0 else (1.0 if infer == 0 else float("inf"))


def run_problems(report, max_ratio: float) -> List[str]:
    if report is None:
        return ["the program did not run"]
    if report.error:
        return [report.error.splitlines()[0]]
    out = []
    findings = [d for d in report.diagnostics if d.severity != "info"]
    if findings:
        out.append("runtime findings: " + ", ".join(sorted({d.code for d in findings})))
    stuck = [r.layer for r in report.layers if r.trained and not (r.mean_changed and r.var_changed)]
    if stuck:
        out.append(f"moving statistics unchanged in {len(stuck)} trained BN layer(s)")
    ratio = loss_ratio(report)
    if ratio is not None and ratio > max_ratio:
        out.append(f"inference loss is {ratio:.3g}x the train loss (limit {max_ratio:g}x)")
    return out


def layer_rows(before, after) -> List[dict]:
    """One row per BN layer name seen in either run."""
    names: List[str] = []
    by_run = []
    for report in (before, after):
        rows = {r.layer: r for r in (report.layers if report is not None else [])}
        by_run.append(rows)
        names.extend(n for n in rows if n not in names)
    return [{"layer": n, "before": by_run[0][n].to_json() if n in by_run[0] else None,
             "after": by_run[1][n].to_json() if n in by_run[1] else None} for n in names]


def verify(script: str, argv: Sequence[str] = (), devices: int = 4, steps: int = 0,
           max_ratio: float = DEFAULT_MAX_RATIO, progress=None) -> Verification:
    """Fix a copy of ``script`` and run both programs (see the module docstring)."""
    from bnlint.run.fixer import fix_paths, unified_diff
    from bnlint.runtime.script import run_script
    from bnlint.runtime.tf2_script import is_tf2_script, run_tf2_script
    from bnlint.core.settings import Settings

    v = Verification(script=script, argv=list(argv), devices=devices, steps=steps, max_ratio=max_ratio)
    say = progress or (lambda msg: None)
    folder = tempfile.mkdtemp(prefix="bnlint-verify-")
    try:
        copies = {}
        for which in ("original", "fixed"):
            os.mkdir(os.path.join(folder, which))
            copies[which] = os.path.join(folder, which, os.path.basename(script))
            shutil.copyfile(script, copies[which])
        run = fix_paths([copies["fixed"]], Settings(unsafe_fixes=True), write=True)
        for f in run.files:
            if f.error:
                v.fix_error = f.error
            elif f.changed:
                v.applied = [_renamed(d, script) for d in f.applied]
                v.diff = unified_diff(f.original.text, f.text, script)
        v.remaining = [_renamed(d, script) for d in run.result.diagnostics]
        # Sibling modules the script imports stay importable from the copies.
        sys.path.append(os.path.dirname(os.path.abspath(script)))
        try:
            if is_tf2_script(script):
                # TF2: each run is a child process; the fix is proven under 2 and 4 replicas
                say(f"running the original {script} on {devices} replicas ...")
                v.before = run_tf2_script(copies["original"], argv, devices=devices)
                runs = []
                for n in [devices, *[d for d in TF2_REPLICAS if d != devices]]:
                    say(f"running the fixed copy on {n} replicas ...")
                    runs.append(run_tf2_script(copies["fixed"], argv, devices=n))
                v.after, v.also = runs[0], runs[1:]
            else:
                say(f"running the original {script} ...")
                v.before = run_script(copies["original"], argv, devices=devices, steps=steps)
                say("running the fixed copy ...")
                v.after = run_script(copies["fixed"], argv, devices=devices, steps=steps)
        finally:
            sys.path.pop()
        for report, name in ((v.before, script), (v.after, script + " (fixed)"),
                             *((r, f"{script} (fixed, {r.devices} replicas)") for r in v.also)):
            report.script = name
            report.diagnostics = [_renamed(d, name) for d in report.diagnostics]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return v


def _renamed(d: Diagnostic, filename: str) -> Diagnostic:
    return Diagnostic(d.code, d.message, filename, d.location, d.end_location, d.fix, d.severity, d.data, d.related)


# --- text output ---------------------------------------------------------------------------------------------


def _num(x) -> str:
    return "-" if x is None else f"{x:.3g}"


def _yn(x) -> str:
    return "-" if x is None else ("yes" if x else "NO")


def _cells(row: Optional[dict]) -> List[str]:
    if row is None:
        return ["(absent)", "", "", ""]
    return [_yn(row["trained"]), f"{_yn(row['mean_changed'])}/{_yn(row['var_changed'])}",
            _num(row["mean_dist"]), _num(row["var_dist"])]


def _table(rows: List[List[str]]) -> List[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _losses(report) -> str:
    result = getattr(report, "result", None) or {}
    if "train_loss" not in result or "infer_loss" not in result:
        return "-"
    ratio = loss_ratio(report)
    return f"{result['train_loss']:.4g} / {result['infer_loss']:.4g} ({ratio:.0f}x)" if ratio >= 100 else \
        f"{result['train_loss']:.4g} / {result['infer_loss']:.4g} ({ratio:.3g}x)"


def _findings(report) -> str:
    if report is None:
        return "-"
    if report.error:
        return "run failed"
    found = [d for d in report.diagnostics if d.severity != "info"]
    if not found:
        return "none"
    counts = {}
    for d in found:
        counts[d.code] = counts.get(d.code, 0) + 1
    return ", ".join(f"{n} × {c}" for c, n in sorted(counts.items()))


def before_after_table(v: Verification) -> str:
    """Per BN layer: trained? / moving mean/var changed? / distance of the moving mean and variance
    from the batch statistics of the layer's input (0 = equal), for the original and the fix."""
    head = ["BN layer", "trained", "changed m/v", "mean dist", "var dist", "|", "trained", "changed m/v",
            "mean dist", "var dist"]
    rows = [["", "before", "", "", "", "|", "after", "", "", ""], head]
    for r in layer_rows(v.before, v.after):
        rows.append([r["layer"], *_cells(r["before"]), "|", *_cells(r["after"])])
    lines = _table(rows)
    width = max(len(line) for line in lines)
    lines.insert(2, "-" * width)
    lines.append("-" * width)
    lines.append(f"train / inference loss:  before {_losses(v.before)}   after {_losses(v.after)}")
    lines.append(f"runtime findings:        before {_findings(v.before)}   after {_findings(v.after)}")
    for report in v.also:
        lines.append(f"fixed copy on {report.devices} replicas: losses {_losses(report)}, findings {_findings(report)}")
    return "\n".join(lines) + "\n"


def render_text(v: Verification) -> str:
    out = [f"bnlint verify {v.script}: {v.devices} devices, "
           + (f"measured after {v.steps} training steps" if v.steps else "script run to completion")
           + (f", args {' '.join(v.argv)}" if v.argv else ""), ""]
    if v.fix_error:
        out.append(f"fixes could not be applied: {v.fix_error}")
    elif v.applied:
        out.append(f"fixes applied to a copy ({len(v.applied)}):")
        out += [f"  {d.location.row}:{d.location.column} {d.code} [{d.fix.applicability}] {d.fix.message}"
                for d in v.applied]
        out += ["", v.diff.rstrip("\n")]
    else:
        out.append("no fixes to apply: the copy is the original")
    if v.remaining:
        out.append(f"static findings left after fixing: {', '.join(sorted({d.code for d in v.remaining}))}")
    out.append("")
    for name, report in (("original", v.before), ("fixed", v.after)):
        if report is not None and report.error:
            out.append(f"the {name} run failed: {report.error}")
    out.append(before_after_table(v).rstrip("\n"))
    for name, report in (("original", v.before), ("fixed", v.after)):
        found = [d for d in (report.diagnostics if report is not None else []) if d.severity != "info"]
        if found:
            out.append(f"{name}:")
            out += [f"  {d.code} {d.message}" for d in found]
    problems = v.problems
    out.append("")
    out.append("verdict: the fixed program is healthy" if not problems else
               "verdict: the fixed program is NOT healthy: " + "; ".join(problems))
    return "\n".join(out) + "\n"


# --- command line ------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bnlint verify",
        description="Fix a copy of a TF v1 training script, run the original and the fixed program on "
                    "several devices under the runtime inspector, and compare their BN statistics and losses.",
        epilog="Arguments after `--` go to the script.",
    )
    p.add_argument("script", nargs="?", help="the training script (a copy is fixed; the file is not written)")
    p.add_argument("--devices", type=int, default=4, help="CPU devices for each run (default 4)")
    p.add_argument("--steps", type=int, default=0,
                   help="stop each run after K training steps (default 0: run the script to its end)")
    p.add_argument("--max-ratio", type=float, default=DEFAULT_MAX_RATIO,
                   help=f"largest healthy inference/train loss ratio (default {DEFAULT_MAX_RATIO:g})")
    p.add_argument("--format", "--output-format", dest="format", choices=["text", "json"], default="text")
    return p


def _quiet_tensorflow() -> None:
    """The programs' own output is captured; TensorFlow's deprecation chatter is not wanted."""
    import logging
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*(deprecated|will be removed).*")


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args: List[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1:]
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    if args.script is None:
        if not script_args:
            print("bnlint verify: error: no script given", file=sys.stderr)
            return EXIT_ERROR
        args.script, script_args = script_args[0], script_args[1:]
    if not os.path.isfile(args.script):
        print(f"bnlint verify: error: no such script: {args.script}", file=sys.stderr)
        return EXIT_ERROR
    _quiet_tensorflow()
    try:
        v = verify(args.script, script_args, devices=args.devices, steps=args.steps, max_ratio=args.max_ratio,
                   progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    except ImportError as exc:
        print(f"bnlint verify: error: {exc} (install bnlint[runtime])", file=sys.stderr)
        return EXIT_ERROR
    if args.format == "json":
        sys.stdout.write(json.dumps(v.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(render_text(v))
    return v.exit_code


if __name__ == "__main__":
    sys.exit(main())
