"""Estimator plumbing shared by every model: optimizers per variable scope, the train_op, the spec."""
import tensorflow as tf

LINEAR_SCOPE = "linear"
DNN_SCOPE = "dnn"


def get_train_op_fn(linear_optimizer, dnn_optimizer, update_ops=()):
    def _train_op_fn(loss):
        train_ops = []
        global_step = tf.compat.v1.train.get_global_step()
        linear_vars = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES, LINEAR_SCOPE)
        dnn_vars = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES, DNN_SCOPE)
        if dnn_vars:
            train_ops.append(dnn_optimizer.minimize(loss, var_list=dnn_vars))
        if linear_vars:
            train_ops.append(linear_optimizer.minimize(loss, var_list=linear_vars))
        with tf.control_dependencies([tf.group(*train_ops)] + list(update_ops)):
            return tf.compat.v1.assign_add(global_step, 1).op
    return _train_op_fn


def ctr_model_fn(mode, logits, labels, linear_optimizer, dnn_optimizer, update_ops=()):
    predictions = {"probabilities": tf.sigmoid(logits)}
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions=predictions)
    loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    train_op = None
    if mode == tf.estimator.ModeKeys.TRAIN:
        train_op = get_train_op_fn(linear_optimizer, dnn_optimizer, update_ops)(loss)
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op, predictions=predictions)
