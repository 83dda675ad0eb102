"""A VGG-like classifier as an object: the graph is built by forward()."""
import tensorflow as tf


class Net(object):
    def __init__(self, is_training, num_classes=10, width=32):
        self.is_training = is_training
        self.num_classes = num_classes
        self.width = width

    def conv_bn(self, x, filters, name):
        with tf.variable_scope(name):
            x = tf.layers.conv2d(x, filters, 3, padding="same", use_bias=False)
            x = tf.layers.batch_normalization(x, training=self.is_training)
            return tf.nn.relu(x)

    def forward(self, images):
        x = self.conv_bn(images, self.width, "block1")
        x = tf.layers.max_pooling2d(x, 2, 2)
        x = self.conv_bn(x, 2 * self.width, "block2")
        x = tf.reduce_mean(x, [1, 2])
        return tf.layers.dense(x, self.num_classes, name="fc")
