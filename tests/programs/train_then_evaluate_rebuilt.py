"""A single-script trainer: train() builds the training graph, evaluate() the test graph, and
main() calls both into the default graph. evaluate() builds the model a second time without reuse,
so the test accuracy comes from a copy whose BN statistics (and weights) were never trained."""
import argparse

import numpy as np
import tensorflow as tf


def network(images, is_training):
    net = tf.layers.conv2d(images, 32, 3, padding="same", use_bias=False)
    net = tf.nn.relu(tf.layers.batch_normalization(net, training=is_training))
    net = tf.layers.conv2d(net, 64, 3, strides=2, padding="same", use_bias=False)
    net = tf.nn.relu(tf.layers.batch_normalization(net, training=is_training))
    return tf.layers.dense(tf.reduce_mean(net, [1, 2]), 10)


def train(images, labels, lr):
    logits = network(images, is_training=True)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        return tf.train.AdamOptimizer(lr).minimize(loss), loss


def evaluate(images, labels):
    logits = network(images, is_training=False)
    return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    test_images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    test_labels = tf.placeholder(tf.int64, [None])
    train_op, loss = train(images, labels, args.lr)
    accuracy = evaluate(test_images, test_labels)  # expect: BNL001
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(args.steps):
            bx, by = np.random.rand(64, 32, 32, 3), np.random.randint(0, 10, 64)
            sess.run([train_op, loss], feed_dict={images: bx, labels: by})
        tx, ty = np.random.rand(1000, 32, 32, 3), np.random.randint(0, 10, 1000)
        print("test accuracy", sess.run(accuracy, feed_dict={test_images: tx, test_labels: ty}))


if __name__ == "__main__":
    main()
