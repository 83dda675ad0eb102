"""Train the callable ConvNet; validate every epoch on a separate graph branch."""
import numpy as np
import tensorflow as tf

import models


def main(epochs=10, batch_size=64):
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    val_images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    val_labels = tf.placeholder(tf.int64, [None])
    net = models.WideConvNet(10)
    logits = net(images, is_training=True)
    val_logits = net(val_images, is_training=False)  # expect: BNL001
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    val_acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(val_logits, 1), val_labels), tf.float32))
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for epoch in range(epochs):
            for _ in range(200):
                bx = np.random.rand(batch_size, 32, 32, 3)
                by = np.random.randint(0, 10, batch_size)
                sess.run(train_op, feed_dict={images: bx, labels: by})
            vx = np.random.rand(500, 32, 32, 3)
            vy = np.random.randint(0, 10, 500)
            print(epoch, sess.run(val_acc, feed_dict={val_images: vx, val_labels: vy}))


if __name__ == "__main__":
    main()
