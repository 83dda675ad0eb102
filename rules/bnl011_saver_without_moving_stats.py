"""BNL011: a Saver whose var_list holds only trainable variables, in a module that builds BN."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from bnlint.analysis.module_info import arg
from bnlint.core.diagnostics import Fix
from bnlint.facts.training import module_has_bn
from bnlint.facts.edits import replace_node
from bnlint.rulekit.rule import Invalid, Rule, RuleContext

_TRAINABLE_CALLS = {"tf.trainable_variables", "slim.get_trainable_variables", "tf.contrib.framework.get_trainable_variables"}
_SAVERS = {"tf.train.Saver"}


def _only_trainable(info, body, expr, order, depth: int = 0) -> Optional[cst.BaseExpression]:
    """The ``trainable_variables()``-like expression this var_list is made of alone, else None."""
    if expr is None or depth > 4:
        return None
    if isinstance(expr, cst.Call):
        name = info.resolve(expr.func)
        if name in _TRAINABLE_CALLS:
            return expr
        if name in ("tf.get_collection", "tf.get_collection_ref"):
            key = arg(expr, "key", 0)
            if key is not None and (info.resolve(key) == "tf.GraphKeys.TRAINABLE_VARIABLES" or
                                    cst.Module([]).code_for_node(key).endswith("TRAINABLE_VARIABLES")):
                return expr
        if isinstance(expr.func, cst.Name) and expr.func.value in ("list", "tuple", "sorted") and expr.args:
            return _only_trainable(info, body, expr.args[0].value, order, depth + 1)
        return None
    if isinstance(expr, (cst.ListComp, cst.GeneratorExp)):
        return _only_trainable(info, body, expr.for_in.iter, order, depth + 1)
    if isinstance(expr, cst.Attribute) and expr.attr.value in ("trainable_variables", "trainable_weights"):
        return expr  # Keras model.trainable_variables
    if isinstance(expr, cst.Name):
        values = [v for o, v in body.assigned.get(expr.value, []) if order is None or o < order]
        if len(values) == 1:  # appended/extended lists are not followed
            return _only_trainable(info, body, values[0], None, depth + 1)
    return None


class SaverWithoutMovingStats(Rule):
    """Finds `tf.train.Saver(tf.trainable_variables())` (also `var_list=`, `get_collection(
    TRAINABLE_VARIABLES)`, comprehensions over them, Keras `model.trainable_variables`) in a module
    that builds BN layers: the checkpoint leaves out moving_mean/moving_variance.
    """

    code = "BNL011"
    name = "saver-without-moving-stats"
    summary = "Saver(tf.trainable_variables()) with BN: checkpoints lose the moving mean/variance"
    fix_safety = "unsafe"
    why = """
    BN's moving mean and variance are not trainable variables (the update ops assign them), so a
    Saver over the trainable variables neither saves nor restores them. A restored model runs
    inference with the initial statistics (mean 0, variance 1): accuracy collapses after
    restore although training looked fine, and a pretrained backbone restored this way loses its
    statistics.
    """
    example = """
    saver = tf.train.Saver(tf.trainable_variables())   # BNL011
    """
    fix_doc = """
    Save the moving statistics too: `tf.train.Saver(tf.global_variables())` (or add the
    `moving_mean`/`moving_variance` variables to the list). The fix rewrites a direct
    `trainable_variables()` argument to `global_variables()`; it is unsafe because restoring an
    old checkpoint that lacks the optional extra variables (optimizer slots) then fails.
    """
    VALID = [
        """
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([2, 4]), training=True)
saver = tf.train.Saver(tf.global_variables())
""",
        """
import tensorflow as tf
# no BN in this model: trainable variables are all there is to save
y = tf.layers.dense(tf.zeros([2, 4]), 3)
saver = tf.train.Saver(tf.trainable_variables())
""",
        """
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([2, 4]), training=True)
bn_stats = [v for v in tf.global_variables() if "moving_" in v.name]
saver = tf.train.Saver(var_list=tf.trainable_variables() + bn_stats)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def model(x, training):
    return tf.layers.dense(tf.layers.batch_normalization(x, training=training), 2)
logits = model(tf.zeros([2, 4]), True)
saver = tf.train.Saver(tf.trainable_variables(), max_to_keep=3)
""",
            lines=[5],
            expected_fix="""
import tensorflow as tf
def model(x, training):
    return tf.layers.dense(tf.layers.batch_normalization(x, training=training), 2)
logits = model(tf.zeros([2, 4]), True)
saver = tf.train.Saver(tf.global_variables(), max_to_keep=3)
""",
        ),
        Invalid(
            """
import tensorflow.compat.v1 as tf1
slim = tf1.contrib.slim
net = slim.conv2d(tf1.zeros([1, 8, 8, 3]), 8, 3, normalizer_fn=slim.batch_norm)
backbone_vars = [v for v in tf1.trainable_variables() if v.name.startswith("resnet")]
restorer = tf1.train.Saver(var_list=backbone_vars)
""",
            lines=[5],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        if not module_has_bn(info):
            return
        for ev in info.all_events():
            if ev.callee not in _SAVERS:
                continue
            var_list = arg(ev.node, "var_list", 0)
            source = _only_trainable(info, ev.body, var_list, ev.order)
            if source is None:
                continue
            fix = None
            if source is var_list and isinstance(source, cst.Call) and isinstance(source.func, cst.Attribute) \
                    and source.func.attr.value == "trainable_variables" and not source.args:
                fix = Fix("Save all global variables", (replace_node(info, source.func.attr, "global_variables"),),
                          applicability="unsafe")
            ctx.report(
                var_list,
                "this Saver's var_list holds only trainable variables, but the module builds BN layers whose "
                "moving_mean/moving_variance are not trainable: checkpoints miss them and a restored model "
                "runs inference with mean 0 / variance 1; save tf.global_variables() (or add the moving "
                "statistics)",
                fix=fix,
            )
