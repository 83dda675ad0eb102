"""Multi-GPU segmentation trainer in the style of the original report (buggy)."""
import tensorflow as tf
from tensorflow.contrib.layers import xavier_initializer

FLAGS = tf.app.flags.FLAGS


def bn(inp, train_flag, name=None):
    return tf.layers.batch_normalization(inp, training=train_flag, name=name)


def gn(inp, groups=32):
    return tf.contrib.layers.group_norm(inp, groups=groups)


def conv(*args, padding='same', with_relu=True, with_bn=False,
         train_flag=None, with_gn=False, name=None, **kwargs):
    use_bias = False if with_bn else True
    x = tf.layers.conv2d(*args, **kwargs, padding=padding,
                         kernel_initializer=xavier_initializer(),
                         use_bias=use_bias, name=name)
    if with_bn:
        bn_name = name + '/batchnorm' if name is not None else None
        x = bn(x, train_flag, name=bn_name)
    if with_gn:
        x = gn(x)
    if with_relu:
        x = tf.nn.relu(x)
    return x


def setup_network(inp, label, train_flag):
    x = conv(inp, 32, 3, with_bn=True, train_flag=train_flag)
    x = conv(x, 64, 3, strides=2, with_bn=True, train_flag=train_flag)
    logits = conv(x, 10, 1, with_relu=False)
    loss = tf.losses.sparse_softmax_cross_entropy(label, logits)
    return loss, logits


def setup_grad(optim, loss):
    # compute_gradients will only run after update_ops have executed
    with tf.control_dependencies(update_ops):
        return optim.compute_gradients(loss)


train_flag = tf.placeholder(tf.bool, name='train_flag')
inps = tf.placeholder(tf.float32, [None, 64, 64, 3])
labels = tf.placeholder(tf.int32, [None, 32, 32])
optim = tf.train.AdamOptimizer(1e-3)
global_step = tf.train.get_or_create_global_step()

update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)  # expect: BNL002
tower_grads, tower_losses = [], []
for i in range(FLAGS.gpu_num):
    with tf.device('/gpu:%d' % i):
        loss, _ = setup_network(inps[i::FLAGS.gpu_num], labels[i::FLAGS.gpu_num], train_flag)  # expect: BNL001
        tower_losses.append(loss)
        tower_grads.append(setup_grad(optim, loss))

grads = [(tf.reduce_mean(tf.stack([g for g, _ in gv]), 0), gv[0][1]) for gv in zip(*tower_grads)]
with tf.control_dependencies(update_ops):
    train_op = optim.apply_gradients(grads, global_step=global_step)

val_loss, val_logits = setup_network(inps, labels, False)  # expect: BNL001
