"""Multi-GPU batch-norm classifier that gathers UPDATE_OPS before building its towers.

BUGGY on purpose: reproduces bug 2 of the original report, and bnlint should flag it
(BNL002). ``update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)`` runs before the
tower loop has created any batch-normalization layer, so the list is empty and
``apply_gradients`` waits on nothing. The moving mean/variance keep their initial 0/1,
so the train-mode loss looks healthy while the inference-mode loss on the very same
images is orders of magnitude larger. This is also bnlint's bundled demo example.

Run: python examples/multi_tower_early_update_ops.py --steps 300 --towers 4
"""
import argparse
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()

IMAGE_SIZE = 6
CHANNELS = 2
NUM_CLASSES = 3
NUM_SAMPLES = 512
BATCH_SIZE = 64
LABEL_NOISE = 0.1


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--towers", type=int, default=4, help="number of (simulated) GPUs")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def make_images(seed):
    """Pixels with mean 5 and std 3 (so wrong BN statistics hurt); noisy 3-class labels."""
    rng = np.random.RandomState(seed)
    images = rng.normal(5.0, 3.0, (NUM_SAMPLES, IMAGE_SIZE, IMAGE_SIZE, CHANNELS))
    # The class is the image region (top, middle, bottom) with the brightest first channel.
    bands = images[..., 0].reshape(NUM_SAMPLES, NUM_CLASSES, -1).mean(axis=2)
    labels = bands.argmax(axis=1)
    noisy = rng.rand(NUM_SAMPLES) < LABEL_NOISE
    labels[noisy] = rng.randint(NUM_CLASSES, size=int(noisy.sum()))
    return images.astype(np.float32), labels.astype(np.int64)


def bn(inp, train_flag, name=None):
    # momentum 0.9 instead of 0.99 so the moving averages settle within a few hundred steps
    return tf.layers.batch_normalization(inp, training=train_flag, momentum=0.9, name=name)


def conv(inp, filters, kernel_size, strides=1, padding="same", with_relu=True,
         with_bn=False, train_flag=None, name=None):
    # BN supplies the shift, so a conv bias would be redundant
    out = tf.layers.conv2d(inp, filters, kernel_size, strides=strides, padding=padding,
                           use_bias=not with_bn,
                           kernel_initializer=tf.variance_scaling_initializer(2.0), name=name)
    if with_bn:
        out = bn(out, train_flag, name=None if name is None else name + "/batchnorm")
    return tf.nn.relu(out) if with_relu else out


def setup_network(images, labels, train_flag):
    net = conv(images, 8, 3, with_bn=True, train_flag=train_flag)
    net = conv(net, 8, 3, with_bn=True, train_flag=train_flag)
    net = conv(net, 8, 3, strides=2, with_bn=True, train_flag=train_flag)
    logits = tf.layers.dense(tf.layers.flatten(net), NUM_CLASSES)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))
    return loss, accuracy


def average_gradients(tower_grads):
    """Mean of each variable's gradient over the towers (variables are shared)."""
    averaged = []
    for grads_and_var in zip(*tower_grads):
        grads = [grad for grad, _ in grads_and_var]
        averaged.append((tf.add_n(grads) / len(grads), grads_and_var[0][1]))
    return averaged


def build_graph(num_gpus):
    inps = tf.placeholder(tf.float32, [BATCH_SIZE, IMAGE_SIZE, IMAGE_SIZE, CHANNELS])
    labels = tf.placeholder(tf.int64, [BATCH_SIZE])
    train_flag = tf.placeholder(tf.bool, [], name="train_flag")
    global_step = tf.train.get_or_create_global_step()
    optim = tf.train.AdamOptimizer(0.01)

    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)

    batch_split = -(-BATCH_SIZE // num_gpus)
    losses, accuracies, tower_grads = [], [], []
    for i in range(num_gpus):
        l, r = i * batch_split, min((i + 1) * batch_split, BATCH_SIZE)
        with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i), \
                tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
            loss, accuracy = setup_network(inps[l:r], labels[l:r], train_flag)
            losses.append(loss)
            accuracies.append(accuracy)
            tower_grads.append(optim.compute_gradients(loss))

    grads = average_gradients(tower_grads)
    with tf.control_dependencies(update_ops):
        train_op = optim.apply_gradients(grads, global_step=global_step)
    return {"inps": inps, "labels": labels, "train_flag": train_flag, "train_op": train_op,
            "loss": tf.add_n(losses) / num_gpus, "accuracy": tf.add_n(accuracies) / num_gpus}


def mean_loss(sess, graph, images, labels, training):
    """Loss over the whole training set, batch by batch, with the BN training flag given."""
    values = [sess.run(graph["loss"], {graph["inps"]: images[s:s + BATCH_SIZE],
                                       graph["labels"]: labels[s:s + BATCH_SIZE],
                                       graph["train_flag"]: training})
              for s in range(0, NUM_SAMPLES - BATCH_SIZE + 1, BATCH_SIZE)]
    return float(np.mean(values))


def main():
    args = parse_args()
    tf.set_random_seed(args.seed)
    images, labels = make_images(args.seed)
    graph = build_graph(args.towers)
    config = tf.ConfigProto(device_count={"CPU": args.towers}, allow_soft_placement=True)
    rng = np.random.RandomState(args.seed + 1)
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(1, args.steps + 1):
            batch = rng.choice(NUM_SAMPLES, BATCH_SIZE, replace=False)
            _, loss, acc = sess.run(
                [graph["train_op"], graph["loss"], graph["accuracy"]],
                {graph["inps"]: images[batch], graph["labels"]: labels[batch],
                 graph["train_flag"]: True})
            if step % 50 == 0 or step == args.steps:
                print("step %d, loss %g, acc %g" % (step, loss, acc), flush=True)
        train_loss = mean_loss(sess, graph, images, labels, training=True)
        infer_loss = mean_loss(sess, graph, images, labels, training=False)
    print("RESULT train_loss=%.6g infer_loss=%.6g" % (train_loss, infer_loss))


if __name__ == "__main__":
    main()
