"""BNL009: several optimizers (GAN generator/discriminator) depend on one global UPDATE_OPS list."""

from __future__ import annotations

from typing import Dict, List

import libcst as cst

from bnlint.analysis.module_info import arg, calls_in
from bnlint.facts.edits import code
from bnlint.rulekit.rule import Invalid, Rule, RuleContext
from bnlint.facts.updates import is_step, is_update_collection_call


def _gathers(body, expr, order, depth: int = 0) -> List[cst.Call]:
    """The ``get_collection(UPDATE_OPS, ...)`` calls an update-ops expression comes from."""
    if expr is None or depth > 4:
        return []
    info = body.module
    out = [c for c in calls_in(expr) if is_update_collection_call(info, c)]
    for node in [expr] + [a.value for c in calls_in(expr) for a in c.args]:
        if isinstance(node, cst.Name):
            bound = body.binding(node.value, order)
            if bound is not None and bound is not expr:
                out.extend(_gathers(body, bound, None, depth + 1))
        elif isinstance(node, (cst.List, cst.Tuple)):
            for el in node.elements:
                out.extend(_gathers(body, el.value, order, depth + 1))
    return out


def _var_list(ev):
    if ev.method != "minimize":
        return None
    return arg(ev.node, "var_list", 2)


class SharedUpdateOps(Rule):
    """Finds two or more `minimize(..., var_list=...)` steps over different variable lists (a GAN's
    generator and discriminator, an actor and a critic) that each depend on the whole,
    unscoped `tf.get_collection(tf.GraphKeys.UPDATE_OPS)`.
    """

    code = "BNL009"
    name = "update-ops-shared-by-optimizers"
    summary = "Several optimizers share one unscoped UPDATE_OPS: each step runs the other network's BN updates"
    severity = "info"
    default_enabled = False
    why = """
    The unscoped collection holds the update ops of every BN layer in the graph. The
    discriminator step then also moves the generator's moving statistics (computed on that step's
    batch) and vice versa, so each network's statistics are updated twice per iteration, from
    forward passes its own step does not train on; `tf.group`-ing both steps' dependencies forces
    extra forward passes as well.

    Opt-in (info): this is the standard GAN idiom (nearly every DCGAN implementation does it), and
    its effect is small: both forward passes see batches from the same distributions, the extra
    updates only make the moving averages follow the recent batches a little faster, and GAN
    samplers usually run BN in training mode anyway. Enable it (`--extend-select BNL009`) when the
    two networks' statistics must be exactly those of their own steps (e.g. an actor and a critic
    trained on different data).
    """
    example = """
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)   # BNL009
    with tf.control_dependencies(update_ops):
        d_step = d_opt.minimize(d_loss, var_list=d_vars)
        g_step = g_opt.minimize(g_loss, var_list=g_vars)
    """
    fix_doc = """
    Scope the collection per network, with the variable scope its layers are built in:

        g_updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope="generator")
        d_updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope="discriminator")
    """
    VALID = [
        """
import tensorflow as tf
def gen(z, training):
    with tf.variable_scope("generator"):
        return tf.layers.batch_normalization(tf.layers.dense(z, 8), training=training)
def disc(x, training, reuse=None):
    with tf.variable_scope("discriminator", reuse=reuse):
        return tf.layers.dense(tf.layers.batch_normalization(x, training=training), 1)
fake = gen(tf.zeros([4, 2]), True)
d_loss = tf.reduce_mean(disc(tf.zeros([4, 8]), True)) - tf.reduce_mean(disc(fake, True, reuse=True))
g_loss = tf.reduce_mean(disc(fake, True, reuse=True))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope="discriminator")):
    d_step = tf.train.AdamOptimizer().minimize(d_loss, var_list=tf.trainable_variables("discriminator"))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope="generator")):
    g_step = tf.train.AdamOptimizer().minimize(g_loss, var_list=tf.trainable_variables("generator"))
""",
        """
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def gen(z, training):
    with tf.variable_scope("generator"):
        return tf.layers.batch_normalization(tf.layers.dense(z, 8), training=training)
def disc(x, training, reuse=None):
    with tf.variable_scope("discriminator", reuse=reuse):
        return tf.layers.dense(tf.layers.batch_normalization(x, training=training), 1)
fake = gen(tf.zeros([4, 2]), True)
d_loss = tf.reduce_mean(disc(tf.zeros([4, 8]), True)) - tf.reduce_mean(disc(fake, True, reuse=True))
g_loss = tf.reduce_mean(disc(fake, True, reuse=True))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    d_step = tf.train.AdamOptimizer().minimize(d_loss, var_list=tf.trainable_variables("discriminator"))
    g_step = tf.train.AdamOptimizer().minimize(g_loss, var_list=tf.trainable_variables("generator"))
""",
            lines=[11],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        if not ctx.project.module_trains_bn(info):
            return
        steps_by_gather: Dict[int, list] = {}
        gather_node: Dict[int, cst.Call] = {}
        var_lists = set()
        for ev in info.all_events():
            if not is_step(ev):
                continue
            vl = _var_list(ev)
            if vl is None:
                continue
            gathered = []
            for c in ev.ctx:
                if c.kind == "deps" and c.call is not None and c.call.args:
                    gathered.extend(_gathers(ev.body, c.call.args[0].value, c.order))
            if not gathered or any(arg(g, "scope", 1) is not None for g in gathered):
                continue
            var_lists.add(code(vl))
            for g in gathered:
                steps_by_gather.setdefault(id(g), []).append(ev)
                gather_node[id(g)] = g
        if len(var_lists) < 2:
            return
        for key, steps in steps_by_gather.items():
            names = ", ".join(sorted({t for s in steps for t in s.targets} or {s.method for s in steps}))
            ctx.report(
                gather_node[key],
                f"this unscoped UPDATE_OPS list holds the BN updates of every network, and the steps of "
                f"{len(var_lists)} optimizers with different var_lists depend on it ({names}): each step "
                "also moves the other network's statistics; use get_collection(tf.GraphKeys.UPDATE_OPS, "
                "scope=<that network's scope>) per optimizer",
            )
