"""Twin of eval_helper_training_true.py: the eval helper passes False (correct: no finding)."""
import tensorflow.compat.v1 as tf


def model(x, is_training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training)


def eval_logits(x):
    with tf.variable_scope("m", reuse=True):
        return model(x, is_training=False)


def evaluate(x, labels):
    logits = eval_logits(x)
    return tf.metrics.accuracy(labels, tf.argmax(logits, 1))
