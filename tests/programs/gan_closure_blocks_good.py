"""Conditional image simulator GAN; the blocks are closures over the layer function's arguments
(the training flag included)."""
import numpy as np
import tensorflow as tf


class ImageSimulatorGAN(object):
    def __init__(self, z_dim=64, name="simulator"):
        self.z_dim = z_dim
        self.name = name

    def generator(self, z, conditioning, is_training):
        def up(x, ch, name):
            with tf.variable_scope(name):
                h = tf.layers.conv2d_transpose(x, ch, 4, 2, padding="same", trainable=is_training)
                return tf.nn.relu(tf.contrib.layers.batch_norm(h, scale=True, decay=0.9, is_training=is_training))

        def to_image(x):
            return tf.nn.tanh(tf.layers.conv2d(x, 1, 3, padding="same"))

        with tf.variable_scope(self.name + "/generator", reuse=tf.AUTO_REUSE):
            h = tf.layers.dense(tf.concat([z, conditioning], 1), 4 * 4 * 128)
            h = tf.reshape(h, [-1, 4, 4, 128])
            h = up(h, 64, "up1")
            h = up(h, 32, "up2")
            return to_image(h)

    def discriminator(self, images, conditioning, is_training):
        def down(x, ch, name):
            with tf.variable_scope(name):
                h = tf.layers.conv2d(x, ch, 4, 2, padding="same")
                h = tf.layers.batch_normalization(h, momentum=0.9, training=is_training)
                return tf.nn.leaky_relu(h, 0.2)

        with tf.variable_scope(self.name + "/discriminator", reuse=tf.AUTO_REUSE):
            h = down(images, 32, "down1")
            h = down(h, 64, "down2")
            h = tf.concat([tf.layers.flatten(h), conditioning], 1)
            return tf.layers.dense(h, 1)


def build_training(real, conditioning, batch_size=16):
    gan = ImageSimulatorGAN()
    z = tf.random_normal([batch_size, gan.z_dim])
    fake = gan.generator(z, conditioning, is_training=True)
    d_real = gan.discriminator(real, conditioning, is_training=True)
    d_fake = gan.discriminator(fake, conditioning, is_training=True)
    d_loss = tf.reduce_mean(d_fake) - tf.reduce_mean(d_real)
    g_loss = -tf.reduce_mean(d_fake)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        d_step = tf.train.AdamOptimizer(1e-4, 0.5).minimize(d_loss)
        g_step = tf.train.AdamOptimizer(1e-4, 0.5).minimize(g_loss)
    return d_step, g_step


def sample(sess, conditioning_value, n=16):
    gan = ImageSimulatorGAN()
    z = tf.placeholder(tf.float32, [None, gan.z_dim])
    conditioning = tf.placeholder(tf.float32, [None, conditioning_value.shape[1]])
    images = gan.generator(z, conditioning, is_training=False)
    return sess.run(images, {z: np.random.randn(n, gan.z_dim), conditioning: conditioning_value})
