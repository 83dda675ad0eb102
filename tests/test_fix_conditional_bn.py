"""BNL015 where BN is optional (tests/programs/conditional_bn_bias.py), run on TF 2.21.

The fix writes ``use_bias=not <flag>``. For both flag values the fixed model restores the original
model's checkpoint; with BN off it has exactly the original variables and the same outputs (training
and inference mode), with BN on only the biases BN cancels are gone and training-mode outputs are
the same (inference shifts by bias/std through the old moving mean: the fix stays unsafe). The fix the rule used to write
(``use_bias=False``) changes the BN-off model's output, which is what this test would catch.
"""

import os
import re

import numpy as np
import pytest

pytestmark = [pytest.mark.tf, pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow").compat.v1

from bnlint.run.fixer import fix_paths  # noqa: E402
from bnlint.core.settings import Settings  # noqa: E402

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs", "conditional_bn_bias.py")


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bnl015")
    path = folder / "model.py"
    with open(PROGRAM, encoding="utf-8") as fh:
        original = fh.read()
    path.write_text(original, encoding="utf-8")
    run = fix_paths([str(path)], Settings(select=["BNL015"], unsafe_fixes=True))
    assert [d.code for d in run.applied] == ["BNL015", "BNL015"], run.failures
    fixed = path.read_text(encoding="utf-8")
    assert "use_bias=not bnorm" in fixed and "use_bias=not use_bn" in fixed
    naive = re.sub(r"use_bias=not \w+", "use_bias=False", fixed)  # the old fix
    return {"original": original, "fixed": fixed, "naive": naive, "ckpt": str(folder / "ckpt")}


def _build(source: str, bnorm: bool):
    namespace = {"__name__": "model"}
    exec(compile(source, "model.py", "exec"), namespace)
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(0)
        images = tf.placeholder(tf.float32, [None, 8, 8, 3])
        training = tf.placeholder_with_default(False, [])
        logits = namespace["classifier"](images, training, bnorm=bnorm)
    return graph, images, training, logits


def _outputs(source: str, bnorm: bool, ckpt: str, save: bool, x: np.ndarray):
    graph, images, training, logits = _build(source, bnorm)
    with graph.as_default(), tf.Session(graph=graph) as sess:
        names = sorted(v.op.name for v in tf.global_variables())
        sess.run(tf.global_variables_initializer())
        if save:  # non-zero biases and moving statistics, so dropping a bias would show
            for v in tf.global_variables():
                sess.run(v.assign(np.random.RandomState(len(v.op.name)).uniform(0.5, 1.5, v.shape)))
            tf.train.Saver().save(sess, ckpt)
        else:
            tf.train.Saver().restore(sess, ckpt)  # the old checkpoint restores into the new model
        out = [sess.run(logits, {images: x, training: t}) for t in (True, False)]
    return names, out


@pytest.mark.parametrize("bnorm", [False, True])
def test_fix_keeps_outputs_and_checkpoints_for_both_flag_values(sources, bnorm):
    x = np.random.RandomState(1).rand(4, 8, 8, 3).astype("float32")
    ckpt = sources["ckpt"] + str(bnorm)
    before_vars, before = _outputs(sources["original"], bnorm, ckpt, True, x)
    after_vars, after = _outputs(sources["fixed"], bnorm, ckpt, False, x)
    # BN off: same outputs in both modes. BN on: the batch mean cancels the bias in training mode;
    # at inference the old checkpoint's moving mean still holds the bias (why the fix is unsafe).
    for a, b in zip(before, after) if not bnorm else [(before[0], after[0])]:
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    dropped = sorted(set(before_vars) - set(after_vars))
    assert set(after_vars) <= set(before_vars)
    if bnorm:
        assert dropped == ["conv1/conv2d/bias", "conv2/conv2d/bias", "dense/bias"]
    else:
        assert dropped == []  # BN off: the very same variables


def test_the_unconditional_fix_changes_the_model_without_bn(sources):
    x = np.random.RandomState(1).rand(4, 8, 8, 3).astype("float32")
    ckpt = sources["ckpt"] + "naive"
    _, before = _outputs(sources["original"], False, ckpt, True, x)
    _, after = _outputs(sources["naive"], False, ckpt, False, x)
    assert not np.allclose(before[1], after[1], atol=1e-3)
