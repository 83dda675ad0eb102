"""Patches that let bnlint watch an unmodified TensorFlow v1 training script run in-process.

- every Session (hence every MonitoredSession) gets ``device_count={"CPU": N}``: a v1 Session
  ignores ``tf.config.set_logical_device_configuration``;
- without a GPU, ``/gpu:i`` device scopes become ``/cpu:i`` (soft placement would otherwise put
  every tower on CPU:0);
- ``tf.compat.v1.train.Optimizer.apply_gradients``/``minimize`` (and overrides in subclasses)
  record the ops they return: a ``Session.run`` that fetches one (or an op depending on one) is a
  training step;
- ``Session.run`` and ``Session.close`` are routed to a :class:`RunObserver`.

All patches are undone on exit, also when the script raises.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, List, Optional, Set, Tuple

from bnlint.runtime._tf import tf, v1
from bnlint.runtime.graph_index import WRITE_PREFIXES, device_index

from tensorflow.python.client import session as _session  # noqa: E402
from tensorflow.python.framework import ops as _ops  # noqa: E402

_GPU = re.compile(r"(?i)\bgpu(?=:)")
OPTIMIZER_APPLY = tuple(p for p in WRITE_PREFIXES if "Apply" in p)


def map_gpu_to_cpu(device):
    """``/gpu:i`` -> ``/CPU:i`` in a device string, DeviceSpec or device function."""
    if device is None:
        return None
    if isinstance(device, str):
        return _GPU.sub("CPU", device)
    if hasattr(device, "to_string"):
        return _GPU.sub("CPU", device.to_string())
    if callable(device):
        def mapped(op, _fn=device):
            return map_gpu_to_cpu(_fn(op))
        return mapped
    return device


def session_config(config, devices: int, graph=None):
    """A copy of ``config`` with at least ``devices`` CPU devices, and one per device index the
    graph's ops name (``/cpu:3`` needs four)."""
    new = v1.ConfigProto()
    if config is not None:
        new.CopyFrom(config)
    if graph is not None:
        indices = {device_index(op.device) for op in graph.get_operations() if op.device}
        indices.discard(None)
        devices = max([devices, *(i + 1 for i in indices)])
    new.device_count["CPU"] = max(new.device_count.get("CPU", 0), devices)
    return new


class RunObserver:
    """What the patched Session sees; subclasses decide what a run does."""

    def on_run(self, session, run: Callable, fetches, feed_dict, options, run_metadata):
        return run(fetches, feed_dict, options, run_metadata)

    def on_close(self, session) -> None:
        pass


class TrainStepDetector:
    """Tells which fetched ops are training steps: an optimizer's op, or an op that depends on one."""

    def __init__(self):
        self.recorded: Set[Tuple[int, str]] = set()  # (id(graph), op name)
        self._cache: Dict[Tuple[int, str], bool] = {}
        self._fallback: Dict[int, Set[str]] = {}

    def record(self, result) -> None:
        for item in tf.nest.flatten(result):
            op = getattr(item, "op", item)
            if hasattr(op, "node_def") and hasattr(op, "graph"):
                self.recorded.add((id(op.graph), op.name))
                self._cache.clear()

    def _targets(self, graph) -> Set[str]:
        names = {name for gid, name in self.recorded if gid == id(graph)}
        if names:
            return names
        # no optimizer call seen in this graph (e.g. a Keras optimizer): any op applying gradients
        if id(graph) not in self._fallback:
            coll = {getattr(o, "name", "") for o in graph.get_collection(v1.GraphKeys.TRAIN_OP)}
            applies = {op.name for op in graph.get_operations() if op.type.startswith(OPTIMIZER_APPLY)}
            self._fallback[id(graph)] = (coll - {""}) | applies
        return self._fallback[id(graph)]

    def train_ops(self, graph, fetches) -> List:
        """The fetched ops that run a training step (empty for other runs)."""
        targets = self._targets(graph)
        if not targets:
            return []
        out = []
        for op in fetched_ops(graph, fetches):
            key = (id(graph), op.name)
            if key not in self._cache:
                self._cache[key] = _depends_on(op, targets)
            if self._cache[key]:
                out.append(op)
        return out


def fetched_ops(graph, fetches) -> List:
    ops = []
    for item in tf.nest.flatten(fetches):
        if isinstance(item, (str, bytes)):
            try:
                item = graph.as_graph_element(item.decode() if isinstance(item, bytes) else item)
            except (KeyError, ValueError, TypeError):
                continue
        op = item if hasattr(item, "node_def") else getattr(item, "op", None)
        if op is not None and hasattr(op, "node_def") and op.graph is graph:
            ops.append(op)
    return ops


def _depends_on(op, targets: Set[str]) -> bool:
    seen = {op.name}
    stack = [op]
    while stack:
        cur = stack.pop()
        if cur.name in targets:
            return True
        for nxt in [t.op for t in cur.inputs] + list(cur.control_inputs):
            if nxt.name not in seen:
                seen.add(nxt.name)
                stack.append(nxt)
    return False


def _optimizer_classes() -> List[type]:
    roots = [v1.train.Optimizer]
    out, stack = [], list(roots)
    while stack:
        cls = stack.pop()
        if cls not in out:
            out.append(cls)
            stack.extend(cls.__subclasses__())
    return out


class Instrumentation:
    """Context manager installing the patches; routes sessions to ``observer``."""

    def __init__(self, observer: RunObserver, detector: TrainStepDetector, *, devices: int,
                 map_gpus: Optional[bool] = None):
        self.observer = observer
        self.detector = detector
        self.devices = devices
        self.map_gpus = map_gpus
        self._undo: List[Tuple[object, str, object]] = []

    def _patch(self, owner, name: str, new) -> None:
        self._undo.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, new)

    def __enter__(self) -> "Instrumentation":
        observer, detector, devices = self.observer, self.detector, self.devices
        base = _session.BaseSession
        orig_init, orig_run, orig_close = base.__init__, base.run, base.close

        def init(sess, target="", graph=None, config=None):
            config = session_config(config, devices, graph if graph is not None else v1.get_default_graph())
            orig_init(sess, target, graph, config)

        def run(sess, fetches, feed_dict=None, options=None, run_metadata=None):
            def raw(f, fd=None, o=None, rm=None):
                return orig_run(sess, f, fd, o, rm)
            return observer.on_run(sess, raw, fetches, feed_dict, options, run_metadata)

        def close(sess):
            if not getattr(sess, "_closed", True):
                observer.on_close(sess)
            return orig_close(sess)

        self._patch(base, "__init__", init)
        self._patch(base, "run", run)
        self._patch(base, "close", close)

        map_gpus = self.map_gpus
        if map_gpus is None:
            map_gpus = not tf.config.list_physical_devices("GPU")
        if map_gpus:
            orig_device = _ops.Graph.device

            def device(graph, device_name_or_function):
                return orig_device(graph, map_gpu_to_cpu(device_name_or_function))

            self._patch(_ops.Graph, "device", device)

        for cls in _optimizer_classes():
            for meth in ("apply_gradients", "minimize"):
                if meth in cls.__dict__:
                    self._patch(cls, meth, _recording(cls.__dict__[meth], detector))
        return self

    def __exit__(self, *exc) -> None:
        while self._undo:
            owner, name, orig = self._undo.pop()
            setattr(owner, name, orig)


def _recording(method, detector: TrainStepDetector):
    def wrapper(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        detector.record(result)
        return result

    wrapper.__wrapped__ = method
    wrapper.__name__ = getattr(method, "__name__", "wrapper")
    wrapper.__doc__ = getattr(method, "__doc__", None)
    return wrapper
