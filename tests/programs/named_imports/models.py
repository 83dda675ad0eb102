"""The network, built from the star-imported helpers."""
import tensorflow.compat.v1 as tf

from layers import conv_bn, dense_bn, train_step


def cnn(images, is_training):
    x = conv_bn(images, 16, is_training)
    x = conv_bn(x, 32, is_training)
    x = tf.reduce_mean(x, axis=[1, 2])
    return dense_bn(x, 10, is_training)
