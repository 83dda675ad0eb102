"""BNL017: a custom TF2 training step calls a BN model without training=True, or an evaluation step
calls it with training=True."""

from __future__ import annotations

import libcst as cst

from bnlint.analysis.module_info import kwarg
from bnlint.core.diagnostics import Fix
from bnlint.fix.edits import insert_keyword
from bnlint.facts.names import eval_function_name
from bnlint.facts.training import feeds_training, trains_here
from bnlint.facts.keras_models import in_tape, model_call, model_has_bn
from bnlint.facts.edits import replace_node
from bnlint.facts.keras_training import trained_models, training_arg_free
from bnlint.rulekit.rule import Invalid, Rule, RuleContext


class KerasTrainingArgument(Rule):
    """Finds, for Keras models that certainly contain BatchNormalization (built in the linted code
    with `BatchNormalization` layers, a `keras.applications` model with BN, or a subclass whose
    layers include BN):

    * a call `model(x)` inside `with tf.GradientTape():` without `training=` when the same function
      differentiates `model.trainable_variables` (a frozen teacher called without the flag is fine);
    * a call `model(x, training=True)` in an evaluation function (`test_step`, `val_step`,
      `evaluate`, `predict`...) that is not part of a training step.
    """

    code = "BNL017"
    name = "keras-training-argument"
    summary = "TF2 custom loop: training step without training=True, or eval step with training=True"
    fix_safety = "safe"
    why = """
    Outside `fit`/`evaluate`, a Keras model decides BN's mode from the `training` argument; left
    out, it runs in inference mode. A GradientTape step without `training=True` therefore
    normalises with the moving statistics (initially mean 0, variance 1) and never updates them:
    the network trains without BN and inference matches nothing it learned. An evaluation step
    with `training=True` normalises with batch statistics and moves the averages towards the
    evaluation data.
    """
    example = """
    with tf.GradientTape() as tape:
        logits = model(images)                      # BNL017: needs training=True
        loss = loss_fn(labels, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    """
    fix_doc = """
    Pass the mode explicitly: `model(images, training=True)` in the training step,
    `model(images, training=False)` in the evaluation step. At runtime (`bnlint inspect -- script.py`)
    the same mistakes show as BNL107 (train step in inference mode, statistics unchanged) and BNL104
    (eval step in training mode, statistics drifting); `bnlint verify` proves the fix.
    """
    VALID = [
        """
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.BatchNormalization()])
opt = tf.keras.optimizers.Adam()
@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
@tf.function
def test_step(x):
    return model(x, training=False)
""",
        """
import tensorflow as tf
teacher = tf.keras.applications.ResNet50(weights="imagenet")
student = tf.keras.Sequential([tf.keras.layers.Dense(1000)])
def distill_step(x, opt):
    with tf.GradientTape() as tape:
        target = teacher(x)
        loss = tf.reduce_mean(tf.square(student(x, training=True) - target))
    opt.apply_gradients(zip(tape.gradient(loss, student.trainable_variables), student.trainable_variables))
""",
        """
import tensorflow as tf
# no BN in this model: the flag changes nothing
model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.Dense(1)])
def train_step(x, opt):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x))
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def build():
    inputs = tf.keras.Input((16,))
    h = tf.keras.layers.BatchNormalization()(tf.keras.layers.Dense(32)(inputs))
    return tf.keras.Model(inputs, tf.keras.layers.Dense(1)(h))
model = build()
opt = tf.keras.optimizers.SGD(0.1)
def train_step(x, y):
    with tf.GradientTape() as tape:
        pred = model(x)
        loss = tf.reduce_mean(tf.square(pred - y))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
""",
            lines=[10],
            expected_fix="""
import tensorflow as tf
def build():
    inputs = tf.keras.Input((16,))
    h = tf.keras.layers.BatchNormalization()(tf.keras.layers.Dense(32)(inputs))
    return tf.keras.Model(inputs, tf.keras.layers.Dense(1)(h))
model = build()
opt = tf.keras.optimizers.SGD(0.1)
def train_step(x, y):
    with tf.GradientTape() as tape:
        pred = model(x, training=True)
        loss = tf.reduce_mean(tf.square(pred - y))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
""",
        ),
        Invalid(
            """
import tensorflow as tf
class Net(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = tf.keras.layers.Dense(8)
        self.bn = tf.keras.layers.BatchNormalization()
    def call(self, x, training=None):
        return self.bn(self.dense(x), training=training)
net = Net()
def val_step(x, y):
    pred = net(x, training=True)
    return tf.reduce_mean(tf.square(pred - y))
""",
            lines=[11],
            expected_fix="""
import tensorflow as tf
class Net(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = tf.keras.layers.Dense(8)
        self.bn = tf.keras.layers.BatchNormalization()
    def call(self, x, training=None):
        return self.bn(self.dense(x), training=training)
net = Net()
def val_step(x, y):
    pred = net(x, training=False)
    return tf.reduce_mean(tf.square(pred - y))
""",
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info, project = ctx.info, ctx.project
        for body in info.bodies.values():
            trained = None
            fn = eval_function_name(body) if body.is_function() else None
            if fn and (trains_here(body) or feeds_training(project, body)):
                fn = None
            for ev in body.events:
                target = model_call(project, ev)
                if target is None:
                    continue
                if in_tape(ev) and training_arg_free(ev.node):
                    if trained is None:
                        trained = trained_models(body)
                    if target in trained and model_has_bn(project, body, ev.node.func, ev.order):
                        ctx.report(
                            ev.node,
                            f"`{target}` contains BatchNormalization and is trained here, but it is called "
                            "without `training=True`: BN runs in inference mode, normalises with the moving "
                            "statistics and never updates them",
                            fix=Fix("Pass training=True", (insert_keyword(info, ev.node, "training", "True"),)),
                        )
                elif fn:
                    flag = kwarg(ev.node, "training")
                    if isinstance(flag, cst.Name) and flag.value == "True" \
                            and model_has_bn(project, body, ev.node.func, ev.order):
                        ctx.report(
                            ev.node,
                            f"`{fn}` evaluates `{target}` (which contains BatchNormalization) with "
                            "`training=True`: BN normalises with batch statistics and moves its averages "
                            "towards the evaluation data",
                            fix=Fix("Pass training=False", (replace_node(info, flag, "False"),)),
                        )
