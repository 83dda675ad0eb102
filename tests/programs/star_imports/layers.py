"""Layer helpers, imported with ``from layers import *`` (the named-import twin: ../named_imports)."""
import tensorflow.compat.v1 as tf

__all__ = ["conv_bn", "dense_bn", "train_step"]


def conv_bn(x, filters, is_training):
    x = tf.layers.conv2d(x, filters, 3, padding="same", use_bias=False)
    return tf.nn.relu(tf.layers.batch_normalization(x, training=is_training))


def dense_bn(x, units, is_training):
    x = tf.layers.dense(x, units, use_bias=False)
    return tf.nn.relu(tf.layers.batch_normalization(x, training=is_training))


def train_step(loss, learning_rate):
    # The shared step: runs the BN updates with the optimizer.
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        return tf.train.AdamOptimizer(learning_rate).minimize(loss)


def _private_block(x, is_training):
    return tf.layers.batch_normalization(x, training=is_training)
