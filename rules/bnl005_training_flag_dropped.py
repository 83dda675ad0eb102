"""BNL005: a BN layer that never receives the training flag (omitted, or dropped by a wrapper)."""

from __future__ import annotations

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import has_star_kwargs, kwarg
from bnlint.core.diagnostics import Fix
from bnlint.fix.edits import insert_keyword
from bnlint.facts.arg_scope import may_set_bn_flag
from bnlint.analysis.bn_sites import DEFAULT, bn_creator_of, flag_omitted
from bnlint.analysis.module_roles import EVALUATES, TRAINS
from bnlint.facts.training import reaches_training
from bnlint.facts.names import reads_name, training_param
from bnlint.analysis.project import call_arg
from bnlint.rulekit.rule import Invalid, Rule, RuleContext


class TrainingFlagDropped(Rule):
    """Finds BN layers that are never told whether they train:

    * `tf.layers.batch_normalization(x)` without `training=` inside a function that takes a training
      flag (`is_training`, `training`, `train_flag`, ...), or anywhere in a program that runs an
      optimizer step: the flag defaults to False;
    * `slim.batch_norm` / `tf.contrib.layers.batch_norm` (directly or as `normalizer_fn`) without
      `is_training` in a function whose training-flag parameter is never used (no `arg_scope` sets
      it): the flag defaults to True;
    * a helper called without its training parameter from a function that has the flag at hand
      (`def model(x, is_training): return block(x)` with `def block(x, training=False)`);
    * a layer helper module without any flag: `tf.layers.batch_normalization(x)` in `layers.py`
      when a module importing it (directly or through `models.py`) runs an optimizer step, and
      `slim.batch_norm(x)` when one has an evaluation path (eval/test/predict/sample functions) and
      no `arg_scope` in the project sets `is_training`.

    The flag counts as given when it comes from a `**dict`, `normalizer_params`, an `arg_scope`
    (also one listing the project's own `@slim.add_arg_scope` functions) or `functools.partial`.
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
                creator = bn_creator_of(ev)
                if creator is not None and creator.kind == "functional":
                    if flag_omitted(ev):
                        self._omitted(ctx, body, ev, creator, param)
                elif ev.callee in tfnames.NORMALIZER_HOSTS:
                    self._normalizer(ctx, body, ev, param)
                elif param is not None:
                    self._helper(ctx, body, ev, param)

    def _omitted(self, ctx, body, ev, creator, param) -> None:
        name = ctx.info.module.code_for_node(ev.node.func)
        outer = _closure_flag(body) if param is None else None
        if outer is not None:  # ``def conv(ch, x): ... batch_norm(c)`` inside ``layer_op(..., is_training)``
            keyword = creator.flag or "is_training"
            default = "True" if creator.default_training else "False"
            ctx.report(
                ev.node,
                f"`{name}` is called without `{keyword}=` in `{body.name.split('.')[-1]}`, a nested function of "
                f"`{outer[0].name.split('.')[-1]}`, which takes `{outer[1]}`: the flag defaults to {default}, so "
                + ("evaluation and export normalise each batch with its own statistics" if creator.default_training
                   else "during training the layer uses its initial moving statistics and never learns them")
                + f"; pass `{keyword}={outer[1]}`",
                fix=Fix(f"Pass `{keyword}={outer[1]}`", (insert_keyword(ctx.info, ev.node, keyword, outer[1]),)),
            )
            return
        if creator.default_training is False:
            if param is not None:
                ctx.report(
                    ev.node,
                    f"`{name}` is called without `training=`: it defaults to False, so this layer normalises "
                    f"with its initial moving statistics during training too and never learns them; the "
                    f"function takes `{param}` but does not pass it on",
                    fix=Fix(f"Pass `training={param}`", (insert_keyword(ctx.info, ev.node, "training", param),)),
                )
            else:
                trainer = _trained_by(ctx, body)
                if trainer is None:
                    return
                ctx.report(
                    ev.node,
                    f"`{name}` is called without `training=` in a program that trains it{trainer}: the flag "
                    "defaults to False, so during training the layer normalises with its initial moving "
                    "statistics (mean 0, variance 1) and never learns them; pass the training flag (a "
                    "placeholder or the Estimator mode)",
                    severity="warning",
                )
            return
        if param is None:
            self._default_true(ctx, body, ev, name)
            return
        if reads_name(body, param):
            return
        ctx.report(
            ev.node,
            f"`{name}` is called without `is_training`: it defaults to True, so evaluation and export "
            f"normalise each batch with its own statistics; the function takes `{param}` but never uses it",
            fix=Fix(f"Pass `is_training={param}`", (insert_keyword(ctx.info, ev.node, "is_training", param),)),
        )

    def _default_true(self, ctx, body, ev, name) -> None:
        """slim/contrib BN with no flag at all, in a helper without a flag parameter: wrong when the
        project evaluates the model (``main.py`` imports ``models`` imports ``layers``)."""
        if body.is_function() and _add_arg_scope(body):
            return  # a caller's arg_scope may set it
        evaluator = ctx.project.role_by_import(ctx.info, EVALUATES)
        if evaluator is None or ctx.project.any_module(may_set_bn_flag):
            return  # not evaluated, or an arg_scope somewhere may set it around this helper's calls
        where = "this module"
        if evaluator != ctx.info.modname:
            where = f"`{evaluator}` (which imports it, directly or through others)"
        ctx.report(
            ev.node,
            f"`{name}` never gets `is_training`: it defaults to True, and {where} has an evaluation "
            "path (eval/test/predict/sample), so evaluation normalises each batch with its own "
            "statistics instead of the learned moving averages; pass the training flag down to it",
            severity="warning",
        )

    def _normalizer(self, ctx, body, ev, param) -> None:
        if not any(s.flag_source == DEFAULT for s in ev.sites):
            return  # normalizer_params / an arg_scope / a dict decides it
        if kwarg(ev.node, "normalizer_params") is not None or has_star_kwargs(ev.node):
            return  # its dict is the place to look; a dict without is_training is left alone
        name = ctx.info.module.code_for_node(ev.node.func)
        if param is None:
            self._default_true(ctx, body, ev, f"{name}(..., normalizer_fn=batch_norm)")
            return
        if reads_name(body, param):
            return
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


def _trained_by(ctx, body):
    """Where the training of this BN is: a caller chain to a step, or an importing module with one
    (" (`main` trains the model)"); None when nothing in the project trains it."""
    if reaches_training(ctx.project, body):
        return ""
    trainer = ctx.project.role_by_import(ctx.info, TRAINS)
    if trainer is None:
        return None
    if trainer == ctx.info.modname:
        return ""
    return f" (`{trainer}` runs the optimizer step and imports this module, directly or through others)"


def _closure_flag(body):
    """(enclosing function, its training-flag parameter) for a nested function without a flag of
    its own that sees the enclosing one's (not rebound inside it), when no arg_scope in the
    enclosing functions or a decorator can set the flag; else None."""
    if not body.is_function() or _add_arg_scope(body):
        return None
    b = body.parent
    while b is not None and b.is_function():
        param = training_param(b)
        if param is not None:
            if param in body.assigned or any(e.callee in tfnames.ARG_SCOPE for e in b.events):
                return None
            return b, param
        if any(e.callee in tfnames.ARG_SCOPE for e in b.events):
            return None
        b = b.parent
    return None


def _add_arg_scope(body) -> bool:
    node = body.node
    if not isinstance(node, cst.FunctionDef):
        return False
    return any(body.module.resolve(d.decorator) == "slim.add_arg_scope" for d in node.decorators)
