"""Fast read-only traversal of libcst trees.

libcst's visitor protocol rebuilds every node it passes (``_visit_and_replace_children``), which
costs more than the parse itself. Analysis only reads, so we walk the dataclass fields directly,
skipping the whitespace/punctuation fields that never hold code.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterator, List, Optional, Tuple, Type

import libcst as cst

_NO_CODE = {
    "lpar", "rpar", "comma", "leading_lines", "header", "footer", "semicolon", "equal", "colon",
    "dot", "operator", "newline", "lines_after_decorators", "trailing_whitespace", "asynchronous",
    "first_line", "lbracket", "rbracket", "lbrace", "rbrace", "star", "whitespace", "default_newline",
    "default_indent", "encoding", "has_trailing_newline", "indent", "relative",
}
_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _fields(t: type) -> Tuple[str, ...]:
    fs = _FIELDS.get(t)
    if fs is None:
        fs = tuple(
            f for f in getattr(t, "__dataclass_fields__", ())
            if f not in _NO_CODE and not f.startswith("whitespace")
        )
        _FIELDS[t] = fs
    return fs


_IS_NODE: Dict[type, bool] = {}  # isinstance(x, CSTNode) goes through ABC machinery: cached per type


def _is_node(t: type) -> bool:
    known = _IS_NODE.get(t)
    if known is None:
        known = _IS_NODE[t] = issubclass(t, cst.CSTNode)
    return known


def iter_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    for f in _fields(type(node)):
        v = getattr(node, f, None)
        t = type(v)
        if t is list or t is tuple:
            for x in v:
                if _is_node(type(x)):
                    yield x
        elif _is_node(t):
            yield v


def walk(root: cst.CSTNode, prune: Optional[Callable[[cst.CSTNode], bool]] = None) -> Iterator[cst.CSTNode]:
    """Pre-order over ``root`` and its descendants; children of nodes for which ``prune`` is true
    are not visited (the node itself is)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if prune is not None and node is not root and prune(node):
            continue
        children = list(iter_children(node))
        children.reverse()
        stack.extend(children)


def find(root, types, prune=None) -> List[cst.CSTNode]:
    return [n for n in walk(root, prune) if isinstance(n, types)]


class NodeIndex:
    """Every node of a module grouped by type, in source order, from one walk."""

    def __init__(self, module: cst.Module):
        self.by_type: Dict[Type[cst.CSTNode], List[cst.CSTNode]] = {}
        for node in walk(module):
            self.by_type.setdefault(type(node), []).append(node)

    def of(self, *types: type) -> List[cst.CSTNode]:
        if len(types) == 1:
            return list(self.by_type.get(types[0], ()))
        out: List[cst.CSTNode] = []
        for t, nodes in self.by_type.items():
            if issubclass(t, types):
                out.extend(nodes)
        return out
