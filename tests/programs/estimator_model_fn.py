"""Estimator model_fn: a correct one and a buggy one in the same module."""
import tensorflow as tf


def network(features, is_training):
    net = tf.layers.dense(features, 128)
    net = tf.layers.batch_normalization(net, training=is_training)
    return tf.layers.dense(tf.nn.relu(net), 10)


def model_fn(features, labels, mode, params):
    is_training = mode == tf.estimator.ModeKeys.TRAIN
    logits = network(features, is_training)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    optimizer = tf.train.AdamOptimizer(params['lr'])
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        train_op = optimizer.minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def buggy_model_fn(features, labels, mode, params):
    logits = network(features, mode == tf.estimator.ModeKeys.TRAIN)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = tf.train.AdamOptimizer(params['lr']).minimize(loss, tf.train.get_global_step())  # expect: BNL003
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
