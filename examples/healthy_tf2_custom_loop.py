"""Healthy twin of tf2_custom_loop_no_training_flag.py: the train step passes training=True.

BN normalises with batch statistics while training and its moving statistics track them.
Prints `RESULT train_loss=.. infer_loss=..`.
"""
import argparse

import numpy as np
import tensorflow as tf
import keras

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=150)
args = parser.parse_args()

rng = np.random.default_rng(0)
w_true = rng.normal(size=(8, 1)).astype("float32")


def batch(n):
    x = rng.normal(3.0, 4.0, size=(n, 8)).astype("float32")  # far from mean 0 / variance 1
    return x, (np.tanh((x - 3.0) / 4.0) @ w_true).astype("float32")


model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, use_bias=False), keras.layers.BatchNormalization(momentum=0.9),
                          keras.layers.ReLU(), keras.layers.Dense(1)])
opt = keras.optimizers.Adam(0.01)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    return loss


@tf.function
def eval_step(x, y):
    return tf.reduce_mean(tf.square(model(x, training=False) - y))


losses = [float(train_step(*batch(32))) for _ in range(args.steps)]
train_loss = float(np.mean(losses[-20:]))
infer_loss = float(np.mean([eval_step(*batch(32)) for _ in range(10)]))
print(f"RESULT train_loss={train_loss:.4f} infer_loss={infer_loss:.4f}")
