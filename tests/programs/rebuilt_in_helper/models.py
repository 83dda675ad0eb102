import tensorflow.compat.v1 as tf


def conv_bn(x, filters, is_training):
    x = tf.layers.conv2d(x, filters, 3, padding='same', use_bias=False)
    return tf.nn.relu(tf.layers.batch_normalization(x, training=is_training))


def inference(images, is_training):
    x = conv_bn(images, 32, is_training)
    return tf.layers.dense(tf.layers.flatten(x), 10)


def build_graphs(train_images, val_images):
    train_logits = inference(train_images, True)
    val_logits = inference(val_images, False)
    return train_logits, val_logits
