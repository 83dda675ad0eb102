"""tf.data trainer: the validation batches come from their own iterator."""
import argparse

import numpy as np
import tensorflow as tf

from model import inference


def make_dataset(n, batch_size):
    x = np.random.rand(n, 32, 32, 3).astype(np.float32)
    y = np.random.randint(0, 10, n).astype(np.int64)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)


def main(args):
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    is_training = tf.placeholder(tf.bool, [], name="is_training")
    logits = inference(images, is_training)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.AdamOptimizer(args.lr).minimize(loss)
    train_next = make_dataset(5000, args.batch_size).repeat().make_one_shot_iterator().get_next()
    valid_iter = make_dataset(1000, args.batch_size).make_initializable_iterator()
    valid_next = valid_iter.get_next()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for epoch in range(args.epochs):
            for _ in range(args.steps_per_epoch):
                bx, by = sess.run(train_next)
                sess.run(train_op, feed_dict={images: bx, labels: by, is_training: True})
            sess.run(valid_iter.initializer)
            accs = []
            while True:
                try:
                    vx, vy = sess.run(valid_next)
                except tf.errors.OutOfRangeError:
                    break
                accs.append(sess.run(accuracy, feed_dict={images: vx, labels: vy, is_training: False}))
            print("epoch", epoch, "accuracy", np.mean(accs))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps_per_epoch", type=int, default=100)
    main(parser.parse_args())
