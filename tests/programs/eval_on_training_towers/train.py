"""Multi-GPU pose trainer; every 1000 steps it reports the loss on a cached validation set."""
import argparse

import numpy as np
import tensorflow as tf

from networks import get_network


def get_batches(split, batch_size):
    for _ in range(10):
        yield (np.random.rand(batch_size, 64, 64, 3), np.random.rand(batch_size, 16, 16, 19),
               np.random.rand(batch_size, 16, 16, 38))


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--model', default='mobilenet')
    parser.add_argument('--gpus', type=int, default=2)
    parser.add_argument('--batchsize', type=int, default=16)
    parser.add_argument('--lr', type=float, default=1e-4)
    args = parser.parse_args()

    q_inp = tf.placeholder(tf.float32, shape=(args.batchsize, 64, 64, 3), name='image')
    q_heat = tf.placeholder(tf.float32, shape=(args.batchsize, 16, 16, 19), name='heatmap')
    q_vect = tf.placeholder(tf.float32, shape=(args.batchsize, 16, 16, 38), name='vectmap')
    q_inp_split = tf.split(q_inp, args.gpus)
    q_heat_split = tf.split(q_heat, args.gpus)
    q_vect_split = tf.split(q_vect, args.gpus)

    validation_cache = list(get_batches('valid', args.batchsize))

    losses = []
    last_losses_l1 = []
    for gpu_id in range(args.gpus):
        with tf.device(tf.DeviceSpec(device_type="GPU", device_index=gpu_id)):
            with tf.variable_scope(tf.get_variable_scope(), reuse=(gpu_id > 0)):
                net, last_layer = get_network(args.model, q_inp_split[gpu_id])
                l1s, l2s = net.loss_l1_l2()
                for idx, (l1, l2) in enumerate(zip(l1s, l2s)):
                    loss_l1 = tf.nn.l2_loss(l1 - q_vect_split[gpu_id], name='loss_l1_stage%d_tower%d' % (idx, gpu_id))
                    loss_l2 = tf.nn.l2_loss(l2 - q_heat_split[gpu_id], name='loss_l2_stage%d_tower%d' % (idx, gpu_id))
                losses.append(tf.reduce_mean([loss_l1, loss_l2]))
                last_losses_l1.append(loss_l1)

    total_loss = tf.reduce_sum(losses) / args.batchsize
    total_loss_ll_paf = tf.reduce_sum(last_losses_l1) / args.batchsize
    global_step = tf.Variable(0, trainable=False)
    optimizer = tf.train.AdamOptimizer(args.lr, epsilon=1e-8)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        train_op = optimizer.minimize(total_loss, global_step, colocate_gradients_with_ops=True)

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        last_gs_num = 0
        while True:
            _, gs_num = sess.run([train_op, global_step])
            if gs_num - last_gs_num >= 1000:
                last_gs_num = gs_num
                average_loss = total_cnt = 0
                for images_test, heatmaps, vectmaps in validation_cache:
                    lss, lss_paf = sess.run([total_loss, total_loss_ll_paf],  # expect: BNL007
                                            feed_dict={q_inp: images_test, q_vect: vectmaps, q_heat: heatmaps})
                    average_loss += lss * len(images_test)
                    total_cnt += len(images_test)
                print('validation loss', average_loss / total_cnt)
