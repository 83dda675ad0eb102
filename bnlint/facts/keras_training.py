"""How Keras models are trained: calls inside a ``GradientTape``, the models a step trains, the
``training=`` argument of a model call, ``trainable`` settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import libcst as cst

from bnlint.analysis.module_info import Body, ModuleInfo, dotted, kwarg
from bnlint.source.cstwalk import iter_children, walk
from bnlint.facts.edits import code


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
