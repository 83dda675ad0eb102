"""Two different functions that build the same model: ``train()`` and ``evaluate()`` of one script,
both calling ``model(x, is_training)``, run one after the other in ``main()`` in one graph.

``bn_builders`` names the functions a call reaches that create BN layers themselves (the model
under the wrappers); two calls of one body sharing one are two constructions of that model.
``same_branch`` tells whether two calls can both run (not in the two branches of one ``if``).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from bnlint.analysis.module_info import CallEvent
from bnlint.source.cstwalk import walk
from bnlint.rulekit.root_causes import reached_bodies


def bn_builders(project, ev: CallEvent) -> frozenset:
    """Keys of the project functions this call runs that build BN layers directly."""
    out = set()
    for key in reached_bodies(project, ev):
        body = project.bodies.get(key)
        if body is not None and any(e.sites and project.target(e) is None for e in body.events):
            out.add(key)
    return frozenset(out)


def _if_of(root: cst.CSTNode, test) -> Optional[cst.If]:
    for n in walk(root, prune=lambda n: n is not root and isinstance(n, (cst.FunctionDef, cst.ClassDef))):
        if type(n) is cst.If and n.test is test:
            return n
    return None


def same_branch(a: CallEvent, b: CallEvent) -> bool:
    """Both calls may run in one pass: the same ``if`` tests around them, and for each, both in its
    body or both in its ``else``."""
    if len(a.conds) != len(b.conds) or any(x is not y for x, y in zip(a.conds, b.conds)):
        return False
    for test in a.conds:
        node = _if_of(a.body.node, test)
        if node is None:
            return False
        inside = {id(n) for n in walk(node.body)}
        if (id(a.node) in inside) != (id(b.node) in inside):
            return False
    return True
