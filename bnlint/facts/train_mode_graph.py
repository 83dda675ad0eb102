"""Which tensors come from BN built in training mode: the graph an evaluation run really fetches.

Evaluation goes through training-mode BN in two shapes these facts recognise:

* the fetched tensor was computed by a call whose BN sites all train with the constant True
  (``loss = tower_loss(images, is_training=True)`` and a validation ``sess.run(loss, ...)``);
* the fetched tensor is an attribute of a model object constructed in training mode
  (``model = Model(config, mode="train")`` and ``sess.run(model.accuracy, {model.x: x_val})``),
  when the class (found in the linted tree) builds BN.
"""

from __future__ import annotations

import re
from typing import Optional, Tuple

import libcst as cst

from bnlint.analysis.module_info import Body, ModuleInfo, arg, kwarg, literal_string, names_in
from bnlint.analysis.bn_sites import call_keywords
from bnlint.source.cstwalk import walk
from bnlint.facts.events import event_of
from bnlint.facts.names import is_training_name
from bnlint.analysis.project import module_fact, site_free_fact
from bnlint.facts.project_bn import unit_test_module

_TRAIN_MODES = {"train", "training"}
_MODE_PARAMS = {"mode", "phase", "split", "stage"}
MAX_DEPTH = 8


def _class_of(project, info: ModuleInfo, func: cst.BaseExpression) -> Optional[Tuple[ModuleInfo, str]]:
    """The class of the linted tree a constructor call names (``Model`` or ``models.Model``)."""
    if isinstance(func, cst.Name):
        if func.value in info.classes:
            return info, func.value
        imp = info.local_imports.get(func.value)
        if imp and imp[0] == "symbol":
            mod = project.find_module(imp[1], info)
            if mod is not None and imp[2] in mod.classes:
                return mod, imp[2]
    elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        imp = info.local_imports.get(func.value.value)
        if imp and imp[0] == "module":
            mod = project.find_module(imp[1], info)
            if mod is not None and func.attr.value in mod.classes:
                return mod, func.attr.value
    return None


def _class_builds_bn(info: ModuleInfo, name: str) -> bool:
    """Some method of the class builds BN that is not frozen (flag not the constant False)."""
    prefix = f"{info.modname}:{name}."
    return any(
        key.startswith(prefix) and any(s.flag != ("const", False) for ev in body.events for s in ev.sites)
        for key, body in info.bodies.items()
    )


def _train_literal(info: ModuleInfo, expr: Optional[cst.BaseExpression], param: str) -> bool:
    if expr is None:
        return False
    if param in _MODE_PARAMS:
        text = literal_string(expr)
        return (text is not None and text.lower() in _TRAIN_MODES) or (info.resolve(expr) or "").endswith("ModeKeys.TRAIN")
    return is_training_name(param) and isinstance(expr, cst.Name) and expr.value == "True"


def called_in_training_mode(project, ev) -> Optional[str]:
    """``build(images, mode="train")``: a project function that builds BN whose flag it derives
    from a mode argument (``is_training = mode == "train"``), given the training mode: the
    argument's text, else None."""
    tgt = project.target(ev)
    if tgt is None or not any(s.flag[0] != "const" for s in ev.sites):
        return None
    info = ev.body.module
    params = tgt.params[1:] if tgt.is_method and isinstance(ev.node.func, cst.Attribute) else tgt.params
    for i, p in enumerate(params):
        if p not in _MODE_PARAMS:
            continue
        value = kwarg(ev.node, p)
        if value is None:
            value = arg(ev.node, None, i)
        if _train_literal(info, value, p):
            return f"{p}={cst.Module([]).code_for_node(value)}"
    return None


def constructed_in_training_mode(project, info: ModuleInfo, call: cst.Call) -> Optional[str]:
    """``Model(config, mode="train")`` / ``Net(is_training=True)`` of a class that builds BN, or
    ``build(images, mode="train")`` (``called_in_training_mode``): the argument's text, else None."""
    found = _class_of(project, info, call.func)
    if found is None:
        ev = event_of(info, call)
        return called_in_training_mode(project, ev) if ev is not None else None
    if not _class_builds_bn(*found):
        return None
    mod, cname = found
    init = mod.bodies.get(f"{mod.modname}:{cname}.__init__")
    for a in call.args:
        if a.keyword is not None and _train_literal(info, a.value, a.keyword.value):
            return cst.Module([]).code_for_node(a).strip().rstrip(",")
    if init is not None:
        params = init.params[1:] if init.is_method else init.params
        for i, p in enumerate(params):
            value = arg(call, None, i) if kwarg(call, p) is None else None
            if _train_literal(info, value, p):
                return f"{p}={cst.Module([]).code_for_node(value)}"
    return None


def training_mode_source(project, body: Body, expr: Optional[cst.BaseExpression], order: Optional[int]):
    """Where the tensors of ``expr`` (a fetch) were built in training mode: (node, why) or None.

    Follows names to the values bound to them (in ``body`` before ``order``, then enclosing bodies
    and the module level), and ``obj.attr`` to the construction of ``obj``."""
    info = body.module
    seen = set()
    todo = [(expr, order, 0)]
    while todo:
        node, before, depth = todo.pop()
        if node is None or depth > MAX_DEPTH or id(node) in seen:
            continue
        seen.add(id(node))
        nodes = list(walk(node))
        attrs = {id(n.attr) for n in nodes if isinstance(n, cst.Attribute)}  # ``tf.losses``: not a variable
        for n in nodes:
            if isinstance(n, cst.Call):
                ev = event_of(info, n)
                sites = [s for s in ev.sites if s.kind != "keras"] if ev is not None else []
                if sites and all(s.flag == ("const", True) for s in sites) and not any(c.kind == "argscope" for c in ev.ctx):
                    return n, "builds BN with the flag True"
                why = constructed_in_training_mode(project, info, n)
                if why is not None:
                    return n, f"constructs the model with `{why}`"
            elif isinstance(n, cst.Name) and id(n) not in attrs:
                value = body.binding(n.value, before) or (info.top.binding(n.value) if body is not info.top else None)
                if value is not None and value is not node:
                    todo.append((value, None, depth + 1))
    return None


# --- the step's own loss, fetched by an evaluation run ---------------------------------------------

_LOSS_ARG = {"minimize": ("loss", 0), "compute_gradients": ("loss", 0)}
_GRADIENTS = {"tf.gradients"}
_FLAG_SWITCHES = {"tf.placeholder_with_default", "tf.keras.backend.learning_phase",
                  "tf.keras.backend.set_learning_phase", "keras.backend.learning_phase",
                  "keras.backend.set_learning_phase"}


@site_free_fact
def switchable_training_flag(info: ModuleInfo) -> bool:
    """The module makes a flag a run can switch: a boolean placeholder (with or without a default)
    or the Keras learning phase."""
    for ev in info.all_events():
        name = ev.callee or ""
        if name in _FLAG_SWITCHES or name.endswith("learning_phase"):
            return True
        if name == "tf.placeholder":
            dtype = arg(ev.node, "dtype", 0)
            if dtype is not None and (info.resolve(dtype) == "tf.bool" or literal_string(dtype) == "bool"):
                return True
    return False


@module_fact
def module_builds_training_bn(info: ModuleInfo) -> bool:
    """Some collection-based BN site of the module is not frozen (flag not the constant False)."""
    return any(s.collection_based and s.flag != ("const", False) for ev in info.all_events() for s in ev.sites)


def _step_losses(info: ModuleInfo) -> dict:
    """Names of the losses the module's optimizer steps minimise (``minimize(total_loss)``,
    ``compute_gradients(loss)``, ``tf.gradients(loss, ...)``) and of what is computed from them
    (``losses.append(loss)``, ``total = tf.add_n(losses)``), each with the step call."""
    out: dict = {}
    for ev in info.all_events():
        loss = None
        if ev.method in _LOSS_ARG and info.uses_tf:
            loss = arg(ev.node, *_LOSS_ARG[ev.method])
        elif ev.callee in _GRADIENTS:
            loss = arg(ev.node, "ys", 0)
        if isinstance(loss, cst.Name):
            out.setdefault(loss.value, ev.node)
    if not out:
        return out
    for _ in range(3):  # a few steps forward: tower losses -> list -> mean
        grown = False
        for ev in info.all_events():
            if ev.method == "append" and isinstance(ev.node.func, cst.Attribute) and \
                    isinstance(ev.node.func.value, cst.Name) and ev.node.func.value.value not in out:
                hit = names_in([a.value for a in ev.node.args]) & set(out)
                if hit:
                    out[ev.node.func.value.value] = out[sorted(hit)[0]]
                    grown = True
        for body in info.bodies.values():
            for name, values in body.assigned.items():
                if name in out:
                    continue
                for _, v in values:
                    hit = names_in(v) & set(out)
                    if hit and not isinstance(v, (cst.List, cst.Tuple)):
                        out[name] = out[sorted(hit)[0]]
                        grown = True
                        break
        if not grown:
            break
    return out


def fetches_step_loss(project, info: ModuleInfo, fetches: Optional[cst.BaseExpression]):
    """(name, step call) when a run fetches the loss an optimizer step of this module minimises (or
    a tensor computed from it) and nothing in the project can switch BN out of training mode at run
    time (no boolean placeholder, no Keras learning phase) while some BN trains: the run goes through
    the training graph. None otherwise."""
    if fetches is None:
        return None
    losses = _step_losses(info)
    hit = sorted(names_in(fetches) & set(losses))
    if not hit:
        return None
    if project.any_module(switchable_training_flag) or not project.any_module(module_builds_training_bn):
        return None
    return hit[0], losses[hit[0]]


# --- validation batches switched into the training graph -------------------------------------------

_VALIDATION_SWITCH = re.compile(r"^(is_|use_|do_)?(val|valid|validation|validating|eval|evaluation|evaluating)(_|$)", re.I)
_CONDS = {"tf.cond"}


def _validation_inputs(info: ModuleInfo) -> dict:
    """Names holding data a ``tf.cond`` on a validation switch selects (``data = tf.cond(
    tf.logical_not(self.is_validation), train_batch, valid_batch)``) and what is computed from them
    (``image = tf.cast(data["image"], tf.float32)``): name -> (the cond call, the switch names)."""
    out: dict = {}
    for ev in info.all_events():
        if ev.callee in _CONDS:
            pred = arg(ev.node, "pred", 0)
            switch = {n for n in names_in(pred) if _VALIDATION_SWITCH.match(n)}
            if switch:
                for t in ev.targets:
                    out[t] = (ev.node, switch)
    for _ in range(3 if out else 0):
        for body in info.bodies.values():
            for name, values in body.assigned.items():
                if name not in out:
                    for _, v in values:
                        hit = sorted(names_in(v) & set(out))
                        if hit:
                            out[name] = out[hit[0]]
                            break
    return out


def _in_true_branch(info: ModuleInfo, ev, flag: cst.BaseExpression) -> bool:
    """The call sits in the body of ``if <flag>:`` (``if self.is_training: ... net(x, is_training=
    self.is_training)``): the flag is True there."""
    text = cst.Module([]).code_for_node(flag)
    pos = info.position(ev.node).start
    for cond in ev.conds:
        if cst.Module([]).code_for_node(cond) != text:
            continue
        for node in walk(ev.body.node):
            if isinstance(node, cst.If) and node.test is cond:
                start, end = info.position(node.body).start, info.position(node.body).end
                if (start.line, start.column) <= (pos.line, pos.column) <= (end.line, end.column):
                    return True
    return False


def validation_through_training_bn(project, info: ModuleInfo):
    """Model calls whose input a validation switch selects while their BN flag is True (a literal,
    a ``**dict`` entry, or a Python flag tested by the enclosing ``if``) and does not follow the
    switch: [(call event, cond call, flag text)]. The validation batches run through training-mode BN."""
    if unit_test_module(info):
        return []
    inputs = _validation_inputs(info)
    if not inputs:
        return []
    out = []
    for ev in info.all_events():
        if ev.callee in _CONDS:
            continue
        hit = sorted(names_in([a.value for a in ev.node.args]) & set(inputs))
        if not hit:
            continue
        cond, switch = inputs[hit[0]]
        builds_bn = bool(ev.sites) or (project.target(ev) is None and isinstance(ev.node.func, cst.Attribute))
        if not builds_bn:
            continue
        kws, _ = call_keywords(ev.body, ev.node, ev.order)
        flags = [(b, v) for k, (b, v, _) in kws.items() if is_training_name(k)]
        if not flags:
            continue
        body, value = flags[0]
        if names_in(value) & switch:
            continue  # ``is_training=tf.logical_not(is_validation)``: follows the switch
        if not (isinstance(value, cst.Name) and value.value == "True") and not _in_true_branch(info, ev, value):
            continue
        if not project.any_module(module_builds_training_bn):
            continue
        out.append((ev, cond, cst.Module([]).code_for_node(value)))
    return out
