"""A small CNN for CIFAR-10, as a class (built once per mode) and as a tower function."""
import tensorflow as tf


def conv_bn_relu(x, filters, is_training, name):
    with tf.variable_scope(name):
        x = tf.layers.conv2d(x, filters, 3, padding="same", use_bias=False)
        x = tf.layers.batch_normalization(x, training=is_training)
        return tf.nn.relu(x)


def inference(images, is_training):
    net = conv_bn_relu(images, 32, is_training, "conv1")
    net = tf.layers.max_pooling2d(net, 2, 2)
    net = conv_bn_relu(net, 64, is_training, "conv2")
    net = tf.reduce_mean(net, [1, 2])
    return tf.layers.dense(net, 10, name="logits")


class CNN(object):
    def __init__(self, images, labels, mode="train"):
        self.images = images
        self.labels = labels
        is_training = mode == "train"
        with tf.variable_scope("cnn", reuse=tf.AUTO_REUSE):
            self.logits = inference(images, is_training)
        self.loss = tf.losses.sparse_softmax_cross_entropy(labels, self.logits)
        correct = tf.equal(tf.argmax(self.logits, 1), labels)
        self.accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
