"""The fixes proven by running TensorFlow (TF 2.21, tf.compat.v1 graphs).

1. Which BNL001 rewrites share the first construction's variables: every rewrite the rule emits
   (its INVALID examples' ``expected_fix``) builds a graph with one set of BN variables, while the
   obvious rewrite it avoids (only the second call under ``variable_scope(get_variable_scope(),
   reuse=True)``) fails to build.
2. For every buggy example trainer, ``bnlint verify`` (fix a copy, run both programs on 4 CPU
   devices under the runtime inspector) shows the gap in the original and none in the fix.
"""

import os
import textwrap

import pytest

pytestmark = [pytest.mark.tf, pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow").compat.v1

from bnlint.lint.registry import all_rules  # noqa: E402
from bnlint.rulekit.rule import Invalid  # noqa: E402

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def build(source: str):
    """Run a snippet's graph construction in a fresh graph; the names of its moving means."""
    code = source.replace("import tensorflow as tf\n", "import tensorflow.compat.v1 as tf\n")
    graph = tf.Graph()
    with graph.as_default():
        exec(compile(code, "<snippet>", "exec"), {"__name__": "snippet"})
        return sorted(v.name for v in tf.global_variables() if "moving_mean" in v.name)


BNL001_CASES = [ex for ex in all_rules()["BNL001"].INVALID if isinstance(ex, Invalid) and ex.expected_fix]


@pytest.mark.parametrize("ex", BNL001_CASES, ids=[f"invalid-{i}" for i in range(len(BNL001_CASES))])
def test_bnl001_rewrites_share_one_set_of_bn_variables(ex):
    try:
        before = build(textwrap.dedent(ex.code).lstrip("\n"))
    except ValueError as exc:  # a named scope entered twice without reuse: the build fails
        assert "already exists" in str(exc)
        before = None
    else:
        assert len(before) > 1, before  # the bug: a second, untrained copy of the BN statistics
    after = build(textwrap.dedent(ex.expected_fix).lstrip("\n"))
    assert len(after) == 1, after  # every construction uses the same moving mean
    # Only the named-scope rewrite renames the variables (why it is unsafe).
    if before is not None and 'variable_scope("model")' not in ex.expected_fix:
        assert after[0] in before


def test_reuse_true_around_only_the_second_call_fails_with_unnamed_layers():
    source = textwrap.dedent("""
        import tensorflow.compat.v1 as tf
        def model(x, training):
            return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
        logits = model(tf.zeros([2, 3]), True)
        with tf.variable_scope(tf.get_variable_scope(), reuse=True):
            val_logits = model(tf.zeros([2, 3]), False)
    """)
    with pytest.raises(ValueError, match="does not exist"):
        build(source)


def test_counter_restoring_scope_makes_later_unnamed_layers_collide():
    # Why the tower/eval rewrites are unsafe when layers are built after them.
    source = textwrap.dedent("""
        import tensorflow.compat.v1 as tf
        for i in range(2):
            with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
                h = tf.layers.dense(tf.zeros([2, 3]), 4)
        head = tf.layers.dense(h, 2)
    """)
    with pytest.raises(ValueError, match="already exists"):
        build(source)


# --- whole example trainers --------------------------------------------------------------------------------

BUGGY = ["multi_tower_early_update_ops.py", "missing_update_dependency.py", "eval_graph_without_reuse.py"]
STEPS, TOWERS = 150, 4
MIN_BUGGY_RATIO = 20.0  # measured 120x..450x
MAX_FIXED_RATIO = 3.0  # measured 0.3x..1.1x
MAX_MEAN_DIST = 0.25  # moving mean vs batch mean, in batch standard deviations (measured <= 0.12)


@pytest.fixture(scope="module")
def verified():
    from bnlint.commands.verify import verify

    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = verify(os.path.join(EXAMPLES, name), ["--steps", str(STEPS), "--towers", str(TOWERS)],
                                 devices=TOWERS)
        return cache[name]

    return get


@pytest.mark.parametrize("name", BUGGY)
def test_fix_closes_the_gap_of_each_buggy_example(verified, name):
    from bnlint.commands.verify import loss_ratio

    v = verified(name)
    assert v.before.error is None and v.after.error is None, (v.before.error, v.after.error)
    assert v.applied, "no fix applied"
    assert {"BNL001", "BNL002", "BNL003"} & {d.code for d in v.applied}
    # The original shows the report's symptom.
    assert loss_ratio(v.before) > MIN_BUGGY_RATIO, v.before.result
    assert [d for d in v.before.diagnostics if d.severity != "info"]
    # The fixed program is healthy: no runtime finding, inference loss close to train loss, and
    # every trained BN layer's moving mean close to the batch mean of its input.
    assert v.problems == [], v.problems
    assert loss_ratio(v.after) < MAX_FIXED_RATIO, v.after.result
    assert v.after.result["train_loss"] < 0.5
    trained = [r for r in v.after.layers if r.trained]
    assert trained and all(r.mean_changed and r.var_changed for r in trained)
    assert all(r.mean_dist < MAX_MEAN_DIST for r in trained), [(r.layer, r.mean_dist) for r in trained]
    assert v.exit_code == 0


def test_verify_leaves_the_users_file_alone(verified):
    path = os.path.join(EXAMPLES, BUGGY[0])
    with open(path, "rb") as fh:
        data = fh.read()
    mtime = os.stat(path).st_mtime
    v = verified(BUGGY[0])
    assert v.diff.startswith("--- ")
    with open(path, "rb") as fh:
        assert fh.read() == data
    assert os.stat(path).st_mtime == mtime


def verify_demo_variant(tmp_path, name, edits):
    """``bnlint verify`` of the demo trainer rewritten by ``edits`` ((old, new) text pairs); checks
    both programs ran and the original shows the report's symptom."""
    from bnlint.commands.verify import loss_ratio, verify

    with open(os.path.join(EXAMPLES, "multi_tower_early_update_ops.py")) as fh:
        source = fh.read()
    for old, new in edits:
        assert old in source
        source = source.replace(old, new)
    script = tmp_path / name
    script.write_text(source)
    v = verify(str(script), ["--steps", str(STEPS), "--towers", str(TOWERS)], devices=TOWERS)
    assert v.before.error is None and v.after.error is None, (v.before.error, v.after.error)
    assert loss_ratio(v.before) > MIN_BUGGY_RATIO, v.before.result
    return v


def test_fix_keeps_the_list_a_helper_reads_as_a_global(tmp_path):
    # The report's shape: a helper called in the tower loop reads the early list as a global. The
    # plain BNL002 fix (move the read after the towers) left the name unbound when the helper ran
    # (NameError in the fixed copy, caught by verify); the fix re-reads the list instead.
    from bnlint.commands.verify import loss_ratio

    v = verify_demo_variant(tmp_path, "setup_grad_trainer.py", [
        ("def build_graph(num_gpus):\n",
         "def setup_grad(optim, loss):\n"
         "    with tf.control_dependencies(update_ops):\n"
         "        return optim.compute_gradients(loss)\n\n\n"
         "def build_graph(num_gpus):\n    global update_ops\n"),
        ("tower_grads.append(optim.compute_gradients(loss))", "tower_grads.append(setup_grad(optim, loss))"),
    ])
    assert [(d.code, d.fix.message.split(" after")[0]) for d in v.applied] == [("BNL002", "Read the collection again")]
    assert v.problems == [] and v.exit_code == 0, v.problems
    assert loss_ratio(v.after) < MAX_FIXED_RATIO, v.after.result


def test_fix_of_the_inlined_setup_grad_runs_the_step_after_every_towers_updates(tmp_path):
    # The report's setup_grad inlined: the early list guards each tower's compute_gradients inside
    # the loop, the step after the loop has no dependency. No place for the read serves the uses
    # in the loop; the fix runs apply_gradients under the collection read after the towers.
    from bnlint.commands.verify import loss_ratio

    v = verify_demo_variant(tmp_path, "inlined_setup_grad_trainer.py", [
        ("            tower_grads.append(optim.compute_gradients(loss))\n",
         "            with tf.control_dependencies(update_ops):\n"
         "                grads = optim.compute_gradients(loss)\n"
         "            tower_grads.append(grads)\n"),
        ("    with tf.control_dependencies(update_ops):\n        train_op = optim.apply_gradients(",
         "    train_op = optim.apply_gradients("),
    ])
    assert [(d.code, d.fix.message) for d in v.applied] == [
        ("BNL002", "Run the step under control_dependencies on UPDATE_OPS read after the towers")]
    assert "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):" in v.diff
    assert v.problems == [] and v.exit_code == 0, v.problems
    assert loss_ratio(v.after) < MAX_FIXED_RATIO, v.after.result
    trained = [r for r in v.after.layers if r.trained]
    assert trained and all(r.mean_changed and r.var_changed for r in trained)
