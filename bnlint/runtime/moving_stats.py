"""BNL107, the dynamic check: after K training steps every training BN layer's moving mean and
variance must have changed and moved toward the batch statistics of the layer's input.

Distances are scale-free so one threshold fits every layer: for the mean, the RMS over channels of
``|moving_mean - batch_mean| / batch_std``; for the variance, the RMS over channels of
``|log(moving_var / batch_var)|``. Batch statistics are measured on the input a training step fed
the layer (all towers that share the layer, concatenated).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from bnlint.core.diagnostics import Diagnostic, Location
from bnlint.runtime.graph_index import GraphIndex

DEFAULT_STEPS = 10  # training steps before BNL107 looks
EPS = 1e-6
FAR = 0.5  # distance above which moving statistics that did not approach the batch ones are reported


@dataclass
class LayerStats:
    """One BN layer's row in the before/after table."""

    layer: str
    towers: List[int] = field(default_factory=list)
    trained: bool = False  # has a training-mode application the train op depends on
    mean_changed: Optional[bool] = None
    var_changed: Optional[bool] = None
    mean_dist: Optional[float] = None
    var_dist: Optional[float] = None
    mean_dist_initial: Optional[float] = None
    var_dist_initial: Optional[float] = None

    def to_json(self) -> dict:
        return asdict(self)


def _mean_dist(mean, batch_mean, batch_var) -> float:
    return float(np.sqrt(np.mean(((mean - batch_mean) / np.sqrt(batch_var + EPS)) ** 2)))


def _var_dist(var, batch_var) -> float:
    return float(np.sqrt(np.mean(np.log((np.maximum(var, 0) + EPS) / (batch_var + EPS)) ** 2)))


def _changed(before, after) -> bool:
    return not np.allclose(before, after, rtol=1e-6, atol=1e-7)


def _batch_moments(x: np.ndarray, channels: int, axis_hint: int):
    axes = [a for a in range(x.ndim) if x.shape[a] == channels]
    if not axes:
        return None
    axis = (axis_hint % x.ndim) if (axis_hint % x.ndim) in axes else axes[-1]
    reduce = tuple(a for a in range(x.ndim) if a != axis)
    return x.mean(axis=reduce), x.var(axis=reduce)


class MovingStatsProbe:
    """Knows which tensors to read for BNL107; creates no ops, so it works on finalized graphs."""

    def __init__(self, graph, train_ops, *, index: Optional[GraphIndex] = None):
        self.index = index = index or GraphIndex(graph)
        self.graph = graph
        deps = index.ancestors(index.resolve(train_ops))
        apps = index.apps_by_layer()
        self.reads: Dict[str, Tuple[Optional[str], Optional[str]]] = {}
        self.inputs: Dict[str, List[Tuple[str, int]]] = {}
        self.towers: Dict[str, List[int]] = {}
        self.nodes: Dict[str, int] = {}
        for name, layer in index.layers.items():
            mean = self._read_tensor(layer.mean)
            var = self._read_tensor(layer.variance)
            if mean is None or var is None:
                continue
            self.reads[name] = (mean, var)
            self.nodes[name] = layer.mean
            training = [a for a in apps.get(name, []) if a.mode in ("train", "flag") and deps[a.node]]
            self.inputs[name] = [(a.input, a.channel_axis) for a in training if a.input]
            self.towers[name] = sorted({t for t in (index.tower(a.node) for a in training) if t is not None})

    def _read_tensor(self, var: Optional[int]) -> Optional[str]:
        """A tensor holding the variable's value whose evaluation runs nothing else (no writes)."""
        if var is None:
            return None
        index = self.index
        if index.types[var] != "VarHandleOp":
            return index.tensor_name(var)  # a ref variable evaluates to its value
        best = None
        for dst, _, _ in index.consumers[var]:
            if index.types[dst] == "ReadVariableOp" and not index.ctrl[dst]:
                if index.names[dst] == index.names[var] + "/Read/ReadVariableOp":
                    return index.tensor_name(dst)
                best = best or index.tensor_name(dst)
        return best

    def read(self, session) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
        """Current moving mean/variance of every layer."""
        if not self.reads:
            return {}
        values = session.run({k: (self.graph.get_tensor_by_name(m), self.graph.get_tensor_by_name(v))
                              for k, (m, v) in self.reads.items()})
        return {k: (np.asarray(m), np.asarray(v)) for k, (m, v) in values.items()}

    def input_fetches(self) -> List[str]:
        """Names of the tensors to fetch alongside a training step (the layers' inputs)."""
        seen: Dict[str, None] = {}
        for pairs in self.inputs.values():
            for name, _ in pairs:
                seen.setdefault(name)
        return list(seen)

    def evaluate(self, initial: Optional[Dict], final: Dict, inputs: Dict[str, np.ndarray], *,
                 steps: Optional[int] = None, filename: str = "<graph>") -> Tuple[List[Diagnostic], List[LayerStats]]:
        diags: List[Diagnostic] = []
        stats: List[LayerStats] = []
        after = f" after {steps} training steps" if steps else ""
        for name in self.reads:
            if name not in final:
                continue
            mean, var = final[name]
            if initial and name in initial:
                mean0, var0 = initial[name]
            else:
                mean0, var0 = np.zeros_like(mean), np.ones_like(var)
            row = LayerStats(name, self.towers.get(name, []), bool(self.inputs.get(name)),
                             _changed(mean0, mean), _changed(var0, var))
            moments = self._batch_moments(name, inputs, mean.size)
            if moments is not None:
                bm, bv = moments
                row.mean_dist, row.var_dist = _mean_dist(mean, bm, bv), _var_dist(var, bv)
                row.mean_dist_initial, row.var_dist_initial = _mean_dist(mean0, bm, bv), _var_dist(var0, bv)
            stats.append(row)
            if not row.trained:
                continue
            numbers = ""
            if row.mean_dist is not None:
                numbers = (f" (distance from the batch statistics of its input: mean {row.mean_dist:.3g}, "
                           f"variance {row.var_dist:.3g})")
            stayed = [k for k, changed in (("moving_mean", row.mean_changed), ("moving_variance", row.var_changed))
                      if not changed]
            data = dict(row.to_json(), steps=steps)
            loc = Location(self.index.source_row(self.nodes[name], filename) or 1, 1)
            if stayed:
                values = "their initial values" if len(stayed) > 1 else "its initial value"
                diags.append(Diagnostic(
                    "BNL107", f"BN layer '{name}': {' and '.join(stayed)} stayed at {values}{after}{numbers}",
                    filename, loc, severity="error", data=data))
                continue
            far = []
            if row.mean_dist is not None and row.mean_dist > max(row.mean_dist_initial, FAR):
                far.append(f"mean {row.mean_dist_initial:.3g} -> {row.mean_dist:.3g}")
            if row.var_dist is not None and row.var_dist > max(row.var_dist_initial, FAR):
                far.append(f"variance {row.var_dist_initial:.3g} -> {row.var_dist:.3g}")
            if far:
                diags.append(Diagnostic(
                    "BNL107", f"BN layer '{name}': moving statistics moved away from the batch statistics of its "
                    f"input{after} (distance {', '.join(far)})", filename, loc, severity="warning", data=data))
        return diags, stats

    def _batch_moments(self, name: str, inputs: Dict[str, np.ndarray], channels: int):
        arrays = [(np.asarray(inputs[t], dtype=np.float64), axis) for t, axis in self.inputs.get(name, [])
                  if t in inputs]
        if not arrays:
            return None
        axis = arrays[0][1]
        shapes = {a.shape[1:] for a, _ in arrays}
        x = np.concatenate([a for a, _ in arrays], axis=0) if len(shapes) == 1 else arrays[0][0]
        return _batch_moments(x, channels, axis)


def measure_moving_stats(session, feed_dict=None, *, train_ops, initial: Optional[Dict] = None,
                         steps: Optional[int] = None, filename: str = "<graph>",
                         probe: Optional[MovingStatsProbe] = None) -> Tuple[List[Diagnostic], List[LayerStats]]:
    """BNL107 findings and the per-layer table, measured now.

    ``feed_dict`` is a training batch's feed: the layers' inputs are evaluated on it (with an input
    pipeline this pulls one more batch). ``initial`` is ``probe.read(session)`` taken before
    training; without it the initializers' values (mean 0, variance 1) are assumed.
    """
    probe = probe or MovingStatsProbe(session.graph, train_ops)
    final = probe.read(session)
    names = probe.input_fetches()
    values = session.run(names, feed_dict) if names else []
    return probe.evaluate(initial, final, dict(zip(names, values)), steps=steps, filename=filename)


def check_moving_stats(session, feed_dict=None, *, train_ops, initial: Optional[Dict] = None,
                       steps: Optional[int] = None, filename: str = "<graph>") -> List[Diagnostic]:
    """BNL107 findings only (see :func:`measure_moving_stats`)."""
    return measure_moving_stats(session, feed_dict, train_ops=train_ops, initial=initial, steps=steps,
                                filename=filename)[0]


__all__: Sequence[str] = [
    "DEFAULT_STEPS", "LayerStats", "MovingStatsProbe", "check_moving_stats", "measure_moving_stats",
]
