"""BNL020: Keras learning phase forced to 1 (training) for the whole program."""

from __future__ import annotations

from bnlint.analysis.module_info import arg
from bnlint.facts.literals import literal_number
from bnlint.facts.training import project_has_bn
from bnlint.rulekit.rule import Invalid, Rule, RuleContext

_SET = {"keras.backend.set_learning_phase"}


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
    ]

    def check(self, ctx: RuleContext) -> None:
        for ev in ctx.info.all_events():
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
