"""A small MobileNet-style pose network (part-affinity fields and heatmaps)."""
import tensorflow as tf

import network_base


class MobilenetNetwork(network_base.BaseNetwork):
    def __init__(self, inputs, trainable=True, conv_width=1.0):
        self.conv_width = conv_width
        network_base.BaseNetwork.__init__(self, inputs, trainable)

    def setup(self):
        depth = lambda d: int(d * self.conv_width)
        (self.feed('image')
         .convb(3, 3, depth(32), 2, name='Conv2d_0')
         .separable_conv(3, 3, depth(64), 1, name='Conv2d_1')
         .separable_conv(3, 3, depth(128), 2, name='Conv2d_2'))
        (self.feed('Conv2d_2')
         .separable_conv(3, 3, 38, 1, relu=False, name='paf')
         .feed('Conv2d_2')
         .separable_conv(3, 3, 19, 1, relu=False, name='heat'))

    def loss_l1_l2(self):
        return [self.get_output('paf')], [self.get_output('heat')]

    def loss_last(self):
        return self.get_output('paf'), self.get_output('heat')
