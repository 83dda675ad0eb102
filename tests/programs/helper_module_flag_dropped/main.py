"""Trains the classifier and the generator, evaluates on the test set and samples."""
import numpy as np
import tensorflow.compat.v1 as tf

import models

images = tf.placeholder(tf.float32, [None, 28, 28, 1])
labels = tf.placeholder(tf.int64, [None])
z = tf.placeholder(tf.float32, [None, 100])

net = models.Classifier(images)
loss = tf.losses.sparse_softmax_cross_entropy(labels, net.logits)
accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(net.logits, 1), labels), tf.float32))
gen = models.Generator()
fake = gen.generator(z)
g_loss = tf.reduce_mean(tf.square(fake))
samples = gen.sampler(z)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss + g_loss)


def evaluate(sess, test_images, test_labels):
    return sess.run(accuracy, feed_dict={images: test_images, labels: test_labels})


def sample(sess, n=16):
    return sess.run(samples, feed_dict={z: np.random.uniform(-1, 1, [n, 100])})
