"""Session trainer with a validation graph built by the same Keras-layer builder."""
import argparse

import numpy as np
import tensorflow as tf

from model import build_model, build_net


def main(args):
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    logits = build_net(images, 10, training=True)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):  # expect: BNL008
        train_op = tf.train.AdamOptimizer(args.lr).minimize(loss)
    with tf.variable_scope(tf.get_variable_scope(), reuse=True):
        val_logits = build_net(images, 10, training=False)  # expect: BNL021
    val_acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(val_logits, 1), labels), tf.float32))
    # the same builder, done right: one Keras model, called twice
    net = build_model(10, training=None)
    train_logits2 = net(images, training=True)
    eval_logits2 = net(images, training=False)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(args.steps):
            sess.run(train_op, feed_dict={images: np.random.rand(32, 32, 32, 3), labels: np.zeros(32)})
        print(sess.run(val_acc, feed_dict={images: np.random.rand(32, 32, 32, 3), labels: np.zeros(32)}))
    return train_logits2, eval_logits2


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--steps", type=int, default=100)
    main(parser.parse_args())
