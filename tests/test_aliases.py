"""TF names resolve the same whatever the import style."""

import libcst as cst
import pytest

from bnlint.analysis.module_info import ModuleInfo
from bnlint.analysis.tfnames import canonical


def _resolve(src, expr):
    info = ModuleInfo(cst.parse_module(src), "m.py", "m")
    return info.resolve(cst.parse_expression(expr))


@pytest.mark.parametrize(
    "src,expr,want",
    [
        ("import tensorflow as tf\n", "tf.layers.batch_normalization", "tf.layers.batch_normalization"),
        ("import tensorflow.compat.v1 as tf\n", "tf.layers.batch_normalization", "tf.layers.batch_normalization"),
        ("from tensorflow.compat import v1 as tf\n", "tf.layers.batch_normalization", "tf.layers.batch_normalization"),
        ("import tensorflow as tf\n", "tf.compat.v1.layers.batch_normalization", "tf.layers.batch_normalization"),
        ("import tensorflow as tf\ntf1 = tf.compat.v1\n", "tf1.GraphKeys.UPDATE_OPS", "tf.GraphKeys.UPDATE_OPS"),
        ("from tensorflow.layers import batch_normalization as bn\n", "bn", "tf.layers.batch_normalization"),
        ("import tensorflow as tf\nslim = tf.contrib.slim\n", "slim.batch_norm", "slim.batch_norm"),
        ("import tf_slim as slim\n", "slim.layers.batch_norm", "slim.batch_norm"),
        ("from tensorflow.contrib import slim\n", "slim.arg_scope", "slim.arg_scope"),
        ("import tensorflow as tf\n", "tf.contrib.layers.batch_norm", "tf.contrib.layers.batch_norm"),
        ("from tensorflow.python.framework import ops\n", "ops.GraphKeys.UPDATE_OPS", "tf.GraphKeys.UPDATE_OPS"),
        ("import tensorflow as tf\n", "tf.keras.layers.BatchNormalization", "keras.layers.BatchNormalization"),
        ("from tensorflow.keras import layers\n", "layers.BatchNormalization", "keras.layers.BatchNormalization"),
        ("import tf_keras as keras\n", "keras.layers.BatchNormalization", "keras.layers.BatchNormalization"),
        ("import numpy as np\n", "np.mean", None),
    ],
)
def test_resolve(src, expr, want):
    assert _resolve(src, expr) == want


def test_local_name_shadows_nothing_when_unbound():
    # `tf` used without import still means TensorFlow (snippets, notebooks exported to .py).
    assert _resolve("x = 1\n", "tf.layers.batch_normalization") == "tf.layers.batch_normalization"


def test_canonical_is_idempotent():
    for name in ["tensorflow.compat.v1.train.AdamOptimizer", "tf_slim.layers.batch_norm", "tensorflow.keras.layers.BatchNormalization"]:
        once = canonical(name)
        assert canonical(once) == once
