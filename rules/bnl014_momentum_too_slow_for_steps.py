"""BNL014: BN momentum/decay so close to 1 that the moving averages cannot converge in the run's
known number of steps."""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

import libcst as cst

from bnlint.analysis.module_info import kwarg, positional
from bnlint.analysis.bn_sites import effective_keywords
from bnlint.facts.training import bn_creator, graph_mode, trains_here
from bnlint.facts.feeds import is_training_run, step_names
from bnlint.facts.literals import literal_number
from bnlint.rulekit.rule import Invalid, Rule, RuleContext
from bnlint.facts.updates import is_step

# (keyword, position, default) of the averaging factor per BN callable.
_MOMENTUM = {
    "tf.layers.batch_normalization": ("momentum", 2, 0.99),
    "tf.layers.BatchNormalization": ("momentum", 1, 0.99),
    "keras.layers.BatchNormalization": ("momentum", 1, 0.99),
    "keras.layers.SyncBatchNormalization": ("momentum", 1, 0.99),
    "slim.batch_norm": ("decay", 1, 0.999),
    "tf.contrib.layers.batch_norm": ("decay", 1, 0.999),
}
THRESHOLD = 0.999


def momentum_of(info, ev) -> Optional[Tuple[float, bool]]:
    """(momentum, from_default) of a BN call or a ``normalizer_fn=batch_norm`` host; None if unknown.
    The value may come from the call, a ``**dict``, ``normalizer_params`` or an arg_scope."""
    found = effective_keywords(ev)
    if found is None:
        return None
    name, kws, complete = found
    kw, pos, default = _MOMENTUM.get(name, (None, None, None))
    if kw is None:
        return None
    expr = positional(ev.node, pos) if bn_creator(ev) is not None and kw not in kws else None
    if expr is not None:
        value = literal_number(ev.body, expr)
    elif kw in kws:
        body, expr, _ = kws[kw]
        value = literal_number(body, expr)
    else:
        return (default, True) if complete else None
    return (value, False) if value is not None else None


def _range_length(body, it) -> Optional[float]:
    if not (isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value in ("range", "xrange")):
        return None
    args = [a.value for a in it.args if a.keyword is None]
    if len(args) == 1:
        return literal_number(body, args[0])
    if len(args) >= 2:
        start, stop = literal_number(body, args[0]), literal_number(body, args[1])
        return stop - start if start is not None and stop is not None else None
    return None


def step_counts(project, info) -> List[Tuple[float, str]]:
    """Step counts this module states: training loops over range(N), Estimator/slim/hook/fit limits."""
    out = []
    steps = None
    graph = graph_mode(info)
    for ev in info.all_events():
        for key in ("steps", "max_steps", "number_of_steps", "last_step", "num_steps"):
            if ev.method in ("train", "TrainSpec", "StopAtStepHook") or ev.callee in (
                    "tf.estimator.TrainSpec", "tf.train.StopAtStepHook", "slim.learning.train"):
                v = literal_number(ev.body, kwarg(ev.node, key))
                if v is not None:
                    out.append((v, f"{key}={int(v)}"))
        if ev.method == "fit":
            epochs = literal_number(ev.body, kwarg(ev.node, "epochs"))
            per = literal_number(ev.body, kwarg(ev.node, "steps_per_epoch"))
            if epochs is not None and per is not None:
                out.append((epochs * per, f"epochs={int(epochs)} x steps_per_epoch={int(per)}"))
        if not ev.loops:
            continue
        if steps is None:
            steps = step_names(info)
        tgt = project.target(ev)
        # A sess.run of the step, or (eager code) a step or a train-step function call; building a
        # step op in a graph loop runs nothing.
        trains = (ev.method == "run" and is_training_run(ev, steps)) or (not graph and (
            is_step(ev) or (tgt is not None and tgt is not ev.body and trains_here(tgt))))
        if trains:
            # Nested loops multiply (epochs x batches); any loop that is not over range() is unknown.
            lengths = [_range_length(ev.body, loop.node.iter) if isinstance(loop.node, cst.For) and not loop.tower
                       else None for loop in ev.loops]
            if lengths and None not in lengths:
                n = math.prod(lengths)
                out.append((n, f"a training loop of {int(n)} steps"))
    return out


class MomentumTooSlowForSteps(Rule):
    """Finds BN layers with momentum/decay >= 0.999 (including slim's default decay 0.999) in a
    program whose step count is known and shorter than about 5 / (1 - momentum) steps: a training
    loop `for step in range(N)` (N literal, a constant, or an argparse/flags default), Estimator
    `train(steps=N)` / `max_steps`, `slim.learning.train(number_of_steps=N)`,
    `StopAtStepHook(last_step=N)`, Keras `fit(epochs=E, steps_per_epoch=S)`, or the
    `momentum-steps` setting.
    """

    code = "BNL014"
    name = "bn-momentum-too-slow"
    summary = "BN momentum/decay >= 0.999 with a known run too short for the moving averages to converge"
    severity = "warning"
    why = """
    The moving mean/variance are exponential averages: after N updates the initial values
    (mean 0, variance 1) still weigh momentum**N. With 0.999 that is 37% after 1000 steps and 5%
    after 3000, so a short run evaluates with statistics that are mostly the initialisation and
    inference accuracy lags far behind training accuracy although nothing else is wrong.
    """
    example = """
    net = slim.batch_norm(net, is_training=is_training)   # BNL014: decay defaults to 0.999
    for step in range(500):
        sess.run(train_op)
    """
    fix_doc = """
    Use a momentum/decay that converges within the run (0.9 to 0.99 for a few thousand steps,
    roughly 1 - 5/steps at most), or train longer. No automatic fix.
    """
    VALID = [
        """
import tensorflow as tf
x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(x, training=True, momentum=0.9)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(h))
with tf.Session() as sess:
    for step in range(500):
        sess.run(train_op)
""",
        """
import tensorflow as tf
x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(x, training=True, momentum=0.999)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(h))
with tf.Session() as sess:
    for step in range(200000):
        sess.run(train_op)
""",
        """
import tensorflow as tf
# step count unknown: no finding
h = tf.layers.batch_normalization(tf.zeros([2, 4]), training=True, momentum=0.9997)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
slim = tf.contrib.slim
NUM_STEPS = 1000
x = tf.placeholder(tf.float32, [None, 8, 8, 3])
net = slim.conv2d(x, 16, 3, normalizer_fn=slim.batch_norm, normalizer_params={"is_training": True})
h = tf.layers.batch_normalization(net, training=True, momentum=0.9997)
train_op = slim.learning.create_train_op(tf.reduce_sum(h), tf.train.AdamOptimizer())
with tf.Session() as sess:
    for step in range(NUM_STEPS):
        sess.run(train_op)
""",
            lines=[5, 6],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info, project = ctx.info, ctx.project
        sites = []
        for ev in info.all_events():
            m = momentum_of(info, ev)
            if m is not None and m[0] >= THRESHOLD and m[0] < 1:
                sites.append((ev, m))
        if not sites:
            return
        counts = [(float(ctx.settings.momentum_steps), "the momentum-steps setting")] if ctx.settings.momentum_steps else []
        if not counts:
            mods = {info.modname: info}
            for ev, _ in sites:
                for caller in project.callers.get(ev.body.key, []):
                    mods[caller.body.module.modname] = caller.body.module
            for mod in mods.values():
                counts.extend(step_counts(project, mod))
        if not counts:
            return
        n, source = max(counts)
        for ev, (m, default) in sites:
            if n <= 0 or n >= 5 / (1 - m):
                continue
            left = math.pow(m, n)
            what = "decay" if ev.callee and ("slim" in ev.callee or "contrib" in ev.callee) else "momentum"
            ctx.report(
                ev.node,
                f"BN {what} {m:g}{' (the default)' if default else ''} with {source}: after {int(n)} updates the "
                f"moving averages still hold {left:.0%} of their initial values (mean 0, variance 1), so "
                f"inference uses mostly unlearned statistics; use a {what} of at most {1 - 5 / n:.3g} or train "
                f"for {int(5 / (1 - m))}+ steps",
            )
