"""BNL012: hand-rolled BN (tf.nn.moments + ExponentialMovingAverage) whose averages never update or
are never used."""

from __future__ import annotations

from bnlint.analysis.module_info import names_in
from bnlint.facts.keras_models import method_calls, module_index
from bnlint.rulekit.rule import Invalid, Rule, RuleContext


class HandRolledBNAveragesUnused(Rule):
    """Finds a `tf.train.ExponentialMovingAverage` kept for the batch moments of a hand-written BN
    (`mean, var = tf.nn.moments(...)`) when

    * `ema.apply(...)` is never called: no averages exist;
    * the op `ema.apply([mean, var])` returns is never used (not in `control_dependencies`,
      `tf.group`, a fetch, a return): the averages never update;
    * `ema.average(...)` is never called: inference never reads the averages and keeps using batch
      statistics.
    """

    code = "BNL012"
    name = "hand-rolled-bn-averages-unused"
    summary = "Hand-rolled BN: the moving averages of tf.nn.moments are never updated or never used"
    why = """
    A hand-written BN normalises with `tf.nn.moments` of the batch in training and must switch to
    averages of those moments at inference. `ExponentialMovingAverage.apply` only creates the
    update op; TensorFlow runs it only when something depends on it (the classic pattern is
    `with tf.control_dependencies([ema_apply_op]): return tf.identity(mean), tf.identity(var)`), and
    the averages are read with `ema.average(mean)`, usually under `tf.cond(is_training, ...)`.
    Missing either half leaves inference on batch statistics or on never-updated averages.
    """
    example = """
    batch_mean, batch_var = tf.nn.moments(x, [0, 1, 2])
    ema = tf.train.ExponentialMovingAverage(decay=0.99)
    ema.apply([batch_mean, batch_var])        # BNL012: the update op is dropped
    """
    fix_doc = """
    Make the normalisation depend on the update in training and read the averages otherwise:

        ema_op = ema.apply([batch_mean, batch_var])
        def with_update():
            with tf.control_dependencies([ema_op]):
                return tf.identity(batch_mean), tf.identity(batch_var)
        mean, var = tf.cond(is_training, with_update,
                            lambda: (ema.average(batch_mean), ema.average(batch_var)))
    """
    VALID = [
        """
import tensorflow as tf
def batch_norm(x, is_training):
    batch_mean, batch_var = tf.nn.moments(x, [0])
    ema = tf.train.ExponentialMovingAverage(decay=0.99)
    def mean_var_with_update():
        ema_apply_op = ema.apply([batch_mean, batch_var])
        with tf.control_dependencies([ema_apply_op]):
            return tf.identity(batch_mean), tf.identity(batch_var)
    mean, var = tf.cond(is_training, mean_var_with_update,
                        lambda: (ema.average(batch_mean), ema.average(batch_var)))
    return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)
""",
        """
import tensorflow as tf
# EMA of the weights (not of moments): a different idiom, not checked here
ema = tf.train.ExponentialMovingAverage(0.999)
maintain = ema.apply(tf.trainable_variables())
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def batch_norm(x, is_training):
    batch_mean, batch_var = tf.nn.moments(x, [0])
    ema = tf.train.ExponentialMovingAverage(decay=0.99)
    ema.apply([batch_mean, batch_var])
    mean, var = tf.cond(is_training, lambda: (batch_mean, batch_var),
                        lambda: (ema.average(batch_mean), ema.average(batch_var)))
    return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)
""",
            lines=[5],
        ),
        Invalid(
            """
import tensorflow as tf
def batch_norm(x):
    batch_mean, batch_var = tf.nn.moments(x, [0])
    ema = tf.train.ExponentialMovingAverage(decay=0.99)
    update = ema.apply([batch_mean, batch_var])
    with tf.control_dependencies([update]):
        mean, var = tf.identity(batch_mean), tf.identity(batch_var)
    return tf.nn.batch_normalization(x, mean, var, None, None, 1e-3)
""",
            lines=[4],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        moments = set()
        for ev in info.all_events():
            if ev.callee == "tf.nn.moments":
                moments.update(ev.targets)
        if not moments:
            return
        for ev in info.all_events():
            if ev.callee != "tf.train.ExponentialMovingAverage" or len(ev.targets) != 1:
                continue
            ema = ev.targets[0]
            apply_ids = {id(c) for c in method_calls(info, ema, "apply")}
            applies = [e for e in info.all_events() if id(e.node) in apply_ids]
            on_moments = [a for a in applies if names_in(a.node.args) & moments]
            if not apply_ids:
                if ev.body.events and any(e.callee == "tf.nn.moments" for e in ev.body.events):
                    self._report(ctx, ev.node, f"`{ema}.apply(...)` is never called: no moving averages of the "
                                 "batch moments exist, so inference has nothing but batch statistics")
                continue
            if not on_moments:
                continue
            for a in on_moments:
                if not a.targets or all(module_index(info).name_counts.get(t, 0) <= 1 for t in a.targets):
                    self._report(ctx, a.node, "the update op returned by `apply` is never used (no "
                                 "control_dependencies, group or fetch): TensorFlow never runs it, so the "
                                 "moving averages of the batch moments stay at their initial values")
            if not method_calls(info, ema, "average") and not method_calls(info, ema, "variables_to_restore"):
                self._report(ctx, ev.node, f"`{ema}` averages the batch moments but `{ema}.average(...)` is "
                             "never read: inference keeps normalising with batch statistics")

    def _report(self, ctx, node, message) -> None:
        ctx.report(node, f"hand-rolled BN: {message}")
