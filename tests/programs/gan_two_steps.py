"""GAN with two minimize calls: each needs the BN updates; only the generator's has them."""
import tensorflow as tf


def generator(z, training):
    with tf.variable_scope('generator'):
        h = tf.layers.dense(z, 128)
        h = tf.nn.relu(tf.layers.batch_normalization(h, training=training))
        return tf.layers.dense(h, 784, activation=tf.tanh)


def discriminator(x, training, reuse=None):
    with tf.variable_scope('discriminator', reuse=reuse):
        h = tf.layers.dense(x, 128)
        h = tf.nn.leaky_relu(tf.layers.batch_normalization(h, training=training))
        return tf.layers.dense(h, 1)


z = tf.placeholder(tf.float32, [None, 64])
real = tf.placeholder(tf.float32, [None, 784])
is_training = tf.placeholder(tf.bool)
fake = generator(z, is_training)
d_real = discriminator(real, is_training)
d_fake = discriminator(fake, is_training, reuse=True)
g_loss = -tf.reduce_mean(tf.log(tf.sigmoid(d_fake)))
d_loss = -tf.reduce_mean(tf.log(tf.sigmoid(d_real)) + tf.log(1 - tf.sigmoid(d_fake)))
g_vars = tf.trainable_variables('generator')
d_vars = tf.trainable_variables('discriminator')
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS, 'generator')):
    g_step = tf.train.AdamOptimizer(2e-4).minimize(g_loss, var_list=g_vars)
d_step = tf.train.AdamOptimizer(2e-4).minimize(d_loss, var_list=d_vars)  # expect: BNL003
