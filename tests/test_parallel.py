"""Worker processes (-j) and the per-file time limit, on real files and real processes.

The two-phase pipeline (bnlint.run.tree) must give exactly the findings of one in-memory
Project over every relevant module, whatever -j is: the reference here is check.run_rules.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from bnlint.run.paths import lint_paths
from bnlint.lint.check import noqa_filter, run_rules
from bnlint.analysis.parse import parse
from bnlint.core.settings import Settings

MODELS = """
import tensorflow.compat.v1 as tf


def conv_bn(x, filters, is_training):
    x = tf.layers.conv2d(x, filters, 3, use_bias=False)
    return tf.nn.relu(tf.layers.batch_normalization(x, training=is_training))


def model(x, is_training):
    return tf.layers.dense(conv_bn(x, 8, is_training), 10)
"""

# No BN word in this file: it is analysed because it imports a module with BN helpers, and its
# findings exist only through models.py (a cross-module producer).
TRAIN = """
import tensorflow.compat.v1 as tf
from models import model

x = tf.placeholder(tf.float32, [None, 8, 8, 3])
logits = model(x, True)
val_logits = model(x, False)
loss = tf.reduce_mean(logits)
train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
"""

# A module on its own, with a finding that needs nobody else.
SINGLE = """
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
"""

HEALTHY = """
import tensorflow as tf
x = tf.zeros([4, 3])
y = tf.layers.batch_normalization(x, training=True)
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
"""


def write_tree(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def key(d):
    return (os.path.relpath(d.filename), d.location.row, d.location.column, d.code, d.message)


def reference(paths, settings):
    """One in-memory Project over the relevant modules the pipeline chose."""
    base = lint_paths(paths, settings, jobs=1)
    infos = [parse(src, base.modnames[p]) for p, src in base.sources.items()]
    return sorted(key(d) for d in noqa_filter(run_rules(infos, settings), base.sources))


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "proj", {"models.py": MODELS, "train.py": TRAIN, "single.py": SINGLE, "healthy.py": HEALTHY,
                                   "pkg/__init__.py": "", "pkg/other.py": "def f():\n    return 1\n"})
    return "proj"


def test_two_jobs_give_the_findings_of_one_job_and_of_one_in_memory_project(tree):
    settings = Settings()
    one = [key(d) for d in lint_paths([tree], settings, jobs=1).diagnostics]
    two = [key(d) for d in lint_paths([tree], settings, jobs=2).diagnostics]
    assert one == two
    assert sorted(one) == reference([tree], settings)
    codes = {(os.path.basename(f), code) for f, _, _, code, _ in one}
    # The cross-module producer is followed in both modes: train.py builds BN layers twice
    # (BNL001) and trains them without update ops (BNL003) only through models.model.
    assert ("train.py", "BNL001") in codes
    assert ("train.py", "BNL003") in codes
    assert ("single.py", "BNL003") in codes
    assert not any(f.endswith("healthy.py") for f, *_ in one)


def test_the_cli_with_two_jobs_matches_one_job(tree):
    outs = []
    for jobs in ("1", "2"):
        proc = subprocess.run([sys.executable, "-m", "bnlint", tree, "--no-cache", "-j", jobs, "--format", "json", "--isolated"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1, proc.stderr
        outs.append(json.loads(proc.stdout))
    assert outs[0] == outs[1]
    assert any(d["code"] == "BNL001" and d["filename"].endswith("train.py") for d in outs[0])


def pathological(n_blocks=3000):
    """Valid Python that takes seconds to analyse: thousands of BN calls (no trick, just size)."""
    lines = ["import tensorflow as tf", "x = tf.zeros([4, 3])"]
    for i in range(n_blocks):
        lines.append(f"x = tf.layers.batch_normalization(tf.layers.dense(x, {i % 7 + 1}), training=True, name='bn{i}')")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_over_the_time_limit_is_reported_as_bnl901_and_the_run_goes_on(tmp_path, monkeypatch, jobs):
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "proj", {"huge.py": pathological(), "single.py": SINGLE})
    result = lint_paths(["proj"], Settings(), jobs=jobs, timeout=0.3)
    timeouts = [e for e in result.errors if e.code == "BNL901"]
    assert [os.path.relpath(e.filename) for e in timeouts] == [os.path.join("proj", "huge.py")], result.errors
    assert "timed out" in timeouts[0].message
    # The other file is analysed normally; the slow one gets no findings of its own.
    assert {(os.path.basename(d.filename), d.code) for d in result.diagnostics} == {("single.py", "BNL003")}


def test_the_cli_reports_the_timeout_naming_the_file(tmp_path):
    write_tree(tmp_path, {"huge.py": pathological(), "ok.py": HEALTHY})
    proc = subprocess.run([sys.executable, "-m", "bnlint", ".", "--no-cache", "-j", "2", "--timeout", "0.3", "--isolated"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "huge.py:1:1: BNL901" in proc.stdout
    assert "ok.py" not in proc.stdout
