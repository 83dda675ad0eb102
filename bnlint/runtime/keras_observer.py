"""Observe every Keras BatchNormalization layer of a running TF2 script (Keras 3 and tf_keras).

Installed before the script imports its model, through Keras' own extension points:

* the BN classes' ``call`` is wrapped: at each call (eagerly, or once per ``tf.function`` trace and
  replica) it resolves the mode the layer really runs in (``training`` as Keras passes it, the
  learning phase, ``trainable``), and adds one ``tf.numpy_function`` that reports, every time the
  step executes, the replica, the batch moments of the input and the moving mean/variance before
  the update;
* the BN classes' ``build`` records where each layer was built (its first call, or the functional
  model's construction) and whether training had already started (a layer created inside the step);
* ``Model.fit/evaluate/predict`` get a callback that names the phase (fit, fit validation,
  evaluate, predict) and keeps the losses; ``Model.compile`` snapshots the BN layers' ``trainable``;
* outside Keras' loops the phase is a custom *train step* when a GradientTape records around the
  call, else a custom *eval step*.

Per layer and replica the calls are kept as :class:`Segment` s (a run of calls in one phase, with
the moving statistics before and after and the pooled statistics of the data that flowed through);
:mod:`bnlint.runtime.keras_findings` turns them into findings.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import traceback
import weakref
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

TRAIN_PHASES = ("train step", "fit")
_BN_CLASSES = (("keras", "keras.src.layers.normalization.batch_normalization", "BatchNormalization"),
               ("tf_keras", "tf_keras.src.layers.normalization.batch_normalization", "BatchNormalizationBase"))
EVAL_PHASES = ("eval step", "evaluate", "predict", "fit validation")


@dataclass
class Segment:
    """Consecutive calls of one layer on one replica in one phase."""

    phase: str
    replica: int
    trainable: bool
    calls: int = 0
    training_calls: int = 0
    unspecified_calls: int = 0  # inference-mode calls where nobody passed training (None)
    batch: int = 0  # smallest batch seen
    before: Optional[Tuple[np.ndarray, np.ndarray]] = None  # moving mean/var at the first call
    after: Optional[Tuple[np.ndarray, np.ndarray]] = None  # ... after the last one
    n: float = 0.0  # pooled data moments (sample count, sum of x, sum of x^2 per channel)
    s1: Optional[np.ndarray] = None
    s2: Optional[np.ndarray] = None
    noise: float = 0.0  # sum over calls of the squared distance of the batch mean from the pooled mean

    def add(self, training: bool, unspecified: bool, n: int, bmean, bvar) -> None:
        self.calls += 1
        self.training_calls += int(training)
        self.unspecified_calls += int(unspecified and not training)
        self.batch = n if not self.batch else min(self.batch, n)
        if self.s1 is None:
            self.s1, self.s2 = np.zeros_like(bmean, np.float64), np.zeros_like(bmean, np.float64)
        self.n += n
        self.s1 += n * bmean
        self.s2 += n * (bvar + bmean ** 2)
        if self.calls > 1:
            m, v = self.moments()
            self.noise += float(np.mean((bmean - m) ** 2 / (v + 1e-6)))

    def moments(self):
        m = self.s1 / self.n
        return m, np.maximum(self.s2 / self.n - m ** 2, 0.0)

    def changed(self) -> Optional[bool]:
        if self.before is None or self.after is None:
            return None
        return not all(np.allclose(a, b, rtol=1e-6, atol=1e-7) for a, b in zip(self.before, self.after))


@dataclass
class LayerRecord:
    key: int
    name: str
    framework: str  # keras | tf_keras
    site: Tuple[str, int]
    after_training_started: bool
    synchronized: bool = False
    replicas: int = 1
    compiled_trainable: Optional[bool] = None
    compiled_stale: bool = False  # trainable differed from compile() while the train function was cached
    ref: object = None
    segments: Dict[int, List[Segment]] = field(default_factory=dict)  # replica -> segments
    final: Dict[int, Tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


class Observer:
    def __init__(self, script: str):
        self.script = os.path.abspath(script)
        self.layers: Dict[int, LayerRecord] = {}
        self.phase: List[str] = []  # Keras loop phases, innermost last
        self.train_events = 0
        self.losses: Dict[str, float] = {}
        self.learning_phase: Optional[Tuple[object, Tuple[str, int]]] = None
        self.errors: List[str] = []
        self._restore: List = []

    # -- where in the script
    def site(self) -> Tuple[str, int]:
        frames = traceback.extract_stack()[:-2]
        for fr in reversed(frames):
            if os.path.abspath(fr.filename) == self.script:
                return fr.filename, fr.lineno
        for fr in reversed(frames):
            if "site-packages" not in fr.filename and "/bnlint/" not in fr.filename and "<" not in fr.filename:
                return fr.filename, fr.lineno
        return self.script, 1

    # -- patches
    def _patch(self, owner, name, wrapper) -> None:
        original = owner.__dict__[name]
        setattr(owner, name, functools.wraps(original)(wrapper(original)))
        self._restore.append((owner, name, original))

    def install(self, frameworks=("keras", "tf_keras")) -> None:
        for framework, module, cls in _BN_CLASSES:
            if framework not in frameworks:
                continue
            try:
                owner = getattr(importlib.import_module(module), cls)
            except Exception:  # that Keras is not installed
                continue
            self._patch(owner, "build", lambda orig, fw=framework: self._build_wrapper(orig, fw))
            self._patch(owner, "call", lambda orig, fw=framework: self._call_wrapper(orig, fw))
            model = importlib.import_module("keras.src.models.model" if framework == "keras"
                                            else "tf_keras.src.engine.training").Model
            callback = importlib.import_module("keras.src.callbacks.callback" if framework == "keras"
                                               else "tf_keras.src.callbacks").Callback
            cb_class = type("BNLintPhases", (callback,), _callback_methods(self))
            for loop in ("fit", "evaluate", "predict"):
                owner_cls = next(c for c in model.__mro__ if loop in c.__dict__)
                self._patch(owner_cls, loop, lambda orig, cb=cb_class, lp=loop: self._loop_wrapper(orig, cb, lp))
            owner_cls = next(c for c in model.__mro__ if "compile" in c.__dict__)
            self._patch(owner_cls, "compile", lambda orig: self._compile_wrapper(orig))
            if framework == "tf_keras":
                self._patch_learning_phase(importlib.import_module("tf_keras.src.backend").set_learning_phase)
        self._patch_strategy()

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)
        self._restore.clear()

    def _patch_strategy(self) -> None:
        """``MirroredStrategy()`` without devices mirrors over the GPUs, else over ``/cpu:0`` only: with
        no GPU, bnlint's logical CPUs stand in for them (as the v1 inspector maps /gpu:i to /cpu:i)."""
        import tensorflow as tf

        def wrapper(orig):
            def __init__(strategy, devices=None, *args, **kwargs):
                if devices is None and not tf.config.list_logical_devices("GPU"):
                    cpus = tf.config.list_logical_devices("CPU")
                    if len(cpus) > 1:
                        devices = [d.name for d in cpus]
                return orig(strategy, devices, *args, **kwargs)
            return __init__

        self._patch(tf.distribute.MirroredStrategy, "__init__", wrapper)

    def _build_wrapper(self, orig, framework):
        """Registers the layer when Keras builds it (its first call, or the functional model's construction);
        patching ``build`` rather than ``__init__`` keeps Keras' auto-config of constructor arguments intact."""
        observer = self

        def build(layer, *args, **kwargs):
            result = orig(layer, *args, **kwargs)
            try:
                if id(layer) not in observer.layers or observer.layers[id(layer)].ref() is not layer:
                    observer.layers[id(layer)] = LayerRecord(
                        id(layer), layer.name, framework, observer.site(), observer.in_training_step(),
                        synchronized=bool(getattr(layer, "synchronized", False)
                                          or type(layer).__name__ == "SyncBatchNormalization"),
                        ref=weakref.ref(layer))
            except Exception:
                observer.errors.append(traceback.format_exc())
            return result
        return build

    def _call_wrapper(self, orig, framework):
        observer = self

        def call(layer, inputs, *args, **kwargs):
            try:
                probe = observer._probe(layer, framework, inputs, args, kwargs)
            except Exception:  # never break the user's step
                observer.errors.append(traceback.format_exc())
                probe = None
            if probe is None:
                return orig(layer, inputs, *args, **kwargs)
            import tensorflow as tf

            with tf.control_dependencies([probe]):
                return orig(layer, inputs, *args, **kwargs)
        return call

    def _probe(self, layer, framework, inputs, args, kwargs):
        import tensorflow as tf
        from tensorflow.python.eager import record

        record_ = self.layers.get(id(layer))
        if record_ is None:
            return None
        training = kwargs.get("training", args[0] if args else None)
        unspecified = training is None
        if framework == "tf_keras":
            training = layer._get_training_value(training)
        else:
            training = bool(training) and layer.trainable
        if tf.is_tensor(training):
            flag = tf.cast(training, tf.bool)
        else:
            flag = tf.constant(bool(training))
        ctx = tf.distribute.get_replica_context()
        replica = tf.cast(ctx.replica_id_in_sync_group, tf.int32) if ctx is not None else tf.constant(0)
        if ctx is not None:
            record_.replicas = max(record_.replicas, int(ctx.num_replicas_in_sync))
        taped = bool(record.could_possibly_record())
        x = tf.cast(inputs, tf.float32)
        axis = layer.axis if isinstance(layer.axis, int) else layer.axis[-1]
        axis = axis % len(x.shape)
        axes = [a for a in range(len(x.shape)) if a != axis]
        bmean, bvar = tf.nn.moments(x, axes)
        count = tf.cast(tf.size(x) // tf.maximum(tf.shape(x)[axis], 1), tf.int32)
        mean_var = _tensor(layer.moving_mean)
        var_var = _tensor(layer.moving_variance)
        key = id(layer)
        fn = functools.partial(self._record, key, taped, unspecified)
        return tf.numpy_function(fn, [replica, flag, count, bmean, bvar, mean_var, var_var], tf.int32,
                                 stateful=True, name="bnlint_observe")

    def in_training_step(self) -> bool:
        """Training has started and a train step runs now (a GradientTape records, or fit is on)."""
        from tensorflow.python.eager import record

        return self.train_events > 0 and (bool(record.could_possibly_record()) or "fit" in self.phase)

    def current_phase(self, taped: bool) -> str:
        if self.phase:
            return self.phase[-1]
        return "train step" if taped else "eval step"

    def _record(self, key, taped, unspecified, replica, training, n, bmean, bvar, mm, mv):
        try:
            rec = self.layers[key]
            layer = rec.ref()
            phase = self.current_phase(bool(taped))
            replica = int(replica)
            segs = rec.segments.setdefault(replica, [])
            trainable = bool(getattr(layer, "trainable", True))
            moving = (np.array(mm, np.float64), np.array(mv, np.float64))
            if segs:
                segs[-1].after = moving
            if not segs or segs[-1].phase != phase or segs[-1].trainable != trainable:
                segs.append(Segment(phase, replica, trainable, before=moving))
            segs[-1].add(bool(training), unspecified, int(n), np.asarray(bmean, np.float64),
                         np.asarray(bvar, np.float64))
            if phase in TRAIN_PHASES:
                self.train_events += 1
        except Exception:
            self.errors.append(traceback.format_exc())
        return np.int32(0)

    def _loop_wrapper(self, orig, cb_class, loop):
        observer = self

        def run(model, *args, **kwargs):
            if loop == "fit":
                observer._check_compiled(model)
            callbacks = list(kwargs.get("callbacks") or [])
            callbacks.append(cb_class())
            kwargs["callbacks"] = callbacks
            result = orig(model, *args, **kwargs)
            if loop == "evaluate":
                loss = result[0] if isinstance(result, (list, tuple)) and result else result
                if isinstance(loss, dict):
                    loss = loss.get("loss")
                if isinstance(loss, (int, float, np.floating)):
                    observer.losses["infer_loss"] = float(loss)
            return result
        return run

    def _compile_wrapper(self, orig):
        observer = self

        def compile(model, *args, **kwargs):
            for layer in _bn_layers(model):
                rec = observer.layers.get(id(layer))
                if rec is not None:
                    rec.compiled_trainable = bool(layer.trainable)
                    rec.compiled_stale = False
            return orig(model, *args, **kwargs)
        return compile

    def _check_compiled(self, model) -> None:
        """A fit whose cached train function was traced before a ``trainable`` change (no compile since)."""
        cached = getattr(model, "train_function", None) is not None
        for layer in _bn_layers(model):
            rec = self.layers.get(id(layer))
            if rec is not None and rec.compiled_trainable is not None and cached \
                    and rec.compiled_trainable != bool(layer.trainable):
                rec.compiled_stale = True

    def _patch_learning_phase(self, orig) -> None:
        """tf_keras' ``set_learning_phase``, wherever its public modules re-export it."""
        observer = self

        @functools.wraps(orig)
        def set_learning_phase(value):
            observer.learning_phase = (value, observer.site())
            return orig(value)

        for name, module in list(sys.modules.items()):
            if name.startswith("tf_keras") and getattr(module, "set_learning_phase", None) is orig:
                setattr(module, "set_learning_phase", set_learning_phase)
                self._restore.append((module, "set_learning_phase", orig))

    def read_final(self) -> None:
        """The moving statistics each replica holds at the end (closes the last segments)."""
        for rec in self.layers.values():
            layer = rec.ref()
            if layer is None or not rec.segments:
                continue
            try:
                means, variances = _replica_values(layer.moving_mean), _replica_values(layer.moving_variance)
            except Exception:
                self.errors.append(traceback.format_exc())
                continue
            for replica, segs in rec.segments.items():
                i = replica if replica < len(means) else 0
                rec.final[replica] = (means[i], variances[i])
                segs[-1].after = rec.final[replica]


def _callback_methods(observer: Observer) -> dict:
    def push(name):
        def method(self, logs=None):
            observer.phase.append(name if name != "evaluate" or not observer.phase else "fit validation")
        return method

    def pop(self, logs=None):
        if observer.phase:
            observer.phase.pop()

    def epoch_end(self, epoch, logs=None):
        if logs and "loss" in logs:
            observer.losses["train_loss"] = float(logs["loss"])

    return {"on_train_begin": push("fit"), "on_train_end": pop, "on_test_begin": push("evaluate"),
            "on_test_end": pop, "on_predict_begin": push("predict"), "on_predict_end": pop,
            "on_epoch_end": epoch_end}


def _tensor(variable):
    """A Keras 3 variable wraps a tf.Variable (``.value``); tf_keras BN holds tf.Variables."""
    import tensorflow as tf

    value = variable if isinstance(variable, tf.Variable) else getattr(variable, "value", variable)
    return tf.cast(tf.convert_to_tensor(value), tf.float32)


def _replica_values(variable) -> List[np.ndarray]:
    inner = getattr(variable, "_value", None) if not hasattr(variable, "values") else variable
    inner = inner if inner is not None else variable
    values = getattr(inner, "values", None)
    if values is None:
        return [np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable, np.float64)]
    return [np.asarray(v.numpy(), np.float64) for v in values]


def _bn_layers(model):
    try:
        layers = model._flatten_layers(include_self=False, recursive=True)
    except Exception:
        layers = getattr(model, "layers", [])
    return [layer for layer in layers if "BatchNormalization" in type(layer).__name__]


__all__ = ["Observer", "Segment", "LayerRecord", "TRAIN_PHASES", "EVAL_PHASES"]
