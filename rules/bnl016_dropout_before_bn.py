"""BNL016 (info, opt-in): Dropout feeding straight into BN."""

from __future__ import annotations

from bnlint.facts.producers import bn_feeds
from bnlint.rulekit.rule import Invalid, Rule, RuleContext

DROPOUTS = {"tf.layers.dropout", "tf.nn.dropout", "slim.dropout", "tf.contrib.layers.dropout",
            "keras.layers.Dropout", "keras.layers.SpatialDropout1D", "keras.layers.SpatialDropout2D",
            "keras.layers.SpatialDropout3D"}


class DropoutBeforeBN(Rule):
    """Notes a dropout layer whose output goes straight into a BN layer."""

    code = "BNL016"
    name = "dropout-before-bn"
    summary = "Dropout right before BN: the statistics learned in training do not match inference"
    severity = "info"
    default_enabled = False
    why = """
    Dropout scales the kept activations by 1/keep_prob in training, which raises their variance;
    at inference it is the identity. BN after it learns moving variances of the noisy training
    activations and applies them to the quieter inference activations ("variance shift", Li et
    al., CVPR 2019), so inference outputs are mis-scaled. Dropout after the last BN, or before the
    classifier, does not have this problem.
    """
    example = """
    x = tf.keras.layers.Dropout(0.5)(x)
    x = tf.keras.layers.BatchNormalization()(x)   # BNL016
    """
    fix_doc = """
    Move the dropout after the BN block (or after the last BN layer), or drop it: BN already
    regularises. No automatic fix.
    """
    VALID = [
        """
import tensorflow as tf
def head(x, training):
    x = tf.layers.batch_normalization(tf.layers.dense(x, 64, use_bias=False), training=training)
    return tf.layers.dropout(tf.nn.relu(x), 0.5, training=training)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def head(x, training):
    x = tf.layers.dropout(x, 0.5, training=training)
    return tf.layers.batch_normalization(x, training=training)
inputs = tf.keras.Input((16,))
h = tf.keras.layers.Dropout(0.3)(inputs)
h = tf.keras.layers.BatchNormalization()(h)
""",
            lines=[4, 7],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        for feed in bn_feeds(ctx.info):
            if feed.layer in DROPOUTS:
                ctx.report(
                    feed.bn,
                    f"BN normalises the output of `{feed.layer}` (line {ctx.line_of(feed.layer_call)}): dropout "
                    "inflates the variance in training only, so the moving variance BN learns does not fit "
                    "inference; put dropout after BN",
                )
