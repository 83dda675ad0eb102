"""Trainer: model from model.py, step from optim.py, run after the BN updates."""
import numpy as np
import tensorflow as tf

import model
import optim


def main(steps=5000):
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    is_training = tf.placeholder(tf.bool, [])
    logits = model.inference(images, is_training)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    global_step = tf.train.get_or_create_global_step()
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        step = optim.train_op(loss, global_step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            bx, by = np.random.rand(64, 32, 32, 3), np.random.randint(0, 10, 64)
            sess.run(step, feed_dict={images: bx, labels: by, is_training: True})


if __name__ == "__main__":
    main()
