"""BNL013: BN on the default last axis after a channels_first (NCHW) layer."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import arg, kwarg, literal_string
from bnlint.facts.producers import CONV_LAYERS, KERAS_CONV_LAYERS, bn_feeds
from bnlint.analysis.bn_sites import argscope_sets
from bnlint.facts.events import event_of
from bnlint.facts.literals import literal_number
from bnlint.rulekit.rule import Invalid, Rule, RuleContext


def _nchw(fmt: Optional[str]) -> bool:
    return fmt == "channels_first" or (fmt or "").startswith("NC")


def _keras_default_channels_first(info) -> bool:
    for ev in info.all_events():
        if ev.callee == "keras.backend.set_image_data_format" \
                and literal_string(arg(ev.node, "data_format", 0)) == "channels_first":
            return True
    return False


def _scoped_format(info, ev) -> Optional[str]:
    """data_format set for this layer by an enclosing ``slim.arg_scope([layer, ...], data_format=...)``."""
    if ev is None:
        return None
    for c in reversed(ev.ctx):
        if c.kind == "argscope" and c.call is not None and c.call.args:
            first = c.call.args[0].value
            if isinstance(first, (cst.List, cst.Tuple)) and ev.callee in {info.resolve(e.value) for e in first.elements}:
                fmt = literal_string(kwarg(c.call, "data_format"))
                if fmt is not None:
                    return fmt
    return None


def channels_first(info, feed) -> bool:
    """The feeding layer produces channels-first output by a literal data_format (or Keras's
    ``set_image_data_format("channels_first")`` default)."""
    if feed.layer in CONV_LAYERS:
        fmt = literal_string(kwarg(feed.layer_call, "data_format")) or _scoped_format(info, event_of(info, feed.layer_call))
        return _nchw(fmt)
    if feed.layer in KERAS_CONV_LAYERS:
        fmt = literal_string(kwarg(feed.layer_call, "data_format"))
        return _nchw(fmt) or (fmt is None and _keras_default_channels_first(info))
    return False


def _last_axis(expr) -> bool:
    """No axis given, or axis=-1."""
    return expr is None or literal_number(None, expr) == -1


class BNAxisChannelsFirst(Rule):
    """Finds BN that normalises the last axis of a channels-first tensor: `tf.layers.
    batch_normalization` / Keras `BatchNormalization` without `axis=1` (default -1), or slim
    `batch_norm` without `data_format="NCHW"`, directly after (activations aside) a conv/pool layer
    with `data_format="channels_first"`/`"NCHW"` (literal, from a `slim.arg_scope`, or Keras's
    `set_image_data_format("channels_first")`); also `slim.conv2d(..., data_format="NCHW",
    normalizer_fn=slim.batch_norm)` whose normalizer_params do not repeat the data format (slim does
    not pass it on). Sequential lists and `model.add` chains are followed.
    """

    code = "BNL013"
    name = "bn-axis-channels-first"
    summary = "BN on the last axis of a channels_first tensor: normalises width instead of channels"
    why = """
    BN keeps one mean/variance per feature along its `axis` (default -1, the last). For an NCHW
    tensor the last axis is the image width: statistics are computed per column, across channels,
    the moving averages have the wrong shape for other input widths, and the layer no longer does
    what batch normalisation should. It trains, but worse, and breaks for other image sizes.
    """
    example = """
    x = tf.layers.conv2d(x, 64, 3, data_format="channels_first")
    x = tf.layers.batch_normalization(x, training=is_training)   # BNL013: axis=-1 is width
    """
    fix_doc = """
    Normalise the channel axis: `tf.layers.batch_normalization(x, axis=1, ...)`,
    `BatchNormalization(axis=1)`, `slim.batch_norm(x, data_format="NCHW")` (for `normalizer_fn`,
    put `"data_format": "NCHW"` in normalizer_params or an `arg_scope`).
    """
    VALID = [
        """
import tensorflow as tf
def block(x, training):
    x = tf.layers.conv2d(x, 64, 3, data_format="channels_first", use_bias=False)
    return tf.nn.relu(tf.layers.batch_normalization(x, axis=1, training=training))
""",
        """
import tensorflow as tf
def block(x, training):
    x = tf.layers.conv2d(x, 64, 3, use_bias=False)
    return tf.layers.batch_normalization(x, training=training)
""",
        """
import tensorflow as tf
model = tf.keras.Sequential([
    tf.keras.layers.Conv2D(32, 3, data_format="channels_first", use_bias=False),
    tf.keras.layers.BatchNormalization(axis=1),
])
""",
        """
import tf_slim as slim
def net(x, is_training):
    with slim.arg_scope([slim.conv2d], data_format="NCHW", normalizer_fn=slim.batch_norm,
                        normalizer_params={"is_training": is_training, "data_format": "NCHW"}):
        return slim.conv2d(x, 32, 3)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def block(x, training):
    x = tf.layers.conv2d(x, 64, 3, data_format="channels_first", use_bias=False)
    x = tf.nn.relu(x)
    return tf.layers.batch_normalization(x, training=training)
""",
            lines=[5],
        ),
        Invalid(
            """
import tensorflow as tf
from tensorflow.keras import layers
model = tf.keras.Sequential([
    layers.Conv2D(32, 3, data_format="channels_first", use_bias=False),
    layers.BatchNormalization(),
    layers.ReLU(),
])
def functional(inputs):
    x = layers.Conv2D(32, 3, data_format="channels_first")(inputs)
    return layers.BatchNormalization(momentum=0.9)(x)
""",
            lines=[5, 10],
        ),
        Invalid(
            """
import tf_slim as slim
def net(x, is_training):
    return slim.conv2d(x, 32, 3, data_format="NCHW", normalizer_fn=slim.batch_norm,
                       normalizer_params={"is_training": is_training})
""",
            lines=[3],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        for feed in bn_feeds(info, skip_activations=True):
            if not channels_first(info, feed):
                continue
            bn = info.resolve(feed.bn.func)
            if bn == "tf.layers.batch_normalization" or tfnames.BN_CREATORS[bn].kind == "keras":
                if _last_axis(arg(feed.bn, "axis", 1 if bn == "tf.layers.batch_normalization" else 0)):
                    self._report(ctx, feed.bn, f"`{feed.layer}`", "axis=1")
            elif kwarg(feed.bn, "data_format") is None and not argscope_sets(event_of(info, feed.bn), "data_format"):
                self._report(ctx, feed.bn, f"`{feed.layer}`", 'data_format="NCHW"')
        for ev in info.all_events():
            if ev.callee in tfnames.NORMALIZER_HOSTS or ev.callee in tfnames.ARG_SCOPE:
                self._host(ctx, ev)

    def _host(self, ctx, ev) -> None:
        """``slim.conv2d(..., data_format="NCHW", normalizer_fn=slim.batch_norm)``, also as an arg_scope."""
        info = ctx.info
        fn = kwarg(ev.node, "normalizer_fn")
        if fn is None or info.resolve(fn) not in tfnames.BN_CREATORS:
            return
        if not _nchw(literal_string(kwarg(ev.node, "data_format"))) or argscope_sets(ev, "data_format"):
            return
        params = kwarg(ev.node, "normalizer_params")
        if isinstance(params, cst.Name):
            params = ev.body.binding(params.value, ev.order)
        if params is not None and not isinstance(params, cst.Dict):
            return  # built elsewhere: cannot tell
        keys = {literal_string(el.key) for el in params.elements if isinstance(el, cst.DictElement)} if params else set()
        if params is not None and any(not isinstance(el, cst.DictElement) for el in params.elements):
            return
        if "data_format" not in keys:
            layer = "this arg_scope's layers" if ev.callee in tfnames.ARG_SCOPE else f"`{ev.callee}`"
            self._report(ctx, ev.node, layer, 'normalizer_params={"data_format": "NCHW"}',
                         "slim does not pass data_format on to normalizer_fn, so ")

    def _report(self, ctx, node, layer, fix_hint, prefix="") -> None:
        ctx.report(
            node,
            f"{prefix}BN normalises the last axis of the channels-first output of {layer}: that axis is the "
            f"width, not the channels, so statistics are kept per image column; use {fix_hint}",
        )
