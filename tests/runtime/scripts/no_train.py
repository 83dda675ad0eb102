"""Runs a session without any optimizer: `bnlint inspect` finds no train op (exit 2)."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_eager_execution()
x = tf.placeholder(tf.float32, [2])
with tf.Session() as sess:
    print("sum", sess.run(tf.reduce_sum(x), {x: [1.0, 2.0]}))
