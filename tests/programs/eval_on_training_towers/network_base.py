"""Chained layer-network base class: every BN follows `self.trainable` through an arg_scope."""
import tensorflow as tf
import tf_slim as slim


def layer(op):
    def layer_decorated(self, *args, **kwargs):
        name = kwargs.setdefault('name', op.__name__)
        layer_input = self.terminals[0]
        out = op(self, layer_input, *args, **kwargs)
        self.layers[name] = out
        self.feed(out)
        return self
    return layer_decorated


class BaseNetwork(object):
    def __init__(self, inputs, trainable=True):
        self.inputs = inputs
        self.terminals = []
        self.layers = dict(inputs)
        self.trainable = trainable
        self.setup()

    def setup(self):
        raise NotImplementedError

    def feed(self, *args):
        self.terminals = [self.layers[a] if isinstance(a, str) else a for a in args]
        return self

    def get_output(self, name=None):
        return self.terminals[-1] if name is None else self.layers[name]

    @layer
    def separable_conv(self, input, k_h, k_w, c_o, stride, name, relu=True):
        with slim.arg_scope([slim.batch_norm], decay=0.999, fused=True, is_training=self.trainable):
            output = slim.separable_convolution2d(input, num_outputs=None, stride=stride, depth_multiplier=1.0,
                                                  kernel_size=[k_h, k_w], activation_fn=None,
                                                  trainable=self.trainable, scope=name + '_depthwise')
            output = slim.convolution2d(output, c_o, stride=1, kernel_size=[1, 1],
                                        activation_fn=tf.nn.relu if relu else None,
                                        normalizer_fn=slim.batch_norm, trainable=self.trainable,
                                        scope=name + '_pointwise')
        return output

    @layer
    def convb(self, input, k_h, k_w, c_o, stride, name, relu=True):
        with slim.arg_scope([slim.batch_norm], decay=0.999, fused=True, is_training=self.trainable):
            output = slim.convolution2d(input, c_o, kernel_size=[k_h, k_w], stride=stride,
                                        normalizer_fn=slim.batch_norm, trainable=self.trainable,
                                        activation_fn=tf.nn.relu if relu else None, scope=name)
        return output
