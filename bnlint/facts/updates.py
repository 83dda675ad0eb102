"""Shared facts about BN update ops, optimizer steps and variable reuse, used by several rules."""

from __future__ import annotations

import re
from typing import List, Optional

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.source.cstwalk import iter_children
from bnlint.analysis.module_info import Body, CallEvent, ModuleInfo, calls_in, dotted, names_in
from bnlint.analysis.project import Project

YES, WRONG, NO = "yes", "wrong", "no"
_UPDATE_WORD = re.compile(r"update", re.I)


def is_update_collection_call(info: ModuleInfo, call: cst.Call) -> bool:
    return info.resolve(call.func) in tfnames.GET_COLLECTION and info.is_update_ops_key(info.collection_key(call))


def collection_key_text(info: ModuleInfo, call: cst.Call) -> str:
    key = info.collection_key(call)
    return cst.Module([]).code_for_node(key) if key is not None else "?"


def classify_updates(body: Body, expr: Optional[cst.BaseExpression], order: Optional[int] = None, depth: int = 0) -> str:
    """Does this expression hold the BN update ops? YES / WRONG (another collection) / NO."""
    if expr is None or depth > 6:
        return NO
    info = body.module
    verdicts = []
    for call in calls_in(expr):
        if info.resolve(call.func) in tfnames.GET_COLLECTION:
            verdicts.append(YES if info.is_update_ops_key(info.collection_key(call)) else WRONG)
    if YES in verdicts:
        return YES
    for node in _leaf_refs(expr):
        if isinstance(node, cst.Attribute) and node.attr.value == "updates":
            return YES  # Keras layer.updates / model.updates
        if isinstance(node, cst.Name):
            bound = body.binding(node.value, order)
            if bound is not None and bound is not expr:
                v = classify_updates(body, bound, None, depth + 1)
                if v != NO:
                    verdicts.append(v)
                    continue
            if _UPDATE_WORD.search(node.value):
                verdicts.append(YES)  # update_ops passed in as a parameter or global
    if YES in verdicts:
        return YES
    return WRONG if WRONG in verdicts else NO


def _leaf_refs(expr: cst.BaseExpression) -> List[cst.BaseExpression]:
    """Names and outermost attributes an expression reads (call arguments and receivers included)."""
    out: List[cst.BaseExpression] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Attribute):
            out.append(node)
        elif isinstance(node, cst.Name):
            out.append(node)
        elif isinstance(node, cst.Call):
            stack.extend(a.value for a in node.args)
            if isinstance(node.func, cst.Attribute):
                stack.append(node.func.value)
        else:
            stack.extend(iter_children(node))
    return out


def is_step(ev: CallEvent) -> bool:
    return ev.method in tfnames.STEP_METHODS and ev.body.module.uses_tf


def deps_verdict(ev: CallEvent) -> str:
    """YES if some enclosing ``control_dependencies`` holds the update ops, WRONG if only others."""
    verdict = NO
    for c in ev.ctx:
        if c.kind == "deps" and c.call is not None and c.call.args:
            v = classify_updates(ev.body, c.call.args[0].value, c.order)
            if v == YES:
                return YES
            if v == WRONG:
                verdict = WRONG
    return verdict


def _deps_assigned_names(body: Body) -> set:
    """Names assigned inside a control_dependencies(update ops) block of this body."""
    out = set()
    for ev in body.events:
        if ev.targets and deps_verdict(ev) == YES:
            out.update(ev.targets)
    return out


def covered(ev: CallEvent, project: Project, depth: int = 0) -> str:
    """Whether the update ops run with this optimizer step: YES, WRONG or NO."""
    info = ev.body.module
    v = deps_verdict(ev)
    if v == YES:
        return YES
    # The loss/gradients fed to the step were computed under control_dependencies(update_ops).
    if ev.arg_names() & _deps_assigned_names(ev.body):
        return YES
    if ev.method == "apply_gradients":
        for other in info.all_events():
            if (other.method in tfnames.GRADIENT_METHODS or other.callee in tfnames.GRADIENT_FUNCS) and deps_verdict(other) == YES:
                return YES
    if _module_mechanism(info, ev):
        return YES
    # A helper that builds the step, called under control_dependencies by every caller.
    if depth < 3 and ev.body.is_function():
        callers = project.callers.get(ev.body.key, [])
        if callers and all(covered(c, project, depth + 1) == YES for c in callers):
            return YES
    return v


def _module_mechanism(info: ModuleInfo, step: CallEvent) -> bool:
    """tf.group with the update ops, sess.run fetching them, create_train_op, RunUpdateOps."""
    for ev in info.all_events():
        if ev.callee in tfnames.GROUP or ev.method in ("run", "group"):
            for a in ev.node.args:
                if classify_updates(ev.body, a.value, ev.order) == YES:
                    return True
        if ev.callee in tfnames.CREATE_TRAIN_OP:
            continue
        name = dotted(ev.node.func) or ""
        if name.split(".")[-1] == "RunUpdateOps":
            return True
    return False


def reuse_in_effect(ev: CallEvent) -> bool:
    """Whether variables created by this call are reused rather than created anew."""
    for c in ev.ctx:
        if c.kind == "vscope" and c.reuse not in (None, False):
            return True
    vscopes = tuple(c for c in ev.ctx if c.kind == "vscope")
    tower = ev.tower_loop
    for other in ev.body.events:
        if other.method != "reuse_variables":
            continue
        other_scopes = tuple(c for c in other.ctx if c.kind == "vscope")
        if other_scopes != vscopes[: len(other_scopes)]:
            continue  # reuse_variables() of a scope that was closed before this call
        if other.order < ev.order:
            return True
        if tower is not None and tower in other.loops:
            return True  # takes effect from the loop's second iteration on
    return False


def new_variable_sites(ev: CallEvent):
    """BN sites this call creates whose variables are fresh (not reused/templated)."""
    return [s for s in ev.sites if s.kind in ("functional", "layer_class") and s.reuse is None]


def consumers(info, gather, name):
    """Events that make a step depend on the list bound to ``name`` by ``gather``."""
    out = []
    body = gather.body
    for ev in info.all_events():
        if not (ev.callee in tfnames.CONTROL_DEPS or ev.callee in tfnames.GROUP or ev.method == "run"):
            continue
        if name not in names_in(ev.node.args):
            continue
        if ev.body is body:
            if ev.order > gather.order:
                out.append(ev)
        elif body is info.top and name not in ev.body.assigned:
            out.append(ev)  # a function reading the module-level list
        elif ev.body.parent is body and name not in ev.body.assigned:
            out.append(ev)  # a nested function closing over it
    return out
