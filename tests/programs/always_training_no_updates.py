"""A regression trainer whose BN is hard-wired to training mode, and whose step has no update ops.

Inference here also runs in training mode (batch statistics); the moving averages never move, so
the BNL003 message must say that, not "inference uses the initial values".
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_eager_execution()


def regressor(x):
    h = tf.layers.dense(x, 32, use_bias=False)
    h = tf.nn.relu(tf.layers.batch_normalization(h, training=True))
    h = tf.layers.dense(h, 32, use_bias=False)
    h = tf.nn.relu(tf.layers.batch_normalization(h, training=True))
    return tf.layers.dense(h, 1)


def main(steps=5):
    x = tf.placeholder(tf.float32, [None, 8])
    y = tf.placeholder(tf.float32, [None, 1])
    pred = regressor(x)
    loss = tf.losses.mean_squared_error(y, pred)
    train_op = tf.train.MomentumOptimizer(0.01, 0.9).minimize(loss)  # expect: BNL003
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            data = np.random.rand(16, 8)
            sess.run(train_op, {x: data, y: data.sum(axis=1, keepdims=True)})
        return sess.run(pred, {x: np.random.rand(4, 8)})


if __name__ == "__main__":
    main()
