"""Optimizer helpers shared by the trainers (no model code here)."""
import tensorflow as tf


def learning_rate(global_step, base_lr=0.1, decay_steps=10000):
    return tf.train.exponential_decay(base_lr, global_step, decay_steps, 0.1, staircase=True)


def train_op(loss, global_step, base_lr=0.1):
    opt = tf.train.MomentumOptimizer(learning_rate(global_step, base_lr), 0.9)
    grads = opt.compute_gradients(loss)
    grads = [(tf.clip_by_norm(g, 5.0), v) for g, v in grads if g is not None]
    return opt.apply_gradients(grads, global_step=global_step)


def adam_train_op(loss, global_step, lr=1e-3):
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        return tf.train.AdamOptimizer(lr).minimize(loss, global_step=global_step)
