"""Classifier whose builder takes a mode string; training, evaluation and serving all call it."""
import tensorflow as tf

MODES = ("train", "eval", "infer")


def build_classifier(images, num_classes, mode="train"):
    is_training = mode == "train"
    x = tf.layers.conv2d(images, 32, 3, padding="same", use_bias=False)
    x = tf.nn.relu(tf.layers.batch_normalization(x, training=is_training))
    x = tf.layers.conv2d(x, 64, 3, padding="same", use_bias=False)
    x = tf.nn.relu(tf.layers.batch_normalization(x, training=is_training))
    return tf.layers.dense(tf.reduce_mean(x, [1, 2]), num_classes)


def train_graph(images, labels, learning_rate=0.01):
    with tf.variable_scope("classifier"):
        logits = build_classifier(images, 10, mode="train")
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        return tf.train.MomentumOptimizer(learning_rate, 0.9).minimize(loss), loss


def eval_graph(images, labels):
    with tf.variable_scope("classifier", reuse=True):
        logits = build_classifier(images, 10, "train")  # expect: BNL006
    return tf.metrics.accuracy(labels, tf.argmax(logits, 1))


def serving_graph(images):
    with tf.variable_scope("classifier", reuse=True):
        logits = build_classifier(images, 10, mode="train")  # expect: BNL006
    return tf.nn.softmax(logits, name="probabilities")
