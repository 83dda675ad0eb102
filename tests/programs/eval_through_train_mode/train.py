"""Trainer with a validation pass per epoch, through the one graph it built."""
import argparse

import numpy as np
import tensorflow as tf

from data import batches
from model import CNN


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    model = CNN(images, labels, mode="train")
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.MomentumOptimizer(args.lr, 0.9).minimize(model.loss)

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for epoch in range(args.epochs):
            for x, y in batches("train"):
                sess.run(train_op, feed_dict={images: x, labels: y})
            accs = []
            for x_val, y_val in batches("valid"):
                accs.append(sess.run(model.accuracy, feed_dict={images: x_val, labels: y_val}))  # expect: BNL007
            print("epoch %d valid acc %.3f" % (epoch, np.mean(accs)))


if __name__ == "__main__":
    main()
