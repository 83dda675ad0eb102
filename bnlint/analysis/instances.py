"""Calls that run a method of one of the project's classes through an instance.

Model code is often a class: ``net = Net(10); logits = net(x, True)`` runs ``Net.__call__``,
``model.build(x)`` runs ``Model.build``, ``Model(images, is_training)`` runs ``Model.__init__``
(which builds the graph), also for classes imported from another module (``from models import Net``,
``models.Net(...)``). ``instance_reference`` tells ``bnlint.analysis.project`` where such a call may lead, as a
reference the cross-module pass resolves like any other (``("key", body key)`` in this module,
``("import", module as written, "Class.method")`` in another). Methods inherited from a base class
of the same module are found too.

The instance is the latest value bound to the name (in the function, its enclosing functions or at
module level) when that value is a call of a class; ``self.net = Net(...)`` in a method and a later
``self.net(x)`` in another method of the same class are followed as well.
"""

from __future__ import annotations

import weakref
from typing import Optional

import libcst as cst

from bnlint.analysis.module_info import Body, CallEvent, ModuleInfo
from bnlint.analysis.bn_sites import lookup

_MAX_BASES = 4


def _class_of(info: ModuleInfo, value: Optional[cst.BaseExpression]) -> Optional[tuple]:
    """(``"local"``, class name) or (``"import"``, module as written, class name) for a value that
    constructs an instance of a project class; None otherwise."""
    if not isinstance(value, cst.Call):
        return None
    func = value.func
    if isinstance(func, cst.Name):
        name = func.value
        if name in info.classes:
            return ("local", name)
        imp = info.local_imports.get(name)
        if imp and imp[0] == "symbol" and name[:1].isupper():
            return ("import", imp[1], imp[2])
        return None
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.attr.value[:1].isupper():
        imp = info.local_imports.get(func.value.value)
        if imp and imp[0] == "module":
            return ("import", imp[1], func.attr.value)
        if imp and imp[0] == "symbol":  # from pkg import models; models.Net(...)
            return ("import", f"{imp[1]}.{imp[2]}" if imp[1].strip(".") else imp[1] + imp[2], func.attr.value)
    return None


def _method_key(info: ModuleInfo, cls: str, method: str, depth: int = 0) -> Optional[str]:
    """Body key of ``cls.method`` in this module, looking through base classes defined here."""
    key = f"{info.modname}:{cls}.{method}"
    if key in info.bodies:
        return key
    node = info.classes.get(cls)
    if node is None or depth >= _MAX_BASES:
        return None
    for base in node.bases:
        if isinstance(base.value, cst.Name) and base.value.value in info.classes:
            found = _method_key(info, base.value.value, method, depth + 1)
            if found is not None:
                return found
    return None


def _reference(info: ModuleInfo, cls: tuple, method: str) -> Optional[tuple]:
    if cls[0] == "local":
        key = _method_key(info, cls[1], method)
        return ("key", key) if key is not None else None
    return ("import", cls[1], f"{cls[2]}.{method}")


def _self_attribute(body: Body, attr: str) -> Optional[cst.BaseExpression]:
    """The value assigned to ``self.<attr>`` in any method of the class of ``body``."""
    info = body.module
    if info.classes.get(body.class_name or "") is None:
        return None
    tables = _SELF_ATTRIBUTES.get(info)
    if tables is None:
        tables = _SELF_ATTRIBUTES[info] = {}
    table = tables.get(body.class_name)
    if table is None:  # one walk of the class's methods, not one per ``self.x(...)`` call
        table = tables[body.class_name] = {}
        for other in info.bodies.values():
            if other.class_name != body.class_name or not other.is_method:
                continue
            for stmt in _assignments(other.node):
                for t in stmt.targets:
                    tgt = t.target
                    if isinstance(tgt, cst.Attribute) and isinstance(tgt.value, cst.Name) and tgt.value.value == "self":
                        table.setdefault(tgt.attr.value, stmt.value)
    return table.get(attr)


_SELF_ATTRIBUTES: "weakref.WeakKeyDictionary[ModuleInfo, dict]" = weakref.WeakKeyDictionary()


def _assignments(node: cst.CSTNode):
    from bnlint.source.cstwalk import walk

    nested = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
    return [n for n in walk(node, prune=lambda n: n is not node and isinstance(n, nested)) if type(n) is cst.Assign]


def _instance(body: Body, expr: cst.BaseExpression, order: int) -> Optional[cst.BaseExpression]:
    """The value that made the object ``expr`` names (``net``, ``self.net``)."""
    if isinstance(expr, cst.Name):
        if expr.value in ("self", "cls"):
            return None
        found = lookup(body, expr.value, order)
        return found[1] if found is not None else None
    if (isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self"
            and body.is_method):
        return _self_attribute(body, expr.attr.value)
    return None


def instance_reference(ev: CallEvent) -> Optional[tuple]:
    """Where a call through an instance (or a constructor call) of a project class leads."""
    info = ev.body.module
    func = ev.node.func
    cls = _class_of(info, ev.node)
    if cls is not None:
        return _reference(info, cls, "__init__")
    if isinstance(func, cst.Attribute):
        target, method = func.value, func.attr.value
    else:
        target, method = func, "__call__"
    if isinstance(target, cst.Attribute) and method != "__call__" and not (
            isinstance(target.value, cst.Name) and target.value.value == "self"):
        return None
    cls = _class_of(info, _instance(ev.body, target, ev.order))
    if cls is None:
        return None
    return _reference(info, cls, method)


def bound_call(ev: CallEvent) -> bool:
    """The call passes ``self`` implicitly (``obj.m(x)``, ``net(x)``, ``Net(x)``)."""
    return isinstance(ev.node.func, cst.Attribute) or instance_reference(ev) is not None



def class_bases(info: ModuleInfo) -> dict:
    """Class -> its base classes defined in this module (for ``bnlint.analysis.summary.inherited``)."""
    out = {}
    for name, node in info.classes.items():
        bases = tuple(b.value.value for b in node.bases if isinstance(b.value, cst.Name) and b.value.value in info.classes)
        if bases:
            out[name] = bases
    return out
