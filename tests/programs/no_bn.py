"""A plain MLP: optimizer steps and collections but no BN layers."""
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 10])
y = tf.placeholder(tf.float32, [None, 1])
h = tf.layers.dense(x, 32, activation=tf.nn.relu)
pred = tf.layers.dense(h, 1)
loss = tf.reduce_mean(tf.square(pred - y))
train_op = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
val_pred = tf.layers.dense(tf.layers.dense(x, 32), 1)
