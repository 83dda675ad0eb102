import tensorflow as tf

from ops import batch_norm, conv2d, deconv2d, lrelu


class DCGAN(object):
    def __init__(self, batch_size=64, z_dim=100):
        self.batch_size = batch_size
        self.z_dim = z_dim
        self.images = tf.placeholder(tf.float32, [batch_size, 64, 64, 3], name="real_images")
        self.z = tf.placeholder(tf.float32, [None, z_dim], name="z")
        self.G = self.generator(self.z)
        d_real = self.discriminator(self.images)
        d_fake = self.discriminator(self.G, reuse=True)
        self.d_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(logits=d_real, labels=tf.ones_like(d_real))) + \
            tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(logits=d_fake, labels=tf.zeros_like(d_fake)))
        self.g_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(logits=d_fake, labels=tf.ones_like(d_fake)))
        t_vars = tf.trainable_variables()
        self.d_vars = [v for v in t_vars if v.name.startswith("discriminator")]
        self.g_vars = [v for v in t_vars if v.name.startswith("generator")]
        self.saver = tf.train.Saver()

    def discriminator(self, image, reuse=False):
        with tf.variable_scope("discriminator", reuse=reuse):
            h0 = lrelu(conv2d(image, 64, name="d_h0_conv"))
            h1 = lrelu(batch_norm(conv2d(h0, 128, name="d_h1_conv"), "d_bn1"))
            h2 = lrelu(batch_norm(conv2d(h1, 256, name="d_h2_conv"), "d_bn2"))
            return tf.layers.dense(tf.layers.flatten(h2), 1, name="d_h3_lin")

    def generator(self, z):
        with tf.variable_scope("generator"):
            h0 = tf.reshape(tf.layers.dense(z, 4 * 4 * 256, name="g_h0_lin"), [-1, 4, 4, 256])
            h0 = tf.nn.relu(batch_norm(h0, "g_bn0"))
            h1 = tf.nn.relu(batch_norm(deconv2d(h0, 128, name="g_h1"), "g_bn1"))
            h2 = tf.nn.relu(batch_norm(deconv2d(h1, 64, name="g_h2"), "g_bn2"))
            h3 = deconv2d(h2, 32, name="g_h3")
            return tf.nn.tanh(deconv2d(h3, 3, name="g_h4"))
