"""Small real tf.compat.v1 trainers, correct and broken in each way the runtime checks look for.

Every builder returns a :class:`Built` whose graph is fresh (``tf.Graph().as_default()``), so tests
can build many in one process. Towers sit on ``/cpu:i`` devices and in ``tower_i`` name scopes;
sessions get as many CPU devices through ``device_count``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

v1 = tf.compat.v1

HW, CH, CLASSES = 4, 3, 3


@dataclass
class Built:
    graph: tf.Graph
    train_op: object
    images: object
    labels: object
    flag: Optional[object] = None
    eval_fetch: Optional[object] = None
    eval_images: Optional[object] = None
    towers: int = 1
    batch: int = 32
    extra: Dict[str, object] = field(default_factory=dict)

    def feed(self, seed: int = 0, training: bool = True) -> dict:
        rng = np.random.RandomState(seed)
        x = rng.normal(3.0, 2.0, (self.batch * self.towers, HW, HW, CH)).astype(np.float32)
        y = rng.randint(CLASSES, size=self.batch * self.towers).astype(np.int64)
        feed = {self.images: x, self.labels: y}
        if self.flag is not None and self.flag.op.type == "Placeholder":
            feed[self.flag] = training
        return feed

    def session(self, devices: Optional[int] = None) -> "v1.Session":
        config = v1.ConfigProto(device_count={"CPU": devices or max(self.towers, 1)})
        sess = v1.Session(graph=self.graph, config=config)
        with self.graph.as_default():
            sess.run(v1.global_variables_initializer())
        return sess


def _bn(x, training, name, *, style, fused, layers_cache):
    if style == "v1":
        return v1.layers.batch_normalization(x, training=training, fused=fused, name=name, momentum=0.9)
    if style == "keras2":
        layer = layers_cache.get(name) or tf.keras.layers.BatchNormalization(name=name, fused=fused, momentum=0.9)
        layers_cache[name] = layer
        return layer(x, training=training)
    if style == "keras3":
        import keras

        layer = layers_cache.get(name) or keras.layers.BatchNormalization(name=name, momentum=0.9)
        layers_cache[name] = layer
        return layer(x, training=training)
    raise ValueError(style)


def _model(x, training, *, style, fused, cache, auto_names=False):
    """conv-BN-relu twice, then a dense layer; ``auto_names`` lets tf.layers number the layers."""
    def name(n):
        return None if auto_names else n

    h = v1.layers.conv2d(x, 4, 3, padding="same", use_bias=False, name=name("conv1"))
    h = tf.nn.relu(_bn(h, training, name("bn1"), style=style, fused=fused, layers_cache=cache))
    h = v1.layers.conv2d(h, 4, 3, padding="same", use_bias=False, name=name("conv2"))
    h = tf.nn.relu(_bn(h, training, name("bn2"), style=style, fused=fused, layers_cache=cache))
    return v1.layers.dense(tf.reshape(h, [-1, HW * HW * 4]), CLASSES, name=name("logits"))


def build(
    *,
    towers: int = 2,
    batch: int = 32,
    style: str = "v1",
    fused: bool = True,
    flag: str = "placeholder",  # "placeholder" | "const" (training=True in training, False in eval)
    share: bool = True,
    updates: str = "after",  # "after" | "before" | "tower0" | "none" | "layer_updates" | "scoped"
    eval_graph: str = "reuse",  # "reuse" | "noreuse" | "training" | "none"
    resource: bool = True,
    auto_names: bool = False,
    control_flow_v1: bool = False,  # tf.cond as Switch/Merge (what disable_v2_behavior gives)
) -> Built:
    if control_flow_v1:
        v1.disable_control_flow_v2()
        try:
            return build(towers=towers, batch=batch, style=style, fused=fused, flag=flag, share=share,
                         updates=updates, eval_graph=eval_graph, resource=resource, auto_names=auto_names)
        finally:
            v1.enable_control_flow_v2()
    graph = tf.Graph()
    cache: Dict[str, object] = {}
    with graph.as_default(), v1.variable_scope(v1.get_variable_scope(), use_resource=resource):
        images = v1.placeholder(tf.float32, [batch * towers, HW, HW, CH], name="images")
        labels = v1.placeholder(tf.int64, [batch * towers], name="labels")
        train_flag = v1.placeholder(tf.bool, [], name="train_flag") if flag == "placeholder" else True
        opt = v1.train.GradientDescentOptimizer(0.1)
        early = v1.get_collection(v1.GraphKeys.UPDATE_OPS) if updates == "before" else None
        grads, losses, tower0_updates = [], [], []
        for i in range(towers):
            if auto_names:  # single tower: tf.layers numbers the layers from the root scope
                scope = contextlib.nullcontext()
            elif share:
                scope = v1.variable_scope(v1.get_variable_scope(), reuse=v1.AUTO_REUSE)
            else:
                scope = v1.variable_scope("tower_%d_vars" % i)
            with tf.device("/cpu:%d" % i), tf.name_scope("tower_%d" % i), scope:
                logits = _model(images[i * batch:(i + 1) * batch], train_flag, style=style,  # noqa: BNL001
                                fused=fused, cache=cache, auto_names=auto_names)
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=labels[i * batch:(i + 1) * batch], logits=logits))
                losses.append(loss)
                if i == 0:
                    tower0_updates = v1.get_collection(v1.GraphKeys.UPDATE_OPS, scope="tower_0")
                grads.append(opt.compute_gradients(loss))
        if share:
            averaged = [(tf.add_n([g for g, _ in gv]) / towers, gv[0][1]) for gv in zip(*grads)]
        else:  # each tower trains its own copies
            averaged = [gv for tower_grads in grads for gv in tower_grads]
        deps = {
            "after": lambda: v1.get_collection(v1.GraphKeys.UPDATE_OPS),
            "before": lambda: early,
            "tower0": lambda: tower0_updates,
            "none": lambda: [],
            "layer_updates": lambda: [u for layer in cache.values() for u in layer.updates],
            "scoped": lambda: v1.get_collection(v1.GraphKeys.UPDATE_OPS, scope="tower_0"),
        }[updates]()
        with tf.control_dependencies(deps):
            train_op = opt.apply_gradients(averaged, name="train")  # noqa: BNL003 (deps chosen above)
        eval_fetch = eval_images = None
        if eval_graph != "none":
            eval_images = v1.placeholder(tf.float32, [None, HW, HW, CH], name="eval_images")
            eval_training = eval_graph == "training"
            if eval_graph == "noreuse":
                # the bug: a second model whose variables are new (auto-numbered or under "eval/")
                scope = contextlib.nullcontext() if auto_names else v1.variable_scope("eval")
                eval_cache: Dict[str, object] = {}
            else:
                scope = v1.variable_scope(v1.get_variable_scope() if share else "tower_0_vars", reuse=True)
                eval_cache = cache
            with tf.name_scope("eval"), scope:
                logits = _model(eval_images, eval_training, style=style, fused=fused,  # noqa: BNL001
                                cache=eval_cache, auto_names=auto_names)
                eval_fetch = tf.identity(logits, name="eval_logits")
    built = Built(graph, train_op, images, labels, train_flag if flag == "placeholder" else None,
                  eval_fetch, eval_images, towers, batch)
    built.extra["loss"] = losses
    return built


def names(diags) -> List[tuple]:
    """(code, layer) pairs of findings, sorted: what the tests assert on."""
    return sorted((d.code, d.data.get("layer")) for d in diags)
