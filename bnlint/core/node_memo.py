"""Answers of pure functions of libcst subtrees, kept from one lint of an edited buffer to the next.

The language server re-parses only the top-level statements an edit touched (``bnlint.analysis.reparse``):
the other statements are the very same node objects as in the last lint. What is a function of
a subtree alone (the calls of an expression, in order) or of a subtree and the module's import
names (how a statement spells the TF root) is then the same too, and is looked up instead of
walking the statement again. Active only while a ``NodeMemo`` is (``with memo.active():``); an
answer not asked for during a lint is dropped after it, so the memo holds the live statements only.
Answers are keyed by node identity; the node is kept with its answer, so an id is never reused
while its entry lives.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Hashable, Optional, Tuple

_active: Optional["NodeMemo"] = None


class NodeMemo:
    def __init__(self) -> None:
        self._last: Dict[Tuple[Hashable, int], Tuple[Any, Any]] = {}  # answers of the previous lint
        self._now: Dict[Tuple[Hashable, int], Tuple[Any, Any]] = {}

    @contextlib.contextmanager
    def active(self):
        global _active
        outer, _active = _active, self
        try:
            yield self
        finally:
            _active = outer
            self._last, self._now = self._now, {}

    def get(self, kind: Hashable, node, compute: Callable[[Any], Any]):
        key = (kind, id(node))
        hit = self._now.get(key)
        if hit is None:
            hit = self._last.pop(key, None)
            if hit is None or hit[0] is not node:
                hit = (node, compute(node))
            self._now[key] = hit
        return hit[1]


def memoised(kind: Hashable, node, compute: Callable[[Any], Any]):
    """``compute(node)``, looked up in the active memo when there is one."""
    memo = _active
    return compute(node) if memo is None else memo.get(kind, node, compute)
