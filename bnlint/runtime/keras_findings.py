"""Findings from what :mod:`bnlint.runtime.keras_observer` saw the Keras BN layers do.

Same vocabulary (and codes, where the meaning is the same) as the v1 inspector: BNL104 (BN in
training mode during evaluation/prediction), BNL106 (small unsynchronised per-replica batches),
BNL107 (a training step that leaves the moving statistics at their initial values), plus the TF2
codes BNL108..BNL111 (see :mod:`bnlint.core.runtime_codes`). Distances are the scale-free ones of
:mod:`bnlint.runtime.moving_stats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from bnlint.core.diagnostics import Diagnostic, Location
from bnlint.runtime.keras_observer import EVAL_PHASES, TRAIN_PHASES, LayerRecord, Observer, Segment
from bnlint.runtime.moving_stats import FAR, LayerStats, _mean_dist, _var_dist

REPLICA_SPREAD = 0.05  # mean distance between replicas' moving means above which they "differ"


@dataclass
class PhaseSummary:
    """One layer in one phase, all replicas."""

    phase: str
    calls: int = 0
    training_calls: int = 0
    unspecified_calls: int = 0
    batch: int = 0
    replicas: List[int] = field(default_factory=list)
    changed: bool = False
    trainable: List[bool] = field(default_factory=list)
    first: Optional[Segment] = None
    last: Dict[int, Segment] = field(default_factory=dict)  # replica -> last segment
    noise: float = 0.0

    def moments(self):
        """Pooled statistics of the data of each replica's last segment."""
        segs = [s for s in self.last.values() if s.n]
        n = sum(s.n for s in segs)
        s1 = sum(s.s1 for s in segs)
        s2 = sum(s.s2 for s in segs)
        m = s1 / n
        return m, np.maximum(s2 / n - m ** 2, 0.0)

    def distance(self, moving) -> Tuple[float, float]:
        m, v = self.moments()
        return _mean_dist(moving[0], m, v), _var_dist(moving[1], v)

    def end(self):
        return next(iter(self.last.values())).after


def summarize(rec: LayerRecord) -> Dict[str, PhaseSummary]:
    out: Dict[str, PhaseSummary] = {}
    for replica, segs in sorted(rec.segments.items()):
        for seg in segs:
            p = out.setdefault(seg.phase, PhaseSummary(seg.phase))
            p.calls += seg.calls
            p.training_calls += seg.training_calls
            p.unspecified_calls += seg.unspecified_calls
            p.batch = seg.batch if not p.batch else min(p.batch, seg.batch)
            if replica not in p.replicas:
                p.replicas.append(replica)
            p.changed = p.changed or bool(seg.changed())
            if seg.trainable not in p.trainable:
                p.trainable.append(seg.trainable)
            p.first = p.first or seg
            p.last[replica] = seg
            p.noise += seg.noise
    return out


def _fmt(x: float) -> str:
    return f"{x:.3g}"


class _Report:
    def __init__(self, observer: Observer, small_batch: int, filename: str):
        self.observer = observer
        self.small_batch = small_batch
        self.filename = filename
        self.diags: List[Diagnostic] = []

    def add(self, code: str, rec: LayerRecord, message: str, severity: str = "error", **data) -> None:
        row = rec.site[1] if rec.site and rec.site[0] and _same(rec.site[0], self.filename) else 1
        self.diags.append(Diagnostic(code, f"BN layer '{rec.name}': {message}", self.filename, Location(row, 1),
                                     severity=severity, data=dict(layer=rec.name, **data)))


def _same(a: str, b: str) -> bool:
    import os

    return os.path.abspath(a) == os.path.abspath(b) or os.path.basename(a) == os.path.basename(b)


def analyse(observer: Observer, *, small_batch: int = 16, filename: str = "<script>"):
    """-> (diagnostics, per-layer rows of the training phase for the verify table)."""
    r = _Report(observer, small_batch, filename)
    rows: List[LayerStats] = []
    per_site: Dict[Tuple[str, int], List[LayerRecord]] = {}
    for rec in observer.layers.values():
        per_site.setdefault(rec.site, []).append(rec)
    # layers created per step: one table row for their creation line (the first layer, with a count)
    repeated = {site: recs for site, recs in per_site.items() if any(r.after_training_started for r in recs)}
    for rec in observer.layers.values():
        if not rec.segments:
            continue
        phases = summarize(rec)
        train = [phases[p] for p in TRAIN_PHASES if p in phases]
        same = repeated.get(rec.site, [rec])
        if rec is same[0]:
            row = _row(rec, train)
            if len(same) > 1:
                row.layer = f"{rec.name} (+{len(same) - 1} more, line {rec.site[1]})"
            rows.append(row)
        for p in train:
            _train_findings(r, rec, p, phases)
        for name in EVAL_PHASES:
            if name in phases:
                _eval_findings(r, rec, phases[name])
        _frozen_findings(r, rec)
        _replica_findings(r, rec)
    _created_per_step(r, per_site)
    return r.diags, rows


def _row(rec: LayerRecord, train: List[PhaseSummary]) -> LayerStats:
    row = LayerStats(rec.name)
    if not train:
        return row
    p = train[-1]
    row.towers = sorted(p.replicas) if len(p.replicas) > 1 else []
    row.trained = any(t.training_calls for t in train)
    row.mean_changed = row.var_changed = any(t.changed for t in train)
    if p.first is not None and p.first.before is not None and p.end() is not None:
        start, end = train[0].first.before, p.end()
        row.mean_changed = not np.allclose(start[0], end[0], rtol=1e-6, atol=1e-7)
        row.var_changed = not np.allclose(start[1], end[1], rtol=1e-6, atol=1e-7)
        row.mean_dist, row.var_dist = p.distance(end)
        row.mean_dist_initial, row.var_dist_initial = p.distance(start)
    return row


def _frozen_findings(r: _Report, rec: LayerRecord) -> None:
    """Per training segment on replica 0: frozen yet moving (BNL108), or unfrozen after a frozen phase and
    overwriting the statistics it had then (BNL109)."""
    segs = [s for s in rec.segments.get(min(rec.segments), []) if s.phase in TRAIN_PHASES]
    frozen_end = None
    for seg in segs:
        if seg.before is None or seg.after is None:
            continue
        where = "fit" if seg.phase == "fit" else "the custom train step"
        nums = dict(phase=seg.phase, calls=seg.calls, training_calls=seg.training_calls, batch=seg.batch)
        if not seg.trainable:
            if seg.training_calls or seg.changed():
                moved = _mean_dist(seg.after[0], seg.before[0], seg.before[1])
                why = ("its `trainable` changed after compile() while the train function was already traced, so "
                       "the step still runs it as trainable; call compile() again" if rec.compiled_stale else
                       "the frozen layer still runs in training mode")
                r.add("BNL108", rec, f"trainable=False, yet in {where} it ran in training mode in {seg.training_calls}"
                      f" of {seg.calls} calls and its moving statistics moved {_fmt(moved)} std from their frozen "
                      f"values: {why}", compiled_stale=rec.compiled_stale, moved=moved, **nums)
            frozen_end = seg.after
        elif frozen_end is not None and seg.training_calls and seg.changed():
            moved = _mean_dist(seg.after[0], frozen_end[0], frozen_end[1])
            r.add("BNL109", rec, f"frozen (trainable=False) in an earlier training phase, then unfrozen: in {where} "
                  f"it runs in training mode in {seg.training_calls} of {seg.calls} calls on batches of {seg.batch} "
                  "and "
                  f"overwrites the pre-trained moving statistics (moved {_fmt(moved)} std from their frozen values); "
                  "keep the backbone's BN in inference mode (call it with training=False, or set the BN layers' "
                  "trainable=False)", severity="warning", moved=moved, **nums)
            frozen_end = None


def _train_findings(r: _Report, rec: LayerRecord, p: PhaseSummary, phases) -> None:
    where = "fit" if p.phase == "fit" else "the custom train step (a GradientTape records around the call)"
    start, end = p.first.before, p.end()
    if start is None or end is None or p.trainable == [False]:
        return
    d0, d1 = p.distance(start), p.distance(end)
    nums = dict(phase=p.phase, calls=p.calls, training_calls=p.training_calls, batch=p.batch,
                mean_dist_initial=d0[0], var_dist_initial=d0[1], mean_dist=d1[0], var_dist=d1[1])
    dist = f"distance from the statistics of its input: mean {_fmt(d1[0])}, variance {_fmt(d1[1])}"
    if p.training_calls == 0 and p.unspecified_calls:
        r.add("BNL107", rec, f"in {where} it ran in inference mode in all {p.calls} calls: the moving "
              f"statistics stayed at their initial values and the step normalises with them ({dist}; call the "
              "model with training=True)", **nums)
        return
    if not p.training_calls:
        return  # kept in inference mode on purpose (training=False)
    if len(p.replicas) > 1 and not rec.synchronized and p.batch < r.small_batch:
        noise = float(np.sqrt(p.noise / max(p.calls - len(p.replicas), 1)))
        r.add("BNL106", rec, f"under a {len(p.replicas)}-replica strategy it computes unsynchronised statistics over "
              f"per-replica batches of {p.batch} (< {r.small_batch}): each replica's batch mean is {_fmt(noise)} "
              "std from the pooled mean; use BatchNormalization(synchronized=True)", severity="warning",
              replicas=len(p.replicas), noise=noise, threshold=r.small_batch, **nums)
    trained_last = all(seg.training_calls for seg in p.last.values())
    if trained_last and (d1[0] > max(d0[0], FAR) or d1[1] > max(d0[1], FAR)):
        r.add("BNL107", rec, f"in {where} its moving statistics moved away from the statistics of its input "
              f"(mean {_fmt(d0[0])} -> {_fmt(d1[0])}, variance {_fmt(d0[1])} -> {_fmt(d1[1])})",
              severity="warning", **nums)


def _eval_findings(r: _Report, rec: LayerRecord, p: PhaseSummary) -> None:
    if not p.training_calls:
        return
    start, end = p.first.before, p.end()
    forced = ""
    lp = r.observer.learning_phase
    if lp is not None and lp[0] and rec.framework == "tf_keras":
        forced = f" (K.set_learning_phase({lp[0]}) at {lp[1][0].rsplit('/', 1)[-1]}:{lp[1][1]} forces training mode)"
    drift = ""
    data = dict(phase=p.phase, calls=p.calls, training_calls=p.training_calls, batch=p.batch, changed=p.changed)
    if start is not None and end is not None:
        d0, d1 = p.distance(start), p.distance(end)
        drift = (f"; its moving statistics {'drifted towards the evaluation data' if p.changed else 'did not change'}"
                 f" (distance from that data: mean {_fmt(d0[0])} -> {_fmt(d1[0])}, variance {_fmt(d0[1])} -> "
                 f"{_fmt(d1[1])})")
        data.update(mean_dist_initial=d0[0], mean_dist=d1[0], var_dist_initial=d0[1], var_dist=d1[1])
    r.add("BNL104", rec, f"during {p.phase} it ran in training mode in {p.training_calls} of {p.calls} calls"
          f"{forced}: outputs are normalised with the batch statistics, so they depend on the batch{drift}",
          learning_phase=lp[0] if lp else None, **data)


def _replica_findings(r: _Report, rec: LayerRecord) -> None:
    finals = [rec.final[k] for k in sorted(rec.final)]
    if len(finals) < 2:
        return
    mean = np.mean([f[0] for f in finals], axis=0)
    var = np.mean([f[1] for f in finals], axis=0)
    spread = max(_mean_dist(f[0], mean, var) for f in finals)
    if spread > REPLICA_SPREAD:
        r.add("BNL111", rec, f"its {len(finals)} replicas hold different moving statistics (largest replica mean "
              f"{_fmt(spread)} std from their average): each replica averaged only its own per-replica batches; "
              "reads and checkpoints see their mean. Use BatchNormalization(synchronized=True)",
              severity="warning", replicas=len(finals), spread=spread)


def _created_per_step(r: _Report, per_site) -> None:
    for site, recs in per_site.items():
        late = [rec for rec in recs if rec.after_training_started]
        if len(recs) < 2 or not late:
            continue
        used = [rec for rec in recs if rec.segments]
        seen = max((s.calls for rec in used for segs in rec.segments.values() for s in segs), default=0)
        first = recs[0]
        r.diags.append(Diagnostic(
            "BNL110", f"{len(recs)} BN layers were created at {site[0].rsplit('/', 1)[-1]}:{site[1]}, "
            f"{len(late)} of them inside a running train step (in the step or a layer's call()): every call "
            f"builds new variables, so no layer sees more than {seen} call(s) per replica and the moving "
            f"statistics never accumulate; create the layer once", r.filename,
            Location(site[1] if _same(site[0], r.filename) else 1, 1), severity="error",
            data=dict(layer=first.name, layers=len(recs), created_after_training=len(late), max_calls=seen)))


__all__ = ["analyse", "summarize", "PhaseSummary"]
