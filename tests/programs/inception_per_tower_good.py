"""inception_train style: per-tower UPDATE_OPS with a scope, grouped with the apply op."""
import tensorflow as tf
slim = tf.contrib.slim


def inception(images, is_training, scope='inception'):
    batch_norm_params = {'decay': 0.9997, 'epsilon': 0.001, 'is_training': is_training}
    with tf.variable_scope(scope):
        with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm,
                            normalizer_params=batch_norm_params):
            net = slim.conv2d(images, 32, [3, 3])
            net = slim.conv2d(net, 64, [3, 3])
    return slim.fully_connected(slim.flatten(net), 1000, activation_fn=None)


def _tower_loss(images, labels, scope, reuse_variables):
    with tf.variable_scope(tf.get_variable_scope(), reuse=reuse_variables):
        logits = inception(images, True)
    return tf.losses.softmax_cross_entropy(labels, logits)


def train(images, labels, num_gpus):
    opt = tf.train.RMSPropOptimizer(0.1, decay=0.9, momentum=0.9, epsilon=1.0)
    tower_grads = []
    reuse_variables = None
    for i in range(num_gpus):
        with tf.device('/gpu:%d' % i):
            with tf.name_scope('tower_%d' % i) as scope:
                loss = _tower_loss(images, labels, scope, reuse_variables)
                reuse_variables = True
                # Retain the Batch Normalization updates operations only from the
                # final tower. Ideally, we should grab the updates from all towers
                # but these stats accumulate extremely fast so we can ignore the
                # other stats from the other towers without significant detriment.
                batchnorm_updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope)
                tower_grads.append(opt.compute_gradients(loss))
    apply_gradient_op = opt.apply_gradients(tower_grads[0])
    batchnorm_updates_op = tf.group(*batchnorm_updates)
    train_op = tf.group(apply_gradient_op, batchnorm_updates_op)
    return train_op
