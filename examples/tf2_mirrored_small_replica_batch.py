"""A 4-replica MirroredStrategy trainer with a per-replica batch of 4 and plain BN (BNL019).

Each replica normalises with the mean/variance of its own 4 samples: noisy statistics, and moving
averages that differ between replicas. Run under `bnlint inspect --devices 4` (MirroredStrategy()
then mirrors over 4 logical CPUs). Prints `RESULT train_loss=.. infer_loss=..`.
Healthy twin: healthy_tf2_mirrored_sync_bn.py (synchronized=True).
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
                              keras.layers.BatchNormalization(momentum=0.9),
                              keras.layers.ReLU(), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
history = model.fit(x, y, batch_size=PER_REPLICA_BATCH * strategy.num_replicas_in_sync, epochs=2, verbose=0)
infer_loss = model.evaluate(x, y, batch_size=64, verbose=0)
print(f"RESULT train_loss={history.history['loss'][-1]:.4f} infer_loss={infer_loss:.4f}")
