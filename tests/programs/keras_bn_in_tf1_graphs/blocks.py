"""Keras building blocks shared by the graph-mode trainer."""
import tensorflow as tf


class SmallNet(tf.keras.Model):
    def __init__(self, num_classes=10):
        super(SmallNet, self).__init__()
        self.conv1 = tf.keras.layers.Conv2D(32, 3, padding="same")
        self.bn1 = tf.keras.layers.BatchNormalization()
        self.conv2 = tf.keras.layers.Conv2D(64, 3, padding="same")
        self.bn2 = tf.keras.layers.BatchNormalization()
        self.head = tf.keras.layers.Dense(num_classes)

    def call(self, x, training=False):
        x = tf.nn.relu(self.bn1(self.conv1(x), training=training))
        x = tf.nn.relu(self.bn2(self.conv2(x), training=training))
        return self.head(tf.reduce_mean(x, [1, 2]))


class NormalizedHead(tf.keras.layers.Layer):
    """Projection + BN, for embeddings."""

    def __init__(self, units):
        super(NormalizedHead, self).__init__()
        self.dense = tf.keras.layers.Dense(units)

    def call(self, x, training=False):
        x = self.dense(x)
        return tf.keras.layers.BatchNormalization()(x, training=training)  # expect: BNL021


class NormalizedHeadFixed(tf.keras.layers.Layer):
    """Projection + BN, both created once."""

    def __init__(self, units):
        super(NormalizedHeadFixed, self).__init__()
        self.dense = tf.keras.layers.Dense(units)
        self.bn = tf.keras.layers.BatchNormalization()

    def call(self, x, training=False):
        return self.bn(self.dense(x), training=training)
