"""Train a Classifier whose constructor builds the graph; a second instance for validation."""
import tensorflow as tf

from models import Classifier


def build(train_batch, val_batch):
    train_model = Classifier(train_batch[0], train_batch[1], is_training=True)
    val_model = Classifier(val_batch[0], val_batch[1], is_training=False, reuse=True)
    global_step = tf.train.get_or_create_global_step()
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.AdamOptimizer(1e-3).minimize(train_model.loss, global_step=global_step)
    return train_op, val_model.accuracy
