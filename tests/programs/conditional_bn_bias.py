"""A small classifier whose conv/dense helpers take BN as an option (as many model zoos do).

Correct code for the default rules. BNL015 (opt-in) notes the biases before BN; because BN is
conditional its fix must be ``use_bias=not <flag>`` (tests/test_fix_conditional_bn.py runs it).
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_eager_execution()


def conv_layer(x, filters, bnorm, training, name):
    with tf.variable_scope(name):
        x = tf.layers.conv2d(x, filters, 3, padding="same")
        if bnorm:
            x = tf.layers.batch_normalization(x, training=training)
        return tf.nn.relu(x)


def dense_layer(x, units, training, use_bn=False):
    x = tf.layers.dense(x, units)
    if not use_bn:
        return x
    return tf.layers.batch_normalization(x, training=training)


def classifier(images, training, bnorm=True):
    x = conv_layer(images, 8, bnorm, training, "conv1")
    x = conv_layer(x, 16, bnorm, training, "conv2")
    x = tf.reduce_mean(x, axis=[1, 2])
    return dense_layer(x, 10, training, use_bn=bnorm)


def main(steps=3, bnorm=True):
    images = tf.placeholder(tf.float32, [None, 8, 8, 3])
    labels = tf.placeholder(tf.int64, [None])
    training = tf.placeholder_with_default(False, [])
    logits = classifier(images, training, bnorm=bnorm)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            x = np.random.rand(4, 8, 8, 3).astype("float32")
            sess.run(train_op, {images: x, labels: np.arange(4), training: True})


if __name__ == "__main__":
    main()
