"""Layer helpers with optional BN, the ways model zoos write them (BNL015 fixes: tests/test_bnl015_conditional.py)."""
import tensorflow as tf
from tensorflow import keras


def conv_block(x, filters, bnorm, training):
    x = tf.layers.conv2d(x, filters, 3, padding="same")
    if bnorm:
        x = tf.layers.batch_normalization(x, training=training)
    return tf.nn.relu(x)


def conv_else(x, filters, plain, training):
    x = tf.layers.conv2d(x, filters, 3, padding="same")
    if plain:
        pass
    else:
        x = tf.layers.batch_normalization(x, training=training)
    return x


def dense_ifexp(x, cfg, training):
    x = tf.layers.dense(x, 10)
    x = tf.layers.batch_normalization(x, training=training) if cfg.use_bn and cfg.depth > 2 else x
    return x


def dense_call(x, opts, training):
    x = tf.layers.dense(x, 10)
    if opts.get("bn"):
        x = tf.layers.batch_normalization(x, training=training)
    return x


def rebound(x, use_bn, training):
    x = tf.layers.dense(x, 10)
    use_bn = use_bn and x.shape[-1] > 3
    if use_bn:
        x = tf.layers.batch_normalization(x, training=training)
    return x


def always(x, training):
    x = tf.layers.dense(x, 10)
    return tf.layers.batch_normalization(x, training=training)




def make_model(use_bn=True):
    model = keras.Sequential()
    model.add(keras.layers.Dense(64, input_shape=(20,)))
    if use_bn:
        model.add(keras.layers.BatchNormalization())
    model.add(keras.layers.Activation("relu"))
    return model
