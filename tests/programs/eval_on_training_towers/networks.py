"""Network lookup by name; the graph is built trainable unless told otherwise."""
from network_mobilenet import MobilenetNetwork


def get_network(type, placeholder_input, trainable=True):
    if type == 'mobilenet':
        net = MobilenetNetwork({'image': placeholder_input}, conv_width=0.75, trainable=trainable)
        last_layer = 'paf'
    else:
        raise Exception('Invalid Model Name.')
    return net, last_layer
