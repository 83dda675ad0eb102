"""slim arg_scope with normalizer_fn: one buggy step, one create_train_op (correct)."""
import tf_slim as slim
import tensorflow.compat.v1 as tf


def net(images, is_training=True):
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        normalizer_fn=slim.batch_norm,
                        normalizer_params={'is_training': is_training, 'decay': 0.99}):
        x = slim.conv2d(images, 32, [3, 3])
        x = slim.conv2d(x, 64, [3, 3])
        return slim.fully_connected(slim.flatten(x), 10, activation_fn=None, normalizer_fn=None)


def train_good(images, labels):
    loss = tf.losses.softmax_cross_entropy(labels, net(images))
    return slim.learning.create_train_op(loss, tf.train.AdamOptimizer())


def train_bad(images, labels):
    loss = tf.losses.softmax_cross_entropy(labels, net(images))
    return tf.train.AdamOptimizer().minimize(loss)  # expect: BNL003
