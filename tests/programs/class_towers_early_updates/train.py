"""Multi-GPU trainer: one tower per GPU sharing the ResNet's variables."""
import tensorflow as tf

from nets import ResNet


def average_gradients(tower_grads):
    out = []
    for pairs in zip(*tower_grads):
        grads = [g for g, _ in pairs]
        out.append((tf.add_n(grads) / len(grads), pairs[0][1]))
    return out


def build(batch_queue, num_gpus=4, lr=0.1):
    opt = tf.train.MomentumOptimizer(lr, 0.9)
    net = ResNet(depth=32)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)  # expect: BNL002
    tower_grads = []
    for i in range(num_gpus):
        with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i):
            with tf.variable_scope(tf.get_variable_scope(), reuse=i > 0):
                images, labels = batch_queue.dequeue()
                logits = net(images, is_training=True)
                loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
                tower_grads.append(opt.compute_gradients(loss))
    grads = average_gradients(tower_grads)
    with tf.control_dependencies(update_ops):
        train_op = opt.apply_gradients(grads, global_step=tf.train.get_or_create_global_step())
    return train_op
