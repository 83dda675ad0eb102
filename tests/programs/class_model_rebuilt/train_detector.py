"""Train the detector; the eval head is built by calling build() again."""
import tensorflow as tf

from models import Detector


def build_graph(config):
    images = tf.placeholder(tf.float32, [None, 64, 64, 3])
    targets = tf.placeholder(tf.float32, [None, 64, 64, 4 * config["anchors"]])
    eval_images = tf.placeholder(tf.float32, [None, 64, 64, 3])
    detector = Detector(config)
    boxes, scores = detector.build(images, True)
    eval_boxes, eval_scores = detector.build(eval_images, False)  # expect: BNL001
    loss = tf.reduce_mean(tf.square(boxes - targets)) + tf.reduce_mean(tf.nn.sigmoid(scores))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = tf.train.MomentumOptimizer(0.01, 0.9).minimize(loss)
    return train_op, eval_boxes, eval_scores
