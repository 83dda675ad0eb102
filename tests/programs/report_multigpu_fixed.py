"""The report's trainer after the accepted answer: reuse, update ops read after the towers."""
import tensorflow as tf

FLAGS = tf.app.flags.FLAGS


def bn(inp, train_flag, name=None):
    return tf.layers.batch_normalization(inp, training=train_flag, name=name)


def conv(x, filters, kernel, with_bn=False, train_flag=None, name=None, **kwargs):
    x = tf.layers.conv2d(x, filters, kernel, padding='same', use_bias=not with_bn, name=name, **kwargs)
    if with_bn:
        x = bn(x, train_flag, name=None if name is None else name + '/batchnorm')
    return tf.nn.relu(x)


def setup_network(inp, label, train_flag):
    x = conv(inp, 32, 3, with_bn=True, train_flag=train_flag)
    logits = tf.layers.conv2d(x, 10, 1)
    return tf.losses.sparse_softmax_cross_entropy(label, logits)


def setup_grad(optim, loss):
    with tf.control_dependencies(update_ops):
        return optim.compute_gradients(loss)


train_flag = tf.placeholder(tf.bool)
inps = tf.placeholder(tf.float32, [None, 64, 64, 3])
labels = tf.placeholder(tf.int32, [None, 64, 64])
optim = tf.train.MomentumOptimizer(0.1, 0.9)

losses = []
for i in range(FLAGS.gpu_num):
    with tf.device('/gpu:%d' % i), \
            tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
        losses.append(setup_network(inps[i::FLAGS.gpu_num], labels[i::FLAGS.gpu_num], train_flag))

# Calculate update_ops after the network has been defined
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
tower_grads = []
for i in range(FLAGS.gpu_num):
    with tf.device('/gpu:%d' % i), \
            tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
        tower_grads.append(setup_grad(optim, losses[i]))

with tf.control_dependencies(update_ops):
    train_op = optim.apply_gradients(tower_grads[0])

with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
    val_loss = setup_network(inps, labels, False)
