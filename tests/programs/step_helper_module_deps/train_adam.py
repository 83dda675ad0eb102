"""Trainer using the Adam helper (it runs the update ops itself)."""
import tensorflow as tf

import model
import optim


def build(images, labels):
    logits = model.inference(images, tf.constant(True))
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    return optim.adam_train_op(loss, tf.train.get_or_create_global_step())
