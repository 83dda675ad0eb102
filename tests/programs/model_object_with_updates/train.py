import argparse

import numpy as np
import tensorflow as tf

from models.net import Net


def get_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch_size", type=int, default=128)
    return parser.parse_args()


def main():
    args = get_args()
    x = tf.placeholder(tf.float32, [None, 32, 32, 3], name="x")
    y = tf.placeholder(tf.int64, [None], name="y")
    is_training = tf.placeholder(tf.bool, name="is_training")
    net = Net(is_training)
    logits = net.forward(x)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        train_op = tf.train.MomentumOptimizer(args.lr, 0.9).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for epoch in range(args.epochs):
            for _ in range(100):
                bx = np.random.rand(args.batch_size, 32, 32, 3)
                by = np.random.randint(0, 10, args.batch_size)
                sess.run(train_op, feed_dict={x: bx, y: by, is_training: True})
            vx = np.random.rand(500, 32, 32, 3)
            vy = np.random.randint(0, 10, 500)
            print(epoch, sess.run(acc, feed_dict={x: vx, y: vy, is_training: False}))


if __name__ == "__main__":
    main()
