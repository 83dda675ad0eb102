"""Builds a trainer, runs one step, then fails: `bnlint inspect` must exit 2 and say why."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_eager_execution()
x = tf.get_variable("w", [3], initializer=tf.ones_initializer())
loss = tf.reduce_sum(tf.square(x))
step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(step)
    raise RuntimeError("data file missing")
