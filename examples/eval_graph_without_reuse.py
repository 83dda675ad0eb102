"""Batch-norm classifier whose evaluation graph is a second, never-trained copy of the model.

BUGGY on purpose: reproduces bug 1 of the original report, and bnlint should flag it
(BNL001). ``build_model`` uses unnamed ``tf.layers`` calls, and the evaluation graph is
made by calling it a second time without ``reuse=True`` / ``tf.AUTO_REUSE``. TensorFlow
then silently creates fresh variables (``dense_3``, ``batch_normalization_2``, ...) that
are initialized but never trained, with moving statistics stuck at 0/1. Training itself
is correct (update ops run with every step), so the train-mode loss is small, while the
loss of the evaluation graph on the same samples is huge.

Single tower; ``--towers`` only sets the number of CPU devices in the session config.

Run: python examples/eval_graph_without_reuse.py --steps 300
"""
import argparse
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_eager_execution()

FEATURES = 8
NUM_CLASSES = 3
NUM_SAMPLES = 512
BATCH_SIZE = 64


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--towers", type=int, default=4, help="CPU devices in the session")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def make_samples(seed):
    """Features with mean 5 and std 3; the class is the best of three random projections."""
    rng = np.random.RandomState(seed)
    features = rng.normal(5.0, 3.0, (NUM_SAMPLES, FEATURES))
    scores = ((features - 5.0) / 3.0) @ rng.normal(size=(FEATURES, NUM_CLASSES))
    return features.astype(np.float32), scores.argmax(axis=1).astype(np.int64)


def bn(inp, train_flag, name=None):
    return tf.layers.batch_normalization(inp, training=train_flag, momentum=0.9, name=name)


def fc(inp, units, with_bn=False, with_relu=True, train_flag=None, name=None):
    out = tf.layers.dense(inp, units, use_bias=not with_bn, name=name,
                          kernel_initializer=tf.variance_scaling_initializer(2.0))
    if with_bn:
        out = bn(out, train_flag, name=None if name is None else name + "/batchnorm")
    return tf.nn.relu(out) if with_relu else out


def build_model(features, train_flag):
    net = fc(features, 32, with_bn=True, train_flag=train_flag)
    net = fc(net, 32, with_bn=True, train_flag=train_flag)
    return fc(net, NUM_CLASSES, with_relu=False)


def cross_entropy(labels, logits):
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def main():
    args = parse_args()
    tf.set_random_seed(args.seed)
    features, labels = make_samples(args.seed)

    inputs = tf.placeholder(tf.float32, [None, FEATURES])
    targets = tf.placeholder(tf.int64, [None])
    train_flag = tf.placeholder_with_default(False, [], name="train_flag")
    with tf.device("/gpu:0"):
        train_loss_op = cross_entropy(targets, build_model(inputs, train_flag))
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            train_op = tf.train.AdamOptimizer(0.01).minimize(train_loss_op)

    eval_logits = build_model(inputs, False)
    eval_loss_op = cross_entropy(targets, eval_logits)

    config = tf.ConfigProto(device_count={"CPU": args.towers}, allow_soft_placement=True)
    rng = np.random.RandomState(args.seed + 1)
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(1, args.steps + 1):
            rows = rng.choice(NUM_SAMPLES, BATCH_SIZE, replace=False)
            _, loss = sess.run([train_op, train_loss_op],
                               {inputs: features[rows], targets: labels[rows], train_flag: True})
            if step % 50 == 0 or step == args.steps:
                print("step %d, loss %g" % (step, loss), flush=True)

        def dataset_loss(loss_op, feed):
            return float(np.mean([
                sess.run(loss_op, {inputs: features[s:s + BATCH_SIZE],
                                   targets: labels[s:s + BATCH_SIZE], **feed})
                for s in range(0, NUM_SAMPLES, BATCH_SIZE)]))

        train_loss = dataset_loss(train_loss_op, {train_flag: True})
        infer_loss = dataset_loss(eval_loss_op, {})
    print("RESULT train_loss=%.6g infer_loss=%.6g" % (train_loss, infer_loss))


if __name__ == "__main__":
    main()
