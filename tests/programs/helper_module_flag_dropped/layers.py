"""Layer helpers of a small project: none of them takes the training flag."""
import tensorflow.compat.v1 as tf
import tf_slim as slim


def conv_bn_relu(x, filters, name):
    with tf.variable_scope(name):
        x = tf.layers.conv2d(x, filters, 3, padding='same', use_bias=False)
        x = tf.layers.batch_normalization(x)  # expect: BNL005
        return tf.nn.relu(x)


def fc_bn(x, units, scope):
    x = slim.fully_connected(x, units, activation_fn=None, scope=scope)
    return tf.nn.relu(slim.batch_norm(x, decay=0.9, scope=scope + '_bn'))  # expect: BNL005


class batch_norm(object):
    """DCGAN-style wrapper: `train` is accepted and never passed on."""

    def __init__(self, epsilon=1e-5, momentum=0.9, name="batch_norm"):
        self.epsilon = epsilon
        self.momentum = momentum
        self.name = name

    def __call__(self, x, train=True):
        return tf.contrib.layers.batch_norm(x, decay=self.momentum, updates_collections=None,  # expect: BNL005
                                            epsilon=self.epsilon, scale=True, scope=self.name)
