"""Segmentation application: one graph for training and validation, the batch chosen by a switch."""
import tensorflow as tf
import tf_slim as slim


class UNetSmall(object):
    def __init__(self, num_classes):
        self.num_classes = num_classes

    def __call__(self, images, is_training=True, keep_prob=0.5):
        with tf.variable_scope("unet", reuse=tf.AUTO_REUSE):
            x = slim.conv2d(images, 16, 3, activation_fn=None, scope="enc")
            x = tf.nn.relu(slim.batch_norm(x, is_training=is_training, decay=0.9, scope="enc_bn"))
            x = slim.dropout(x, keep_prob, is_training=is_training)
            return slim.conv2d(x, self.num_classes, 1, activation_fn=None, scope="logits")


class SegmentationApplication(object):
    def __init__(self, action, num_classes, learning_rate=1e-3):
        self.is_training = action == "train"
        self.is_validation = tf.placeholder_with_default(False, [], name="is_validation")
        self.net = UNetSmall(num_classes)
        self.learning_rate = learning_rate

    def connect_data_and_network(self, train_sampler, valid_sampler):
        if self.is_training:
            data_dict = tf.cond(tf.logical_not(self.is_validation),
                                lambda: train_sampler.pop_batch_op(),
                                lambda: valid_sampler.pop_batch_op())
            image = tf.cast(data_dict["image"], tf.float32)
            net_args = {"is_training": self.is_training, "keep_prob": 0.5}
            logits = self.net(image, **net_args)  # expect: BNL007
            label = tf.cast(tf.squeeze(data_dict["label"], -1), tf.int32)
            self.loss = tf.losses.sparse_softmax_cross_entropy(label, logits)
            with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
                self.train_op = tf.train.AdamOptimizer(self.learning_rate).minimize(self.loss)
        else:
            data_dict = valid_sampler.pop_batch_op()
            image = tf.cast(data_dict["image"], tf.float32)
            self.prediction = tf.argmax(self.net(image, is_training=self.is_training, keep_prob=1.0), -1)

    def run_iteration(self, sess, validate):
        if validate:
            return sess.run(self.loss, feed_dict={self.is_validation: True})
        return sess.run([self.train_op, self.loss])[1]
