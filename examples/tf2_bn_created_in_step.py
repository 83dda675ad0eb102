"""TF2 eager custom loop whose forward pass constructs its BatchNormalization layer (BNL021).

Every call builds a new BN layer with fresh moving statistics (mean 0, variance 1): training never
accumulates them and evaluation normalises with the initial values. Prints
`RESULT train_loss=.. infer_loss=..`. Healthy twin: healthy_tf2_bn_created_once.py.
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


def forward(x, training):
    h = keras.layers.BatchNormalization(momentum=0.9)(dense(x), training=training)
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
