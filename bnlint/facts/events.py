"""Looking up calls and assignments: the event of a node, a function's body, ``self.x = ...``."""

from __future__ import annotations

import weakref
from typing import Dict, List, Optional, Tuple

import libcst as cst

from bnlint.analysis.module_info import Body, CallEvent, ModuleInfo
from bnlint.source.cstwalk import walk


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
