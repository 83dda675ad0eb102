"""A CIFAR ResNet as a callable object."""
import tensorflow as tf


class ResNet(object):
    def __init__(self, depth=20, num_classes=10):
        self.blocks = (depth - 2) // 6
        self.num_classes = num_classes

    def _unit(self, x, filters, is_training):
        shortcut = x
        x = tf.layers.conv2d(x, filters, 3, padding="same", use_bias=False)
        x = tf.nn.relu(tf.layers.batch_normalization(x, training=is_training))
        x = tf.layers.conv2d(x, filters, 3, padding="same", use_bias=False)
        x = tf.layers.batch_normalization(x, training=is_training)
        return tf.nn.relu(x + shortcut)

    def __call__(self, images, is_training):
        x = tf.layers.conv2d(images, 16, 3, padding="same", use_bias=False)
        for _ in range(self.blocks):
            x = self._unit(x, 16, is_training)
        return tf.layers.dense(tf.reduce_mean(x, [1, 2]), self.num_classes)
