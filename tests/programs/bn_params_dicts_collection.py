"""Twin of bn_params_dicts.py: the same dicts without updates_collections=None, so the BN layers
put their updates into UPDATE_OPS, and the step never runs them."""
import tensorflow.compat.v1 as tf
import tf_slim as slim

BN_PARAMS = {"decay": 0.9, "epsilon": 1e-5}


def conv_bn(x, filters, is_training):
    x = slim.conv2d(x, filters, [3, 3], activation_fn=None)
    return tf.nn.relu(slim.batch_norm(x, is_training=is_training, **BN_PARAMS))


def head(x, is_training):
    batch_norm_params = {
        'is_training': is_training,
        'decay': 0.997,
    }
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        normalizer_fn=slim.batch_norm,
                        normalizer_params=batch_norm_params):
        x = slim.conv2d(x, 64, [3, 3])
        return slim.fully_connected(slim.flatten(x), 10, activation_fn=None, normalizer_fn=None)


def backbone(x):
    # pretrained statistics stay fixed
    frozen = dict(is_training=False, decay=0.99, center=True, scale=True)
    with slim.arg_scope([slim.batch_norm], **frozen):
        x = slim.conv2d(x, 32, [3, 3], normalizer_fn=slim.batch_norm)
        return slim.batch_norm(slim.conv2d(x, 32, [3, 3], activation_fn=None))


def fc_bn(x, is_training):
    params = dict(BN_PARAMS, is_training=is_training)
    return slim.fully_connected(x, 32, normalizer_fn=slim.batch_norm, normalizer_params=params)


def train(images, labels, is_training):
    net = backbone(images)
    net = conv_bn(net, 64, is_training)
    logits = head(fc_bn(net, is_training), is_training)
    loss = tf.losses.softmax_cross_entropy(labels, logits)
    return tf.train.MomentumOptimizer(0.01, 0.9).minimize(  # expect: BNL003
        loss, global_step=tf.train.get_or_create_global_step())
