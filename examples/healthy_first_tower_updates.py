"""Multi-GPU batch-norm classifier that updates BN statistics from the first tower (healthy).

HEALTHY: bnlint should report nothing here. The towers share every variable through
``tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE)``, the update ops are
collected from the first tower's name scope after that tower is built (the CIFAR-10
multi-GPU tutorial keeps one tower's updates the same way), and ``apply_gradients`` runs
under ``tf.control_dependencies`` on them. Train-mode and inference-mode losses on the
same images agree.

Run: python examples/healthy_first_tower_updates.py --steps 300 --towers 4
"""
import argparse
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.compat.v1.disable_v2_behavior()

IMAGE_SIZE = 6
NUM_CLASSES = 2
NUM_SAMPLES = 512
PER_TOWER_BATCH = 16


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--towers", type=int, default=4, help="number of (simulated) GPUs")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def make_images(seed):
    """Single-channel images with mean 5 and std 3; class 1 when the left half is brighter."""
    rng = np.random.RandomState(seed)
    images = rng.normal(5.0, 3.0, (NUM_SAMPLES, IMAGE_SIZE, IMAGE_SIZE, 1))
    half = IMAGE_SIZE // 2
    labels = images[:, :, :half].mean(axis=(1, 2, 3)) > images[:, :, half:].mean(axis=(1, 2, 3))
    return images.astype(np.float32), labels.astype(np.int64)


def bn(inp, train_flag):
    return tf.compat.v1.layers.batch_normalization(inp, training=train_flag, momentum=0.9)


def conv(inp, filters, strides=1, with_bn=False, train_flag=None):
    out = tf.compat.v1.layers.conv2d(
        inp, filters, 3, strides=strides, padding="same", use_bias=not with_bn,
        kernel_initializer=tf.compat.v1.variance_scaling_initializer(2.0))
    return tf.nn.relu(bn(out, train_flag) if with_bn else out)


def tower_loss(images, labels, train_flag):
    net = conv(images, 8, with_bn=True, train_flag=train_flag)
    net = conv(net, 8, strides=2, with_bn=True, train_flag=train_flag)
    logits = tf.compat.v1.layers.dense(tf.compat.v1.layers.flatten(net), NUM_CLASSES)
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def average_gradients(tower_grads):
    return [(tf.reduce_mean(tf.stack([g for g, _ in pairs]), axis=0), pairs[0][1])
            for pairs in zip(*tower_grads)]


def build_graph(num_gpus):
    batch = PER_TOWER_BATCH * num_gpus
    images = tf.compat.v1.placeholder(tf.float32, [batch, IMAGE_SIZE, IMAGE_SIZE, 1])
    labels = tf.compat.v1.placeholder(tf.int64, [batch])
    train_flag = tf.compat.v1.placeholder_with_default(True, [], name="train_flag")
    optimizer = tf.compat.v1.train.MomentumOptimizer(0.05, 0.9)

    tower_images, tower_labels = tf.split(images, num_gpus), tf.split(labels, num_gpus)
    losses, tower_grads = [], []
    for i in range(num_gpus):
        with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i) as scope, \
                tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(),
                                            reuse=tf.compat.v1.AUTO_REUSE):
            loss = tower_loss(tower_images[i], tower_labels[i], train_flag)
            if i == 0:
                update_ops = tf.compat.v1.get_collection(
                    tf.compat.v1.GraphKeys.UPDATE_OPS, scope)
            losses.append(loss)
            tower_grads.append(optimizer.compute_gradients(loss))

    with tf.control_dependencies(update_ops):
        train_op = optimizer.apply_gradients(average_gradients(tower_grads))
    return {"images": images, "labels": labels, "train_flag": train_flag,
            "loss": tf.add_n(losses) / num_gpus, "train_op": train_op, "batch": batch}


def dataset_loss(sess, graph, images, labels, training):
    batch = graph["batch"]
    return float(np.mean([
        sess.run(graph["loss"], {graph["images"]: images[s:s + batch],
                                 graph["labels"]: labels[s:s + batch],
                                 graph["train_flag"]: training})
        for s in range(0, len(images) - batch + 1, batch)]))


def main():
    args = parse_args()
    tf.compat.v1.set_random_seed(args.seed)
    images, labels = make_images(args.seed)
    graph = build_graph(args.towers)
    config = tf.compat.v1.ConfigProto(device_count={"CPU": args.towers},
                                      allow_soft_placement=True)
    rng = np.random.RandomState(args.seed + 1)
    with tf.compat.v1.Session(config=config) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        for step in range(1, args.steps + 1):
            rows = rng.choice(NUM_SAMPLES, graph["batch"], replace=False)
            _, loss = sess.run([graph["train_op"], graph["loss"]],
                               {graph["images"]: images[rows], graph["labels"]: labels[rows]})
            if step % 50 == 0 or step == args.steps:
                print("step %d, loss %g" % (step, loss), flush=True)
        train_loss = dataset_loss(sess, graph, images, labels, training=True)
        infer_loss = dataset_loss(sess, graph, images, labels, training=False)
    print("RESULT train_loss=%.6g infer_loss=%.6g" % (train_loss, infer_loss))


if __name__ == "__main__":
    main()
