"""Segmentation application object: the network is a callable object, its arguments a dict."""
import tensorflow as tf
import tf_slim as slim


class HighResNet(object):
    def __init__(self, num_classes, name="highres"):
        self.num_classes = num_classes
        self.name = name

    def __call__(self, images, is_training=True, keep_prob=0.5):
        with tf.variable_scope(self.name, reuse=tf.AUTO_REUSE):
            x = slim.conv2d(images, 16, 3, activation_fn=None, scope="conv_0")
            x = tf.nn.relu(slim.batch_norm(x, is_training=is_training, decay=0.9, scope="bn_0"))
            x = slim.dropout(x, keep_prob=keep_prob, is_training=is_training)
            return slim.conv2d(x, self.num_classes, 1, activation_fn=None, scope="conv_out")


class SegmentationApplication(object):
    def __init__(self, num_classes, learning_rate=1e-3):
        self.net = HighResNet(num_classes)
        self.learning_rate = learning_rate

    def training_graph(self, image, label):
        net_args = {"is_training": True, "keep_prob": 0.5}
        logits = self.net(image, **net_args)
        loss = tf.losses.sparse_softmax_cross_entropy(label, logits)
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train_op = tf.train.AdamOptimizer(self.learning_rate).minimize(loss)
        return train_op, loss

    def validation_graph(self, val_image, val_label):
        net_args = {"is_training": True, "keep_prob": 1.0}
        logits = self.net(val_image, **net_args)  # expect: BNL006
        return tf.losses.sparse_softmax_cross_entropy(val_label, logits)

    def prediction_graph(self, image):
        return tf.argmax(self.net(image, is_training=True, keep_prob=1.0), -1)  # expect: BNL006
