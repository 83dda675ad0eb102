"""ENet-style segmentation net: the project's own blocks are @slim.add_arg_scope functions and one
arg_scope hands them the caller's is_training (correct: no finding)."""
import tensorflow.compat.v1 as tf
import tf_slim as slim


@slim.add_arg_scope
def initial_block(inputs, is_training=True, scope='initial_block'):
    net_conv = slim.conv2d(inputs, 13, [3, 3], stride=2, activation_fn=None, scope=scope + '_conv')
    net_conv = slim.batch_norm(net_conv, is_training=is_training, fused=True, scope=scope + '_batchnorm')
    net_pool = slim.max_pool2d(inputs, [2, 2], stride=2, scope=scope + '_max_pool')
    return tf.nn.relu(tf.concat([net_conv, net_pool], axis=3))


@slim.add_arg_scope
def bottleneck(inputs, output_depth, filter_size, is_training=True, downsampling=False, scope='bottleneck'):
    stride = 2 if downsampling else 1
    net = slim.conv2d(inputs, output_depth // 4, [stride, stride], stride=stride, scope=scope + '_conv1')
    net = slim.batch_norm(net, is_training=is_training, scope=scope + '_batch_norm1')
    net = tf.nn.relu(net)
    net = slim.conv2d(net, output_depth, [filter_size, filter_size], scope=scope + '_conv2')
    net = slim.batch_norm(net, is_training=is_training, scope=scope + '_batch_norm2')
    if downsampling:
        inputs = slim.max_pool2d(inputs, [2, 2], stride=2)
        inputs = tf.pad(inputs, [[0, 0], [0, 0], [0, 0], [0, output_depth - inputs.get_shape().as_list()[3]]])
    return tf.nn.relu(net + inputs)


def enet(inputs, num_classes, batch_size, is_training=True, reuse=None, scope='ENet'):
    with tf.variable_scope(scope, reuse=reuse):
        with slim.arg_scope([initial_block, bottleneck], is_training=is_training):
            net = initial_block(inputs, scope='initial_block_1')
            net = bottleneck(net, output_depth=64, filter_size=3, downsampling=True, scope='bottleneck1_0')
            net = bottleneck(net, output_depth=64, filter_size=3, scope='bottleneck1_1')
            net = bottleneck(net, output_depth=64, filter_size=3, scope='bottleneck1_2')
        logits = slim.conv2d_transpose(net, num_classes, [2, 2], stride=2, scope='fullconv')
    return logits


def train(images, annotations, val_images, num_classes=12, batch_size=10):
    logits = enet(images, num_classes, batch_size=batch_size, is_training=True)
    loss = tf.losses.softmax_cross_entropy(annotations, logits)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        train_op = tf.train.AdamOptimizer(5e-4).minimize(loss)
    val_logits = enet(val_images, num_classes, batch_size=batch_size, is_training=False, reuse=True)
    return train_op, tf.argmax(val_logits, -1)
