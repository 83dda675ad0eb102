"""BNL004 (info, opt-in): the step runs the BN updates of one tower only."""

from __future__ import annotations

import re

import libcst as cst

from bnlint.analysis.module_info import arg
from bnlint.rulekit.rule import Invalid, Rule, RuleContext
from bnlint.facts.updates import consumers, is_update_collection_call

_DELIBERATE = re.compile(
    r"deliberat|intention|on purpose|first (tower|clone|gpu|replica|device)|tower ?0|only one tower|"
    r"all towers share|shared variables|one tower is enough", re.I
)


def _first_tower_test(test: cst.BaseExpression, loop_vars) -> bool:
    """``i == 0`` / ``not i`` / ``0 == i`` on a loop variable."""
    code = cst.Module([]).code_for_node(test).replace(" ", "")
    return any(re.search(rf"(^|\W)({v}==0|0=={v}|not{v})($|\W)", code) for v in loop_vars)


class UpdatesFromOneTower(Rule):
    """Notes a multi-tower step that depends on the BN update ops of one tower only:
    `get_collection(UPDATE_OPS, scope)` under `if i == 0:`, slim's `first_clone_scope`, or a per-tower
    read overwritten each iteration so the last tower wins. Silent when a comment near the read says
    it is deliberate (e.g. "first tower only, variables are shared").
    """

    code = "BNL004"
    name = "updates-from-one-tower"
    summary = "Only one tower's BN updates run (statistics learn from 1/N of each batch)"
    severity = "info"
    default_enabled = False
    why = """
    With variables shared across towers this still trains the moving statistics, from one tower's
    slice of each batch, so they converge more slowly and are noisier; big projects (slim's
    model_deploy, tensorpack) do it on purpose. Without shared variables the other towers' BN
    statistics are never updated (bnlint inspect reports that as BNL101/BNL105).
    """
    example = """
    for i in range(num_gpus):
        with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i) as scope:
            loss = tower_loss(scope)
            if i == 0:
                update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope)
    """
    fix_doc = """
    Collect every tower's updates (`tf.get_collection(tf.GraphKeys.UPDATE_OPS)` after the loop), or
    add a comment saying it is deliberate.
    """
    VALID = [
        """
import tensorflow as tf
for i in range(2):
    with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i) as scope:
        y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
        # first tower only: variables are shared, so this updates every moving average
        if i == 0:
            update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope)
with tf.control_dependencies(update_ops):
    train_op = tf.no_op()
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
for i in range(2):
    with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i) as scope:
        y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
        if i == 0:
            update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope)
with tf.control_dependencies(update_ops):
    train_op = tf.no_op()
""",
            lines=[6],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        for ev in info.all_events():
            if not is_update_collection_call(info, ev.node):
                continue
            scope = arg(ev.node, "scope", 1)
            first_clone = scope is not None and "first_clone" in cst.Module([]).code_for_node(scope)
            loop = ev.tower_loop
            why = None
            if first_clone:
                why = "slim's first_clone_scope keeps the first clone's updates only"
            elif loop is not None and scope is not None:
                if any(_first_tower_test(t, loop.target_names) for t in ev.conds):
                    why = "it is read for the first tower only"
                elif not ev.aug and any(
                    loop not in c.loops for name in ev.targets for c in consumers(info, ev, name)
                ):
                    why = "it is overwritten every iteration, so only the last tower's list is used"
            if why is None or self._deliberate(ctx, ev.node):
                continue
            ctx.report(
                ev.node,
                f"the step depends on one tower's BN update ops ({why}): with shared variables the "
                "statistics still train, from 1/N of each batch; without sharing, the other towers' "
                "statistics never update",
            )

    @staticmethod
    def _deliberate(ctx: RuleContext, node) -> bool:
        line = ctx.line_of(node)
        comments = ctx.info.line_comments()
        return any(_DELIBERATE.search(comments.get(n, "")) for n in range(line - 3, line + 1))
