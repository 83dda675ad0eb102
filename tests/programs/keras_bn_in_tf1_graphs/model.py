"""Network definition with tf.keras layers, used from an Estimator model_fn."""
import tensorflow as tf
from tensorflow.keras.layers import BatchNormalization, Conv2D, Dense, GlobalAveragePooling2D, ReLU


def conv_block(x, filters, training):
    x = Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = BatchNormalization(axis=-1)(x, training=training)
    return ReLU()(x)


def build_net(images, num_classes, training):
    x = conv_block(images, 32, training)
    x = conv_block(x, 64, training)
    x = GlobalAveragePooling2D()(x)
    return Dense(num_classes)(x)


def build_model(num_classes, training):
    """The same network as a Keras model: the step can depend on its `updates`."""
    images = tf.keras.Input((32, 32, 3))
    x = conv_block(images, 32, training)
    x = conv_block(x, 64, training)
    x = GlobalAveragePooling2D()(x)
    return tf.keras.Model(images, Dense(num_classes)(x))
