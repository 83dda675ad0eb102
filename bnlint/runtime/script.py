"""Run an unmodified v1 training script in-process and inspect it: :func:`run_script`.

The script runs through ``runpy`` as ``__main__`` with ``sys.argv`` set, under the patches of
:mod:`bnlint.runtime.instrument`. At its first training step the graph checks (BNL101..106) run on
the session's graph and the moving statistics are recorded; the K-th training step also fetches
every training BN layer's input, then BNL107 compares the moving statistics with that batch's
statistics and the script is stopped. With ``steps=0`` the script runs to its end and BNL107 uses
the last training step (measured when the training session closes).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import runpy
import sys
import traceback
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, TextIO

from bnlint.core.diagnostics import Diagnostic
from bnlint.runtime._tf import tf, v1
from bnlint.runtime.checks import DEFAULT_SMALL_BATCH, inspect_graph
from bnlint.runtime.graph_index import GraphIndex
from bnlint.runtime.instrument import Instrumentation, RunObserver, TrainStepDetector, fetched_ops
from bnlint.runtime.moving_stats import DEFAULT_STEPS, LayerStats, MovingStatsProbe
from bnlint.runtime.tf_state import save_tf_switches

_RESULT = re.compile(r"^RESULT\s+(.*)$")
_PAIR = re.compile(r"(\w+)=(\S+)")


class _StopScript(BaseException):
    """Raised into the script once the inspection is done (BaseException: `except Exception` won't eat it)."""


@dataclass
class RunReport:
    """Everything one inspected run produced; plain data so ``bnlint verify`` can compare two runs."""

    script: str
    argv: List[str] = field(default_factory=list)
    devices: int = 2
    steps: int = DEFAULT_STEPS
    train_steps: int = 0
    stopped: bool = False  # stopped by bnlint after `steps` training steps
    error: Optional[str] = None
    diagnostics: List[Diagnostic] = field(default_factory=list)
    layers: List[LayerStats] = field(default_factory=list)
    stdout: List[str] = field(default_factory=list)
    result: Optional[Dict[str, float]] = None  # parsed `RESULT key=value ...` line
    # TF2 runs (bnlint.runtime.tf2_script): per layer and phase rows, replicas, the script's own run time
    phases: List[dict] = field(default_factory=list)
    replicas: Optional[int] = None
    run_seconds: Optional[float] = None

    @property
    def exit_code(self) -> int:
        if self.error:
            return 2
        return 1 if any(d.severity != "info" for d in self.diagnostics) else 0

    def to_json(self) -> dict:
        return {
            "script": self.script,
            "argv": list(self.argv),
            "devices": self.devices,
            "steps": self.steps,
            "train_steps": self.train_steps,
            "stopped": self.stopped,
            "error": self.error,
            "exit_code": self.exit_code,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "layers": [row.to_json() for row in self.layers],
            "stdout": list(self.stdout),
            "result": self.result,
            "phases": list(self.phases),
            "replicas": self.replicas,
        }


def parse_result(lines: Sequence[str]) -> Optional[Dict[str, float]]:
    """The last ``RESULT train_loss=<float> infer_loss=<float>`` line, as a dict."""
    for line in reversed(lines):
        m = _RESULT.match(line.strip())
        if m:
            out = {}
            for key, value in _PAIR.findall(m.group(1)):
                try:
                    out[key] = float(value)
                except ValueError:
                    continue
            return out
    return None


class _Lines(io.TextIOBase):
    """stdout replacement keeping the script's lines (and echoing them when asked)."""

    def __init__(self, echo: Optional[TextIO]):
        self.lines: List[str] = []
        self._partial = ""
        self._echo = echo

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if self._echo is not None:
            self._echo.write(s)
        text = self._partial + s
        *done, self._partial = text.split("\n")
        self.lines.extend(done)
        return len(s)

    def flush(self) -> None:
        if self._echo is not None:
            self._echo.flush()

    def finish(self) -> List[str]:
        if self._partial:
            self.lines.append(self._partial)
            self._partial = ""
        return self.lines


class ScriptObserver(RunObserver):
    """Counts training steps, runs the checks at step 1 and BNL107 at step K (or at close)."""

    def __init__(self, report: RunReport, detector: TrainStepDetector, *, small_batch: int):
        self.report = report
        self.detector = detector
        self.small_batch = small_batch
        self.steps = report.steps
        self.probe: Optional[MovingStatsProbe] = None
        self.train_ops: List = []
        self.initial = None
        self.last_inputs: Dict[str, object] = {}
        self.train_session = None
        self.dynamic_done = False
        self.stop_requested = False
        self.eval_ops: Dict[str, object] = {}
        self.internal_error: Optional[str] = None
        self._busy = False

    def on_run(self, session, run, fetches, feed_dict, options, run_metadata):
        if self._busy:
            return run(fetches, feed_dict, options, run_metadata)
        if self.stop_requested:
            raise _StopScript()
        train = self.detector.train_ops(session.graph, fetches)
        if not train:
            if self.report.train_steps:
                for op in fetched_ops(session.graph, fetches):
                    self.eval_ops.setdefault(op.name, op)
            return run(fetches, feed_dict, options, run_metadata)
        self.report.train_steps += 1
        self.train_session = session
        if self.report.train_steps == 1:
            self._guarded(self._start, session, train)
        # every step also fetches the BN inputs: the script may end before step K
        names = self.probe.input_fetches() if self.probe else []
        if not names:
            result = run(fetches, feed_dict, options, run_metadata)
            values = []
        else:
            result, values = run((fetches, names), feed_dict, options, run_metadata)
        self.last_inputs = dict(zip(names, values))
        if self.steps and self.report.train_steps == self.steps:
            self._guarded(self._finish_dynamic, session)
            self.stop_requested = True
            self.report.stopped = True
            raise _StopScript()
        return result

    def _guarded(self, fn, *args) -> None:
        """Run bnlint's own work; a failure there stops the script and is reported as bnlint's."""
        try:
            fn(*args)
        except Exception:
            self.internal_error = traceback.format_exc()
            self.stop_requested = True
            raise _StopScript() from None

    def on_close(self, session) -> None:
        if session is self.train_session and not self.dynamic_done and not self._busy \
                and self.internal_error is None:
            try:
                self._finish_dynamic(session)
            except Exception:
                self.internal_error = traceback.format_exc()

    def _start(self, session, train) -> None:
        self._busy = True
        try:
            graph = session.graph
            index = GraphIndex(graph)
            self.train_ops = train
            self.report.diagnostics.extend(inspect_graph(
                graph, train, small_batch=self.small_batch, filename=self.report.script, index=index))
            self.probe = MovingStatsProbe(graph, train, index=index)
            try:
                self.initial = self.probe.read(session)
            except tf.errors.OpError:  # not initialized yet: compare with the initializers' values
                self.initial = None
        finally:
            self._busy = False

    def _finish_dynamic(self, session) -> None:
        if self.probe is None or self.dynamic_done:
            return
        self._busy = True
        try:
            final = self.probe.read(session)
            diags, rows = self.probe.evaluate(self.initial, final, self.last_inputs,
                                              steps=self.report.train_steps, filename=self.report.script)
            self.report.diagnostics.extend(diags)
            self.report.layers = rows
            self.dynamic_done = True
        finally:
            self._busy = False

    def finish(self) -> None:
        """After the script: BNL107 if the session was left open, BNL104 on what evaluation fetched."""
        sess = self.train_session
        if sess is not None and not self.dynamic_done and not getattr(sess, "_closed", True):
            self._finish_dynamic(sess)
        if self.eval_ops and self.probe is not None:
            graph = self.probe.graph
            index = self.probe.index
            deps = index.ancestors(index.resolve(self.train_ops))
            evals = [op for name, op in self.eval_ops.items()
                     if op.graph is graph and name in index.ids and not deps[index.ids[name]]]
            if evals:
                # what evaluation really fetched settles BNL104 (the first step could only guess)
                found = [d for d in inspect_graph(graph, self.train_ops, evals, small_batch=self.small_batch,
                                                  filename=self.report.script, index=index) if d.code == "BNL104"]
                settled = {d.data.get("layer") for d in found}
                self.report.diagnostics[:] = [d for d in self.report.diagnostics
                                              if d.code != "BNL104" or d.data.get("layer") not in settled] + found


def run_script(path: str, argv: Sequence[str] = (), devices: int = 2, steps: int = DEFAULT_STEPS, *,
               small_batch: int = DEFAULT_SMALL_BATCH, echo: Optional[TextIO] = None) -> RunReport:
    """Run ``path`` as ``__main__`` with ``argv`` on ``devices`` CPU devices and inspect it.

    Stops the script after ``steps`` training steps (``0``: let it finish). The script's stdout is
    captured into the report (and copied to ``echo`` when given).
    """
    report = RunReport(script=path, argv=list(argv), devices=devices, steps=steps)
    if not os.path.isfile(path):
        report.error = f"no such script: {path}"
        return report
    detector = TrainStepDetector()
    observer = ScriptObserver(report, detector, small_batch=small_batch)
    lines = _Lines(echo)
    script = os.path.abspath(path)
    saved_argv, saved_path = sys.argv, list(sys.path)
    restore_switches = save_tf_switches()
    sys.argv = [path, *argv]
    sys.path.insert(0, os.path.dirname(script))
    try:
        v1.reset_default_graph()  # the script builds into a fresh default graph
        with Instrumentation(observer, detector, devices=devices), contextlib.redirect_stdout(lines):
            try:
                runpy.run_path(script, run_name="__main__")
            except _StopScript:
                pass
            except SystemExit as exc:
                if exc.code not in (None, 0) and not observer.stop_requested:
                    report.error = f"script exited with status {exc.code}"
            except Exception:  # the script crashed (after a stop request, that is how it ended)
                if not observer.stop_requested:
                    report.error = "script crashed:\n" + traceback.format_exc()
            try:
                observer.finish()
            except Exception:
                report.error = "bnlint failed after the run:\n" + traceback.format_exc()
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        restore_switches()
    if observer.internal_error:
        report.error = "bnlint failed while inspecting the run:\n" + observer.internal_error
    report.stdout = lines.finish()
    report.result = parse_result(report.stdout)
    if report.error is None and report.train_steps == 0:
        report.error = ("no train op found: the script ran no Session.run fetching an optimizer's "
                        "apply_gradients/minimize op")
    report.diagnostics.sort(key=lambda d: (d.location.row, d.code))
    return report


__all__ = ["RunReport", "run_script", "parse_result", "DEFAULT_STEPS"]
