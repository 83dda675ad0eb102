"""Multi-GPU batch-norm regressor that collects every tower's BN updates by scope (healthy).

HEALTHY: bnlint should report nothing here. Inception-style tower loop: one shared
variable scope whose variables are reused after the first tower
(``tf.get_variable_scope().reuse_variables()``, layers are named so the towers map onto
the same variables), each tower's update ops are collected with
``tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope)`` after the tower exists, and
``apply_gradients`` runs under ``tf.control_dependencies`` on the updates of all towers.
Train-mode and inference-mode losses on the same samples agree.

Run: python examples/healthy_per_tower_updates.py --steps 300 --towers 4
"""
import argparse
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from tensorflow.compat import v1 as tf  # noqa: E402

tf.disable_v2_behavior()

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
    """Features with mean 5 and std 3; a smooth target of two standardized projections."""
    rng = np.random.RandomState(seed)
    features = rng.normal(5.0, 3.0, (NUM_SAMPLES, FEATURES))
    standardized = (features - 5.0) / 3.0
    u, v = rng.normal(size=(2, FEATURES)) / np.sqrt(FEATURES)
    targets = 2.0 * np.tanh(standardized @ u) + 0.5 * standardized @ v
    targets += rng.normal(0.0, NOISE_STD, NUM_SAMPLES)
    return features.astype(np.float32), targets[:, None].astype(np.float32)


def bn(inp, is_training, name):
    return tf.layers.batch_normalization(inp, training=is_training, momentum=0.9, name=name)


def inference(features, is_training):
    net = features
    for index in range(2):
        net = tf.layers.dense(net, 32, use_bias=False, name="hidden%d" % index,
                              kernel_initializer=tf.variance_scaling_initializer(2.0))
        net = tf.nn.relu(bn(net, is_training, "hidden%d_bn" % index))
    return tf.layers.dense(net, 1, name="prediction")


def average_gradients(tower_grads):
    averaged = []
    for grad_and_vars in zip(*tower_grads):
        grad = tf.reduce_mean(tf.stack([g for g, _ in grad_and_vars]), axis=0)
        averaged.append((grad, grad_and_vars[0][1]))
    return averaged


def build_graph(num_gpus):
    batch = PER_TOWER_BATCH * num_gpus
    features = tf.placeholder(tf.float32, [batch, FEATURES])
    targets = tf.placeholder(tf.float32, [batch, 1])
    is_training = tf.placeholder_with_default(True, [], name="is_training")
    global_step = tf.train.get_or_create_global_step()
    optimizer = tf.train.AdamOptimizer(0.01)

    tower_features = tf.split(features, num_gpus)
    tower_targets = tf.split(targets, num_gpus)
    losses, tower_grads, update_ops = [], [], []
    with tf.variable_scope(tf.get_variable_scope()):
        for i in range(num_gpus):
            with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i) as scope:
                predictions = inference(tower_features[i], is_training)
                loss = tf.reduce_mean(tf.squared_difference(predictions, tower_targets[i]))
                tf.get_variable_scope().reuse_variables()
                update_ops.extend(tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope))
                losses.append(loss)
                tower_grads.append(optimizer.compute_gradients(loss))

    grads = average_gradients(tower_grads)
    with tf.control_dependencies(update_ops):
        train_op = optimizer.apply_gradients(grads, global_step=global_step)
    return {"features": features, "targets": targets, "is_training": is_training,
            "loss": tf.add_n(losses) / num_gpus, "train_op": train_op, "batch": batch}


def dataset_loss(sess, graph, features, targets, training):
    batch = graph["batch"]
    return float(np.mean([
        sess.run(graph["loss"], {graph["features"]: features[s:s + batch],
                                 graph["targets"]: targets[s:s + batch],
                                 graph["is_training"]: training})
        for s in range(0, len(features) - batch + 1, batch)]))


def main():
    args = parse_args()
    tf.set_random_seed(args.seed)
    features, targets = make_samples(args.seed)
    graph = build_graph(args.towers)
    config = tf.ConfigProto(device_count={"CPU": args.towers}, allow_soft_placement=True)
    rng = np.random.RandomState(args.seed + 1)
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
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
