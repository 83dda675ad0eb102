"""BNL002: UPDATE_OPS is read before the BN layers of the step exist."""

from __future__ import annotations

import libcst as cst

from bnlint.rule import Invalid, Rule, RuleContext
from bnlint.updates import consumers, is_update_collection_call


class UpdateOpsTooEarly(Rule):
    """Finds `tf.get_collection(tf.GraphKeys.UPDATE_OPS)` evaluated before the model or tower loop
    that creates the BN layers, when the resulting list is what the training step depends on
    (`control_dependencies`, `tf.group`, `sess.run`). A read whose result is only used to filter out
    earlier ops is not flagged.
    """

    code = "BNL002"
    name = "update-ops-gathered-too-early"
    summary = "UPDATE_OPS read before the BN layers exist: the step depends on an empty or partial list"
    fix_safety = "safe"
    why = """
    `get_collection` returns a snapshot. Read before the towers/model are built, it is empty (or
    holds only the layers built so far), so the step's control dependency covers nothing and the
    moving mean/variance of the layers built later are never updated: inference uses their initial
    values (mean 0, variance 1), and validation loss explodes while training loss looks fine.
    """
    example = """
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)   # BNL002: empty here
    for i in range(num_gpus):
        with tf.device("/gpu:%d" % i):
            loss = tower_loss(images[i], is_training)
    with tf.control_dependencies(update_ops):
        train_op = opt.minimize(loss)
    """
    fix_doc = """
    Read the collection after every tower/model call of the step (the fix moves the statement
    there, keeping the variable name and comments), e.g. right before the
    `with tf.control_dependencies(update_ops):`.
    """
    VALID = [
        """
import tensorflow as tf
x = tf.zeros([4, 3])
y = tf.layers.batch_normalization(x, training=True)
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
""",
        """
import tensorflow as tf
skip = set(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
post = [op for op in tf.get_collection(tf.GraphKeys.UPDATE_OPS) if op not in skip]
with tf.control_dependencies(post):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow.compat.v1 as tf
def tower_loss(x, training):
    return tf.reduce_mean(tf.layers.batch_normalization(x, training=training))
opt = tf.train.AdamOptimizer()
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
grads = []
with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
    for i in range(2):
        with tf.device("/gpu:%d" % i):
            grads.append(opt.compute_gradients(tower_loss(tf.zeros([4, 3]), True)))
with tf.control_dependencies(update_ops):
    train_op = opt.apply_gradients(grads[0])
""",
            lines=[5],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        for ev in info.all_events():
            if not is_update_collection_call(info, ev.node):
                continue
            later_bn = self._bn_after(ctx, ev)
            if not later_bn:
                continue
            if isinstance(ev.stmt, cst.With):
                uses = [ev]  # with tf.control_dependencies(tf.get_collection(UPDATE_OPS)):
            else:
                uses = [u for name in ev.targets for u in consumers(info, ev, name)]
                for name in ev.targets:
                    rebinds = [o for o, _ in ev.body.assigned.get(name, []) if o > later_bn[-1].order]
                    if rebinds:
                        uses = []  # re-read after the model was built
            if not uses:
                continue
            first = later_bn[0]
            n_layers = len({s for b in later_bn for s in b.sites})
            ctx.report(
                ev.node,
                f"UPDATE_OPS is read here, before the BN layers built at line {ctx.line_of(first.node)}"
                f"{' (and later)' if len(later_bn) > 1 else ''} exist: the list the step depends on is "
                f"empty or partial, so the moving_mean/moving_variance of {n_layers if n_layers > 1 else 'those'} BN "
                "layer(s) are never updated and inference uses their initial values; read the "
                "collection after the model/tower loop",
            )

    @staticmethod
    def _bn_after(ctx: RuleContext, gather):
        out = []
        for ev in gather.body.events:
            if ev.order <= gather.order:
                continue
            if isinstance(gather.stmt, cst.With) and not any(c.call is not None and c.order >= gather.order for c in ev.ctx):
                continue
            if ev.training_collection_sites():
                out.append(ev)
        return out
