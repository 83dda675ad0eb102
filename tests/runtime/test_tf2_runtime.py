"""TF2/Keras runtime proof: real TensorFlow and Keras, real MirroredStrategy over logical CPUs.

Each child run imports TensorFlow (~5 s), so checks are grouped per run: one run of the buggy
form of a script, one of its healthy twin.
"""

import json
import os
import subprocess
import sys

import pytest

from conftest import EXAMPLES

pytestmark = pytest.mark.tf

HERE = os.path.dirname(__file__)
MISTAKES = os.path.join(HERE, "tf2", "mistakes.py")


def _env():
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}  # the user's default: Keras 3
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def _bnlint(*args):
    proc = subprocess.run([sys.executable, "-m", "bnlint", *args], capture_output=True, text=True, env=_env(),
                          timeout=600)
    return proc


def _inspect(script, *script_args, devices=2):
    proc = _bnlint("inspect", "--devices", str(devices), "--format", "json", "--", script, *script_args)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return proc.returncode, json.loads(proc.stdout)


def _by_code(findings):
    out = {}
    for d in findings:
        out.setdefault(d["code"], []).append(d)
    return out


def test_mistakes_reported_with_numbers_and_not_on_the_healthy_twin():
    code, found = _inspect(MISTAKES)
    assert code == 1
    by = _by_code(found)
    # eval step with training=True, and the learning phase forced to 1: BN in training mode while evaluating
    layers104 = {d["data"]["layer"]: d for d in by["BNL104"]}
    assert set(layers104) == {"bn_eval", "bn_phase"}
    assert layers104["bn_eval"]["data"]["training_calls"] == 5 and layers104["bn_eval"]["data"]["changed"]
    assert "set_learning_phase(1)" in layers104["bn_phase"]["message"]
    assert "set_learning_phase" not in layers104["bn_eval"]["message"]
    # trainable changed after compile(): the frozen layer still trains
    (stale,) = by["BNL108"]
    assert stale["data"]["layer"] == "bn_stale" and stale["data"]["compiled_stale"]
    assert stale["data"]["training_calls"] == stale["data"]["calls"] > 0 and stale["data"]["moved"] > 0.05
    # a BN layer constructed inside the step: 5 layers from one line, one call each
    (per_step,) = by["BNL110"]
    assert per_step["data"]["layers"] == 5 and per_step["data"]["max_calls"] == 1
    assert per_step["location"]["row"] == 69
    assert set(by) == {"BNL104", "BNL108", "BNL110"}

    code, found = _inspect(MISTAKES, "--healthy")
    assert (code, found) == (0, [])


def test_mirrored_strategy_small_replica_batch_on_four_replicas():
    code, found = _inspect(os.path.join(EXAMPLES, "tf2_mirrored_small_replica_batch.py"), devices=4)
    by = _by_code(found)
    assert code == 1 and set(by) == {"BNL106", "BNL111"}
    (small,) = by["BNL106"]
    assert small["data"]["replicas"] == 4 and small["data"]["batch"] == 4
    assert small["data"]["noise"] > 0.3  # a 4-sample mean is ~0.5 std from the pooled one
    assert by["BNL111"][0]["data"]["spread"] > 0.05
    code, found = _inspect(os.path.join(EXAMPLES, "healthy_tf2_mirrored_sync_bn.py"), devices=4)
    assert (code, found) == (0, [])


@pytest.mark.parametrize("example, code, static", [
    ("tf2_custom_loop_no_training_flag.py", "BNL107", "BNL017"),
    ("tf2_finetune_without_training_false.py", "BNL109", "BNL018"),
    ("tf2_bn_created_in_step.py", "BNL110", "BNL021"),
])
def test_verify_closes_the_gap_on_two_and_four_replicas(example, code, static):
    proc = _bnlint("verify", "--format", "json", os.path.join(EXAMPLES, example))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    v = json.loads(proc.stdout)
    assert [d["code"] for d in v["fixes"]] == [static]
    assert code in {d["code"] for d in v["before"]["diagnostics"]}
    runs = [v["after"], *v["also"]]
    assert sorted(r["devices"] for r in runs) == [2, 4]
    for run in runs:
        assert run["error"] is None and run["diagnostics"] == []
        assert run["layers"] and all(row["trained"] and row["mean_changed"] for row in run["layers"])
    before, after = v["before"]["result"], v["after"]["result"]
    print(example, "eval/train loss before", before["infer_loss"] / before["train_loss"],
          "after", after["infer_loss"] / after["train_loss"])
