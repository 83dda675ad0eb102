"""BNL003: an optimizer step that does not run the BN update ops."""

from __future__ import annotations

from typing import Optional

from bnlint.core.diagnostics import Fix
from bnlint.fix.edits import is_single_statement_line, tf_prefix, update_ops_expr, wrap_statement
from bnlint.facts.project_bn import (
    bn_never_in_inference_mode,
    imported_training_bn,
    project_runs_updates,
    site_text,
    unit_test_module,
)
from bnlint.rulekit.rule import Invalid, Rule, RuleContext
from bnlint.facts.step_callers import caller_training_bn
from bnlint.facts.updates import WRONG, YES, covered, is_step


class StepWithoutUpdates(Rule):
    """Finds `minimize` / `apply_gradients` in a graph whose BN layers train (training flag not the
    constant False) when nothing runs the update ops with the step. Recognised mechanisms:
    `tf.control_dependencies(<UPDATE_OPS list>)` around the step (or around the gradients/loss it
    consumes, or around every call of the helper that builds it), `tf.group(step, *update_ops)`,
    `sess.run([...update_ops])`, `slim.learning.create_train_op`, `updates_collections=None`,
    per-tower `get_collection(UPDATE_OPS, scope)`, tensorpack's `RunUpdateOps`, Keras `model.fit`.

    When the model behind the step cannot be resolved (`model = Net(args)`, a network factory),
    the modules it imports decide: when they build training BN (in functions that run), the step is
    reported if its `control_dependencies` hold another collection, or if nothing in the whole
    project reads UPDATE_OPS, updates BN in place or uses a helper that runs the updates.
    """

    code = "BNL003"
    name = "step-without-bn-updates"
    summary = "Optimizer step without a dependency on the BN update ops"
    fix_safety = "safe"
    why = """
    `tf.layers.batch_normalization` / `slim.batch_norm` in training mode put the ops that update
    moving_mean/moving_variance in `tf.GraphKeys.UPDATE_OPS`; TensorFlow runs an op only when a
    fetched op depends on it. A step that does not depend on them never updates the statistics,
    so inference (training=False) normalises with mean 0 / variance 1 and its outputs are wrong.
    A `control_dependencies` on another collection (e.g. TRAINABLE_VARIABLES) does not help.

    BN hard-wired to training mode (`training=True` / slim's default `is_training=True` everywhere,
    no inference graph) plus a step without the updates is reported here too, once, with both
    consequences: exported/inference graphs normalise with batch statistics, and the moving
    averages never move. Some GAN papers keep BN in training mode on purpose (DCGAN-style samplers
    use batch statistics); then the finding is deliberate: silence it with `# noqa: BNL003` on the
    step, or for whole files with `per-file-ignores = {"gan/*.py" = ["BNL003"]}` under
    `[tool.bnlint]`. The fix still helps: the averages then track the data, for an exported
    inference graph that switches the flag to False.
    """
    example = """
    logits = model(x, is_training=True)
    loss = tf.losses.softmax_cross_entropy(labels, logits)
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)   # BNL003
    """
    fix_doc = """
    Make the step depend on the update ops, with the module's own TF alias:

        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)

    For `compute_gradients` + `apply_gradients` the `apply_gradients` is wrapped. The fix is unsafe
    when a training BN layer is built after the step in the same function (the collection read at
    the step would miss it), and not offered when the step shares its line with other statements.
    """
    VALID = [
        """
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
""",
        """
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=False)
train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
""",
        """
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
step = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
train_op = tf.group(step, *tf.get_collection(tf.GraphKeys.UPDATE_OPS))
""",
        """
import tensorflow as tf
slim = tf.contrib.slim
net = slim.conv2d(tf.zeros([1, 8, 8, 3]), 8, 3, normalizer_fn=slim.batch_norm,
                  normalizer_params={"is_training": True, "updates_collections": None})
train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(net))
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
""",
            lines=[3],
            expected_fix="""
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
""",
        ),
        Invalid(
            """
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
""",
            lines=[4],
            expected_fix="""
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)):
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
""",
        ),
        Invalid(
            """
import tensorflow as tf1
def train(loss_fn, x):
    opt = tf1.compat.v1.train.MomentumOptimizer(0.1, 0.9)
    loss = loss_fn(tf1.compat.v1.layers.batch_normalization(x, training=True))
    grads = opt.compute_gradients(loss)
    # one step per batch
    step = opt.apply_gradients(grads,
                               global_step=None)  # no update ops
    return step
""",
            lines=[7],
            expected_fix="""
import tensorflow as tf1
def train(loss_fn, x):
    opt = tf1.compat.v1.train.MomentumOptimizer(0.1, 0.9)
    loss = loss_fn(tf1.compat.v1.layers.batch_normalization(x, training=True))
    grads = opt.compute_gradients(loss)
    # one step per batch
    with tf1.compat.v1.control_dependencies(tf1.compat.v1.get_collection(tf1.compat.v1.GraphKeys.UPDATE_OPS)):
        step = opt.apply_gradients(grads,
                                   global_step=None)  # no update ops
    return step
""",
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        project = ctx.project
        training = project.module_trains_bn(ctx.info)
        has_step = any(is_step(ev) for ev in ctx.info.all_events())
        imported = [] if training or not has_step or unit_test_module(ctx.info) else imported_training_bn(project, ctx.info)
        fed = {}  # step helpers whose callers build the training model (``optim.train_op(loss)``)
        if not training and not imported and has_step and not unit_test_module(ctx.info):
            for body in ctx.info.functions():
                if any(is_step(e) for e in body.events):
                    fed[body.key] = caller_training_bn(project, body)
        if not training and not imported and not any(fed.values()):
            return
        built, always = None, None  # line numbers cost a position pass over the module: only when reporting
        for ev in ctx.info.all_events():
            if not is_step(ev) or (fed and not fed.get(ev.body.key)):
                continue
            local = [e for e in ev.body.events if any(s.collection_based for s in e.sites)]
            if local and not any(e.training_collection_sites() for e in local):
                continue  # the BN this function builds is frozen (training=False)
            verdict = covered(ev, project)
            if verdict == YES:
                continue
            if always is None:
                always = bn_never_in_inference_mode(project, ctx.info, training)
            if imported and verdict != WRONG and project_runs_updates(project):
                continue  # the model behind the step is not visible: only unambiguous cases
            what = (
                "its control_dependencies hold another collection, not UPDATE_OPS"
                if verdict == WRONG
                else "nothing makes it depend on tf.GraphKeys.UPDATE_OPS"
            )
            if built is None:
                if training:
                    lines = sorted({ctx.line_of(e.node) for e in training})
                    built = "at line(s) " + ", ".join(map(str, lines[:3])) + (", ..." if len(lines) > 3 else "")
                elif fed:
                    built = "by the caller of this helper, " + site_text(fed[ev.body.key][0])
                else:
                    built = "in the imported model, " + site_text(imported[0])
            if always:
                # no inference mode to be wrong in: say what does happen
                effect = ("these BN layers never leave training mode (training=True), so inference "
                          "also normalises with the statistics of its own batch, and their "
                          "moving_mean/moving_variance never move from 0/1 (a graph exported or "
                          "evaluated with training=False would use those)")
            else:
                effect = ("their moving_mean/moving_variance are never updated, so inference "
                          "(training=False) uses their initial values (mean 0, variance 1)")
            ctx.report(
                ev.node,
                f"`{ev.method}` runs without the BN update ops ({what}): for the training BN layers "
                f"built {built}, {effect}; wrap the step in "
                "tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS))",
                fix=self._fix(ctx, ev),
            )

    @staticmethod
    def _fix(ctx: RuleContext, ev) -> Optional[Fix]:
        """``with <tf>.control_dependencies(<tf>.get_collection(<tf>.GraphKeys.UPDATE_OPS)):`` around
        the step's statement. The collection is read when the step is built, after the model whose
        loss it minimizes, so it holds every training BN layer built so far."""
        info = ctx.info
        prefix = tf_prefix(info)
        if prefix is None or not is_single_statement_line(ev.line_stmt):
            return None
        edit = wrap_statement(info, ev.line_stmt, f"with {prefix}.control_dependencies({update_ops_expr(prefix)})")
        if edit is None:
            return None
        # A training BN layer built after the step in this body would be missing from the list.
        later = any(o.order > ev.order and o.training_collection_sites() for o in ev.body.events)
        return Fix(f"Run `{ev.method}` under `{prefix}.control_dependencies` on the UPDATE_OPS collection",
                   (edit,), "unsafe" if later else "safe")
