"""Healthy twin of tf2_bn_created_in_step.py: the BN layer is created once and called in the step.

Its moving statistics accumulate over the training steps. Prints `RESULT train_loss=.. infer_loss=..`.
"""
import numpy as np
import tensorflow as tf
import keras

rng = np.random.default_rng(0)
w = rng.normal(size=(8, 1)).astype("float32")


def batch(n):
    x = rng.normal(2.0, 3.0, size=(n, 8)).astype("float32")
    return x, (np.tanh(x / 3.0) @ w).astype("float32")


dense = keras.layers.Dense(16, use_bias=False)
head = keras.layers.Dense(1)
opt = keras.optimizers.Adam(0.01)
bn = keras.layers.BatchNormalization(momentum=0.9)


def forward(x, training):
    h = bn(dense(x), training=training)
    return head(tf.nn.relu(h))


for step in range(60):
    x, y = batch(32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(forward(x, True) - y))
    variables = dense.trainable_variables + head.trainable_variables
    opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
    train_loss = float(loss)
x, y = batch(256)
infer_loss = float(tf.reduce_mean(tf.square(forward(x, False) - y)))
print(f"RESULT train_loss={train_loss:.4f} infer_loss={infer_loss:.4f}")
