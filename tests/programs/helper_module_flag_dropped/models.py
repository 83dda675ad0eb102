import tensorflow.compat.v1 as tf

import layers


class Classifier(object):
    def __init__(self, images, num_classes=10):
        self.images = images
        self.num_classes = num_classes
        self.logits = self.build(images)

    def build(self, x):
        x = layers.conv_bn_relu(x, 32, 'conv1')
        x = layers.conv_bn_relu(x, 64, 'conv2')
        x = layers.fc_bn(tf.layers.flatten(x), 128, 'fc1')
        return tf.layers.dense(x, self.num_classes)


class Generator(object):
    def __init__(self):
        self.g_bn0 = layers.batch_norm(name='g_bn0')
        self.g_bn1 = layers.batch_norm(name='g_bn1')

    def generator(self, z):
        with tf.variable_scope("generator"):
            h0 = tf.nn.relu(self.g_bn0(tf.layers.dense(z, 4 * 4 * 64)))
            return tf.nn.tanh(self.g_bn1(tf.layers.dense(h0, 784)))

    def sampler(self, z):
        with tf.variable_scope("generator", reuse=True):
            h0 = tf.nn.relu(self.g_bn0(tf.layers.dense(z, 4 * 4 * 64), train=False))
            return tf.nn.tanh(self.g_bn1(tf.layers.dense(h0, 784), train=False))
