"""Batch-norm regressor whose evaluation graph is a second, never-trained copy of the model.

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
NUM_SAMPLES = 512
BATCH_SIZE = 64
NOISE_STD = 0.1


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--towers", type=int, default=4, help="CPU devices in the session")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def make_samples(seed):
    """Features with mean 5 and std 3; target |u.z| - |v.z| of the standardized features z."""
    rng = np.random.RandomState(seed)
    features = rng.normal(5.0, 3.0, (NUM_SAMPLES, FEATURES))
    standardized = (features - 5.0) / 3.0
    u, v = rng.normal(size=(2, FEATURES)) / np.sqrt(FEATURES)
    targets = np.abs(standardized @ u) - np.abs(standardized @ v)
    targets += rng.normal(0.0, NOISE_STD, NUM_SAMPLES)
    return features.astype(np.float32), targets[:, None].astype(np.float32)


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
    return fc(net, 1, with_relu=False)


def squared_error(targets, predictions):
    return tf.reduce_mean(tf.square(predictions - targets))


def main():
    args = parse_args()
    tf.set_random_seed(args.seed)
    features, values = make_samples(args.seed)

    inputs = tf.placeholder(tf.float32, [None, FEATURES])
    targets = tf.placeholder(tf.float32, [None, 1])
    train_flag = tf.placeholder_with_default(False, [], name="train_flag")
    with tf.device("/gpu:0"):
        train_loss_op = squared_error(targets, build_model(inputs, train_flag))
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            train_op = tf.train.AdamOptimizer(0.02).minimize(train_loss_op)

    eval_predictions = build_model(inputs, False)
    eval_loss_op = squared_error(targets, eval_predictions)

    config = tf.ConfigProto(device_count={"CPU": args.towers}, allow_soft_placement=True)
    rng = np.random.RandomState(args.seed + 1)
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(1, args.steps + 1):
            rows = rng.choice(NUM_SAMPLES, BATCH_SIZE, replace=False)
            _, loss = sess.run([train_op, train_loss_op],
                               {inputs: features[rows], targets: values[rows], train_flag: True})
            if step % 50 == 0 or step == args.steps:
                print("step %d, loss %g" % (step, loss), flush=True)

        def dataset_loss(loss_op, feed):
            return float(np.mean([
                sess.run(loss_op, {inputs: features[s:s + BATCH_SIZE],
                                   targets: values[s:s + BATCH_SIZE], **feed})
                for s in range(0, NUM_SAMPLES, BATCH_SIZE)]))

        train_loss = dataset_loss(train_loss_op, {train_flag: True})
        infer_loss = dataset_loss(eval_loss_op, {})
    print("RESULT train_loss=%.6g infer_loss=%.6g" % (train_loss, infer_loss))


if __name__ == "__main__":
    main()
