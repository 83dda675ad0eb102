import tensorflow.compat.v1 as tf1


def block(x, filters, training):
    x = tf1.layers.conv2d(x, filters, 3, padding='same', use_bias=False)
    return tf1.nn.relu(tf1.layers.batch_normalization(x, training=training))


def small_cnn(images, training):
    x = block(images, 16, training)
    x = block(x, 32, training)
    return tf1.layers.dense(tf1.layers.flatten(x), 10)
