"""BNL107 (moving statistics after K steps), the SessionRunHook, and /gpu:i -> /cpu:i placement."""

import numpy as np
import pytest
import tensorflow as tf

from bnlint.runtime import BNLintHook, MovingStatsProbe, check_moving_stats
from bnlint.runtime.instrument import Instrumentation, RunObserver, TrainStepDetector, session_config
from bnlint.runtime.moving_stats import measure_moving_stats
from tf_graphs import build, names

pytestmark = pytest.mark.tf
v1 = tf.compat.v1


def _train(built, steps):
    sess = built.session()
    probe = MovingStatsProbe(built.graph, built.train_op)
    initial = probe.read(sess)
    for step in range(steps):
        sess.run(built.train_op, built.feed(step))
    return sess, probe, initial


def test_bnl107_reports_layers_whose_statistics_never_moved():
    built = build(updates="before")
    sess, probe, initial = _train(built, 3)
    diags = check_moving_stats(sess, built.feed(7), train_ops=built.train_op, initial=initial, steps=3)
    assert names(diags) == [("BNL107", "bn1"), ("BNL107", "bn2")]
    d = diags[0]
    assert d.severity == "error" and "stayed at their initial values after 3 training steps" in d.message
    assert d.data["mean_changed"] is False and d.data["var_changed"] is False and d.data["steps"] == 3
    # the conv outputs are far from mean 0 / variance 1, and the moving statistics stayed there
    assert d.data["mean_dist"] == d.data["mean_dist_initial"] > 0.3
    assert d.data["var_dist"] == d.data["var_dist_initial"] > 0.3
    assert f"mean {d.data['mean_dist']:.3g}" in d.message


def test_bnl107_quiet_when_updates_run_and_statistics_approach_the_batch():
    built = build()
    sess, probe, initial = _train(built, 3)
    diags, rows = measure_moving_stats(sess, built.feed(7), train_ops=built.train_op, initial=initial,
                                       steps=3, probe=probe)
    assert diags == []
    assert [r.layer for r in rows] == ["bn1", "bn2"]
    for r in rows:
        assert r.trained and r.mean_changed and r.var_changed and r.towers == [0, 1]
        assert r.mean_dist < r.mean_dist_initial and r.var_dist < r.var_dist_initial


def test_bnl107_only_the_tower_whose_copies_are_not_updated():
    built = build(share=False, updates="tower0")
    sess, probe, initial = _train(built, 2)
    diags, rows = measure_moving_stats(sess, built.feed(5), train_ops=built.train_op, initial=initial,
                                       steps=2, probe=probe)
    assert names(diags) == [("BNL107", "tower_1_vars/bn1"), ("BNL107", "tower_1_vars/bn2")]
    assert {r.layer: r.mean_changed for r in rows} == {
        "tower_0_vars/bn1": True, "tower_0_vars/bn2": True, "tower_1_vars/bn1": False, "tower_1_vars/bn2": False}


def test_bnl107_statistics_that_move_away_from_the_batch_are_reported():
    built = build(towers=1)
    sess, probe, _ = _train(built, 4)
    # pretend the run started from the batch statistics themselves: the moving ones then moved away
    feed = built.feed(1)
    inputs = dict(zip(probe.input_fetches(), sess.run(probe.input_fetches(), feed)))
    fake_initial = {}
    for layer, pairs in probe.inputs.items():
        x = inputs[pairs[0][0]]
        fake_initial[layer] = (x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2)) * 50.0)
    final = probe.read(sess)
    final = {k: (m + 5.0, v) for k, (m, v) in final.items()}
    diags, _ = probe.evaluate(fake_initial, final, inputs, steps=4)
    assert {(d.code, d.severity) for d in diags} == {("BNL107", "warning")}
    assert "moved away from the batch statistics" in diags[0].message


def test_hook_runs_graph_checks_then_bnl107_in_a_monitored_session():
    for updates, expected in (("before", {"BNL101", "BNL107"}), ("after", set())):
        built = build(updates=updates)
        reported = []
        hook = BNLintHook(train_ops=built.train_op, steps=3, on_report=reported.extend)
        with built.graph.as_default():
            creator = v1.train.ChiefSessionCreator(config=v1.ConfigProto(device_count={"CPU": 2}))
            with v1.train.MonitoredSession(session_creator=creator, hooks=[hook]) as sess:
                for step in range(4):
                    sess.run(built.train_op, built.feed(step))
        assert {d.code for d in hook.diagnostics} == expected
        assert reported == hook.diagnostics
        assert [r.layer for r in hook.layer_stats] == ["bn1", "bn2"]
        assert all(r.mean_changed == (updates == "after") for r in hook.layer_stats)
        assert hook.step == 4


def test_hook_checks_at_the_end_when_training_is_shorter_than_k():
    built = build(updates="before", towers=1)
    hook = BNLintHook(steps=50)  # train op from the train_op collection
    with built.graph.as_default():
        with v1.train.MonitoredSession(hooks=[hook]) as sess:
            for step in range(2):
                sess.run(built.train_op, built.feed(step))
    assert names(hook.diagnostics) == [("BNL101", "bn1"), ("BNL101", "bn2"), ("BNL107", "bn1"), ("BNL107", "bn2")]
    assert "after 2 training steps" in hook.diagnostics[-1].message
    assert hook.layer_stats[0].mean_dist is None  # no batch was measured


def test_gpu_towers_run_on_their_own_cpu_device():
    """Under the inspector's device mapping, code written for /gpu:i runs tower i on CPU:i."""
    detector = TrainStepDetector()
    with Instrumentation(RunObserver(), detector, devices=2, map_gpus=True):
        graph = tf.Graph()
        with graph.as_default():
            x = v1.placeholder(tf.float32, [4, 8])
            outs = []
            for i in range(2):
                with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i):
                    w = v1.get_variable("w%d" % i, [8, 8])
                    outs.append(tf.reduce_sum(tf.matmul(x, w)))
            total = tf.add_n(outs)
            init = v1.global_variables_initializer()
        sess = v1.Session(graph=graph)  # no config: the inspector adds the CPU devices
        sess.run(init)
        meta = v1.RunMetadata()
        sess.run(total, {x: np.ones((4, 8), np.float32)},
                 options=v1.RunOptions(trace_level=v1.RunOptions.FULL_TRACE), run_metadata=meta)
    placed = {}
    for dev in meta.step_stats.dev_stats:
        for node in dev.node_stats:
            placed[node.node_name] = dev.device
    assert placed["tower_0/MatMul"].endswith("/device:CPU:0")
    assert placed["tower_1/MatMul"].endswith("/device:CPU:1")
    assert graph.get_operation_by_name("tower_1/MatMul").device == "/device:CPU:1"
    # the patches are gone again
    with tf.Graph().as_default():
        with tf.device("/gpu:1"):
            assert v1.placeholder(tf.float32).op.device == "/device:GPU:1"


def test_session_config_adds_cpu_devices_for_every_device_index():
    graph = tf.Graph()
    with graph.as_default(), tf.device("/cpu:3"):
        v1.placeholder(tf.float32)
    user = v1.ConfigProto(allow_soft_placement=True, device_count={"CPU": 1})
    config = session_config(user, 2, graph)
    assert config.device_count["CPU"] == 4 and config.allow_soft_placement
    assert user.device_count["CPU"] == 1  # the script's own config is left alone
    assert session_config(None, 2).device_count["CPU"] == 2
