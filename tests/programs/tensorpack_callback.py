"""tensorpack-style trainer: the RunUpdateOps callback runs UPDATE_OPS every step."""
import tensorflow as tf
from tensorpack.callbacks import RunUpdateOps


def build(x, is_training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 10), training=is_training)


x = tf.placeholder(tf.float32, [None, 4])
loss = tf.reduce_sum(build(x, True))
train_op = tf.train.AdamOptimizer().minimize(loss)
callbacks = [RunUpdateOps()]
