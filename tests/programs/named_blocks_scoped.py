"""tensornets-style blocks: every block names its layers inside the scope its caller gives it, so
repeated calls build distinct layers (correct: no finding)."""
import tensorflow.compat.v1 as tf


def conv(x, filters, kernel_size, scope=None):
    with tf.variable_scope(scope, default_name="conv"):
        x = tf.layers.conv2d(x, filters, kernel_size, padding="same", use_bias=False, name="conv")
        x = tf.layers.batch_normalization(x, training=True, name="bn")
        return tf.nn.leaky_relu(x, 0.1)


def stack(x, filters, blocks, scope=None):
    with tf.variable_scope(scope):
        for i in range(1, blocks + 1):
            if i % 2 > 0:
                x = conv(x, filters, 3, scope=str(i))
            else:
                x = conv(x, filters // 2, 1, scope=str(i))
        return x


def darknet(x):
    x = stack(x, 32, 1, scope='conv1')
    x = tf.layers.max_pooling2d(x, 2, 2)
    x = stack(x, 64, 1, scope='conv2')
    x = tf.layers.max_pooling2d(x, 2, 2)
    x = stack(x, 128, 3, scope='conv3')
    return tf.reduce_mean(x, [1, 2])
