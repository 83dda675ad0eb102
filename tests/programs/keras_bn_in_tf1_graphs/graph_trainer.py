"""TF1 Session trainer for blocks.SmallNet."""
import argparse

import numpy as np
import tensorflow as tf

import blocks


def main(args):
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    net = blocks.SmallNet(num_classes=10)
    logits = net(images, training=True)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = tf.train.MomentumOptimizer(args.lr, 0.9).minimize(loss)  # expect: BNL008
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(args.steps):
            x = np.random.rand(32, 32, 32, 3)
            y = np.random.randint(0, 10, 32)
            sess.run(train_op, feed_dict={images: x, labels: y})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--steps", type=int, default=1000)
    main(parser.parse_args())
