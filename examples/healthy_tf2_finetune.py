"""Healthy twin of tf2_finetune_without_training_false.py: the backbone is called with training=False.

Its BN layers stay in inference mode while the backbone is fine-tuned, keeping the pre-trained
moving statistics. Prints `RESULT train_loss=.. infer_loss=..`.
"""
import numpy as np
import tf_keras as keras

rng = np.random.default_rng(0)
w = rng.normal(size=(8, 1)).astype("float32")


def data(n, shift):
    x = rng.normal(shift, 2.0, size=(n, 8)).astype("float32")
    return x, (np.tanh(x / 4.0) @ w).astype("float32")


keras.utils.set_random_seed(0)
base = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, use_bias=False), keras.layers.BatchNormalization(momentum=0.9),
                         keras.layers.ReLU(), keras.layers.Dense(16, use_bias=False), keras.layers.BatchNormalization(momentum=0.9),
                         keras.layers.ReLU()], name="backbone")
pretrain = keras.Sequential([base, keras.layers.Dense(1)])
pretrain.compile(keras.optimizers.Adam(0.01), "mse")
pretrain.fit(*data(512, 3.0), batch_size=32, epochs=2, verbose=0)

base.trainable = False
inputs = keras.Input((8,))
features = base(inputs, training=False)
model = keras.Model(inputs, keras.layers.Dense(1)(features))
model.compile(keras.optimizers.Adam(0.01), "mse")
x_new, y_new = data(256, 0.0)
model.fit(x_new, y_new, batch_size=32, epochs=2, verbose=0)

base.trainable = True  # fine-tune the whole network with small batches
model.compile(keras.optimizers.Adam(1e-4), "mse")
history = model.fit(x_new, y_new, batch_size=4, epochs=1, verbose=0)
infer_loss = model.evaluate(*data(256, 0.0), batch_size=64, verbose=0)
print(f"RESULT train_loss={history.history['loss'][-1]:.4f} infer_loss={infer_loss:.4f}")
