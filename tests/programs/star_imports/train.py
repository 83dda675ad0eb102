"""Trainer: the shared step runs the updates; the eval graph is rebuilt without reuse."""
import numpy as np
import tensorflow.compat.v1 as tf

from layers import *
from models import *

tf.disable_eager_execution()


def main(steps=3):
    images = tf.placeholder(tf.float32, [None, 8, 8, 3])
    labels = tf.placeholder(tf.int64, [None])
    logits = cnn(images, True)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = train_step(loss, 1e-3)
    eval_logits = cnn(images, False)  # expect: BNL001
    plain_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)  # expect: BNL003
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            feed = {images: np.random.rand(4, 8, 8, 3), labels: np.arange(4)}
            sess.run([train_op, plain_op], feed)
        return sess.run(eval_logits, feed)


if __name__ == "__main__":
    main()
