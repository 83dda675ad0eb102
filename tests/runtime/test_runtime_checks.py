"""BNL101..BNL106 on real multi-tower tf.compat.v1 graphs, correct and broken."""

import pytest
import tensorflow as tf

from bnlint.runtime import GraphIndex, inspect_graph
from tf_graphs import build, names

pytestmark = pytest.mark.tf

CORRECT_VARIANTS = [
    dict(),
    dict(fused=False),
    dict(flag="const"),
    dict(flag="const", fused=False),
    dict(resource=False),
    dict(control_flow_v1=True, fused=False),
    dict(control_flow_v1=True, resource=False, fused=False),
    dict(style="keras2", updates="layer_updates", flag="const"),
]


@pytest.mark.parametrize("variant", CORRECT_VARIANTS, ids=lambda v: ",".join(f"{k}={x}" for k, x in v.items()) or "v1")
def test_correct_multi_tower_trainer_has_no_findings(variant):
    built = build(**variant)
    expected = [("BNL103", None)] if variant.get("style") == "keras2" else []  # info: not in UPDATE_OPS
    assert names(inspect_graph(built.graph, built.train_op, built.eval_fetch)) == expected
    assert names(inspect_graph(built.graph, built.train_op)) == expected
    assert all(d.severity == "info" for d in inspect_graph(built.graph, built.train_op))


BROKEN_UPDATES = [
    dict(updates="before"),
    dict(updates="none"),
    dict(updates="before", fused=False),
    dict(updates="before", flag="const", fused=False),
    dict(updates="before", resource=False),
    dict(updates="before", control_flow_v1=True, fused=False),
    dict(updates="before", control_flow_v1=True, resource=False, fused=False),
]


@pytest.mark.parametrize("variant", BROKEN_UPDATES, ids=lambda v: ",".join(f"{k}={x}" for k, x in v.items()))
def test_bnl101_update_ops_not_run_by_the_train_op(variant):
    built = build(**variant)
    diags = inspect_graph(built.graph, built.train_op, built.eval_fetch)
    assert names(diags) == [("BNL101", "bn1"), ("BNL101", "bn2")]
    for d in diags:
        assert d.severity == "error"
        assert d.data["towers"] == [0, 1]
        assert d.data["variables"] == ["moving_mean", "moving_variance"]
        assert "towers 0, 1" in d.message and "'train'" in d.message


def test_update_ops_are_found_through_the_variables_they_write():
    """UPDATE_OPS holds cond/Identity (cond_v2) or Merge (v1 cond) wrappers: the writers are the cond and AssignSub."""
    v2 = build(fused=False, towers=1)
    index = GraphIndex(v2.graph)
    writers = index.updates(index.ids["bn1/moving_mean"])
    assert [index.types[w] for w in writers] == ["If"]
    assert [index.names[w] for w in writers] == ["tower_0/bn1/cond_2"]

    ref = build(fused=False, towers=1, control_flow_v1=True, resource=False)
    index = GraphIndex(ref.graph)
    writers = index.updates(index.ids["bn1/moving_mean"])
    assert [(index.names[w], index.types[w]) for w in writers] == [("tower_0/bn1/cond_2/AssignMovingAvg", "AssignSub")]
    collection = {op.type for op in ref.graph.get_collection("update_ops")}
    assert collection == {"Merge"}
    # the initializer writes the variable too, but it is not an update
    assert len(index.writers(index.ids["bn1/moving_mean"])) == 2


def test_bnl101_names_the_tower_whose_own_copies_are_never_updated():
    built = build(share=False, updates="tower0")
    diags = inspect_graph(built.graph, built.train_op, built.eval_fetch)
    assert names(diags) == [("BNL101", "tower_1_vars/bn1"), ("BNL101", "tower_1_vars/bn2"), ("BNL105", None)]
    for d in diags:
        if d.code == "BNL101":
            assert d.data["towers"] == [1] and "(tower 1)" in d.message
    unshared = next(d for d in diags if d.code == "BNL105")
    assert unshared.data["tower"] == 1 and unshared.data["reference_tower"] == 0
    assert unshared.data["copies"]["tower_1_vars/conv1/kernel"] == "tower_0_vars/conv1/kernel"
    assert len(unshared.data["copies"]) == 12  # 2 conv kernels, 2 x 4 BN variables, dense kernel and bias


def test_shared_variables_updated_from_one_tower_is_an_info_note_not_bnl101():
    for updates in ("tower0", "scoped"):
        built = build(updates=updates)
        diags = inspect_graph(built.graph, built.train_op, built.eval_fetch)
        assert [(d.code, d.severity) for d in diags] == [("BNL103", "info")]
        assert diags[0].data == {"run_towers": [0], "idle_towers": [1]}


def test_bnl102_eval_model_built_without_reuse_under_a_scope():
    built = build(eval_graph="noreuse")
    for evals in (built.eval_fetch, None):
        diags = inspect_graph(built.graph, built.train_op, evals)
        assert names(diags) == [("BNL102", "eval/bn1"), ("BNL102", "eval/bn2")]
        assert {d.data["layer"]: d.data["trained_copy"] for d in diags} == {"eval/bn1": "bn1", "eval/bn2": "bn2"}
        assert "untrained copy of 'bn1'" in diags[0].message


def test_bnl102_auto_numbered_copies_pair_with_their_originals():
    built = build(towers=1, auto_names=True, eval_graph="noreuse")
    diags = inspect_graph(built.graph, built.train_op, built.eval_fetch)
    assert {d.data["layer"]: d.data["trained_copy"] for d in diags if d.code == "BNL102"} == {
        "batch_normalization_2": "batch_normalization",
        "batch_normalization_3": "batch_normalization_1",
    }
    assert [d.code for d in diags] == ["BNL102", "BNL102"]


def test_bnl103_keras_bn_updates_missing_from_update_ops():
    built = build(style="keras2", flag="const")  # control deps on UPDATE_OPS, which Keras never fills
    diags = inspect_graph(built.graph, built.train_op, built.eval_fetch)
    assert names(diags) == [("BNL101", "tower_0/bn1"), ("BNL101", "tower_0/bn2"), ("BNL103", None)]
    missing = next(d for d in diags if d.code == "BNL103")
    assert missing.severity == "warning" and missing.data["layers"] == ["tower_0/bn1", "tower_0/bn2"]


def test_bnl103_keras3_bn_leaves_orphan_assign_ops():
    built = build(style="keras3", flag="const")
    diags = inspect_graph(built.graph, built.train_op, built.eval_fetch)
    assert names(diags) == [("BNL101", "tower_0/bn1"), ("BNL101", "tower_0/bn2"), ("BNL103", None)]
    index = GraphIndex(built.graph)
    orphans = index.updates(index.ids["tower_0/bn1/moving_mean"])
    assert {index.types[w] for w in orphans} == {"AssignVariableOp"} and len(orphans) == 2  # one per tower


def test_bnl104_eval_fetch_runs_bn_in_training_mode():
    built = build(eval_graph="training", flag="const")
    diags = inspect_graph(built.graph, built.train_op, built.eval_fetch)
    assert names(diags) == [("BNL104", "bn1"), ("BNL104", "bn2")]
    assert {d.severity for d in diags} == {"error"}
    assert diags[0].data["op"] == "eval/bn1/FusedBatchNormV3"
    # without the eval fetch: a training-mode BN no train op uses is still suspicious
    guessed = inspect_graph(built.graph, built.train_op)
    assert names(guessed) == [("BNL104", "bn1"), ("BNL104", "bn2")]
    assert {d.severity for d in guessed} == {"warning"}


def test_bnl104_not_raised_for_the_flag_fed_at_run_time():
    built = build(eval_graph="reuse")  # eval uses training=False, train uses a placeholder flag
    assert inspect_graph(built.graph, built.train_op, built.eval_fetch) == []


def test_bnl106_small_per_device_batch():
    built = build(batch=8)
    diags = inspect_graph(built.graph, built.train_op, built.eval_fetch)
    assert [(d.code, d.severity) for d in diags] == [("BNL106", "warning")]
    assert diags[0].data == {"batch": 8, "threshold": 16, "layers": ["bn1", "bn2"], "towers": [0, 1]}
    assert inspect_graph(built.graph, built.train_op, small_batch=8) == []


def test_findings_point_at_the_line_that_built_the_layer():
    import tf_graphs

    built = build(updates="before")
    diags = inspect_graph(built.graph, built.train_op, filename=tf_graphs.__file__)
    with open(tf_graphs.__file__) as fh:
        lines = fh.read().splitlines()
    for d in diags:
        assert "batch_normalization(" in lines[d.location.row - 1]


def test_bnl102_without_a_trained_copy_is_a_warning():
    """A BN layer trained in inference mode (frozen, or forgotten): nothing to pair it with."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [32, 4])
        h = tf.compat.v1.layers.dense(x, 4, name="fc")
        h = tf.compat.v1.layers.batch_normalization(h, training=False, name="frozen_bn")
        opt = tf.compat.v1.train.GradientDescentOptimizer(0.1)
        train = opt.minimize(tf.reduce_sum(h))
    diags = inspect_graph(graph, train)
    assert [(d.code, d.severity, d.data["layer"], d.data["trained_copy"]) for d in diags] == [
        ("BNL102", "warning", "frozen_bn", None)]
