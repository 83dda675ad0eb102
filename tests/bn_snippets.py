"""Small BN programs with known findings, shared by the CLI, flake8, output and pre-commit tests."""

STEP = "train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))"
# BNL003 at 3:12: the step does not depend on the BN update ops.
STEP_BUG = f"""\
import tensorflow as tf
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
{STEP}
"""
# BNL002 at 2:14: UPDATE_OPS read before the BN layer exists.
EARLY_UPDATES = """\
import tensorflow as tf
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
"""
# BNL004 (opt-in, info) at 8:26: the step depends on the first tower's update ops only.
ONE_TOWER = """\
import tensorflow as tf
losses = []
for i in range(2):
    with tf.device("/gpu:%d" % i), tf.variable_scope("m", reuse=i > 0):
        y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
        losses.append(tf.reduce_sum(y))
        if i == 0:
            update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, "tower_0")
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer().minimize(tf.add_n(losses))
"""
# A model module: builds BN layers, no step, no finding of its own.
MODELS = """\
import tensorflow as tf


def small_cnn(x, is_training):
    net = tf.layers.conv2d(x, 8, 3, use_bias=False)
    net = tf.layers.batch_normalization(net, training=is_training)
    return tf.reduce_mean(net)
"""
# BNL001 at 6:16 with MODELS as pkg/models.py; no TensorFlow mention: only the imported module
# tells that small_cnn builds BN layers.
EVAL = """\
from .models import small_cnn


def build(train_x, val_x):
    loss = small_cnn(train_x, True)
    val_loss = small_cnn(val_x, False)
    return loss, val_loss
"""
# BNL003 at 7:12 with MODELS as pkg/models.py (absolute import).
TRAIN = """\
import tensorflow as tf
from pkg import models


def build(x):
    loss = models.small_cnn(x, True)
    return tf.train.AdamOptimizer(0.1).minimize(loss)
"""
SYNTAX_ERROR = "import tensorflow as tf\ndef f(:\n    return tf.layers.batch_normalization(x)\n"
