"""Single-tower batch-norm classifier with a correctly shared evaluation graph (healthy).

HEALTHY: bnlint should report nothing here. The update ops are collected after the
model is built and the ``minimize`` step runs under ``tf.control_dependencies`` on them.
The evaluation graph calls the model function a second time inside
``tf.variable_scope("model", reuse=True)``, so its (unnamed) layers resolve to the
trained variables and moving statistics. Train-mode and inference-mode losses on the
same samples agree.

Single tower; ``--towers`` only sets the number of CPU devices in the session config.

Run: python examples/healthy_single_tower_reuse_eval.py --steps 300
"""
import argparse
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()

FEATURES = 8
NUM_CLASSES = 4
NUM_SAMPLES = 512
BATCH_SIZE = 64


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--towers", type=int, default=4, help="CPU devices in the session")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def make_samples(seed):
    """Features with mean 5 and std 3; the class is the quadrant of two standardized projections."""
    rng = np.random.RandomState(seed)
    features = rng.normal(5.0, 3.0, (NUM_SAMPLES, FEATURES))
    projected = ((features - 5.0) / 3.0) @ rng.normal(size=(FEATURES, 2))
    labels = 2 * (projected[:, 0] > 0) + (projected[:, 1] > 0)
    return features.astype(np.float32), labels.astype(np.int64)


def classifier(features, is_training):
    net = features
    for units in (32, 32):
        net = tf.layers.dense(net, units, use_bias=False,
                              kernel_initializer=tf.variance_scaling_initializer(2.0))
        net = tf.layers.batch_normalization(net, training=is_training, momentum=0.9)
        net = tf.nn.relu(net)
    return tf.layers.dense(net, NUM_CLASSES)


def mean_cross_entropy(labels, logits):
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def main():
    args = parse_args()
    tf.set_random_seed(args.seed)
    features, labels = make_samples(args.seed)

    inputs = tf.placeholder(tf.float32, [None, FEATURES])
    targets = tf.placeholder(tf.int64, [None])
    is_training = tf.placeholder_with_default(True, [], name="is_training")
    with tf.device("/gpu:0"), tf.variable_scope("model"):
        loss = mean_cross_entropy(targets, classifier(inputs, is_training))
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        train_op = tf.train.AdamOptimizer(0.01).minimize(loss)

    with tf.variable_scope("model", reuse=True):
        eval_loss = mean_cross_entropy(targets, classifier(inputs, False))

    config = tf.ConfigProto(device_count={"CPU": args.towers}, allow_soft_placement=True)
    rng = np.random.RandomState(args.seed + 1)
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(1, args.steps + 1):
            rows = rng.choice(NUM_SAMPLES, BATCH_SIZE, replace=False)
            _, value = sess.run([train_op, loss], {inputs: features[rows], targets: labels[rows]})
            if step % 50 == 0 or step == args.steps:
                print("step %d, loss %g" % (step, value), flush=True)

        def dataset_loss(loss_op):
            # the default is_training=True applies to the train graph; eval graph ignores it
            return float(np.mean([
                sess.run(loss_op, {inputs: features[s:s + BATCH_SIZE],
                                   targets: labels[s:s + BATCH_SIZE]})
                for s in range(0, NUM_SAMPLES, BATCH_SIZE)]))

        train_loss = dataset_loss(loss)
        infer_loss = dataset_loss(eval_loss)
    print("RESULT train_loss=%.6g infer_loss=%.6g" % (train_loss, infer_loss))


if __name__ == "__main__":
    main()
