"""Keras models that contain BN: Keras applications, classes whose ``__init__``/``build`` make BN
layers, ``Sequential``/functional models, across modules (a per-module index).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import Body, CallEvent, ModuleInfo, arg, dotted
from bnlint.source.cstwalk import walk
from bnlint.analysis.project import call_arg
from bnlint.analysis.summary import exported
from bnlint.facts.events import event_of, self_assignments


# --- Keras models that contain BN -----------------------------------------------------------------

# keras.applications models built with BatchNormalization layers (VGG has none; ConvNeXt uses
# LayerNorm).
KERAS_APPS_WITH_BN = {
    "keras.applications." + n
    for n in (
        "ResNet50 ResNet101 ResNet152 ResNet50V2 ResNet101V2 ResNet152V2 InceptionV3 InceptionResNetV2 "
        "Xception MobileNet MobileNetV2 MobileNetV3Small MobileNetV3Large DenseNet121 DenseNet169 "
        "DenseNet201 NASNetMobile NASNetLarge EfficientNetB0 EfficientNetB1 EfficientNetB2 "
        "EfficientNetB3 EfficientNetB4 EfficientNetB5 EfficientNetB6 EfficientNetB7 EfficientNetV2B0 "
        "EfficientNetV2B1 EfficientNetV2B2 EfficientNetV2B3 EfficientNetV2S EfficientNetV2M "
        "EfficientNetV2L RegNetX002 RegNetY002 ResNetRS50 ResNetRS101"
    ).split()
}
# Submodule spellings: keras.applications.resnet50.ResNet50 -> keras.applications.ResNet50.
KERAS_APPS_WITH_BN |= {n.lower() for n in KERAS_APPS_WITH_BN}

_SEQUENTIAL = {"keras.Sequential", "keras.models.Sequential"}
_MODEL = {"keras.Model", "keras.models.Model"}
_CLONE = {"keras.models.clone_model"}


def is_keras_app_with_bn(name: Optional[str]) -> bool:
    if not name or not name.startswith("keras.applications."):
        return False
    return "keras.applications." + name.split(".")[-1] in KERAS_APPS_WITH_BN


def _class_builds_bn(project, info: ModuleInfo, class_name: str) -> bool:
    prefix = f"{info.modname}:{class_name}."
    for key, b in info.bodies.items():
        if key.startswith(prefix) and any(s.kind == "keras" for s in b.summary):
            return True
        if key.startswith(prefix) and any(is_keras_app_with_bn(ev.callee) for ev in b.events):
            return True
    return False


def _imported_class(project, info: ModuleInfo, name: str) -> Optional[Tuple[ModuleInfo, str]]:
    if name in info.classes:
        return info, name
    imp = info.local_imports.get(name)
    if imp and imp[0] == "symbol":
        mod = project.find_module(imp[1], info)
        if mod is not None and imp[2] in mod.classes:
            return mod, imp[2]
    for star in reversed(info.star_imports):  # ``from layers import *``
        mod = project.find_module(star, info)
        if mod is not None and name in mod.classes and exported(mod.exports, name):
            return mod, name
    return None


def body_builds_keras_bn(body: Body) -> bool:
    return any(any(s.kind == "keras" for s in ev.sites) or is_keras_app_with_bn(ev.callee) for ev in body.events)


_MODEL_MEMO: "weakref.WeakKeyDictionary[object, Dict[tuple, bool]]" = weakref.WeakKeyDictionary()


def model_has_bn(project, body: Body, expr: Optional[cst.BaseExpression], order: Optional[int] = None, depth: int = 0) -> bool:
    """Whether ``expr`` (a callee such as ``model``, ``self.net``, ``self``) is a Keras model or
    layer that certainly contains BatchNormalization."""
    if expr is None or depth > 6:
        return False
    memo = _MODEL_MEMO.setdefault(project, {})
    key = (id(body), id(expr), order)
    if key not in memo:
        memo[key] = False  # a cycle (model passed around in a loop of calls) answers False
        memo[key] = _model_has_bn(project, body, expr, order, depth)
    return memo[key]


def _model_has_bn(project, body: Body, expr: cst.BaseExpression, order: Optional[int], depth: int) -> bool:
    info = body.module
    if isinstance(expr, cst.Name):
        name = expr.value
        if name == "self" and body.class_name:
            return _class_builds_bn(project, info, body.class_name)
        values = []
        b: Optional[Body] = body
        while b is not None:
            values.extend((b, v) for _, v in b.assigned.get(name, []))
            if name in b.params:
                # A parameter: the models its callers pass decide.
                for c in project.callers.get(b.key, []):
                    if model_has_bn(project, c.body, call_arg(c, b, name), c.order, depth + 1):
                        return True
                break
            b = b.parent if b.parent is not None else (info.top if b is not info.top else None)
        return any(model_has_bn(project, vb, v, None, depth + 1) for vb, v in values if v is not expr)
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self" and body.class_name:
        for mbody, value in self_assignments(info, body.class_name).get(expr.attr.value, []):
            if model_has_bn(project, mbody, value, None, depth + 1):
                return True
        return False
    if isinstance(expr, cst.Call):
        callee = info.resolve(expr.func)
        if callee in tfnames.BN_CREATORS or is_keras_app_with_bn(callee):
            return True
        if callee in _SEQUENTIAL:
            layers = arg(expr, "layers", 0)
            if isinstance(layers, (cst.List, cst.Tuple)):
                return any(model_has_bn(project, body, e.value, None, depth + 1) for e in layers.elements)
            return False
        if callee in _MODEL:
            return _uses_bn_model(project, body, depth)
        if callee in _CLONE:
            return model_has_bn(project, body, arg(expr, "model", 0), None, depth + 1)
        if isinstance(expr.func, cst.Name):
            found = _imported_class(project, info, expr.func.value)
            if found is not None:
                return _class_builds_bn(project, found[0], found[1])
        ev = event_of(info, expr)
        if ev is not None:
            tgt = project.target(ev)
            if tgt is not None and tgt is not body and (
                    any(s.kind == "keras" for s in tgt.summary) or _uses_bn_model(project, tgt, depth)):
                return True
    return False


def _uses_bn_model(project, body: Body, depth: int) -> bool:
    """The function builds Keras BN layers, or applies a model/layer that contains BN (a functional
    model around a pretrained base: ``x = base(inputs)``)."""
    if body_builds_keras_bn(body):
        return True
    return any(model_call(project, ev) is not None and model_has_bn(project, body, ev.node.func, ev.order, depth + 1)
               for ev in body.events)


@dataclass
class ModuleIndex:
    """One pass over the whole module (lambdas included), for questions about every occurrence."""

    name_counts: Dict[str, int]
    attributes: set
    method_calls: Dict[Tuple[str, str], List[cst.Call]]
    replica_products: List[Tuple[cst.BaseExpression, cst.BinaryOperation]]  # N * x.num_replicas_in_sync


_INDEX: "weakref.WeakKeyDictionary[ModuleInfo, ModuleIndex]" = weakref.WeakKeyDictionary()


def module_index(info: ModuleInfo) -> ModuleIndex:
    index = _INDEX.get(info)
    if index is not None:
        return index
    index = ModuleIndex({}, set(), {}, [])
    for n in walk(info.module):
        if isinstance(n, cst.Name):
            index.name_counts[n.value] = index.name_counts.get(n.value, 0) + 1
        elif isinstance(n, cst.Attribute):
            index.attributes.add(n.attr.value)
        elif isinstance(n, cst.Call):
            f = n.func
            if isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name):
                index.method_calls.setdefault((f.value.value, f.attr.value), []).append(n)
        elif isinstance(n, cst.BinaryOperation) and isinstance(n.operator, cst.Multiply):
            for a, b in ((n.left, n.right), (n.right, n.left)):
                if isinstance(b, cst.Attribute) and b.attr.value == "num_replicas_in_sync":
                    index.replica_products.append((a, n))
    _INDEX[info] = index
    return index


def method_calls(info: ModuleInfo, receiver: str, method: str) -> List[cst.Call]:
    """Every ``receiver.method(...)`` call in the module, lambdas included."""
    return module_index(info).method_calls.get((receiver, method), [])


# --- contexts -------------------------------------------------------------------------------------


def in_tape(ev: CallEvent) -> bool:
    info = ev.body.module
    return any(c.call is not None and info.resolve(c.call.func) == "tf.GradientTape" for c in ev.ctx)


def model_call(project, ev: CallEvent) -> Optional[str]:
    """``model(x)``, ``self.net(x)``, ``self(x)``: the called object's text, for calls that are not
    TensorFlow API functions or functions/methods of the linted code."""
    if ev.callee is not None or project.target(ev) is not None:
        return None
    func = ev.node.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        return dotted(func)
    return None
