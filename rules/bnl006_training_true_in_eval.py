"""BNL006: BN built in training mode on an evaluation, prediction or export path."""

from __future__ import annotations

import re

import libcst as cst

from bnlint.analysis.module_info import DYN, arg, names_in
from bnlint.core.diagnostics import Fix
from bnlint.facts.training import bn_creator, feeds_training, trains_here
from bnlint.facts.edits import code, replace_node
from bnlint.facts.names import is_training_name, eval_function_name, eval_script_name, evalish_data_name
from bnlint.facts.arg_scope import may_set_bn_flag
from bnlint.analysis.module_info import const_flag
from bnlint.analysis.bn_sites import DEFAULT, DICT, call_keywords, site_of
from bnlint.analysis.project import call_arg
from bnlint.facts.project_bn import calls_own_function, unit_test_module
from bnlint.rulekit.root_causes import INNER, reached_bodies
from bnlint.rulekit.rule import Invalid, Rule, RuleContext
from bnlint.facts.train_mode_graph import (
    called_in_training_mode,
    constructed_in_training_mode,
    module_builds_training_bn,
)


def _literal_true_flag(ev):
    """The literal ``True`` passed as the training flag of a direct BN call, for the fix."""
    creator = bn_creator(ev)
    if creator is None or creator.flag is None:
        return None
    expr = arg(ev.node, creator.flag, creator.flag_pos)
    if expr is not None and getattr(expr, "value", None) == "True":
        return expr
    return None


_TRAIN_DATA = re.compile(r"(^|_)train(ing)?(_|$)", re.I)


def _on_training_data(ev) -> bool:
    """``loss = model(train_x, True)``: a build on training data (flag names do not count)."""
    names = names_in([a.value for a in ev.node.args]) | set(ev.targets)
    return any(_TRAIN_DATA.search(n) and not is_training_name(n) for n in names)


def _is_model_fn(body) -> bool:
    params = body.params
    return "mode" in params and ("features" in params or body.name.split(".")[-1].endswith("model_fn"))


class TrainingTrueInEval(Rule):
    """Finds BN layers whose training flag is the constant True (a literal `True`, or slim's default)
    where the graph is for evaluation, prediction or export:

    * inside a function named like an eval path (`evaluate`, `eval_*`, `*_val*`, `test_step`,
      `predict`, `export_*`, `serving_*`, `freeze_*`; pytest tests excluded) that is not itself part
      of a training step;
    * anywhere in an evaluation/export script (`test.py`, `eval_image_classifier.py`,
      `export_model.py`) that builds no training step and never builds BN in inference mode;
    * a model call whose result or inputs are named as evaluation data (`val_logits = model(x_val,
      True)`);
    * an Estimator `model_fn(features, labels, mode)` whose BN flag does not depend on `mode`: the
      same function builds the EVAL and PREDICT graphs.

    Helpers are followed: `evaluate()` calling `model(x, is_training=True)` is reported at that call.
    """

    code = "BNL006"
    name = "training-true-in-eval"
    summary = "BN in training mode on an eval/predict/export path (batch statistics at inference)"
    fix_safety = "safe"
    why = """
    With the flag True, BN normalises every batch with that batch's own mean and variance and
    (with the update ops attached) keeps moving the averages with evaluation data. Evaluation
    numbers then depend on the batch size and composition, single-example prediction is wrong,
    and an exported model never uses the statistics it learned. `bnlint inspect` proves the same on
    a built graph (BNL104: training flag hard-wired on an eval fetch).
    """
    example = """
    def evaluate(images, labels):
        logits = model(images, is_training=True)   # BNL006
        return tf.metrics.accuracy(labels, tf.argmax(logits, 1))
    """
    fix_doc = """
    Pass False on the eval path (`model(images, is_training=False)`); in a `model_fn`, derive the
    flag from the mode: `is_training = mode == tf.estimator.ModeKeys.TRAIN`. The fix replaces a
    literal `True` on a BN call or model call in an eval-named function by `False`.
    """
    VALID = [
        """
import tensorflow as tf
def model(x, is_training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training)
def evaluate(x):
    with tf.variable_scope("m", reuse=True):
        return model(x, is_training=False)
""",
        """
import tensorflow as tf
def model_fn(features, labels, mode):
    is_training = mode == tf.estimator.ModeKeys.TRAIN
    return tf.layers.batch_normalization(features, training=is_training)
""",
        """
import tensorflow as tf
def model(x, is_training):
    return tf.layers.batch_normalization(x, training=is_training)
def train_and_validate(x):
    loss = tf.reduce_sum(model(x, True))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        return tf.train.AdamOptimizer().minimize(loss)
""",
        """
import tensorflow as tf
def test_bn_updates_moving_mean():
    # a unit test of BN itself runs it in training mode on purpose
    y = tf.layers.batch_normalization(tf.ones([4, 2]), training=True)
    assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 2
""",
        """
import tensorflow as tf
slim = tf.contrib.slim
def net(x):
    return slim.conv2d(x, 8, 3, normalizer_fn=slim.batch_norm)
def predict(x):
    with slim.arg_scope([slim.batch_norm], is_training=False):
        return net(x)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def model(x, is_training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training)
def evaluate(x, labels):
    logits = model(x, is_training=True)
    return tf.metrics.accuracy(labels, tf.argmax(logits, 1))
""",
            lines=[5],
            expected_fix="""
import tensorflow as tf
def model(x, is_training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training)
def evaluate(x, labels):
    logits = model(x, is_training=False)
    return tf.metrics.accuracy(labels, tf.argmax(logits, 1))
""",
        ),
        Invalid(
            """
import tensorflow as tf
def model_fn(features, labels, mode, params):
    net = tf.layers.dense(features, 16)
    net = tf.layers.batch_normalization(net, training=True)
    logits = tf.layers.dense(net, 10)
    return tf.estimator.EstimatorSpec(mode, predictions=logits)
""",
            lines=[4],
        ),
        Invalid(
            """
import tensorflow as tf
slim = tf.contrib.slim
def export_serving_graph(images):
    net = slim.conv2d(images, 32, 3, normalizer_fn=slim.batch_norm)
    return tf.identity(slim.fully_connected(net, 10), name="logits")
""",
            lines=[4],
        ),
        Invalid(
            """
import tensorflow as tf
def model(x, is_training):
    return tf.layers.batch_normalization(x, training=is_training)
with tf.variable_scope("m"):
    logits = model(tf.zeros([2, 3]), True)
with tf.variable_scope("m", reuse=True):
    val_logits = model(tf.zeros([2, 3]), True)
""",
            lines=[7],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        project = ctx.project
        script = eval_script_name(ctx.info)
        if script and any(s.flag != ("const", True) for ev in ctx.info.all_events() for s in ev.sites
                          if constructed_in_training_mode(project, ctx.info, ev.node) is None):
            script = None  # it also builds BN in inference mode (or follows a flag): not evaluation only
        for body in ctx.info.bodies.values():
            fn = eval_function_name(body) if body.is_function() else None
            where_fn = f"`{fn}` is an evaluation/prediction/export path"
            if not fn and script:
                fn, where_fn = script, f"`{script}` is an evaluation/export script (it builds no training step)"
            if fn and (trains_here(body) or feeds_training(project, body)):
                fn = None  # part of a training step, whatever its name
            model_fn = body.is_function() and _is_model_fn(body)
            for ev in body.events:
                if fn and (not ev.sites or all(s.flag == DYN for s in ev.sites)):  # DYN: ``Model(x, mode=...)``
                    why = constructed_in_training_mode(project, ctx.info, ev.node)
                    told = _object_call_flag_true(project, ev) if why is None else None
                    if told is not None:  # ``self.net(image, **net_args)`` in ``validation_step``
                        ctx.report(ev.node, f"`{code(ev.node.func)}` is called with `{told}` but {where_fn}: "
                                   "the model's BN layers normalise with each batch's own statistics instead "
                                   "of the learned moving averages; pass False on the evaluation path")
                        continue
                    if why is not None:  # ``model = Model(images, is_training=True)`` in test.py
                        ctx.report(ev.node, f"`{code(ev.node.func)}` is constructed with `{why}` but {where_fn}: "
                                   "its BN layers normalise with each batch's own statistics instead of the "
                                   "learned moving averages; construct it in inference mode")
                    continue
                if fn and not any(s.flag[0] == "const" for s in ev.sites):
                    why = called_in_training_mode(project, ev)
                    if why is not None:  # ``logits = build(images, mode="train")`` in ``predict_fn``
                        ctx.report(ev.node, f"`{code(ev.node.func)}` is called with `{why}` but {where_fn}: its BN "
                                   "layers normalise with each batch's own statistics instead of the learned "
                                   "moving averages; pass the evaluation/inference mode")
                        continue
                if not any(s.flag == ("const", True) and s.kind != "keras" for s in ev.sites):
                    continue
                if site_of(ev) is None and any(c.kind == "argscope" for c in ev.ctx):
                    continue  # an arg_scope around a model call may set is_training inside it
                if any(s.flag != ("const", True) for s in ev.sites):
                    continue  # a mixed call: some layers follow a flag
                if fn and script and fn == script and (
                        calls_own_function(project, ev) or _on_training_data(ev)):
                    continue  # ``main()`` of the script (reported inside it), or a build on training data
                if fn:
                    where = where_fn
                elif model_fn:
                    where = "this model_fn also builds the EVAL and PREDICT graphs, and the flag ignores `mode`"
                else:
                    data = [n for n in sorted(set(ev.targets) | ev.arg_names()) if evalish_data_name(n)]
                    if not data:
                        continue
                    where = f"`{data[0]}` is evaluation data"
                if any(s.flag_source == DEFAULT for s in ev.sites) and project.any_module(may_set_bn_flag):
                    continue  # slim's default True, but a caller's arg_scope may set the flag
                self._report(ctx, ev, where, fixable=bool(fn))

    def _report(self, ctx, ev, where, fixable) -> None:
        name = ctx.info.module.code_for_node(ev.node.func)
        true = _literal_true_flag(ev) if bn_creator(ev) else _true_flag_argument(ctx.project, ev)
        fix = None
        if fixable and true is not None:
            fix = Fix("Pass False on the evaluation path", (replace_node(ctx.info, true, "False"),))
        d = ctx.report(
            ev.node,
            f"`{name}` builds BN in training mode (flag True) but {where}: it normalises with each "
            "batch's own statistics instead of the learned moving averages, so results depend on the "
            "batch and the trained statistics are never used",
            fix=fix,
        )
        # An eval helper calling another one that sets the flag: one finding, where it is set.
        d.cause = (ev.body.key, reached_bodies(ctx.project, ev), INNER)


def _object_call_flag_true(project, ev):
    """``self.net(image, **net_args)`` with ``net_args = {"is_training": True}`` (or the keyword
    itself): a model object bnlint cannot resolve, told to train, in a project whose BN trains. The
    argument's text, else None."""
    if not isinstance(ev.node.func, cst.Attribute) or ev.callee is not None or project.target(ev) is not None:
        return None
    root = ev.node.func
    while isinstance(root, cst.Attribute):
        root = root.value
    if not isinstance(root, cst.Name) or unit_test_module(ev.body.module):
        return None
    if root.value not in ("self", "cls") and root.value not in ev.body.params and ev.body.binding(root.value) is None:
        return None  # ``functools.partial``, ``builder.build``: a module's function, not a model object
    kws, _ = call_keywords(ev.body, ev.node, ev.order)
    for name, (body, value, source) in kws.items():
        if is_training_name(name) and const_flag(body, value) == ("const", True):
            if not project.any_module(module_builds_training_bn):
                return None
            return f"{name}=True" + (" (from a **dict)" if source == DICT else "")
    return None


def _true_flag_argument(project, ev):
    """The literal ``True`` a model call passes for its BN flag parameter (``model(x, is_training=True)``)."""
    tgt = project.target(ev)
    if tgt is None:
        return None
    for s in tgt.summary:
        if s.flag[0] == "param":
            expr = call_arg(ev, tgt, s.flag[1])
            if isinstance(expr, cst.Name) and expr.value == "True" and expr is not tgt.defaults.get(s.flag[1]):
                return expr
    return None
