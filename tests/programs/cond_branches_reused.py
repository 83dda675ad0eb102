"""One graph for training and validation, switched by tf.cond on a boolean placeholder.

The model function runs in both branches, in one variable scope with AUTO_REUSE: the validation
branch reads the variables (and moving averages) the training branch trains."""
import numpy as np
import tensorflow as tf


def conv_bn(x, filters, is_training, scope):
    # a hand-rolled switch between the two BN modes that shares one set of variables (correct)
    x = tf.layers.conv2d(x, filters, 3, padding="same", use_bias=False, name=scope + "_conv")
    return tf.cond(
        is_training,
        lambda: tf.contrib.layers.batch_norm(x, is_training=True, scope=scope, updates_collections=None),
        lambda: tf.contrib.layers.batch_norm(x, is_training=False, scope=scope, reuse=True,
                                             updates_collections=None),
    )


def model(images, training):
    with tf.variable_scope("model", reuse=tf.AUTO_REUSE):
        net = tf.layers.conv2d(images, 32, 3, padding="same", use_bias=False)
        net = tf.nn.relu(tf.layers.batch_normalization(net, training=training))
        net = tf.reduce_mean(net, [1, 2])
        return tf.layers.dense(net, 10)


def main(steps=1000):
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    is_training = tf.placeholder_with_default(False, [], name="is_training")
    stem = conv_bn(images, 16, is_training, "stem")
    logits = tf.cond(is_training, lambda: model(stem, True), lambda: model(stem, False))
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(steps):
            bx, by = np.random.rand(64, 32, 32, 3), np.random.randint(0, 10, 64)
            sess.run(train_op, feed_dict={images: bx, labels: by, is_training: True})
            if step % 100 == 0:
                vx, vy = np.random.rand(256, 32, 32, 3), np.random.randint(0, 10, 256)
                print(step, sess.run(accuracy, feed_dict={images: vx, labels: vy}))


if __name__ == "__main__":
    main()
