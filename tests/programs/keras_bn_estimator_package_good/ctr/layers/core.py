"""Keras layers shared by the CTR models (usable in Keras models and Estimator model_fns)."""
import tensorflow as tf


class DNN(tf.keras.layers.Layer):
    """A stack of Dense layers, optionally with BN after each."""

    def __init__(self, hidden_units, use_bn=False, dropout_rate=0.0, **kwargs):
        super(DNN, self).__init__(**kwargs)
        self.hidden_units = list(hidden_units)
        self.use_bn = use_bn
        self.dropout_rate = dropout_rate

    def build(self, input_shape):
        self.dense_layers = [tf.keras.layers.Dense(units) for units in self.hidden_units]
        if self.use_bn:
            self.bn_layers = [tf.keras.layers.BatchNormalization() for _ in self.hidden_units]
        self.dropout_layers = [tf.keras.layers.Dropout(self.dropout_rate) for _ in self.hidden_units]
        super(DNN, self).build(input_shape)

    def call(self, inputs, training=None):
        x = inputs
        for i in range(len(self.hidden_units)):
            x = self.dense_layers[i](x)
            if self.use_bn:
                x = self.bn_layers[i](x, training=training)
            x = self.dropout_layers[i](tf.nn.relu(x), training=training)
        return x
