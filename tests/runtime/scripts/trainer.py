"""A small multi-tower BN classifier, correct or broken on request (for `bnlint inspect -- trainer.py`).

--bug none               correct: shared variables, UPDATE_OPS gathered after the towers, eval reuses them
--bug early_update_ops   UPDATE_OPS gathered before the towers exist: the moving statistics never update
--bug eval_no_reuse      the eval model is built a second time without reuse: untrained BN copies
--bug unshared_towers    every tower has its own variables; only tower 0's updates run
--bug eval_training      the eval model reuses the variables but runs BN with training=True

Towers use /gpu:i (as multi-GPU code does); prints `RESULT train_loss=... infer_loss=...` at the end.
"""
import argparse
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_v2_behavior()


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--bug", default="none",
                   choices=["none", "early_update_ops", "eval_no_reuse", "unshared_towers", "eval_training"])
    p.add_argument("--towers", type=int, default=2)
    p.add_argument("--batch", type=int, default=16, help="per tower")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--monitored", action="store_true", help="train with a MonitoredSession")
    return p.parse_args()


def model(x, training):
    h = tf.layers.conv2d(x, 4, 3, padding="same", use_bias=False, name="conv1")
    h = tf.nn.relu(tf.layers.batch_normalization(h, training=training, momentum=0.8, name="bn1"))
    h = tf.layers.conv2d(h, 4, 3, padding="same", use_bias=False, name="conv2")
    h = tf.nn.relu(tf.layers.batch_normalization(h, training=training, momentum=0.8, name="bn2"))
    return tf.layers.dense(tf.reshape(h, [-1, 4 * 4 * 4]), 3, name="logits")


def xent(labels, logits):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def main():
    args = parse_args()
    n, b = args.towers, args.batch
    images = tf.placeholder(tf.float32, [n * b, 4, 4, 3], name="images")
    labels = tf.placeholder(tf.int64, [n * b], name="labels")
    training = tf.placeholder(tf.bool, [], name="training")
    opt = tf.train.GradientDescentOptimizer(0.05)
    early = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    tower_grads, losses = [], []
    for i in range(n):
        if args.bug == "unshared_towers":
            scope = tf.variable_scope("tower_%d_vars" % i)
        else:
            scope = tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE)
        with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i), scope:
            loss = xent(labels[i * b:(i + 1) * b], model(images[i * b:(i + 1) * b], training))
            losses.append(loss)
            tower_grads.append(opt.compute_gradients(loss))
    if args.bug == "unshared_towers":
        grads = [gv for tg in tower_grads for gv in tg]
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, scope="tower_0")
    else:
        grads = [(tf.add_n([g for g, _ in gv]) / n, gv[0][1]) for gv in zip(*tower_grads)]
        update_ops = early if args.bug == "early_update_ops" else tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    global_step = tf.train.get_or_create_global_step()
    with tf.control_dependencies(update_ops):
        train_op = opt.apply_gradients(grads, global_step=global_step)
    train_loss = tf.add_n(losses) / n

    eval_images = tf.placeholder(tf.float32, [None, 4, 4, 3], name="eval_images")
    eval_labels = tf.placeholder(tf.int64, [None], name="eval_labels")
    if args.bug == "eval_no_reuse":
        eval_scope = tf.variable_scope("eval")
    elif args.bug == "unshared_towers":
        eval_scope = tf.variable_scope("tower_0_vars", reuse=True)
    else:
        eval_scope = tf.variable_scope(tf.get_variable_scope(), reuse=True)
    with eval_scope:
        infer_loss = xent(eval_labels, model(eval_images, args.bug == "eval_training"))

    rng = np.random.RandomState(0)
    data = rng.normal(3.0, 2.0, (256, 4, 4, 3)).astype(np.float32)
    target = (data[..., 0].mean(axis=(1, 2)) > 3.0).astype(np.int64) + (data[..., 1].mean(axis=(1, 2)) > 3.0)

    def batch(step):
        idx = np.random.RandomState(step).choice(len(data), n * b, replace=False)
        return {images: data[idx], labels: target[idx], training: True}

    config = tf.ConfigProto(allow_soft_placement=True)
    if args.monitored:
        with tf.train.MonitoredTrainingSession(config=config) as sess:
            for step in range(args.steps):
                sess.run(train_op, batch(step))
            print("trained", args.steps, "steps (monitored)")
        return
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(args.steps):
            _, loss = sess.run([train_op, train_loss], batch(step))
            if step % 10 == 0:
                print("step %d loss %.4f" % (step, loss))
        feed = batch(0)
        tl = sess.run(train_loss, feed)
        il = sess.run(infer_loss, {eval_images: feed[images], eval_labels: feed[labels]})
    print("RESULT train_loss=%.6g infer_loss=%.6g" % (tl, il))


if __name__ == "__main__":
    main()
