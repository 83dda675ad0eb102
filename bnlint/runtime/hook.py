"""``BNLintHook``: the runtime checks inside a ``tf.compat.v1.train.MonitoredSession``.

At the first training step it runs the graph checks (BNL101..106) and records the moving
statistics; the K-th training step also fetches the BN layers' inputs, and BNL107 compares the
moving statistics with that batch's statistics. Findings are logged, kept in ``hook.diagnostics``
(per-layer numbers in ``hook.layer_stats``) and passed to ``on_report`` when given.
"""

from __future__ import annotations

import logging
from typing import Callable, List, Optional

from bnlint.core.diagnostics import Diagnostic
from bnlint.runtime._tf import v1
from bnlint.runtime.checks import DEFAULT_SMALL_BATCH, inspect_graph
from bnlint.runtime.graph_index import GraphIndex
from bnlint.runtime.instrument import TrainStepDetector, fetched_ops
from bnlint.runtime.moving_stats import DEFAULT_STEPS, LayerStats, MovingStatsProbe

log = logging.getLogger("bnlint.runtime")


class BNLintHook(v1.train.SessionRunHook):
    def __init__(self, train_ops=None, eval_fetches=None, *, steps: int = DEFAULT_STEPS,
                 small_batch: int = DEFAULT_SMALL_BATCH, filename: str = "<graph>",
                 on_report: Optional[Callable[[List[Diagnostic]], None]] = None):
        """``train_ops``: what a training step fetches (default: the ``train_op`` collection, else
        the ops fetched by the first run). ``steps``: when to run BNL107."""
        self._train_ops = train_ops
        self._eval_fetches = eval_fetches
        self._steps = steps
        self._small_batch = small_batch
        self._filename = filename
        self._on_report = on_report
        self.diagnostics: List[Diagnostic] = []
        self.layer_stats: List[LayerStats] = []
        self.step = 0

    def begin(self):
        self._graph = v1.get_default_graph()
        self._detector = TrainStepDetector()
        self._probe: Optional[MovingStatsProbe] = None
        self._initial = None
        self._measuring: List[str] = []
        if self._train_ops is not None:
            self._detector.record(fetched_ops(self._graph, self._train_ops))
        else:
            self._detector.record(self._graph.get_collection(v1.GraphKeys.TRAIN_OP))

    def before_run(self, run_context):
        fetches = run_context.original_args.fetches
        train = self._detector.train_ops(self._graph, fetches)
        if not train and self.step == 0 and not self._detector.recorded:
            train = fetched_ops(self._graph, fetches)  # no train op named: the first run is one
            self._detector.record(train)
        if not train:
            return None
        self.step += 1
        if self.step == 1:
            index = GraphIndex(self._graph)
            self._report(inspect_graph(self._graph, train, self._eval_fetches, small_batch=self._small_batch,
                                       filename=self._filename, index=index))
            self._probe = MovingStatsProbe(self._graph, train, index=index)
            self._initial = self._probe.read(run_context.session)
        if self._probe is not None and self.step == self._steps:
            self._measuring = self._probe.input_fetches()
            return v1.train.SessionRunArgs(self._measuring)
        return None

    def after_run(self, run_context, run_values):
        if self._probe is None or self.step != self._steps or self._steps == 0:
            return
        values = run_values.results or []
        final = self._probe.read(run_context.session)
        diags, rows = self._probe.evaluate(self._initial, final, dict(zip(self._measuring, values)),
                                           steps=self.step, filename=self._filename)
        self.layer_stats = rows
        self._report(diags)

    def end(self, session):
        """Training ended before step K: BNL107 on what the statistics did so far (no batch distances)."""
        if self._probe is None or self._steps == 0 or self.step >= self._steps:
            return
        diags, rows = self._probe.evaluate(self._initial, self._probe.read(session), {}, steps=self.step,
                                           filename=self._filename)
        self.layer_stats = rows
        self._report(diags)

    def _report(self, diags: List[Diagnostic]) -> None:
        self.diagnostics.extend(diags)
        for d in diags:
            (log.info if d.severity == "info" else log.warning)("%s", d.format_text())
        if diags and self._on_report is not None:
            self._on_report(diags)
