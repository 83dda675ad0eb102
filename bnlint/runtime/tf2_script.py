"""Run an unmodified TF2/Keras script under the Keras BN observer: :func:`run_tf2_script`.

TF2 fixes the logical devices when its runtime starts, so each run is a fresh process
(``python -m bnlint.runtime.tf2_script``): it splits the CPU into N logical devices (so
``MirroredStrategy()`` has N replicas), installs :class:`~bnlint.runtime.keras_observer.Observer`,
runs the script as ``__main__`` with its argv, and writes a :class:`~bnlint.runtime.script.RunReport`
as JSON. The parent (``bnlint inspect``/``verify``) needs no TensorFlow import of its own.

A script is TF2 when it uses no v1 graph API (Session, placeholders, disable_v2_behavior...):
:func:`is_tf2_script`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from typing import List, Optional, Sequence, TextIO

from bnlint.core.diagnostics import Diagnostic, Location
from bnlint.runtime import USER_LEGACY_KERAS

_V1_API = re.compile(r"\bSession\s*\(|MonitoredTrainingSession|disable_v2_behavior|disable_eager_execution|"
                     r"\bplaceholder\s*\(|compat\.v1\.(layers|train|get_default_graph)|import tensorflow\.compat\.v1")
_TF = re.compile(r"\b(tensorflow|keras|tf_keras)\b")


def is_tf2_script(path: str) -> bool:
    """Imports TensorFlow/Keras and uses none of the v1 graph/session API."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return False
    return bool(_TF.search(text)) and not _V1_API.search(text)


def _frameworks(path: str) -> List[str]:
    """The Keras packages the script can reach: Keras 3, and tf_keras when it is named or forced."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    legacy = os.environ.get("TF_USE_LEGACY_KERAS", "") in ("1", "true", "True")
    return ["keras"] + (["tf_keras"] if legacy or "tf_keras" in text or "set_learning_phase" in text else [])


def _diagnostic(d: dict) -> Diagnostic:
    loc = d.get("location") or {"row": 1, "column": 1}
    return Diagnostic(d["code"], d["message"], d.get("filename", ""), Location(loc["row"], loc["column"]),
                      severity=d.get("severity", "error"), data=d.get("data") or {})


def run_tf2_script(path: str, argv: Sequence[str] = (), devices: int = 2, *, small_batch: int = 16,
                   echo: Optional[TextIO] = None, plain: bool = False, timeout: float = 600):
    """Run ``path`` in a child process on ``devices`` logical CPUs; -> RunReport (``plain``: no observer,
    for overhead measurements)."""
    from bnlint.runtime.moving_stats import LayerStats
    from bnlint.runtime.script import RunReport

    report = RunReport(script=path, argv=list(argv), devices=devices, steps=0)
    if not os.path.isfile(path):
        report.error = f"no such script: {path}"
        return report
    fd, out = tempfile.mkstemp(prefix="bnlint-tf2-", suffix=".json")
    os.close(fd)
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # the user's own Keras switch, not the one bnlint.runtime sets for the v1 inspector
    if USER_LEGACY_KERAS is None:
        env["TF_USE_LEGACY_KERAS"] = "0"
    else:
        env["TF_USE_LEGACY_KERAS"] = USER_LEGACY_KERAS
    cmd = [sys.executable, "-m", "bnlint.runtime.tf2_script", "--devices", str(devices), "--small-batch",
           str(small_batch), "--report", out, *(["--plain"] if plain else []), "--", path, *argv]
    try:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
        if echo is not None and proc.stdout:
            echo.write(proc.stdout)
        try:
            with open(out, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            report.error = f"the inspected run died (exit {proc.returncode}):\n{proc.stdout[-3000:]}"
            return report
    except subprocess.TimeoutExpired:
        report.error = f"the inspected run took more than {timeout:g} s"
        return report
    finally:
        os.unlink(out)
    report.error = data.get("error")
    report.train_steps = data.get("train_steps", 0)
    report.stdout = data.get("stdout", [])
    report.result = data.get("result")
    report.diagnostics = [_diagnostic(d) for d in data.get("diagnostics", [])]
    report.layers = [LayerStats(**row) for row in data.get("layers", [])]
    report.phases = data.get("phases", [])
    report.run_seconds = data.get("run_seconds")
    report.replicas = data.get("replicas")
    return report


# --- the child process ---------------------------------------------------------------------------------------


def _child(args) -> int:
    import contextlib
    import runpy
    import traceback

    from bnlint.runtime.script import _Lines, parse_result

    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    if args.devices > 1 and not tf.config.list_physical_devices("GPU"):
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(args.devices)])
    script = args.script[0]
    data = {"error": None}
    observer = None
    if not args.plain:
        from bnlint.runtime.keras_observer import Observer

        observer = Observer(script)
        observer.install(_frameworks(script))
    else:
        import keras  # noqa: F401  (imported before the clock starts, as in the observed run)
    lines = _Lines(sys.stderr)
    sys.argv = [script, *args.script[1:]]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    start = time.perf_counter()
    with contextlib.redirect_stdout(lines):
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exc:
            if exc.code not in (None, 0):
                data["error"] = f"script exited with status {exc.code}"
        except BaseException:
            data["error"] = "script crashed:\n" + traceback.format_exc()
    data["run_seconds"] = time.perf_counter() - start
    data["stdout"] = lines.finish()
    data["result"] = parse_result(data["stdout"])
    if observer is not None:
        try:
            _finish(observer, args, data)
        except Exception:
            data["error"] = data["error"] or "bnlint failed after the run:\n" + traceback.format_exc()
    with open(args.report, "w", encoding="utf-8") as f:
        json.dump(data, f)
    return 0


def _finish(observer, args, data) -> None:
    from bnlint.runtime.keras_findings import analyse, summarize

    script = args.script[0]
    observer.read_final()
    observer.uninstall()
    diags, rows = analyse(observer, small_batch=args.small_batch, filename=script)
    if data["result"] is None and {"train_loss", "infer_loss"} <= set(observer.losses):
        data["result"] = dict(observer.losses)
    data["diagnostics"] = [d.to_json() for d in sorted(diags, key=lambda d: (d.location.row, d.code))]
    data["layers"] = [r.to_json() for r in rows]
    data["train_steps"] = observer.train_events
    data["replicas"] = max((rec.replicas for rec in observer.layers.values()), default=1)
    phases = []
    for rec in observer.layers.values():
        for name, p in summarize(rec).items():
            row = {"layer": rec.name, "phase": name, "calls": p.calls, "training_calls": p.training_calls,
                   "replicas": len(p.replicas), "batch": p.batch, "changed": p.changed}
            end = p.end()
            if end is not None:
                row["mean_dist"], row["var_dist"] = p.distance(end)
            phases.append(row)
    data["phases"] = phases
    if observer.errors:
        data["observer_errors"] = observer.errors[:5]
    if not observer.layers and data["error"] is None:
        data["error"] = "no Keras BatchNormalization layer was created by the script"


def format_phase_table(phases) -> str:
    """Per layer and phase: calls in training mode, moving statistics changed, distance from the data."""
    def num(x):
        return "-" if x is None else f"{x:.3g}"

    header = ("layer", "phase", "training/calls", "replicas", "batch", "stats changed", "mean dist", "var dist")
    body = [(p["layer"], p["phase"], f"{p['training_calls']}/{p['calls']}", str(p["replicas"]), str(p["batch"]),
             "yes" if p["changed"] else "no", num(p.get("mean_dist")), num(p.get("var_dist"))) for p in phases]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *body]) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bnlint.runtime.tf2_script")
    p.add_argument("--devices", type=int, default=2)
    p.add_argument("--small-batch", type=int, default=16)
    p.add_argument("--report", required=True)
    p.add_argument("--plain", action="store_true")
    p.add_argument("script", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.script[:1] == ["--"]:
        args.script = args.script[1:]
    return _child(args)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["is_tf2_script", "run_tf2_script", "format_phase_table"]
