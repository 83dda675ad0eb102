"""Four TF2 BN mistakes in one run (one model each, named layers), or their healthy forms with --healthy.

* bn_eval: a custom eval step calls the model with training=True;
* bn_stale: BN frozen after fit() already traced the train function, no compile() again;
* the per-step BN: a BatchNormalization constructed inside the GradientTape step;
* bn_phase (tf_keras): K.set_learning_phase(1), then an eval call without training.
"""
import sys

import numpy as np
import tensorflow as tf
import keras
import tf_keras

HEALTHY = "--healthy" in sys.argv
rng = np.random.default_rng(0)


def data(n, shift=2.0):
    x = rng.normal(shift, 3.0, size=(n, 4)).astype("float32")
    return x, x[:, :1] * 0.5


def net(name, lib=keras):
    return lib.Sequential([lib.Input((4,)), lib.layers.Dense(8), lib.layers.BatchNormalization(momentum=0.9, name=name),
                           lib.layers.Dense(1)])


# bn_eval: custom loop, eval step in training mode on shifted evaluation data
model = net("bn_eval")
opt = keras.optimizers.Adam(0.01)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    return loss


@tf.function
def eval_step(x, y):
    return tf.reduce_mean(tf.square(model(x, training=HEALTHY is False) - y))


for _ in range(30):
    train_loss = float(train_step(*data(32)))
infer_loss = float(np.mean([eval_step(*data(8, shift=-4.0)) for _ in range(5)]))
print(f"RESULT train_loss={train_loss:.4f} infer_loss={infer_loss:.4f}")

# bn_stale: freeze BN after the first fit
stale = net("bn_stale")
stale.compile(keras.optimizers.Adam(0.01), "mse")
stale.fit(*data(64), batch_size=16, epochs=1, verbose=0)
stale.get_layer("bn_stale").trainable = False
if HEALTHY:
    stale.compile(keras.optimizers.Adam(0.01), "mse")
stale.fit(*data(64, shift=-3.0), batch_size=16, epochs=1, verbose=0)

# a BN layer per step (eager custom loop)
dense = keras.layers.Dense(8)
sgd = keras.optimizers.SGD(0.01)
bn_once = keras.layers.BatchNormalization(momentum=0.9)
for _ in range(5):
    x, y = data(16)
    with tf.GradientTape() as tape:
        bn = bn_once if HEALTHY else keras.layers.BatchNormalization(momentum=0.9)
        loss = tf.reduce_mean(tf.square(bn(dense(x), training=True)))
    grads = tape.gradient(loss, dense.trainable_variables)
    sgd.apply_gradients(zip(grads, dense.trainable_variables))

# bn_phase: learning phase forced to 1 (tf_keras), then an evaluation call without training
legacy = net("bn_phase", tf_keras)
legacy.compile("adam", "mse")
legacy.fit(*data(64), batch_size=16, epochs=1, verbose=0)
if not HEALTHY:
    tf_keras.backend.set_learning_phase(1)
_ = legacy(data(16, shift=-4.0)[0])
