"""BNL015 (info, opt-in): a conv/dense bias feeding straight into BN, which cancels it."""

from __future__ import annotations

import libcst as cst

from bnlint.analysis.module_info import kwarg
from bnlint.core.diagnostics import Fix
from bnlint.fix.edits import insert_keyword
from bnlint.fix.bn_conditions import bias_when_off, bn_condition, condition_text
from bnlint.facts.producers import bn_feeds
from bnlint.facts.events import event_of
from bnlint.facts.edits import replace_node
from bnlint.rulekit.rule import Invalid, Rule, RuleContext

# Layers with a bias (use_bias=True by default) and an ``activation`` argument.
BIASED = {"tf.layers." + n for n in ("conv1d", "conv2d", "conv3d", "dense", "separable_conv1d", "separable_conv2d",
                                     "conv2d_transpose", "conv3d_transpose")} | {
    "keras.layers." + n for n in ("Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D",
                                  "Dense", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv2D",
                                  "Conv2DTranspose", "Conv3DTranspose")}


def _is(expr, value: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == value


def _bias_on(call: cst.Call) -> bool:
    use_bias = kwarg(call, "use_bias")
    return use_bias is None or _is(use_bias, "True")


def _linear(call: cst.Call) -> bool:
    act = kwarg(call, "activation")
    return act is None or _is(act, "None") or (isinstance(act, cst.SimpleString) and act.evaluated_value == "linear")


def test_module(path: str) -> bool:
    """A unit-test file or a test-helper module (``test_x.py``, ``x_test.py``, directly in ``tests/``)."""
    parts = path.replace("\\", "/").split("/")
    stem = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1]
    return stem.startswith("test_") or stem.endswith("_test") or (len(parts) > 1 and parts[-2] in ("test", "tests"))


def _frozen(info, bn: cst.Call) -> bool:
    """A functional BN whose training flag is the constant False (``training=False``, or
    ``tf.layers``' default): it applies fixed statistics, so the bias before it is not cancelled."""
    ev = event_of(info, bn)
    sites = [s for s in (ev.sites if ev is not None else []) if s.kind == "functional"]
    return bool(sites) and all(s.flag == ("const", False) for s in sites)


class BiasBeforeBN(Rule):
    """Notes a `tf.layers`/Keras conv or dense layer with its bias on (the default) and no
    activation whose output goes straight into a BN layer that centres (`center=True`, the
    default) and trains (a BN frozen with `training=False` applies fixed statistics, which do not
    cancel the bias). Test files are left alone: their models are fixtures whose tests check the
    weights they have."""

    code = "BNL015"
    name = "bias-before-bn"
    summary = "Conv/dense bias right before BN: BN subtracts the mean, so the bias is a wasted parameter"
    severity = "info"
    default_enabled = False
    fix_safety = "unsafe"
    why = """
    BN subtracts the batch mean, which removes any constant per-channel offset the previous layer
    adds; BN's own `beta` provides the shift. The bias therefore receives zero gradient in
    expectation, costs memory and a checkpoint slot, and (with weight decay) only adds noise.
    """
    example = """
    x = tf.layers.conv2d(x, 64, 3)                          # BNL015: use_bias defaults to True
    x = tf.layers.batch_normalization(x, training=training)
    """
    fix_doc = """
    Pass `use_bias=False` to the layer before BN. Where BN is built only under a condition
    (`if bnorm: x = batch_normalization(x)`, `if not use_bn: return x`, `bn(x) if c else x`) the
    fix is `use_bias=not bnorm`, so the layers built without BN keep their bias; when the condition
    cannot be evaluated again at the layer (a call, a loop, a name rebound in between) no fix is
    offered. Unsafe: the variable set changes where BN is built, so existing checkpoints restore
    without the bias and inference shifts through the old moving mean.
    """
    VALID = [
        """
import tensorflow as tf
def block(x, training):
    x = tf.layers.conv2d(x, 64, 3, use_bias=False)
    return tf.layers.batch_normalization(x, training=training)
""",
        """
import tensorflow as tf
def block(x, training):
    x = tf.layers.conv2d(x, 64, 3, activation=tf.nn.relu)
    return tf.layers.batch_normalization(x, training=training)
""",
        """
import tensorflow as tf
def block(x, training):
    x = tf.layers.dense(x, 64)
    return tf.layers.batch_normalization(x, center=False, training=training)
""",
        """
import tensorflow as tf
def block(x):
    x = tf.layers.conv1d(x, 8, 3, padding="same")
    return tf.layers.batch_normalization(x, training=False)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def block(x, training):
    x = tf.layers.conv2d(x, 64, 3, padding="same")
    return tf.nn.relu(tf.layers.batch_normalization(x, training=training))
""",
            lines=[3],
            expected_fix="""
import tensorflow as tf
def block(x, training):
    x = tf.layers.conv2d(x, 64, 3, padding="same", use_bias=False)
    return tf.nn.relu(tf.layers.batch_normalization(x, training=training))
""",
        ),
        Invalid(
            """
import tensorflow as tf
def conv_block(x, filters, bnorm, training):
    x = tf.layers.conv2d(x, filters, 3)
    if bnorm:
        x = tf.layers.batch_normalization(x, training=training)
    return tf.nn.relu(x)
""",
            lines=[3],
            expected_fix="""
import tensorflow as tf
def conv_block(x, filters, bnorm, training):
    x = tf.layers.conv2d(x, filters, 3, use_bias=not bnorm)
    if bnorm:
        x = tf.layers.batch_normalization(x, training=training)
    return tf.nn.relu(x)
""",
        ),
        Invalid(
            """
from tensorflow import keras
model = keras.Sequential([
    keras.layers.Dense(128, input_shape=(20,)),
    keras.layers.BatchNormalization(),
    keras.layers.Activation("relu"),
])
""",
            lines=[3],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        if test_module(info.path):
            return  # a test's layer stack is a fixture (its tests check weight names and counts)
        for feed in bn_feeds(info):
            if feed.layer not in BIASED or not _bias_on(feed.layer_call) or not _linear(feed.layer_call):
                continue
            if _is(kwarg(feed.bn, "center"), "False"):
                continue
            if any(a.star for a in feed.layer_call.args):
                continue
            if _frozen(info, feed.bn):
                continue  # BN never normalises with batch statistics: its moving mean does not absorb the bias
            when = bn_condition(info, feed.body, feed.layer_call, feed.bn)
            value = None if when is None else bias_when_off(when)
            message = (f"`{feed.layer}` adds a bias that the BN right after it (line {ctx.line_of(feed.bn)}) "
                       "subtracts again with the batch mean (BN's beta is the shift)")
            if when is None:
                message += ("; BN is built only on some paths and its condition cannot be restated at this "
                            "layer (a loop, a call, a name rebound in between), while the layers built "
                            "without BN need the bias: no automatic fix")
            elif when:
                message += (f"; BN is built only when {condition_text(when)}: pass use_bias={value} so the "
                            "layers built without BN keep their bias")
            else:
                message += ": pass use_bias=False"
            fix = None
            if value is not None:
                use_bias = kwarg(feed.layer_call, "use_bias")
                edit = replace_node(info, use_bias, value) if use_bias is not None else \
                    insert_keyword(info, feed.layer_call, "use_bias", value)
                fix = Fix("Drop the bias before BN" + (f" where BN is built (use_bias={value})" if when else ""),
                          (edit,), applicability="unsafe")
            ctx.report(feed.layer_call, message, fix=fix)
