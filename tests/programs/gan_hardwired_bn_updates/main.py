import argparse
import os

import numpy as np
import tensorflow as tf

from model import DCGAN

parser = argparse.ArgumentParser(description="DCGAN on 64x64 images")
parser.add_argument("--epochs", type=int, default=25)
parser.add_argument("--learning_rate", type=float, default=0.0002)
parser.add_argument("--beta1", type=float, default=0.5)
parser.add_argument("--batch_size", type=int, default=64)
parser.add_argument("--checkpoint_dir", default="checkpoint")


def load_batches(batch_size):
    for _ in range(10):
        yield np.random.uniform(-1, 1, [batch_size, 64, 64, 3]).astype(np.float32)


def main():
    args = parser.parse_args()
    gan = DCGAN(batch_size=args.batch_size)
    # BN stays in training mode on purpose (as in the paper); its moving averages still run, for
    # the exported sampler that may switch to them.
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    d_updates = [op for op in update_ops if op.name.startswith("discriminator")]
    g_updates = [op for op in update_ops if op.name.startswith("generator")]
    with tf.control_dependencies(d_updates):
        d_optim = tf.train.AdamOptimizer(args.learning_rate, beta1=args.beta1).minimize(gan.d_loss, var_list=gan.d_vars)
    with tf.control_dependencies(g_updates):
        g_optim = tf.train.AdamOptimizer(args.learning_rate, beta1=args.beta1).minimize(gan.g_loss, var_list=gan.g_vars)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        counter = 0
        for epoch in range(args.epochs):
            for batch in load_batches(args.batch_size):
                z = np.random.uniform(-1, 1, [args.batch_size, gan.z_dim]).astype(np.float32)
                _, d_loss = sess.run([d_optim, gan.d_loss], feed_dict={gan.images: batch, gan.z: z})
                _, g_loss = sess.run([g_optim, gan.g_loss], feed_dict={gan.z: z})
                counter += 1
                if counter % 100 == 0:
                    print("epoch %d step %d d_loss %.4f g_loss %.4f" % (epoch, counter, d_loss, g_loss))
            gan.saver.save(sess, os.path.join(args.checkpoint_dir, "dcgan"), global_step=counter)


if __name__ == "__main__":
    main()
