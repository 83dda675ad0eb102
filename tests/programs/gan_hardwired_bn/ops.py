"""Layers of a DCGAN-style model: BN is always in training mode (the paper's setting)."""
import tensorflow as tf


def batch_norm(x, name):
    return tf.contrib.layers.batch_norm(x, decay=0.9, epsilon=1e-5, scale=True, is_training=True, scope=name)


def lrelu(x, leak=0.2):
    return tf.maximum(x, leak * x)


def conv2d(x, filters, name):
    return tf.layers.conv2d(x, filters, 5, strides=2, padding="same", name=name)


def deconv2d(x, filters, name):
    return tf.layers.conv2d_transpose(x, filters, 5, strides=2, padding="same", name=name)
