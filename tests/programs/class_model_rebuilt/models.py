"""CIFAR models written as classes: a callable network, a detector with build(), and a model
whose constructor builds the graph."""
import tensorflow as tf


class ConvNet(object):
    def __init__(self, num_classes, width=32):
        self.num_classes = num_classes
        self.width = width

    def _block(self, x, filters, is_training):
        x = tf.layers.conv2d(x, filters, 3, padding="same", use_bias=False)
        x = tf.layers.batch_normalization(x, training=is_training)
        return tf.nn.relu(x)

    def __call__(self, images, is_training):
        net = self._block(images, self.width, is_training)
        net = tf.layers.max_pooling2d(net, 2, 2)
        net = self._block(net, 2 * self.width, is_training)
        net = tf.reduce_mean(net, [1, 2])
        return tf.layers.dense(net, self.num_classes)


class WideConvNet(ConvNet):
    def __init__(self, num_classes):
        super(WideConvNet, self).__init__(num_classes, width=128)


class Detector(object):
    def __init__(self, config):
        self.config = config

    def build(self, images, is_training):
        feats = tf.layers.conv2d(images, 64, 3, padding="same")
        feats = tf.layers.batch_normalization(feats, training=is_training)
        feats = tf.nn.relu(feats)
        boxes = tf.layers.conv2d(feats, 4 * self.config["anchors"], 1)
        scores = tf.layers.conv2d(feats, self.config["anchors"], 1)
        return boxes, scores


class Classifier(object):
    def __init__(self, images, labels, is_training, num_classes=10):
        net = tf.layers.conv2d(images, 32, 3, padding="same", use_bias=False)
        net = tf.layers.batch_normalization(net, training=is_training)
        net = tf.reduce_mean(tf.nn.relu(net), [1, 2])
        self.logits = tf.layers.dense(net, num_classes)
        self.loss = tf.losses.sparse_softmax_cross_entropy(labels, self.logits)
        correct = tf.equal(tf.argmax(self.logits, 1), labels)
        self.accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
