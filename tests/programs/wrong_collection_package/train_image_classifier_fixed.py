import argparse

import numpy as np
import tensorflow as tf

from nets import nets_factory

parser = argparse.ArgumentParser()
parser.add_argument("--model_name", default="resnet_small")
parser.add_argument("--learning_rate", type=float, default=0.01)
parser.add_argument("--max_steps", type=int, default=1000)
parser.add_argument("--batch_size", type=int, default=32)


def main():
    args = parser.parse_args()
    network_fn = nets_factory.get_network_fn(args.model_name, num_classes=10, is_training=True)
    images = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.int64, [None])
    logits = network_fn(images)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    total_loss = tf.losses.get_total_loss()
    global_step = tf.train.get_or_create_global_step()
    optimizer = tf.train.MomentumOptimizer(args.learning_rate, 0.9)
    # the BN moving averages update with every step
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = optimizer.minimize(total_loss, global_step=global_step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(args.max_steps):
            x = np.random.rand(args.batch_size, 32, 32, 3)
            y = np.random.randint(0, 10, args.batch_size)
            _, l = sess.run([train_op, loss], feed_dict={images: x, labels: y})
            if step % 100 == 0:
                print("step %d loss %.3f" % (step, l))


if __name__ == "__main__":
    main()
