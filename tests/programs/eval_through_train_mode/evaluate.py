"""Evaluate a checkpoint on the test split."""
import argparse

import numpy as np
import tensorflow as tf

from data import batches
from model import CNN, inference


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", default="ckpt/model")
    args = parser.parse_args()
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    logits = inference(images, is_training=False)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))
    saver = tf.train.Saver()
    with tf.Session() as sess:
        saver.restore(sess, args.checkpoint)
        accs = [sess.run(accuracy, feed_dict={images: x, labels: y}) for x, y in batches("test")]
        print("test accuracy %.4f" % np.mean(accs))


if __name__ == "__main__":
    main()


def evaluate_class_model(checkpoint):
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    model = CNN(images, labels, mode="eval")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        saver.restore(sess, checkpoint)
        return np.mean([sess.run(model.accuracy, feed_dict={images: x, labels: y}) for x, y in batches("test")])
