"""DCGAN-style trainer whose networks live in named variable scopes, without reuse.

The second `discriminator()` call raises "Variable disc/dense/kernel already exists" at graph
build, so it is the failure to report; the sampling `generator()` after it never runs.
(tests/test_bnl001_failures.py builds it with TF to check both claims.)
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_eager_execution()
Z_DIM = 16


def generator(z, training):
    with tf.variable_scope("gen"):
        h = tf.layers.dense(z, 64)
        h = tf.nn.relu(tf.layers.batch_normalization(h, training=training))
        return tf.nn.tanh(tf.layers.dense(h, 32))


def discriminator(x, training):
    with tf.variable_scope("disc"):
        h = tf.layers.dense(x, 64)
        h = tf.nn.leaky_relu(tf.layers.batch_normalization(h, training=training))
        return tf.layers.dense(h, 1)


def build(batch=8):
    real = tf.placeholder(tf.float32, [None, 32])
    z = tf.random_normal([batch, Z_DIM])
    fake = generator(z, training=True)
    d_real = discriminator(real, training=True)
    d_fake = discriminator(fake, training=True)  # expect: BNL001
    samples = generator(tf.random_normal([batch, Z_DIM]), training=False)
    d_loss = tf.reduce_mean(tf.nn.softplus(-d_real) + tf.nn.softplus(d_fake))
    g_loss = tf.reduce_mean(tf.nn.softplus(-d_fake))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS, "disc")):
        d_step = tf.train.AdamOptimizer(2e-4).minimize(d_loss, var_list=tf.trainable_variables("disc"))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS, "gen")):
        g_step = tf.train.AdamOptimizer(2e-4).minimize(g_loss, var_list=tf.trainable_variables("gen"))
    return real, d_step, g_step, samples


def main(steps=2):
    real, d_step, g_step, samples = build()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run([d_step, g_step], {real: np.random.rand(8, 32)})
        return sess.run(samples)


if __name__ == "__main__":
    main()
