"""`bnlint verify SCRIPT`: fix a copy, run original and fix under the runtime inspector, compare.

The example trainers are verified in tests/test_fix_execution.py; here a tiny trainer (60 steps,
one BN layer on inputs of mean 5 / std 3) checks the command itself: exit codes, the text table,
the JSON report, and that an unfixable program is reported unhealthy.
"""

import json
import os

import pytest

from bnlint.commands import cli

TRAINER = """\
import os
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
tf.set_random_seed(0)
rng = np.random.RandomState(0)
X = rng.normal(5.0, 3.0, (256, 4)).astype(np.float32)
Y = ((X - 5.0) / 3.0) @ rng.normal(size=(4, 1)).astype(np.float32)
x = tf.placeholder(tf.float32, [None, 4])
y = tf.placeholder(tf.float32, [None, 1])
training = tf.placeholder_with_default(False, [])
h = tf.layers.batch_normalization(x, training=training, momentum=0.8)
loss = tf.reduce_mean(tf.square(tf.layers.dense(h, 1) - y))
opt = tf.train.AdamOptimizer(0.05)
{step}
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(60):
        sess.run(train_op, {{x: X, y: Y, training: True}})
    train_loss = sess.run(loss, {{x: X, y: Y, training: True}})
    infer_loss = sess.run(loss, {{x: X, y: Y}})
print("RESULT train_loss=%g infer_loss=%g" % (train_loss, infer_loss))
"""
FIXABLE = TRAINER.format(step="train_op = opt.minimize(loss)")
UNFIXABLE = TRAINER.format(step="n = 0; train_op = opt.minimize(loss)")  # two statements: no fix


def test_verify_needs_a_script(tmp_path, capsys):
    assert cli.main(["verify"]) == 2
    assert cli.main(["verify", str(tmp_path / "missing.py")]) == 2
    assert "no such script" in capsys.readouterr().err


@pytest.mark.tf
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_verify_text_table_and_exit_0_when_the_fix_is_healthy(tmp_path, capsys):
    script = tmp_path / "train.py"
    script.write_text(FIXABLE)
    assert cli.main(["verify", "--devices", "2", str(script)]) == 0
    out = capsys.readouterr().out
    assert "16:12 BNL003 [safe]" in out  # the finding in the user's file
    assert "+    train_op = opt.minimize(loss)" in out
    lines = out.splitlines()
    (row,) = [line for line in lines if line.startswith("batch_normalization ")]
    assert row.split()[1:3] == ["yes", "NO/NO"]  # before: never updated
    assert row.split()[5:8] == ["|", "yes", "yes/yes"]  # after
    assert "verdict: the fixed program is healthy" in out
    assert script.read_text() == FIXABLE


@pytest.mark.tf
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_verify_json_and_exit_1_when_nothing_repairs_the_program(tmp_path, capsys):
    script = tmp_path / "train.py"
    script.write_text(UNFIXABLE)
    code = cli.main(["verify", "--devices", "2", "--format", "json", str(script)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["exit_code"] == 1 and not report["healthy"]
    assert report["fixes"] == [] and [d["code"] for d in report["remaining"]] == ["BNL003"]
    assert any("runtime findings" in p for p in report["problems"])
    assert any("inference loss" in p for p in report["problems"])
    (layer,) = report["layers"]
    assert layer["before"]["mean_changed"] is False and layer["after"]["mean_changed"] is False
    ratio = report["after"]["result"]["infer_loss"] / report["after"]["result"]["train_loss"]
    assert ratio > 5  # the untrained moving statistics (0 and 1) against inputs of mean 5, std 3
    assert os.path.basename(report["before"]["script"]) == "train.py"


@pytest.mark.tf
def test_make_demo_runs_end_to_end():
    # What `make demo` runs (with fewer training steps): lint, diff, verify, before/after table.
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "bnlint.commands.demo", "--steps", "60"], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert out.index("=== 1.") < out.index("=== 3.") < out.index("+    update_ops = tf.get_collection") \
        < out.index("=== 4.") < out.index("\nBN layer ") < out.index("verdict: the fixed program is healthy")
