"""One bug, one finding: the second build_graphs call rebuilds the model, and build_graphs itself
rebuilds it for validation; reported once, at the call in train.py, with models.py as related."""
import tensorflow.compat.v1 as tf
import models

images = tf.placeholder(tf.float32, [None, 28, 28, 1])
val_images = tf.placeholder(tf.float32, [None, 28, 28, 1])
labels = tf.placeholder(tf.int64, [None])
train_logits, _ = models.build_graphs(images, val_images)
loss = tf.losses.sparse_softmax_cross_entropy(labels, train_logits)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer().minimize(loss)
_, test_logits = models.build_graphs(images, val_images)  # expect: BNL001
