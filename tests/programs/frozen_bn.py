"""Fine-tuning the head of a frozen BN backbone: no updates needed, nothing to report."""
from tensorflow.compat import v1 as tf
from tensorflow.layers import batch_normalization as bn

slim = tf.contrib.slim


def backbone(x):
    x = tf.layers.conv2d(x, 32, 3)
    x = bn(x, training=False)
    batch_norm_params = {'is_training': False, 'decay': 0.997}
    return slim.conv2d(x, 64, [3, 3], normalizer_fn=slim.batch_norm, normalizer_params=batch_norm_params)


def head(x):
    return tf.layers.dense(tf.reduce_mean(x, [1, 2]), 5)


images = tf.placeholder(tf.float32, [None, 32, 32, 3])
labels = tf.placeholder(tf.int64, [None])
features = backbone(images)
logits = head(features)
loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
train_op = tf.train.AdamOptimizer(1e-4).minimize(loss)
