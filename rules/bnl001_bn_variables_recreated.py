"""BNL001: a BN-building function is called again without variable reuse."""

from __future__ import annotations

import re

from bnlint.rule import Invalid, Rule, RuleContext
from bnlint.updates import new_variable_sites, reuse_in_effect

_EVALISH = re.compile(r"(^|_)(val|valid|validation|eval|evaluation|test|infer|inference|predict|pred|dev)(_|$|\d)", re.I)


def _flag_kinds(ev) -> set:
    kinds = set()
    for s in ev.sites:
        if s.flag == ("const", False):
            kinds.add("F")
        elif s.flag == ("const", True):
            kinds.add("T")
        else:
            kinds.add("D")
    return kinds


def _vscopes(ev) -> tuple:
    return tuple(id(c.call) for c in ev.ctx if c.kind == "vscope")


class BNVariablesRecreated(Rule):
    """Finds a second construction of BN layers (an eval/validation graph, or another tower) made by
    calling the same model or helper function again while variable reuse is not in effect: no
    enclosing `variable_scope(..., reuse=True/tf.AUTO_REUSE)`, no earlier `reuse_variables()`, no
    `reuse=` passed through, no `tf.make_template`. Helpers are followed
    (`conv(..., with_bn=True)` -> `bn()` -> `tf.layers.batch_normalization`), also across modules.
    """

    code = "BNL001"
    name = "bn-variables-recreated"
    summary = "BN layers built again without variable reuse: the copy's statistics are never trained"
    fix_safety = "unsafe"
    why = """
    With unnamed layers every call creates new variables (`batch_normalization_7/moving_mean`,
    ...). Training updates the first copy; the eval graph (or the other towers) read the second,
    which still holds its initial values (moving mean 0, variance 1) and untrained weights. This is
    how a model with training loss ~1 reports validation loss in the thousands. With named layers
    the second call fails at graph build (`Variable bn1/gamma already exists`).
    """
    example = """
    logits = model(train_x, is_training=True)
    val_logits = model(val_x, is_training=False)   # BNL001: new, untrained BN variables
    """
    fix_doc = """
    Enter one named `variable_scope` in both calls and reuse it in the second:

        with tf.variable_scope("model"):
            logits = model(train_x, is_training=True)
        with tf.variable_scope("model", reuse=True):
            val_logits = model(val_x, is_training=False)

    or pass `reuse=True` where the function accepts it, or set `reuse=tf.AUTO_REUSE` on the tower
    loop's `variable_scope`. Wrapping only the second call in
    `variable_scope(tf.get_variable_scope(), reuse=True)` does NOT work with unnamed layers.
    """
    VALID = [
        """
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
with tf.variable_scope("net"):
    logits = model(tf.zeros([2, 3]), True)
with tf.variable_scope("net", reuse=True):
    val_logits = model(tf.zeros([2, 3]), False)
""",
        """
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(x, training=training)
with tf.variable_scope(tf.get_variable_scope()):
    for i in range(4):
        with tf.device("/gpu:%d" % i):
            out = model(tf.zeros([2, 3]), True)
            tf.get_variable_scope().reuse_variables()
""",
        """
import tensorflow as tf
def block(x, training):
    return tf.nn.relu(tf.layers.batch_normalization(x, training=training))
x = tf.zeros([2, 3])
x = block(x, True)
x = block(x, True)
""",
        """
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(x, training=training)
shared = tf.make_template("model", model)
a = shared(tf.zeros([2, 3]), True)
b = shared(tf.zeros([2, 3]), False)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def bn(inp, train_flag, name=None):
    return tf.layers.batch_normalization(inp, training=train_flag, name=name)
def conv(x, filters, with_bn=False, train_flag=None):
    x = tf.layers.conv2d(x, filters, 3, use_bias=not with_bn)
    if with_bn:
        x = bn(x, train_flag)
    return x
def model(x, train_flag):
    return conv(x, 8, with_bn=True, train_flag=train_flag)
logits = model(tf.zeros([2, 8, 8, 3]), True)
val_logits = model(tf.zeros([2, 8, 8, 3]), False)
""",
            lines=[12],
        ),
        Invalid(
            """
import tensorflow.compat.v1 as tf
def tower(x, is_training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training)
losses = []
for i in range(4):
    with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i):
        losses.append(tower(tf.zeros([2, 3]), True))
""",
            lines=[7],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        project = ctx.project
        for body in ctx.info.bodies.values():
            calls = {}
            for ev in body.events:
                tgt = project.target(ev)
                if tgt is not None and tgt is not body and any(s.kind in ("functional", "layer_class") for s in ev.sites):
                    calls.setdefault(tgt.key, []).append(ev)
            for evs in calls.values():
                for i, ev in enumerate(evs):
                    if not new_variable_sites(ev) or reuse_in_effect(ev):
                        continue
                    self._check_call(ctx, ev, evs[:i])

    def _check_call(self, ctx: RuleContext, ev, earlier) -> None:
        name = ctx.info.module.code_for_node(ev.node.func)
        loop = ev.tower_loop
        if loop is not None and not (ev.arg_names() & set(ev.targets)):
            ctx.report(
                ev.node,
                f"`{name}` builds BN layers once per tower in this loop without variable reuse: every "
                "tower creates its own moving_mean/moving_variance and weights, so the towers do not "
                "share a model and the copy used for eval/checkpoints sees 1/N of the training; use "
                "variable_scope(..., reuse=tf.AUTO_REUSE) around the towers",
            )
            return
        for first in earlier:
            if first.tower_loop is not None and first.tower_loop is loop:
                continue
            fresh_named = any(s.named for s in new_variable_sites(ev))
            same_scope = _vscopes(first) == _vscopes(ev)
            if fresh_named and same_scope:
                ctx.report(
                    ev.node,
                    f"`{name}` builds the same named BN layers again (first at line {ctx.line_of(first.node)}) "
                    "without reuse: graph construction fails with 'Variable ... already exists'; enter "
                    "the first call's variable_scope with reuse=True",
                )
                return
            if ev.arg_names() & set(first.targets):
                continue  # stacking blocks: x = f(x); x = f(x)
            kinds_first, kinds_ev = _flag_kinds(first), _flag_kinds(ev)
            flags_differ = kinds_first != kinds_ev and ("F" in kinds_first or "F" in kinds_ev)
            evalish = any(_EVALISH.search(n) for n in set(ev.targets) | ev.arg_names())
            if flags_differ or evalish:
                ctx.report(
                    ev.node,
                    f"`{name}` builds BN layers again (first at line {ctx.line_of(first.node)}) without "
                    "variable reuse: this call gets new moving_mean/moving_variance and weights that "
                    "training never updates, so this graph runs on untrained statistics (huge "
                    "validation loss); reuse the first call's variables (named variable_scope with "
                    "reuse=True, or tf.AUTO_REUSE)",
                )
                return
