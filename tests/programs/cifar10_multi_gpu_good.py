"""cifar10_multi_gpu_train style: reuse_variables() after the first tower, per-tower update ops."""
from six.moves import xrange
import tensorflow.compat.v1 as tf

NUM_GPUS = 2
TOWER_NAME = 'tower'


def inference(images, is_training):
    net = tf.layers.conv2d(images, 64, 5, padding='same')
    net = tf.layers.batch_normalization(net, training=is_training)
    net = tf.nn.relu(net)
    net = tf.layers.flatten(net)
    return tf.layers.dense(net, 10)


def tower_loss(scope, images, labels):
    logits = inference(images, True)
    tf.losses.sparse_softmax_cross_entropy(labels, logits)
    losses = tf.get_collection('losses', scope)
    return tf.add_n(losses, name='total_loss')


def average_gradients(tower_grads):
    averaged = []
    for grad_and_vars in zip(*tower_grads):
        grads = tf.stack([g for g, _ in grad_and_vars])
        averaged.append((tf.reduce_mean(grads, 0), grad_and_vars[0][1]))
    return averaged


def train(images, labels):
    global_step = tf.train.get_or_create_global_step()
    opt = tf.train.GradientDescentOptimizer(0.1)
    tower_grads = []
    update_ops = []
    with tf.variable_scope(tf.get_variable_scope()):
        for i in xrange(NUM_GPUS):
            with tf.device('/gpu:%d' % i):
                with tf.name_scope('%s_%d' % (TOWER_NAME, i)) as scope:
                    loss = tower_loss(scope, images, labels)
                    tf.get_variable_scope().reuse_variables()
                    update_ops.extend(tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope))
                    tower_grads.append(opt.compute_gradients(loss))
    grads = average_gradients(tower_grads)
    with tf.control_dependencies(update_ops):
        apply_gradient_op = opt.apply_gradients(grads, global_step=global_step)
    return apply_gradient_op
