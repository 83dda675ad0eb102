"""Killing ``bnlint --fix`` part-way leaves every file either exactly as it was or exactly as a full
run writes it: never half-written, never lost. SIGINT and SIGTERM stop it cleanly (no temporary files
left); even SIGKILL, which nothing can intercept, leaves every ``.py`` file old or new.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

N_FILES = 150
# Two fixes per file (BNL002 moves the UPDATE_OPS read, BNL003 wraps the second step); each file
# differs so a mix-up between files would show.
TEMPLATE = """\
import tensorflow as tf
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
y = tf.layers.batch_normalization(tf.zeros([4, {n}]), training=True)  # model {i}
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer({lr}).minimize(tf.reduce_sum(y))
z = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
step_{i} = tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(z))
"""


def fix_cmd(root):
    return [sys.executable, "-m", "bnlint", "--no-cache", "-j", "1", "--fix", str(root)]


def read_tree(root) -> dict:
    return {name: (root / name).read_bytes() for name in sorted(os.listdir(root))}


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """The original tree and what an uninterrupted ``--fix`` makes of it."""
    base = tmp_path_factory.mktemp("interrupt")
    original = base / "original"
    original.mkdir()
    for i in range(N_FILES):
        (original / f"m{i:03d}.py").write_text(TEMPLATE.format(i=i, n=i % 5 + 2, lr=0.001 * (i + 1)))
    fixed = base / "fixed"
    shutil.copytree(original, fixed)
    done = subprocess.run(fix_cmd(fixed), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    old, new = read_tree(original), read_tree(fixed)
    assert all(old[name] != new[name] for name in old)  # every file has fixes
    return base, old, new


def interrupted_run(base, name, signum, trigger):
    """Start ``--fix`` on a fresh copy, send ``signum`` once ``trigger`` files are rewritten."""
    root = base / name
    shutil.copytree(base / "original", root)
    originals = read_tree(root)
    proc = subprocess.Popen(fix_cmd(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while proc.poll() is None and time.monotonic() < deadline:
        changed = sum(1 for n, data in originals.items() if (root / n).read_bytes() != data)
        if changed >= trigger:
            proc.send_signal(signum)
            break
        time.sleep(0.005)
    out, err = proc.communicate(timeout=120)
    return root, proc.returncode, err


@pytest.mark.parametrize("signum, trigger", [(signal.SIGINT, 1), (signal.SIGTERM, 1), (signal.SIGINT, N_FILES // 3),
                                             (signal.SIGTERM, N_FILES // 2), (signal.SIGKILL, 5)])
def test_every_file_is_old_or_new_after_a_kill(trees, signum, trigger):
    base, old, new = trees
    root, code, err = interrupted_run(base, f"run_{signum.name}_{trigger}", signum, trigger)
    names = sorted(os.listdir(root))
    py = [n for n in names if n.endswith(".py")]
    assert py == sorted(old), "a file was lost or created"
    now = {n: (root / n).read_bytes() for n in py}
    half = [n for n in py if now[n] not in (old[n], new[n])]
    assert not half, f"half-written or mixed-up files: {half[:5]}"
    n_new = sum(now[n] == new[n] for n in py)
    assert 0 < n_new < len(py), f"the signal did not arrive mid-run ({n_new} of {len(py)} fixed)"
    if signum == signal.SIGKILL:
        assert code == -signal.SIGKILL
        return  # nothing can clean up after SIGKILL; the renames still kept every file whole
    assert "Traceback" not in err, err[-3000:]
    assert code == 130 and "bnlint: interrupted" in err, err[-3000:]
    assert names == py, f"temporary files left behind: {[n for n in names if n not in py]}"
    if trigger != N_FILES // 2:
        return
    # The interrupted tree is a fine starting point: a second run finishes the job.
    done = subprocess.run(fix_cmd(root), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert read_tree(root) == new
