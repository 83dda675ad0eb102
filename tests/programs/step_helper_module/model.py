"""A small residual CNN (BN follows the is_training placeholder)."""
import tensorflow as tf


def conv_bn(x, filters, is_training, name):
    with tf.variable_scope(name):
        x = tf.layers.conv2d(x, filters, 3, padding="same", use_bias=False)
        return tf.nn.relu(tf.layers.batch_normalization(x, training=is_training))


def inference(images, is_training, num_classes=10):
    net = conv_bn(images, 32, is_training, "conv1")
    net = conv_bn(net, 64, is_training, "conv2")
    net = tf.reduce_mean(net, [1, 2])
    return tf.layers.dense(net, num_classes, name="logits")
