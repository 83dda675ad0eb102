"""Network lookup by name, as in the slim model zoo."""
import functools

from nets import resnet_small

networks_map = {"resnet_small": resnet_small.resnet_small}


def get_network_fn(name, num_classes, is_training=False):
    if name not in networks_map:
        raise ValueError("Name of network unknown %s" % name)
    func = networks_map[name]

    @functools.wraps(func)
    def network_fn(images, **kwargs):
        return func(images, num_classes, is_training=is_training, **kwargs)

    return network_fn
