"""BNL020: Keras learning phase forced to 1 (training) for the whole program."""

from __future__ import annotations

from bnlint.analysis.module_info import arg
from bnlint.facts.literals import literal_number
from bnlint.facts.training import project_has_bn
from bnlint.rulekit.rule import Invalid, Rule, RuleContext

_SET = {"keras.backend.set_learning_phase"}
# Keras entry points that run the model without a `training` argument of the caller: they follow the phase.
_PHASE_USERS = {"fit", "evaluate", "predict", "fit_generator", "evaluate_generator", "predict_generator",
                "train_on_batch", "test_on_batch", "predict_on_batch"}


class LearningPhaseForced(Rule):
    """Finds `tf.keras.backend.set_learning_phase(1)` / `K.set_learning_phase(True)` in a program
    that builds BN layers."""

    code = "BNL020"
    name = "learning-phase-forced-training"
    summary = "K.set_learning_phase(1): every BN layer uses batch statistics, also in evaluate/predict/export"
    severity = "warning"
    why = """
    The global learning phase overrides the per-call default: with it set to 1, every Keras BN
    layer called without an explicit `training` argument normalises with batch statistics and
    updates its moving averages, in `predict`, `evaluate` and in graphs exported for serving too.
    Predictions then depend on the batch and single-example inference is wrong. The function is
    deprecated (and ignored by Keras 3); pass `training=` per call instead.

    Not reported when the module calls its models only with an explicit `training=` argument and
    never through `fit`/`evaluate`/`predict`: the argument overrides the phase for every inner
    layer (custom training loops that set the phase for old code paths).
    """
    example = """
    tf.keras.backend.set_learning_phase(1)   # BNL020
    model = tf.keras.applications.ResNet50()
    """
    fix_doc = """
    Remove the call and pass `training=True` only in the training step (`fit` does it for you).
    No automatic fix.
    """
    VALID = [
        """
import tensorflow as tf
# inference graph for export: phase 0 is the safe direction
tf.keras.backend.set_learning_phase(0)
model = tf.keras.applications.ResNet50()
""",
        """
import tensorflow as tf
tf.keras.backend.set_learning_phase(1)
model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.Dropout(0.5)])
""",
        """
import tensorflow as tf
# a custom loop: the explicit training= of each call overrides the phase
tf.keras.backend.set_learning_phase(1)
model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.BatchNormalization()])
def train_step(x):
    return model(x, training=True)
def test_step(x):
    return model(x, training=False)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
from tensorflow.keras import backend as K
K.set_learning_phase(1)
model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.BatchNormalization()])
""",
            lines=[3],
        ),
        Invalid(
            """
import tensorflow as tf
tf.keras.backend.set_learning_phase(1)
model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.BatchNormalization()])
def train_step(x):
    return model(x, training=True)
def report(x):
    return model.predict(x)  # follows the phase: batch statistics
""",
            lines=[2],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        events = list(ctx.info.all_events())
        explicit = any(kw.keyword is not None and kw.keyword.value == "training" for ev in events for kw in ev.node.args)
        if explicit and not any(ev.method in _PHASE_USERS for ev in events):
            return
        for ev in events:
            if ev.callee not in _SET:
                continue
            value = arg(ev.node, "value", 0)
            phase = literal_number(ev.body, value)
            if phase is None and getattr(value, "value", None) in ("True", "False"):
                phase = 1.0 if value.value == "True" else 0.0
            if phase != 1 or not project_has_bn(ctx.project):
                continue
            ctx.report(
                ev.node,
                "the learning phase is forced to 1: every Keras BN layer called without `training=` uses batch "
                "statistics and updates its averages, also in predict/evaluate and exported graphs; pass "
                "training=True in the training step instead",
            )
