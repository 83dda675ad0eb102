"""ENet-style blocks: the project's own functions get ``is_training`` from an ``arg_scope``.

Whatever a rule says about the blocks' calls, a fix that passes ``is_training=is_training`` again
changes nothing (the scope already sets it) and must not be offered (tests/test_fix_effect.py).
"""
import tensorflow as tf
import tf_slim as slim


@slim.add_arg_scope
def initial_block(inputs, is_training=True, scope="initial_block"):
    net = slim.conv2d(inputs, 13, [3, 3], stride=2, activation_fn=None, scope=scope + "_conv")
    net = slim.batch_norm(net, is_training=is_training, scope=scope + "_bn")
    return tf.nn.relu(net)


@slim.add_arg_scope
def bottleneck(inputs, output_depth, is_training=True, scope="bottleneck"):
    net = slim.conv2d(inputs, output_depth, [1, 1], activation_fn=None, scope=scope + "_conv")
    net = slim.batch_norm(net, is_training=is_training, scope=scope + "_bn")
    return tf.nn.relu(net + inputs)


def enet(inputs, num_classes, is_training=True):
    with slim.arg_scope([initial_block, bottleneck], is_training=is_training):
        net = initial_block(inputs, scope="initial_block_1")
        net = bottleneck(net, 16, scope="bottleneck_1")
        net = bottleneck(net, 16, scope="bottleneck_2")
    return slim.conv2d(net, num_classes, [1, 1], scope="logits")


images = tf.placeholder(tf.float32, [None, 64, 64, 3])
labels = tf.placeholder(tf.int32, [None, 64, 64])
is_training = tf.placeholder(tf.bool, [])
logits = enet(images, 4, is_training=is_training)
loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
