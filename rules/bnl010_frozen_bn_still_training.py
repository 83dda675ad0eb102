"""BNL010: BN "frozen" with trainable=False or stop_gradient while its training flag is True."""

from __future__ import annotations

import libcst as cst

from bnlint.analysis.module_info import arg, kwarg
from bnlint.core.diagnostics import Fix
from bnlint.facts.training import bn_creator
from bnlint.facts.events import event_of
from bnlint.facts.producers import producer
from bnlint.facts.edits import replace_node
from bnlint.rulekit.rule import Invalid, Rule, RuleContext


def _is_false(expr) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "False"


def _true_literal(ev):
    creator = bn_creator(ev)
    expr = arg(ev.node, creator.flag, creator.flag_pos) if creator and creator.flag else None
    return expr if isinstance(expr, cst.Name) and expr.value == "True" else None


class FrozenBNStillTraining(Rule):
    """Finds BN layers meant to be frozen whose training flag is still the constant True:

    * `tf.layers.batch_normalization(..., training=True, trainable=False)` and slim/contrib
      `batch_norm(..., trainable=False)` with `is_training` True (explicit or by default);
    * a BN-building call (direct or through helpers) whose output goes straight into
      `tf.stop_gradient(...)` while its flag is the constant True.
    """

    code = "BNL010"
    name = "frozen-bn-still-training"
    summary = "BN frozen with trainable=False / stop_gradient but training=True: statistics still drift"
    severity = "warning"
    fix_safety = "unsafe"
    why = """
    `trainable=False` and `stop_gradient` stop gradients to gamma/beta and the layers below; they do
    not touch the moving mean/variance, which are updated by the BN update ops, nor the forward
    pass, which with training=True normalises every batch with its own statistics. A backbone
    "frozen" this way keeps drifting away from the pretrained statistics (moving averages move
    towards the new data whenever UPDATE_OPS runs) and behaves differently at inference.
    """
    example = """
    features = tf.stop_gradient(backbone(images, is_training=True))   # BNL010
    """
    fix_doc = """
    Freeze the statistics too: pass `training=False` (`is_training=False`) to the frozen part. The
    fix replaces a literal `True` flag of a direct BN call; it is unsafe because fine-tuning with
    batch statistics can be intended.
    """
    VALID = [
        """
import tensorflow as tf
def backbone(x, is_training):
    return tf.layers.batch_normalization(tf.layers.conv2d(x, 8, 3), training=is_training)
features = tf.stop_gradient(backbone(tf.zeros([1, 8, 8, 3]), is_training=False))
""",
        """
import tensorflow as tf
x = tf.layers.batch_normalization(tf.zeros([2, 4]), training=False, trainable=False)
""",
        """
import tensorflow as tf
# trainable=True fine-tuning with batch statistics on purpose
y = tf.layers.batch_normalization(tf.zeros([2, 4]), training=True)
z = tf.stop_gradient(tf.reduce_mean(y))
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def backbone(x, is_training):
    x = tf.layers.conv2d(x, 16, 3, trainable=False)
    return tf.layers.batch_normalization(x, training=is_training, trainable=False)
images = tf.placeholder(tf.float32, [None, 32, 32, 3])
features = tf.stop_gradient(backbone(images, is_training=True))
""",
            lines=[6],
        ),
        Invalid(
            """
import tensorflow as tf
x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(x, training=True, trainable=False)
""",
            lines=[3],
            expected_fix="""
import tensorflow as tf
x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(x, training=False, trainable=False)
""",
        ),
        Invalid(
            """
import tensorflow as tf
slim = tf.contrib.slim
def frozen_block(x):
    return slim.batch_norm(slim.conv2d(x, 8, 3, trainable=False), trainable=False)
""",
            lines=[4],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        reported = set()
        for ev in info.all_events():
            creator = bn_creator(ev)
            if creator is not None and creator.kind == "functional" and _is_false(kwarg(ev.node, "trainable")):
                if any(s.flag == ("const", True) for s in ev.sites):
                    reported.add(id(ev.node))
                    self._report(ctx, ev, "`trainable=False`")
            if ev.callee == "tf.stop_gradient":
                src = producer(ev.body, arg(ev.node, "input", 0), ev.order)
                inner = event_of(info, src) if src is not None else None
                if inner is None or id(inner.node) in reported:
                    continue
                flags = {s.flag for s in inner.sites if s.kind != "keras"}
                if flags == {("const", True)}:
                    reported.add(id(inner.node))
                    self._report(ctx, inner, "`tf.stop_gradient`")

    def _report(self, ctx, ev, how) -> None:
        name = ctx.info.module.code_for_node(ev.node.func)
        true = _true_literal(ev)
        fix = None
        if true is not None:
            fix = Fix("Pass False to the frozen BN", (replace_node(ctx.info, true, "False"),), applicability="unsafe")
        ctx.report(
            ev.node,
            f"`{name}` is frozen with {how} but builds BN in training mode: gradients stop, yet each batch "
            "is normalised with its own statistics and the moving mean/variance keep moving with the new "
            "data whenever the update ops run; pass training=False to freeze BN",
            fix=fix,
        )
