"""Wide & Deep as an Estimator: a linear part and a DNN with BN."""
import tensorflow as tf

from ..estimator.utils import DNN_SCOPE, LINEAR_SCOPE, ctr_model_fn
from ..layers.core import DNN


def WideDeepEstimator(hidden_units=(256, 128), dnn_use_bn=True, model_dir=None):
    def _model_fn(features, labels, mode, config):
        training = mode == tf.estimator.ModeKeys.TRAIN
        dense = tf.concat([tf.cast(v, tf.float32) for _, v in sorted(features.items())], axis=-1)
        with tf.compat.v1.variable_scope(LINEAR_SCOPE):
            linear_logit = tf.keras.layers.Dense(1)(dense)
        with tf.compat.v1.variable_scope(DNN_SCOPE):
            deep = DNN(hidden_units, use_bn=dnn_use_bn)(dense, training=training)
            dnn_logit = tf.keras.layers.Dense(1, use_bias=False)(deep)
        optimizers = (tf.compat.v1.train.FtrlOptimizer(0.005), tf.compat.v1.train.AdagradOptimizer(0.01))
        return ctr_model_fn(mode, linear_logit + dnn_logit, labels, *optimizers)

    return tf.estimator.Estimator(_model_fn, model_dir=model_dir)
