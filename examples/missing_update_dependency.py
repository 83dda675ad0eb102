"""Multi-tower batch-norm regressor whose train step never runs the BN update ops.

BUGGY on purpose: reproduces bug 3 of the original report, and bnlint should flag it
(BNL003). The towers average their losses and ``minimize`` is called on the mean, but
the step is not wrapped in ``tf.control_dependencies(update_ops)`` (nor grouped with
them), so nothing ever runs the moving mean/variance assignments. Train-mode loss is
small; inference-mode loss on the same samples is huge because the inputs (mean 5,
std 3) are never normalized at inference time.

Run: python examples/missing_update_dependency.py --steps 300 --towers 4
"""
import argparse
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.compat.v1.disable_eager_execution()

FEATURES = 8
NUM_SAMPLES = 512
PER_TOWER_BATCH = 32
NOISE_STD = 0.1


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--towers", type=int, default=4, help="number of (simulated) GPUs")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def make_samples(seed):
    """Features with mean 5 and std 3; a smooth target of the standardized features plus noise."""
    rng = np.random.RandomState(seed)
    features = rng.normal(5.0, 3.0, (NUM_SAMPLES, FEATURES))
    standardized = (features - 5.0) / 3.0
    direction, slope = rng.normal(size=FEATURES) / np.sqrt(FEATURES), rng.normal(size=FEATURES)
    targets = np.sin(2.0 * standardized @ direction) + 0.3 * standardized @ slope
    targets += rng.normal(0.0, NOISE_STD, NUM_SAMPLES)
    return features.astype(np.float32), targets[:, None].astype(np.float32)


def dense_bn_relu(inp, units, is_training, name):
    out = tf.compat.v1.layers.dense(
        inp, units, use_bias=False, name=name,
        kernel_initializer=tf.compat.v1.variance_scaling_initializer(2.0))
    out = tf.compat.v1.layers.batch_normalization(
        out, training=is_training, momentum=0.9, name=name + "_bn")
    return tf.nn.relu(out)


def tower_loss(features, targets, is_training):
    net = dense_bn_relu(features, 32, is_training, "fc1")
    net = dense_bn_relu(net, 32, is_training, "fc2")
    predictions = tf.compat.v1.layers.dense(net, 1, name="out")
    return tf.reduce_mean(tf.square(predictions - targets))


def build_graph(num_towers):
    batch = PER_TOWER_BATCH * num_towers
    features = tf.compat.v1.placeholder(tf.float32, [batch, FEATURES])
    targets = tf.compat.v1.placeholder(tf.float32, [batch, 1])
    is_training = tf.compat.v1.placeholder_with_default(True, [], name="is_training")

    tower_losses = []
    with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope()):
        for i, (x, y) in enumerate(zip(tf.split(features, num_towers),
                                       tf.split(targets, num_towers))):
            with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i):
                tower_losses.append(tower_loss(x, y, is_training))
                tf.compat.v1.get_variable_scope().reuse_variables()

    loss = tf.add_n(tower_losses) / num_towers
    optimizer = tf.compat.v1.train.AdamOptimizer(0.01)
    train_op = optimizer.minimize(loss, colocate_gradients_with_ops=True)
    return {"features": features, "targets": targets, "is_training": is_training,
            "loss": loss, "train_op": train_op, "batch": batch}


def dataset_loss(sess, graph, features, targets, training):
    """Mean loss over every full batch of the training set."""
    batch = graph["batch"]
    return float(np.mean([
        sess.run(graph["loss"], {graph["features"]: features[s:s + batch],
                                 graph["targets"]: targets[s:s + batch],
                                 graph["is_training"]: training})
        for s in range(0, len(features) - batch + 1, batch)]))


def main():
    args = parse_args()
    tf.compat.v1.set_random_seed(args.seed)
    features, targets = make_samples(args.seed)
    graph = build_graph(args.towers)
    config = tf.compat.v1.ConfigProto(device_count={"CPU": args.towers},
                                      allow_soft_placement=True)
    rng = np.random.RandomState(args.seed + 1)
    with tf.compat.v1.Session(config=config) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        for step in range(1, args.steps + 1):
            rows = rng.choice(NUM_SAMPLES, graph["batch"], replace=False)
            _, loss = sess.run([graph["train_op"], graph["loss"]],
                               {graph["features"]: features[rows],
                                graph["targets"]: targets[rows]})
            if step % 50 == 0 or step == args.steps:
                print("step %d, loss %g" % (step, loss), flush=True)
        train_loss = dataset_loss(sess, graph, features, targets, training=True)
        infer_loss = dataset_loss(sess, graph, features, targets, training=False)
    print("RESULT train_loss=%.6g infer_loss=%.6g" % (train_loss, infer_loss))


if __name__ == "__main__":
    main()
