"""BNL005: a BN layer that never receives the training flag (omitted, or dropped by a wrapper)."""

from __future__ import annotations

import libcst as cst

from bnlint import tfnames
from bnlint.analysis import has_star_kwargs, kwarg
from bnlint.diagnostics import Fix
from bnlint.fixes import insert_keyword
from bnlint.patterns import bn_creator, flag_omitted, reaches_training, reads_name, training_param
from bnlint.project import call_arg
from bnlint.rule import Invalid, Rule, RuleContext


class TrainingFlagDropped(Rule):
    """Finds BN layers that are never told whether they train:

    * `tf.layers.batch_normalization(x)` without `training=` inside a function that takes a training
      flag (`is_training`, `training`, `train_flag`, ...), or anywhere in a program that runs an
      optimizer step: the flag defaults to False;
    * `slim.batch_norm` / `tf.contrib.layers.batch_norm` (directly or as `normalizer_fn`) without
      `is_training` in a function whose training-flag parameter is never used (no `arg_scope` sets
      it): the flag defaults to True;
    * a helper called without its training parameter from a function that has the flag at hand
      (`def model(x, is_training): return block(x)` with `def block(x, training=False)`).
    """

    code = "BNL005"
    name = "bn-training-flag-dropped"
    summary = "BN never gets the training flag: defaults to training=False (tf.layers) or True (slim)"
    fix_safety = "safe"
    why = """
    `tf.layers.batch_normalization` defaults to `training=False`: in the training graph it
    normalises with the moving statistics (initially mean 0, variance 1) and never updates them, so
    the layer is a plain affine transform and the network trains without normalisation. slim's and
    contrib's `batch_norm` default to `is_training=True`: the evaluation/export graph normalises
    each batch with its own statistics (results depend on the batch; single-example inference is
    wrong). A wrapper that takes `is_training=` and does not pass it on makes the caller believe
    the switch works.
    """
    example = """
    def conv_bn(x, filters, is_training):
        x = tf.layers.conv2d(x, filters, 3, use_bias=False)
        return tf.layers.batch_normalization(x)   # BNL005: is_training is dropped
    """
    fix_doc = """
    Pass the function's own flag: `tf.layers.batch_normalization(x, training=is_training)`,
    `slim.batch_norm(x, is_training=is_training)`, `block(x, training=is_training)`. Applied
    automatically when the enclosing function has the flag as a parameter; without one (a module
    that trains but has no flag) there is no automatic fix.
    """
    VALID = [
        """
import tensorflow as tf
def conv_bn(x, is_training):
    return tf.layers.batch_normalization(tf.layers.conv2d(x, 8, 3), training=is_training)
""",
        """
import tensorflow as tf
# Inference-only script: training=False (the default) is what it needs.
x = tf.placeholder(tf.float32, [None, 4])
y = tf.layers.batch_normalization(tf.layers.dense(x, 4))
saver = tf.train.Saver()
""",
        """
import tensorflow as tf
slim = tf.contrib.slim
def net(images, is_training):
    with slim.arg_scope([slim.batch_norm], is_training=is_training):
        return slim.conv2d(images, 8, 3, normalizer_fn=slim.batch_norm)
""",
        """
import tensorflow as tf
def block(x, training=False):
    return tf.layers.batch_normalization(x, training=training)
def model(x, is_training):
    return block(block(x, is_training), training=is_training)
""",
        """
import tensorflow as tf
def bn(x, is_training, **kwargs):
    return tf.layers.batch_normalization(x, **kwargs)
""",
        """
import tensorflow as tf
def frozen_backbone(x, is_training):
    # pretrained statistics stay fixed: explicit False
    x = tf.layers.batch_normalization(x, training=False)
    return tf.layers.dropout(x, training=is_training)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def conv_bn(x, filters, is_training):
    x = tf.layers.conv2d(x, filters, 3, use_bias=False)
    return tf.nn.relu(tf.layers.batch_normalization(x))
""",
            lines=[4],
            expected_fix="""
import tensorflow as tf
def conv_bn(x, filters, is_training):
    x = tf.layers.conv2d(x, filters, 3, use_bias=False)
    return tf.nn.relu(tf.layers.batch_normalization(x, training=is_training))
""",
        ),
        Invalid(
            """
import tensorflow as tf
x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(tf.layers.dense(x, 16))
loss = tf.reduce_mean(tf.square(tf.layers.dense(h, 1)))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer().minimize(loss)
""",
            lines=[3],
        ),
        Invalid(
            """
import tf_slim as slim
def net(images, is_training=True):
    x = slim.conv2d(images, 32, [3, 3], activation_fn=None)
    return slim.batch_norm(x, decay=0.9)
""",
            lines=[4],
            expected_fix="""
import tf_slim as slim
def net(images, is_training=True):
    x = slim.conv2d(images, 32, [3, 3], activation_fn=None)
    return slim.batch_norm(x, decay=0.9, is_training=is_training)
""",
        ),
        Invalid(
            """
import tf_slim as slim
def net(images, is_training=True):
    x = slim.conv2d(images, 32, [3, 3], normalizer_fn=slim.batch_norm)
    return slim.flatten(x)
""",
            lines=[3],
        ),
        Invalid(
            """
import tensorflow as tf
def block(x, training=False):
    return tf.layers.batch_normalization(x, training=training)
def model(x, is_training):
    h = block(x, is_training)
    return block(h)
""",
            lines=[6],
            expected_fix="""
import tensorflow as tf
def block(x, training=False):
    return tf.layers.batch_normalization(x, training=training)
def model(x, is_training):
    h = block(x, is_training)
    return block(h, training=is_training)
""",
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        for body in info.bodies.values():
            param = training_param(body) if body.is_function() else None
            for ev in body.events:
                creator = bn_creator(ev)
                if creator is not None and creator.kind == "functional":
                    if flag_omitted(ev):
                        self._omitted(ctx, body, ev, creator, param)
                elif ev.callee in tfnames.NORMALIZER_HOSTS:
                    self._normalizer(ctx, body, ev, param)
                elif param is not None:
                    self._helper(ctx, body, ev, param)

    def _omitted(self, ctx, body, ev, creator, param) -> None:
        name = ctx.info.module.code_for_node(ev.node.func)
        if creator.default_training is False:
            if param is not None:
                ctx.report(
                    ev.node,
                    f"`{name}` is called without `training=`: it defaults to False, so this layer normalises "
                    f"with its initial moving statistics during training too and never learns them; the "
                    f"function takes `{param}` but does not pass it on",
                    fix=Fix(f"Pass `training={param}`", (insert_keyword(ctx.info, ev.node, "training", param),)),
                )
            elif reaches_training(ctx.project, body):
                ctx.report(
                    ev.node,
                    f"`{name}` is called without `training=` in a program that trains it: the flag defaults "
                    "to False, so during training the layer normalises with its initial moving statistics "
                    "(mean 0, variance 1) and never learns them; pass the training flag (a placeholder or "
                    "the Estimator mode)",
                    severity="warning",
                )
            return
        if param is None or reads_name(body, param):
            return
        ctx.report(
            ev.node,
            f"`{name}` is called without `is_training`: it defaults to True, so evaluation and export "
            f"normalise each batch with its own statistics; the function takes `{param}` but never uses it",
            fix=Fix(f"Pass `is_training={param}`", (insert_keyword(ctx.info, ev.node, "is_training", param),)),
        )

    def _normalizer(self, ctx, body, ev, param) -> None:
        if param is None or reads_name(body, param):
            return
        if not any(s.flag == ("const", True) for s in ev.sites) or any(c.kind == "argscope" for c in ev.ctx):
            return
        if kwarg(ev.node, "normalizer_params") is not None or has_star_kwargs(ev.node):
            return  # its dict is the place to look; a dict without is_training is left alone
        name = ctx.info.module.code_for_node(ev.node.func)
        ctx.report(
            ev.node,
            f"`{name}(..., normalizer_fn=batch_norm)` without normalizer_params: batch_norm defaults to "
            f"is_training=True, so evaluation and export use batch statistics; the function takes "
            f"`{param}` but never uses it (pass normalizer_params={{'is_training': {param}}})",
        )

    def _helper(self, ctx, body, ev, param) -> None:
        tgt = ctx.project.target(ev)
        if tgt is None or tgt is body or param in ev.arg_names():
            return
        if not any(s.flag[0] == "const" for s in ev.sites):
            return  # builds no BN here (guarded off), or the flag is passed on
        if has_star_kwargs(ev.node) or any(a.star == "*" for a in ev.node.args):
            return
        flags = {s.flag[1] for s in tgt.summary if s.flag[0] == "param"}
        for q in sorted(flags):
            expr = call_arg(ev, tgt, q)
            if expr is None or expr is not tgt.defaults.get(q):
                continue  # passed explicitly (or required)
            if not (isinstance(expr, cst.Name) and expr.value in ("True", "False")):
                continue  # `train_flag=None`: the helper's "no BN here" convention
            name = ctx.info.module.code_for_node(ev.node.func)
            default = ctx.info.module.code_for_node(expr)
            ctx.report(
                ev.node,
                f"`{name}` builds BN layers whose training flag `{q}` is left at its default ({default}) "
                f"although this function takes `{param}`: the flag is dropped here",
                fix=Fix(f"Pass `{q}={param}`", (insert_keyword(ctx.info, ev.node, q, param),)),
            )
            return
