"""A slim ResNet-style trainer: the model builds plain slim.conv2d layers, the caller's arg_scope
(made by a scope function) adds batch_norm with the training flag. Validation builds the model a
second time under the inference scope, without reuse."""
import tensorflow as tf

slim = tf.contrib.slim


def net_arg_scope(is_training=True, weight_decay=1e-4, bn_decay=0.997):
    bn_params = {"is_training": is_training, "decay": bn_decay, "epsilon": 1e-5, "scale": True}
    with slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(weight_decay),
                        normalizer_fn=slim.batch_norm, normalizer_params=bn_params):
        with slim.arg_scope([slim.max_pool2d], padding="SAME") as sc:
            return sc


def residual(net, depth):
    shortcut = net
    net = slim.conv2d(net, depth, [3, 3])
    net = slim.conv2d(net, depth, [3, 3], activation_fn=None)
    return tf.nn.relu(net + shortcut)


def small_resnet(images, num_classes=10):
    net = slim.conv2d(images, 64, [3, 3])
    for _ in range(3):
        net = residual(net, 64)
    net = tf.reduce_mean(net, [1, 2])
    return slim.fully_connected(net, num_classes, activation_fn=None, normalizer_fn=None)


def build(train_images, train_labels, val_images):
    with slim.arg_scope(net_arg_scope(is_training=True)):
        logits = small_resnet(train_images)
    with slim.arg_scope(net_arg_scope(is_training=False)):
        val_logits = small_resnet(val_images)  # expect: BNL001
    loss = tf.losses.sparse_softmax_cross_entropy(train_labels, logits)
    train_op = slim.learning.create_train_op(loss, tf.train.MomentumOptimizer(0.1, 0.9))
    return train_op, tf.nn.softmax(val_logits)
