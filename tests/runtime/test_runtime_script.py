"""run_script: unmodified training scripts run in-process, stopped after K steps (or run to the end)."""

import os

import pytest
import tensorflow as tf

from bnlint.runtime import run_script
from bnlint.runtime.script import parse_result
from conftest import EXAMPLES, SCRIPTS
from tf_graphs import names

pytestmark = pytest.mark.tf

TRAINER = os.path.join(SCRIPTS, "trainer.py")


def _bn_line(layer_name):
    with open(TRAINER) as fh:
        for row, line in enumerate(fh, 1):
            if f'name="{layer_name}"' in line and "batch_normalization" in line:
                return row
    raise AssertionError(layer_name)


def test_correct_trainer_is_clean_and_its_statistics_move():
    report = run_script(TRAINER, ["--bug", "none"], devices=2, steps=3)
    assert report.error is None and report.exit_code == 0
    assert report.diagnostics == []
    assert report.stopped and report.train_steps == 3
    assert [(r.layer, r.towers, r.mean_changed, r.var_changed) for r in report.layers] == [
        ("bn1", [0, 1], True, True), ("bn2", [0, 1], True, True)]
    assert report.stdout[0].startswith("step 0 loss ")
    assert report.result is None  # stopped before the RESULT line


def test_early_update_ops_gives_bnl101_and_bnl107_at_the_layer_lines():
    report = run_script(TRAINER, ["--bug", "early_update_ops"], devices=2, steps=3)
    assert report.exit_code == 1
    assert names(report.diagnostics) == [("BNL101", "bn1"), ("BNL101", "bn2"), ("BNL107", "bn1"), ("BNL107", "bn2")]
    for d in report.diagnostics:
        assert d.filename == TRAINER
        assert d.location.row == _bn_line(d.data["layer"])
        if d.code == "BNL101":
            assert d.data["towers"] == [0, 1]
    assert [r.mean_changed for r in report.layers] == [False, False]


def test_eval_without_reuse_gives_bnl102():
    report = run_script(TRAINER, ["--bug", "eval_no_reuse"], devices=2, steps=2)
    assert names(report.diagnostics) == [("BNL102", "eval/bn1"), ("BNL102", "eval/bn2")]
    assert [r.layer for r in report.layers] == ["bn1", "bn2", "eval/bn1", "eval/bn2"]
    assert [r.trained for r in report.layers] == [True, True, False, False]


def test_unshared_towers_in_a_monitored_session():
    report = run_script(TRAINER, ["--bug", "unshared_towers", "--monitored"], devices=2, steps=2)
    assert report.error is None and report.stopped
    assert names(report.diagnostics) == [
        ("BNL101", "tower_1_vars/bn1"), ("BNL101", "tower_1_vars/bn2"), ("BNL105", None),
        ("BNL107", "tower_1_vars/bn1"), ("BNL107", "tower_1_vars/bn2")]
    assert "trained" not in " ".join(report.stdout)  # stopped inside the monitored loop


def test_steps_zero_runs_to_the_end_and_parses_the_result_line():
    report = run_script(TRAINER, ["--bug", "early_update_ops", "--steps", "4"], devices=2, steps=0)
    assert not report.stopped and report.train_steps == 4
    assert set(report.result) == {"train_loss", "infer_loss"}
    assert report.stdout[-1].startswith("RESULT train_loss=")
    assert names(report.diagnostics) == [("BNL101", "bn1"), ("BNL101", "bn2"), ("BNL107", "bn1"), ("BNL107", "bn2")]
    assert report.diagnostics[-1].data["steps"] == 4
    payload = report.to_json()
    assert payload["exit_code"] == 1 and payload["layers"][0]["layer"] == "bn1"
    assert payload["diagnostics"][0]["code"] == "BNL101"


def test_bnl104_settled_by_what_evaluation_fetched():
    guessed = run_script(TRAINER, ["--bug", "eval_training"], steps=1)  # stopped before any evaluation
    assert [(d.code, d.severity) for d in guessed.diagnostics] == [("BNL104", "warning")] * 2
    seen = run_script(TRAINER, ["--bug", "eval_training", "--steps", "2"], steps=0)
    assert names(seen.diagnostics) == [("BNL104", "bn1"), ("BNL104", "bn2")]
    assert {d.severity for d in seen.diagnostics} == {"error"}
    assert "an inference/eval fetch runs BN layer 'bn1' in training mode" in seen.diagnostics[0].message


def test_crash_and_missing_train_op_are_errors():
    crashed = run_script(os.path.join(SCRIPTS, "crash.py"), steps=5)
    assert crashed.exit_code == 2 and "data file missing" in crashed.error
    assert crashed.train_steps == 1
    idle = run_script(os.path.join(SCRIPTS, "no_train.py"), steps=5)
    assert idle.exit_code == 2 and idle.error.startswith("no train op found")
    assert idle.stdout == ["sum 3.0"]
    missing = run_script(os.path.join(SCRIPTS, "nope.py"))
    assert missing.exit_code == 2


def test_tensorflow_switches_are_restored_after_a_v1_script():
    before = (tf.executing_eagerly(), tf.compat.v1.resource_variables_enabled(), tf.__internal__.tf2.enabled())
    run_script(TRAINER, ["--bug", "none"], steps=1)  # calls tf.disable_v2_behavior()
    assert (tf.executing_eagerly(), tf.compat.v1.resource_variables_enabled(), tf.__internal__.tf2.enabled()) == before


def test_script_towers_on_gpu_i_run_on_cpu_i():
    """The script asks for /gpu:i with soft placement; traced, tower i's ops ran on CPU:i, not all on CPU:0."""
    report = run_script(os.path.join(SCRIPTS, "placement.py"), devices=2, steps=0)
    assert report.error is None and report.train_steps == 1
    placed = dict(line.split()[1:] for line in report.stdout if line.startswith("PLACED"))
    assert placed["tower_0/MatMul"].endswith("/device:CPU:0")
    assert placed["tower_1/MatMul"].endswith("/device:CPU:1")


def test_parse_result():
    assert parse_result(["x", "RESULT train_loss=0.5 infer_loss=12.25", "done"]) == {
        "train_loss": 0.5, "infer_loss": 12.25}
    assert parse_result(["nothing"]) is None


# examples/ are written by another part of the team; each known one has a known verdict
EXPECTED_EXAMPLES = {
    "multi_tower_early_update_ops.py": {"BNL101", "BNL107"},
    "missing_update_dependency.py": {"BNL101", "BNL107"},
    "eval_graph_without_reuse.py": {"BNL102"},
    "healthy_first_tower_updates.py": {"BNL103"},  # info only
    "healthy_per_tower_updates.py": set(),
    "healthy_single_tower_reuse_eval.py": set(),
}


@pytest.mark.parametrize("example", sorted(EXPECTED_EXAMPLES))
def test_examples(example):
    path = os.path.join(EXAMPLES, example)
    if not os.path.exists(path):
        pytest.skip(f"{example} not in examples/")
    report = run_script(path, ["--towers", "2"], devices=2, steps=3)
    assert report.error is None
    assert {d.code for d in report.diagnostics} == EXPECTED_EXAMPLES[example]
    assert report.exit_code == (0 if example.startswith("healthy") else 1)
