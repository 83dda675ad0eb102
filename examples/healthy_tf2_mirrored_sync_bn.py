"""Healthy twin of tf2_mirrored_small_replica_batch.py: synchronized BN over the 4 replicas.

BN statistics are all-reduced over the replicas (a global batch of 16), so every replica holds the
same moving averages. Prints `RESULT train_loss=.. infer_loss=..`.
"""
import numpy as np
import tensorflow as tf
import keras

rng = np.random.default_rng(0)
w = rng.normal(size=(8, 1)).astype("float32")
x = rng.normal(2.0, 3.0, size=(512, 8)).astype("float32")
y = (np.tanh(x / 3.0) @ w).astype("float32")

strategy = tf.distribute.MirroredStrategy()
PER_REPLICA_BATCH = 4
with strategy.scope():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, use_bias=False),
                              keras.layers.BatchNormalization(momentum=0.9, synchronized=True),
                              keras.layers.ReLU(), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
history = model.fit(x, y, batch_size=PER_REPLICA_BATCH * strategy.num_replicas_in_sync, epochs=2, verbose=0)
infer_loss = model.evaluate(x, y, batch_size=64, verbose=0)
print(f"RESULT train_loss={history.history['loss'][-1]:.4f} infer_loss={infer_loss:.4f}")
