"""BNL007: an evaluation `sess.run` feeds the BN training placeholder True (or leaves it at a True
default)."""

from __future__ import annotations

from bnlint.analysis.module_info import arg, const_flag
from bnlint.core.diagnostics import Fix
from bnlint.facts.feeds import (
    bool_placeholders,
    eval_run_reason,
    feed_entries,
    flag_key,
    is_training_run,
    key_text,
    step_names,
    used_as_bn_flag,
)
from bnlint.facts.edits import code, replace_node
from bnlint.facts.training import module_has_step, project_has_bn
from bnlint.rulekit.rule import Invalid, Rule, RuleContext
from bnlint.facts.train_mode_graph import fetches_step_loss, training_mode_source, validation_through_training_bn


class EvalRunInTrainingMode(Rule):
    """Follows the boolean training placeholder (`tf.placeholder(tf.bool)`,
    `tf.placeholder_with_default(True, [])`, `self.is_training = ...`, or a feed key named
    `is_training`/`training`/`train_flag`...) into the feed dicts of `sess.run(...)` / `t.eval(...)`
    and reports evaluation runs that switch BN to training mode:

    * the run feeds the flag the literal `True`;
    * the placeholder defaults to `True` and the run's (fully visible) feed dict does not feed it.

    * the run fetches tensors of the training graph in a module that trains: computed by a call
      whose BN is built with the flag True (`loss = tower_loss(images, is_training=True)`), or
      attributes of a model constructed in training mode (`model = Model(x, mode="train")`).

    A run counts as evaluation when it is in an eval-named function, fetches or feeds names of
    evaluation data (`val_loss`, `x_test`, `mnist.validation.images`, or a batch read from one:
    `vx, vy = sess.run(valid_next)`) or loops over them, and does not fetch the training step.
    """

    code = "BNL007"
    name = "eval-run-in-training-mode"
    summary = "Evaluation sess.run feeds the BN training flag True (or never feeds the True default)"
    fix_safety = "unsafe"
    why = """
    Fed True, BN normalises the validation batch with its own statistics and, when the update ops
    are attached to the fetched tensors, moves the moving averages towards the validation data.
    Validation numbers then look better or worse than the model is, and depend on the batch size.
    A placeholder that is never fed False makes the learned moving statistics dead weight.
    `bnlint inspect` checks the same on the built graph (BNL104).
    """
    example = """
    for xs, ys in val_batches:
        acc = sess.run(accuracy, feed_dict={x: xs, y: ys, is_training: True})   # BNL007
    """
    fix_doc = """
    Feed False when evaluating: `feed_dict={x: xs, y: ys, is_training: False}`. The fix flips the
    literal; it is unsafe because the evaluation is recognised by names.
    """
    VALID = [
        """
import tensorflow as tf
is_training = tf.placeholder(tf.bool)
x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(x, training=is_training)
loss = tf.reduce_sum(h)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer().minimize(loss)
def run(sess, x_train, x_val):
    sess.run(train_op, feed_dict={x: x_train, is_training: True})
    return sess.run(loss, feed_dict={x: x_val, is_training: False})
""",
        """
import tensorflow as tf
is_training = tf.placeholder_with_default(False, [])
x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(x, training=is_training)
def evaluate(sess, x_val):
    return sess.run(h, feed_dict={x: x_val})
""",
        """
import tensorflow as tf
# Train-mode loss on the training set, fetched with the step: a training run.
is_training = tf.placeholder(tf.bool)
x = tf.placeholder(tf.float32, [None, 4])
loss = tf.reduce_sum(tf.layers.batch_normalization(x, training=is_training))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer().minimize(loss)
def train(sess, batches):
    for xs in batches:
        sess.run([train_op, loss], {x: xs, is_training: True})
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
is_training = tf.placeholder(tf.bool)
x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(x, training=is_training)
val_loss = tf.reduce_sum(h)
def validate(sess, x_val):
    return sess.run(val_loss, feed_dict={x: x_val, is_training: True})
""",
            lines=[7],
            expected_fix="""
import tensorflow as tf
is_training = tf.placeholder(tf.bool)
x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(x, training=is_training)
val_loss = tf.reduce_sum(h)
def validate(sess, x_val):
    return sess.run(val_loss, feed_dict={x: x_val, is_training: False})
""",
        ),
        Invalid(
            """
import tensorflow as tf
train_flag = tf.placeholder_with_default(True, [], name="train_flag")
x = tf.placeholder(tf.float32, [None, 4])
pred = tf.layers.batch_normalization(x, training=train_flag)
def run_eval(sess, batches):
    return [sess.run(pred, {x: xs}) for xs in batches]
""",
            lines=[6],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        if not project_has_bn(ctx.project):
            return
        for ev, cond, flag in validation_through_training_bn(ctx.project, info):
            ctx.report(
                ev.node,
                f"the input of `{code(ev.node.func)}` is switched to validation batches by `tf.cond` (line "
                f"{ctx.line_of(cond)}), but its BN is built with `{flag}` (True here), which does not follow "
                "that switch: validation runs normalise with the batch's own statistics, so the validation loss "
                "is not what inference computes (and a run that also fetches the update ops moves the moving "
                "averages towards validation data); make the BN flag the negation of the validation switch",
            )
        placeholders = bool_placeholders(info)
        true_defaults = [k for k, v in placeholders.items() if v == ("default", True) and used_as_bn_flag(info, k)]
        steps = None
        for ev in info.all_events():
            feed = feed_entries(ev)
            if feed is None and ev.method != "run":
                continue
            pairs, complete = feed if feed is not None else ([], len(ev.node.args) == 1)
            if steps is None:
                steps = step_names(info)
            if is_training_run(ev, steps):
                continue
            reason = eval_run_reason(ev, pairs)
            if reason is None:
                continue
            fed = [(k, v) for k, v in pairs if flag_key(info, placeholders, k)]
            for key, value in fed:
                if const_flag(ev.body, value) == ("const", True):
                    ctx.report(
                        value,
                        f"this evaluation run ({reason}) feeds `{key_text(key)}` True: BN normalises the "
                        "evaluation batches with their own statistics instead of the learned moving "
                        "averages; feed False",
                        fix=Fix("Feed False when evaluating", (replace_node(info, value, "False"),), applicability="unsafe"),
                    )
            source = None
            if not fed and module_has_step(info):
                source = training_mode_source(ctx.project, ev.body, arg(ev.node, "fetches", 0), ev.order)
            if source is not None:
                node, why = source
                ctx.report(
                    ev.node,
                    f"this evaluation run ({reason}) fetches tensors of the training graph: line "
                    f"{ctx.line_of(node)} `{code(node.func)}(...)` {why}, so BN normalises the evaluation "
                    "batches with their own statistics instead of the learned moving averages; build the "
                    "evaluation graph with the flag False (reusing the variables) and fetch from it",
                )
                continue
            loss = fetches_step_loss(ctx.project, info, arg(ev.node, "fetches", 0)) if not fed and module_has_step(info) else None
            if loss is not None:
                name, step = loss
                ctx.report(
                    ev.node,
                    f"this evaluation run ({reason}) fetches `{name}`, the training graph's loss (the step at "
                    f"line {ctx.line_of(step)} minimises it), and nothing in the project switches BN out of "
                    "training mode at run time (no boolean placeholder): BN normalises the evaluation batches "
                    "with their own statistics instead of the learned moving averages; build an evaluation "
                    "graph with the flag False (reusing the variables) and fetch its loss",
                )
                continue
            if not fed and complete and all(key_text(k) is not None for k, _ in pairs):
                for name in true_defaults:
                    ctx.report(
                        ev.node,
                        f"`{name}` defaults to True and this evaluation run ({reason}) does not feed it: "
                        f"BN runs in training mode on evaluation data; feed `{name}: False`",
                    )
