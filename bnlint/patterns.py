"""Shared facts for the BN-usage rules (BNL005+): eval paths, training flags, feed dicts, Keras models
that contain BN, the layer feeding a BN layer, literal numbers and known step counts.

Everything here answers "is it certain?" conservatively: an unknown answers False/None so rules
stay silent on code they cannot read.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst

from bnlint import tfnames
from bnlint.analysis import (
    Body,
    CallEvent,
    ModuleInfo,
    arg,
    dotted,
    kwarg,
    literal_string,
    names_in,
)
from bnlint.bn_sites import argscope_sets, bn_creator_of, flag_omitted  # noqa: F401  (the BN-site model)
from bnlint.cstwalk import iter_children, walk
from bnlint.diagnostics import Edit, Location
from bnlint.project import call_arg, module_fact
from bnlint.updates import is_step
from bnlint.summary import exported

# --- names ----------------------------------------------------------------------------------------

_EVAL_FUNC = re.compile(
    r"(^|_)(val|valid|validate|validation|eval|evaluate|evaluation|test|testing|predict|prediction|"
    r"serve|serving|export|freeze)(_|$|\d)",
    re.I,
)
# Data/fetch names that say "evaluation": x_val, val_images, mnist.test, eval_loss.
_EVAL_DATA = re.compile(r"(^|_)(val|valid|validation|eval|evaluation|test|testing|dev)(_|$|\d)", re.I)
_TRAIN_FLAG = re.compile(
    r"^(is|bn)?(train|training)(flag|mode|phase|bn|pl|ph|placeholder|tensor)?$|^phasetrain$|^trainingflag$"
)
_TRAIN_FETCH = re.compile(r"(^|_)(train_?op|train_?step|train_?ops|optimi[sz]er|opt|minimize|apply_op|step_op)(_|$)", re.I)


def is_training_name(name: str) -> bool:
    """``is_training``, ``training``, ``train_flag``, ``phase_train``, ``isTraining`` ..."""
    return bool(_TRAIN_FLAG.match(name.lower().replace("_", "")))


def training_param(body: Body) -> Optional[str]:
    """The parameter of a function that carries a BN training flag, by name."""
    for p in list(body.params) + [k for k in body.defaults if k not in body.params]:
        if is_training_name(p):
            return p
    return None


def reads_name(body: Body, name: str) -> bool:
    """The function's body (not its signature) mentions ``name``."""
    node = body.node
    if not isinstance(node, cst.FunctionDef):
        return True
    return name in names_in(node.body)


_TEST_STEP = re.compile(r"^test(_(step|fn|epoch|batch|loop|one_epoch|on_batch|model|net|network|accuracy|loss))?$")


def _unit_test(name: str) -> bool:
    """pytest/unittest test functions are not evaluation code (``test_step`` of a loop is)."""
    return name.startswith("test") and not _TEST_STEP.match(name)


def eval_function_name(body: Body) -> Optional[str]:
    """The name that makes this function (or an enclosing one) an eval/test/predict/export path."""
    b: Optional[Body] = body
    while b is not None and b.is_function():
        short = b.name.split(".")[-1]
        if _EVAL_FUNC.search(short) and not _unit_test(short):
            return short
        b = b.parent
    return None


# Script names (unit-test modules, ``*_test.py`` / ``test_*.py``, are not evaluation scripts).
_EVAL_SCRIPT = re.compile(
    r"^(test|testing)$|^(eval|evaluate|evaluation|validate|validation|predict|prediction|export|freeze)(_|$|\d)|"
    r"_(eval|evaluate|evaluation|predict|prediction|export|freeze)$",
    re.I,
)


def eval_script_name(info: ModuleInfo) -> Optional[str]:
    """``test.py``, ``eval.py``, ``eval_image_classifier.py``, ``export_model.py`` that build no
    optimizer step: the file name of an evaluation/export script, else None."""
    parts = info.modname.split(".")
    if not _EVAL_SCRIPT.search(parts[-1]) or set(parts[:-1]) & {"test", "tests", "testing"} or module_has_step(info):
        return None
    if any(_has_tape(b) for b in info.bodies.values()):
        return None
    return info.path.replace("\\", "/").rsplit("/", 1)[-1]


def evalish_data_name(name: str) -> bool:
    return bool(_EVAL_DATA.search(name))


# --- BN calls -------------------------------------------------------------------------------------


def bn_creator(ev: CallEvent) -> Optional[tfnames.BNCreator]:
    return bn_creator_of(ev)  # direct, or through functools.partial (bnlint.bn_sites)


# --- reachability ---------------------------------------------------------------------------------


def _has_tape(body: Body) -> bool:
    return any(in_tape(ev) for ev in body.events)


def trains_here(body: Body) -> bool:
    """The body runs an optimizer step or a GradientTape."""
    return any(is_step(ev) for ev in body.events) or _has_tape(body)


_HAS_STEP: "weakref.WeakKeyDictionary[ModuleInfo, bool]" = weakref.WeakKeyDictionary()


def module_has_step(info: ModuleInfo) -> bool:
    if info not in _HAS_STEP:
        _HAS_STEP[info] = any(is_step(ev) for ev in info.all_events())
    return _HAS_STEP[info]


def reaches_training(project, body: Body, depth: int = 5) -> bool:
    """The module of ``body`` (or of a caller, transitively) builds an optimizer step."""
    seen = set()
    todo = [body]
    while todo and depth >= 0:
        nxt = []
        for b in todo:
            if b.key in seen:
                continue
            seen.add(b.key)
            if module_has_step(b.module):
                return True
            nxt.extend(c.body for c in project.callers.get(b.key, []))
        todo = nxt
        depth -= 1
    return False


def feeds_training(project, body: Body, depth: int = 2) -> bool:
    """The result of this function flows into an optimizer step or is computed under a
    GradientTape at some call site (``loss = f(predict(x)); opt.minimize(loss)``): whatever its
    name, it is part of training."""
    for c in project.callers.get(body.key, []):
        if in_tape(c) or _flows_into_step(c):
            return True
        if depth > 0 and c.body.is_function() and c.node is _returned(c) and feeds_training(project, c.body, depth - 1):
            return True
    return False


def _returned(ev: CallEvent):
    stmt = ev.stmt
    return ev.node if isinstance(stmt, cst.Return) and stmt.value is ev.node else None


def _flows_into_step(ev: CallEvent) -> bool:
    if is_step(ev):
        return True
    tainted = set(ev.targets)
    if not tainted:
        return False
    for other in ev.body.events:
        if other.order <= ev.order:
            continue
        used = names_in(other.node.args) | names_in(other.node.func)
        if used & tainted:
            if is_step(other) or other.method in tfnames.GRADIENT_METHODS or other.callee in tfnames.GRADIENT_FUNCS:
                return True
            tainted.update(other.targets)
    return False


_GRAPH_MODE = {"tf.Session", "tf.InteractiveSession", "tf.placeholder", "tf.placeholder_with_default",
               "tf.disable_eager_execution", "tf.disable_v2_behavior", "tf.train.MonitoredTrainingSession",
               "tf.estimator.EstimatorSpec", "tf.estimator.Estimator"}


def graph_mode(info: ModuleInfo) -> bool:
    """The module builds a TF1 graph (Session, placeholders, Estimator, v1 optimizers)."""
    for ev in info.all_events():
        name = ev.callee or ""
        if name in _GRAPH_MODE or (name.startswith("tf.train.") and name.endswith("Optimizer")):
            return True
    return False


@module_fact
def module_has_bn(info: ModuleInfo) -> bool:
    return any(ev.sites or ev.callee in KERAS_APPS_WITH_BN for ev in info.all_events())


def project_has_bn(project) -> bool:
    return project.any_module(module_has_bn)  # computed once, also across worker processes


# --- event lookup ---------------------------------------------------------------------------------

_EVENTS: "weakref.WeakKeyDictionary[ModuleInfo, Dict[int, CallEvent]]" = weakref.WeakKeyDictionary()


def event_of(info: ModuleInfo, node: cst.CSTNode) -> Optional[CallEvent]:
    table = _EVENTS.get(info)
    if table is None:
        table = {id(ev.node): ev for ev in info.all_events()}
        _EVENTS[info] = table
    return table.get(id(node))


def body_of_function(info: ModuleInfo, node: cst.FunctionDef) -> Optional[Body]:
    for b in info.bodies.values():
        if b.node is node:
            return b
    return None


_SELF: "weakref.WeakKeyDictionary[ModuleInfo, Dict[str, dict]]" = weakref.WeakKeyDictionary()


def self_assignments(info: ModuleInfo, class_name: str) -> Dict[str, List[Tuple[Body, cst.BaseExpression]]]:
    """``self.attr = value`` in the methods of a class: attr -> [(method body, value)]."""
    cache = _SELF.setdefault(info, {})
    if class_name not in cache:
        cache[class_name] = _self_assignments(info, class_name)
    return cache[class_name]


def _self_assignments(info: ModuleInfo, class_name: str) -> Dict[str, List[Tuple[Body, cst.BaseExpression]]]:
    cls = info.classes.get(class_name)
    out: Dict[str, List[Tuple[Body, cst.BaseExpression]]] = {}
    if cls is None:
        return out
    for item in cls.body.body if isinstance(cls.body, cst.IndentedBlock) else []:
        if not isinstance(item, cst.FunctionDef):
            continue
        body = body_of_function(info, item)
        if body is None:
            continue

        # Assignments are statements: no need to look inside expressions (most of the tree).
        for node in walk(item, prune=lambda n: isinstance(n, (cst.FunctionDef, cst.ClassDef, cst.BaseExpression))):
            if not isinstance(node, cst.Assign):
                continue
            for t in node.targets:
                tgt = t.target
                if isinstance(tgt, cst.Attribute) and isinstance(tgt.value, cst.Name) and tgt.value.value == "self":
                    out.setdefault(tgt.attr.value, []).append((body, node.value))
    return out


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


def trained_models(body: Body) -> set:
    """Texts of the models whose ``trainable_variables`` this function differentiates or steps
    (``tape.gradient(loss, model.trainable_variables)``, ``self.trainable_weights``)."""
    out = set()

    def collect(node, depth=0):
        if node is None or depth > 3:
            return
        for n in walk(node):
            if isinstance(n, cst.Attribute) and n.attr.value in ("trainable_variables", "trainable_weights"):
                text = dotted(n.value)
                if text:
                    out.add(text)
            elif isinstance(n, cst.Name):
                for _, v in body.assigned.get(n.value, []):
                    if v is not node:
                        collect(v, depth + 1)

    for ev in body.events:
        if ev.method in ("gradient", "minimize", "apply_gradients", "compute_gradients"):
            for a in ev.node.args:
                collect(a.value)
    return out


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


def training_arg_free(call: cst.Call) -> bool:
    """No ``training=`` given: no such keyword, no ``**kwargs``, at most one positional argument."""
    if kwarg(call, "training") is not None or any(a.star for a in call.args):
        return False
    return sum(1 for a in call.args if a.keyword is None) <= 1


@dataclass
class TrainableSet:
    """``target.trainable = value`` (``target`` as text), with the loop it sits in, if any."""

    node: cst.Assign
    target: str
    value: Optional[bool]
    body: Body
    loop_iter: Optional[str]  # text of the enclosing ``for`` iterable (``base.layers[-20:]``)


def trainable_sets(info: ModuleInfo) -> List[TrainableSet]:
    out: List[TrainableSet] = []
    nested = (cst.FunctionDef, cst.ClassDef, cst.BaseExpression)  # assignments are statements

    def visit(node, body: Body, loop) -> None:  # loop: the iterable of the innermost for loop
        if isinstance(node, nested):
            return
        if isinstance(node, cst.For):
            visit(node.iter, body, loop)
            for child in iter_children(node.body):
                visit(child, body, node.iter)
            if node.orelse is not None:
                visit(node.orelse, body, loop)
            return
        if isinstance(node, cst.Assign):
            for t in node.targets:
                tgt = t.target
                if isinstance(tgt, cst.Attribute) and tgt.attr.value == "trainable" and dotted(tgt.value):
                    v = node.value
                    value = v.value == "True" if isinstance(v, cst.Name) and v.value in ("True", "False") else None
                    out.append(TrainableSet(node, dotted(tgt.value), value, body, code(loop) if loop is not None else None))
        for child in iter_children(node):
            visit(child, body, loop)

    for body in info.bodies.values():
        node = body.node
        for child in (node.body if isinstance(node, cst.Module) else iter_children(node.body)):
            visit(child, body, None)
    return out


# --- feed dicts -----------------------------------------------------------------------------------


def feed_entries(ev: CallEvent) -> Optional[Tuple[List[Tuple[cst.BaseExpression, cst.BaseExpression]], bool]]:
    """(key, value) pairs of the feed dict of ``sess.run`` / ``t.eval``, and whether that is all of
    it; None when the call has no feed dict we can read."""
    if ev.method == "run":
        expr = arg(ev.node, "feed_dict", 1)
    elif ev.method == "eval":
        expr = arg(ev.node, "feed_dict", 0)
    else:
        return None
    if isinstance(expr, cst.Name):
        expr = ev.body.binding(expr.value, ev.order)
    if not isinstance(expr, cst.Dict):
        return None
    pairs, complete = [], True
    for el in expr.elements:
        if isinstance(el, cst.DictElement):
            pairs.append((el.key, el.value))
        else:
            complete = False
    return pairs, complete


def _placeholder_default(info: ModuleInfo, value: cst.BaseExpression) -> Optional[tuple]:
    """("plain",) for tf.placeholder(tf.bool), ("default", bool) for placeholder_with_default."""
    if not isinstance(value, cst.Call):
        return None
    name = info.resolve(value.func)
    if name == "tf.placeholder":
        dtype = arg(value, "dtype", 0)
        if dtype is not None and (info.resolve(dtype) == "tf.bool" or literal_string(dtype) == "bool"):
            return ("plain",)
    if name == "tf.placeholder_with_default":
        default = arg(value, "input", 0)
        if isinstance(default, cst.Name) and default.value in ("True", "False"):
            return ("default", default.value == "True")
        if isinstance(default, cst.Call) and info.resolve(default.func) == "tf.constant":
            inner = arg(default, "value", 0)
            if isinstance(inner, cst.Name) and inner.value in ("True", "False"):
                return ("default", inner.value == "True")
    return None


def bool_placeholders(info: ModuleInfo) -> Dict[str, tuple]:
    """Names (``is_training``, ``self.is_training``) bound to boolean placeholders in this module."""
    out: Dict[str, tuple] = {}
    for body in info.bodies.values():
        for name, values in body.assigned.items():
            for _, v in values:
                kind = _placeholder_default(info, v)
                if kind is not None:
                    out[name] = kind
    for cname in info.classes:
        for attr, values in self_assignments(info, cname).items():
            for _, v in values:
                kind = _placeholder_default(info, v)
                if kind is not None:
                    out["self." + attr] = kind
    return out


def used_as_bn_flag(info: ModuleInfo, name: str) -> bool:
    """``name`` is passed to a call that builds BN, or is named like a training flag."""
    last = name.split(".")[-1]
    if is_training_name(last):
        return True
    return any(ev.sites and last in ev.arg_names() for ev in info.all_events())


def key_text(expr: cst.BaseExpression) -> Optional[str]:
    return dotted(expr)


def flag_key(info: ModuleInfo, placeholders: Dict[str, tuple], key: cst.BaseExpression) -> bool:
    """Is this feed-dict key the BN training placeholder?"""
    text = key_text(key)
    if text is None:
        return False
    if text in placeholders:
        return True
    last = text.split(".")[-1]
    if "." in text and "self." + last in placeholders:
        return True  # model.is_training where the class sets self.is_training = tf.placeholder(bool)
    return is_training_name(last)


def _name_tokens(node) -> Iterator[str]:
    """Names and attribute components in an expression (``mnist.test.images`` -> mnist, test, images)."""
    found: List[str] = []
    for n in walk(node) if node is not None else ():
        if isinstance(n, cst.Name):
            found.append(n.value)
        elif isinstance(n, cst.SimpleString):
            text = literal_string(n)
            if text:
                found.append(text)
    return iter(found)


def step_names(info: ModuleInfo) -> set:
    """Names bound to an optimizer step (or a group holding one) anywhere in the module."""
    names = set()
    for ev in info.all_events():
        if is_step(ev):
            names.update(ev.targets)
    for ev in info.all_events():
        if ev.callee in tfnames.GROUP and names_in(ev.node.args) & names:
            names.update(ev.targets)
    return names


def is_training_run(ev: CallEvent, steps: set) -> bool:
    fetches = arg(ev.node, "fetches", 0) if ev.method == "run" else ev.node.func
    for tok in _name_tokens(fetches):
        if tok in steps or _TRAIN_FETCH.search(tok):
            return True
    return False


def eval_run_reason(ev: CallEvent, pairs) -> Optional[str]:
    """Why this run looks like an evaluation (eval function, validation data/fetches/loop)."""
    fn = eval_function_name(ev.body)
    if fn:
        return f"it runs in `{fn}`"
    fetches = arg(ev.node, "fetches", 0) if ev.method == "run" else ev.node.func
    for tok in _name_tokens(fetches):
        if evalish_data_name(tok):
            return f"it fetches `{tok}`"
    for _, value in pairs:
        if any(evalish_data_name(tok) for tok in _name_tokens(value)):
            text = code(value)
            return f"it feeds `{text if len(text) <= 40 else text[:37] + '...'}`"
    for _, value in pairs:
        # ``vx, vy = sess.run(valid_next)`` / ``for vx, vy in val_batches:`` before the run.
        bound = ev.body.binding(value.value, ev.order) if isinstance(value, cst.Name) else None
        tok = next((t for t in _name_tokens(bound) if evalish_data_name(t)), None) if bound is not None else None
        if tok is not None:
            return f"it feeds `{value.value}`, read from `{tok}`"
    for loop in ev.loops:
        it = getattr(loop.node, "iter", None)
        for tok in _name_tokens(it):
            if evalish_data_name(tok):
                return f"it runs in a loop over `{tok}`"
    return None


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


# --- numbers --------------------------------------------------------------------------------------


def literal_number(body: Optional[Body], expr: Optional[cst.BaseExpression], depth: int = 0) -> Optional[float]:
    """A literal int/float, also through a name bound once to one (``NUM_STEPS = 500``), ``1e3``,
    ``1 - 1e-3``, ``2 * 1000``."""
    if expr is None or depth > 4:
        return None
    if isinstance(expr, (cst.Integer, cst.Float)):
        try:
            return float(expr.evaluated_value)
        except (ValueError, TypeError):
            return None
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        v = literal_number(body, expr.expression, depth + 1)
        return -v if v is not None else None
    if isinstance(expr, cst.BinaryOperation):
        a = literal_number(body, expr.left, depth + 1)
        b = literal_number(body, expr.right, depth + 1)
        if a is None or b is None:
            return None
        op = expr.operator
        if isinstance(op, cst.Add):
            return a + b
        if isinstance(op, cst.Subtract):
            return a - b
        if isinstance(op, cst.Multiply):
            return a * b
        if isinstance(op, (cst.Divide, cst.FloorDivide)) and b:
            return a / b if isinstance(op, cst.Divide) else float(a // b)
        return None
    if isinstance(expr, cst.Name) and body is not None:
        b: Optional[Body] = body
        while b is not None:
            values = b.assigned.get(expr.value, [])
            if values:
                return literal_number(b, values[0][1], depth + 1) if len(values) == 1 else None
            if expr.value in b.params:
                return None
            b = b.parent if b.parent is not None else (b.module.top if b is not b.module.top else None)
        return None
    if isinstance(expr, cst.Attribute) and body is not None:
        return flag_default(body.module, expr.attr.value) if isinstance(expr.value, cst.Name) and expr.value.value in (
            "args", "FLAGS", "flags", "opts", "options", "config", "cfg", "hparams", "params") else None
    return None


def flag_default(info: ModuleInfo, name: str) -> Optional[float]:
    """Default of ``parser.add_argument("--name", default=N)`` / ``flags.DEFINE_integer("name", N)``."""
    for ev in info.all_events():
        if ev.method == "add_argument" and ev.node.args:
            opts = [literal_string(a.value) for a in ev.node.args if a.keyword is None]
            dest = literal_string(kwarg(ev.node, "dest"))
            names = {o.lstrip("-").replace("-", "_") for o in opts if o} | ({dest} if dest else set())
            if name in names:
                return literal_number(None, kwarg(ev.node, "default"))
        if ev.method and ev.method.startswith("DEFINE_") and literal_string(arg(ev.node, "name", 0)) == name:
            return literal_number(None, arg(ev.node, "default", 1))
    return None


# --- edits ----------------------------------------------------------------------------------------


def replace_node(info: ModuleInfo, node: cst.CSTNode, text: str) -> Edit:
    pos = info.position(node)
    return Edit(text, Location(pos.start.line, pos.start.column + 1), Location(pos.end.line, pos.end.column + 1))


def code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
