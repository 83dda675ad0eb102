"""A small ResNet in slim, with the usual arg_scope."""
import tensorflow as tf

slim = tf.contrib.slim


def resnet_arg_scope(weight_decay=1e-4, is_training=True):
    batch_norm_params = {"is_training": is_training, "decay": 0.997, "epsilon": 1e-5, "scale": True}
    with slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(weight_decay),
                        activation_fn=tf.nn.relu, normalizer_fn=slim.batch_norm,
                        normalizer_params=batch_norm_params) as sc:
        return sc


def residual_block(x, depth, is_training, scope):
    with tf.variable_scope(scope):
        shortcut = x
        h = slim.conv2d(x, depth, 3, activation_fn=None, scope="conv1")
        h = slim.batch_norm(h, is_training=is_training, scope="bn1")
        h = slim.conv2d(tf.nn.relu(h), depth, 3, activation_fn=None, scope="conv2")
        h = slim.batch_norm(h, is_training=is_training, scope="bn2")
        return tf.nn.relu(h + shortcut)


def resnet_small(images, num_classes, is_training=True, scope="resnet_small"):
    with tf.variable_scope(scope):
        net = slim.conv2d(images, 32, 3, scope="stem")
        for i in range(3):
            net = residual_block(net, 32, is_training, "block%d" % i)
        net = tf.reduce_mean(net, [1, 2])
        return slim.fully_connected(net, num_classes, activation_fn=None, scope="logits")
