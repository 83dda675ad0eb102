"""Two-tower trainer that reports validation loss every 500 steps."""
import argparse

import tensorflow as tf

from data import batches
from model import inference

FLAGS = None


def tower_loss(images, labels):
    logits = inference(images, is_training=True)
    return tf.losses.sparse_softmax_cross_entropy(labels, logits)


def main():
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    opt = tf.train.AdamOptimizer(FLAGS.lr)
    images_split = tf.split(images, FLAGS.num_gpus)
    labels_split = tf.split(labels, FLAGS.num_gpus)
    tower_grads, losses = [], []
    for i in range(FLAGS.num_gpus):
        with tf.device("/gpu:%d" % i), tf.variable_scope(tf.get_variable_scope(), reuse=i > 0):
            loss = tower_loss(images_split[i], labels_split[i])
            losses.append(loss)
            tower_grads.append(opt.compute_gradients(loss))
    total_loss = tf.add_n(losses) / FLAGS.num_gpus
    with tf.variable_scope(tf.get_variable_scope(), reuse=True):
        val_loss = tf.losses.sparse_softmax_cross_entropy(labels, inference(images, is_training=False))
    grads = [(tf.add_n([g for g, _ in gv]) / FLAGS.num_gpus, gv[0][1]) for gv in zip(*tower_grads)]
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = opt.apply_gradients(grads)

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step, (x, y) in enumerate(batches("train", steps=FLAGS.max_steps)):
            sess.run(train_op, feed_dict={images: x, labels: y})
            if step % 500 == 0:
                for val_x, val_y in batches("valid", steps=5):
                    print("valid loss", sess.run(val_loss, feed_dict={images: val_x, labels: val_y}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--num_gpus", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max_steps", type=int, default=10000)
    FLAGS = parser.parse_args()
    main()
