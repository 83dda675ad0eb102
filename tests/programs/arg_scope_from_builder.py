"""Object-detection-API style: the box predictor's BN takes no flag; the model wraps every
prediction in an arg_scope built by a hyperparams function that sets is_training (correct: no
finding, although the method is called `_predict_head`)."""
import tensorflow.compat.v1 as tf
import tf_slim as slim


def build_conv_hyperparams(is_training):
    batch_norm_params = {'is_training': is_training, 'decay': 0.997, 'scale': True}
    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm, activation_fn=tf.nn.relu6):
        with slim.arg_scope([slim.batch_norm], **batch_norm_params) as sc:
            return sc


class BoxPredictor(object):
    def __init__(self, is_training, depth=64):
        self._is_training = is_training
        self._depth = depth

    def _compute_base_tower(self, image_feature, feature_index):
        net = slim.conv2d(image_feature, self._depth, [3, 3], activation_fn=None, normalizer_fn=None,
                          scope='conv2d_%d' % feature_index)
        net = slim.batch_norm(net, scope='conv2d_%d/BatchNorm' % feature_index)
        return tf.nn.relu6(net)

    def _predict_head(self, image_feature, feature_index):
        tower = self._compute_base_tower(image_feature, feature_index)
        return slim.conv2d(tower, 4, [3, 3], activation_fn=None, scope='BoxEncodingPredictor_%d' % feature_index)

    def predict(self, image_features):
        with slim.arg_scope(build_conv_hyperparams(self._is_training)):
            return [self._predict_head(f, i) for i, f in enumerate(image_features)]
