"""Trainer grouping the helper's step with the BN update ops."""
import tensorflow as tf

import model
import optim


def build(images, labels, is_training):
    logits = model.inference(images, is_training)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    step = optim.train_op(loss, tf.train.get_or_create_global_step())
    return tf.group(step, *tf.get_collection(tf.GraphKeys.UPDATE_OPS))
