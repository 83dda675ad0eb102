import argparse

import tensorflow as tf

from model import build_net


def model_fn(features, labels, mode, params):
    training = mode == tf.estimator.ModeKeys.TRAIN
    logits = build_net(features["image"], params["num_classes"], training)
    predictions = {"classes": tf.argmax(logits, 1), "probabilities": tf.nn.softmax(logits)}
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions=predictions)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    optimizer = tf.train.AdamOptimizer(params["learning_rate"])
    train_op = optimizer.minimize(loss, global_step=tf.train.get_global_step())  # expect: BNL008
    metrics = {"accuracy": tf.metrics.accuracy(labels, predictions["classes"])}
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op, eval_metric_ops=metrics)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_dir", default="/tmp/model")
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    args = parser.parse_args()
    estimator = tf.estimator.Estimator(model_fn, model_dir=args.model_dir,
                                       params={"num_classes": 10, "learning_rate": args.learning_rate})
    return estimator


if __name__ == "__main__":
    main()
