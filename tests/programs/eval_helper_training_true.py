"""One bug, one finding (BNL006): evaluate() reaches the training-mode BN only through eval_logits,
where the literal True is written; reported there, with the call in evaluate() as related."""
import tensorflow.compat.v1 as tf


def model(x, is_training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training)


def eval_logits(x):
    with tf.variable_scope("m", reuse=True):
        return model(x, is_training=True)  # expect: BNL006


def evaluate(x, labels):
    logits = eval_logits(x)
    return tf.metrics.accuracy(labels, tf.argmax(logits, 1))
