"""The layer feeding a BN layer: layer constructors (conv, dense), their inputs, the producer of
a tensor, ``Sequential`` chains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import Body, CallEvent, ModuleInfo, arg, dotted
from bnlint.facts.keras_models import _SEQUENTIAL


# --- the layer feeding a BN layer -----------------------------------------------------------------

# Shape-preserving ops between a layer and the BN that normalises its output.
_PASS_THROUGH = {"tf.nn.relu", "tf.nn.relu6", "tf.nn.elu", "tf.nn.leaky_relu", "tf.nn.selu", "tf.nn.swish",
                 "tf.nn.tanh", "tf.tanh", "tf.nn.sigmoid", "tf.sigmoid", "tf.identity", "tf.nn.gelu"}
# Layers whose output layout follows their data_format (channels_first / NCHW).
CONV_LAYERS = {
    "tf.layers." + n for n in ("conv1d", "conv2d", "conv3d", "separable_conv1d", "separable_conv2d",
                               "conv2d_transpose", "conv3d_transpose", "max_pooling1d", "max_pooling2d",
                               "max_pooling3d", "average_pooling1d", "average_pooling2d", "average_pooling3d")
} | {
    "tf.nn." + n for n in ("conv1d", "conv2d", "conv3d", "depthwise_conv2d", "separable_conv2d", "bias_add",
                           "max_pool", "avg_pool", "max_pool2d", "avg_pool2d", "conv2d_transpose")
} | {
    "slim." + n for n in ("conv2d", "convolution2d", "conv2d_transpose", "separable_conv2d", "conv3d",
                          "convolution", "max_pool2d", "avg_pool2d")
} | {"tf.contrib.layers.conv2d", "tf.contrib.layers.convolution2d"}
KERAS_CONV_LAYERS = {
    "keras.layers." + n for n in ("Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D",
                                  "SeparableConv1D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose",
                                  "Conv3DTranspose", "MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D")
}
KERAS_ACTIVATIONS = {"keras.layers.Activation", "keras.layers.ReLU", "keras.layers.LeakyReLU",
                     "keras.layers.ELU", "keras.layers.PReLU"}


def layer_constructor(body: Optional[Body], info: ModuleInfo, call: cst.Call) -> Optional[Tuple[str, cst.Call]]:
    """The Keras layer class and constructor call of an applied layer: ``Conv2D(8, 3)(x)`` or
    ``conv(x)`` with ``conv = Conv2D(8, 3)`` bound once in the same function."""
    ctor = call.func
    if isinstance(ctor, cst.Name) and body is not None:
        values = body.assigned.get(ctor.value, [])
        ctor = values[0][1] if len(values) == 1 else None
    if isinstance(ctor, cst.Call):
        name = info.resolve(ctor.func)
        if name and name.startswith("keras.layers."):
            return name, ctor
    return None


def layer_input(info: ModuleInfo, call: cst.Call) -> Optional[cst.BaseExpression]:
    """The tensor a functional layer/activation call or an applied Keras layer consumes."""
    return arg(call, "inputs", 0) or arg(call, "features", None) or arg(call, "x", None) or arg(call, "input", None)


def producer(body: Body, expr: Optional[cst.BaseExpression], order: Optional[int], skip_activations: bool = False,
             depth: int = 0) -> Optional[cst.Call]:
    """The call that produced a tensor expression (following one local name binding per hop)."""
    if expr is None or depth > 4:
        return None
    info = body.module
    if isinstance(expr, cst.Name):
        values = body.assigned.get(expr.value, [])
        chosen = [v for o, v in values if order is None or o < order]
        if not chosen:
            return None
        ev_order = max(o for o, v in values if v is chosen[-1])
        return producer(body, chosen[-1], ev_order, skip_activations, depth + 1)
    if not isinstance(expr, cst.Call):
        return None
    if skip_activations:
        ctor = layer_constructor(body, info, expr)
        name = info.resolve(expr.func) or (ctor[0] if ctor else None)
        if name in _PASS_THROUGH or name in KERAS_ACTIVATIONS:
            return producer(body, layer_input(info, expr), order, True, depth + 1)
    return expr


@dataclass
class Feed:
    """A BN layer and the layer whose output it normalises."""

    bn: cst.Call  # the functional BN call, or the Keras BN constructor call
    layer: str  # canonical name of the feeding layer
    layer_call: cst.Call  # its functional call, or its Keras constructor call
    body: Body


def _feeding_layer(info: ModuleInfo, body: Body, src: Optional[cst.Call]) -> Optional[Tuple[str, cst.Call]]:
    if src is None:
        return None
    name = info.resolve(src.func)
    if name is not None:
        return name, src
    return layer_constructor(body, info, src)


def bn_feeds(info: ModuleInfo, skip_activations: bool = False) -> Iterator[Feed]:
    """Every BN layer whose input layer is visible: functional calls (``tf.layers``/slim), applied
    Keras layers (``BatchNormalization()(x)``, ``bn(x)``), Sequential lists and ``model.add`` runs."""
    seen = set()
    for body in info.bodies.values():
        for ev in body.events:
            creator = tfnames.BN_CREATORS.get(ev.callee or "")
            if creator is None:
                continue
            if creator.kind == "functional":
                src = producer(body, layer_input(info, ev.node), ev.order, skip_activations)
            elif creator.kind == "keras":
                outer = next((e for e in body.events if e.node.func is ev.node), None)
                if outer is None:
                    continue
                src = producer(body, layer_input(info, outer.node), outer.order, skip_activations)
            else:
                continue
            found = _feeding_layer(info, body, src)
            if found is not None:
                seen.add(id(ev.node))
                yield Feed(ev.node, found[0], found[1], body)
    for chain, body in sequential_chains(info):
        for i, item in enumerate(chain):
            if not isinstance(item, cst.Call) or id(item) in seen or info.resolve(item.func) not in tfnames.BN_CREATORS:
                continue
            k = i - 1
            while skip_activations and k >= 0 and isinstance(chain[k], cst.Call) \
                    and info.resolve(chain[k].func) in KERAS_ACTIVATIONS:
                k -= 1
            if k >= 0 and isinstance(chain[k], cst.Call):
                name = info.resolve(chain[k].func)
                if name is not None:
                    yield Feed(item, name, chain[k], body)


def sequential_chains(info: ModuleInfo) -> Iterator[Tuple[List[cst.BaseExpression], Body]]:
    """Layer lists of ``Sequential([...])`` and runs of ``model.add(...)`` on one model in one body
    (in order; a run is cut where another model gets a layer in between)."""
    for body in info.bodies.values():
        adds: Dict[str, List[CallEvent]] = {}
        for ev in body.events:
            if ev.callee in _SEQUENTIAL:
                layers = arg(ev.node, "layers", 0)
                if isinstance(layers, (cst.List, cst.Tuple)):
                    yield [e.value for e in layers.elements], body
            if ev.method == "add" and isinstance(ev.node.func, cst.Attribute) and len(ev.node.args) == 1:
                recv = dotted(ev.node.func.value)
                if recv is not None:
                    adds.setdefault(recv, []).append(ev)
        for evs in adds.values():
            run = [evs[0]]
            for a, b in zip(evs, evs[1:]):
                if any(a.order < ev.order < b.order and ev.method == "add" for ev in body.events):
                    yield [e.node.args[0].value for e in run], body
                    run = []
                run.append(b)
            yield [e.node.args[0].value for e in run], body
