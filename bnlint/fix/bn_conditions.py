"""When a BN layer is built, relative to the layer that feeds it: always, or under conditions.

``x = conv2d(x, f, k)`` then ``if bnorm: x = batch_normalization(x)`` builds BN only when ``bnorm``
holds; a rewrite of the conv that assumes BN follows (``use_bias=False``) changes the model built
with ``bnorm`` off. ``bn_condition`` lists the ``if`` tests (and ``a if c else b`` conditions)
between the two calls, each with the branch BN sits in, so a fix can say "where BN is built"
(``use_bias=not bnorm``) or stay away when the condition cannot be re-evaluated at the layer.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import libcst as cst

from bnlint.analysis.module_info import Body
from bnlint.source.cstwalk import walk
from bnlint.fix.edits import parents
from bnlint.facts.edits import code
from bnlint.facts.events import event_of

Condition = Tuple[cst.BaseExpression, bool]  # (test, True when BN is in the branch where it holds)

# Nodes a condition may contain and still mean the same when evaluated earlier, at the layer:
# no calls, no walrus, no comprehension (names are checked for rebinding separately).
_PURE = (cst.Name, cst.Attribute, cst.Subscript, cst.SubscriptElement, cst.Index, cst.Integer, cst.Float,
         cst.SimpleString, cst.ConcatenatedString, cst.Comparison, cst.ComparisonTarget, cst.UnaryOperation,
         cst.BooleanOperation, cst.Not, cst.And, cst.Or, cst.Equal, cst.NotEqual, cst.Is, cst.IsNot, cst.In,
         cst.NotIn, cst.LessThan, cst.GreaterThan, cst.LessThanEqual, cst.GreaterThanEqual, cst.Minus,
         cst.LeftParen, cst.RightParen, cst.Dot, cst.LeftSquareBracket, cst.RightSquareBracket,
         cst.MaybeSentinel, cst.BaseParenthesizableWhitespace, cst.Comma)


def bn_condition(info, body: Body, layer_call: cst.Call, bn_call: cst.Call) -> Optional[List[Condition]]:
    """The conditions under which ``bn_call`` runs once ``layer_call`` has run ([] = always);
    None when that cannot be stated as tests re-evaluable at the layer (a loop, ``and``/``or``,
    a test with calls, or names rebound between the two calls)."""
    up = parents(info)
    above_layer = set()
    cur: Optional[cst.CSTNode] = layer_call
    while cur is not None:
        above_layer.add(id(cur))
        cur = up.get(id(cur))
    conds: List[Condition] = []
    child: cst.CSTNode = bn_call
    parent = up.get(id(child))
    while parent is not None:
        if isinstance(parent, (cst.IndentedBlock, cst.Module)):
            # Statements run between the layer and the BN: ``if not use_bn: return x`` guards it.
            earlier = list(parent.body[: _index(parent.body, child)])
            if id(parent) in above_layer:
                start = next(i for i, st in enumerate(earlier + [child]) if id(st) in above_layer)
                earlier = earlier[start + 1:]
            for st in earlier:
                if not _exits(st):
                    continue
                guard = _exit_guard(st)
                if guard is None:
                    return None
                conds.append((guard, False))
        if id(parent) in above_layer:
            break
        if isinstance(parent, cst.If):
            conds.append((parent.test, child is parent.body))
        elif isinstance(parent, cst.IfExp):
            if child is parent.test:
                return None
            conds.append((parent.test, child is parent.body))
        elif isinstance(parent, (cst.For, cst.While, cst.BooleanOperation, cst.Match, cst.Lambda,
                                 cst.FunctionDef, cst.BaseComp)):
            return None
        child, parent = parent, up.get(id(parent))
    if not conds:
        return []
    first, last = event_of(info, layer_call), event_of(info, bn_call)
    if first is None or last is None:
        return None
    for test, _ in conds:
        if any(not isinstance(n, _PURE) for n in walk(test)):
            return None
        for name in {n.value for n in walk(test) if isinstance(n, cst.Name)}:
            orders = [o for o, _ in body.assigned.get(name, [])]
            if any(first.order < o < last.order for o in orders):
                return None  # rebound between the layer and the BN: a different value there
            if orders and name not in body.params and not any(o < first.order for o in orders):
                return None  # not bound yet where the layer is built
    return list(reversed(conds))  # outermost first


def _index(stmts, stmt) -> int:
    return next(i for i, st in enumerate(stmts) if st is stmt)


_EXITS = (cst.Return, cst.Raise, cst.Break, cst.Continue)


def _exits(stmt: cst.CSTNode) -> bool:
    """Whether a statement may leave the block (return/raise/break/continue outside nested defs)."""
    return any(isinstance(n, _EXITS) for n in walk(stmt, prune=lambda n: isinstance(n, (cst.FunctionDef, cst.ClassDef, cst.Lambda))))


def _exit_guard(stmt: cst.CSTNode) -> Optional[cst.BaseExpression]:
    """``if test: ...; return x`` (no else, the only exit at its end): the test that skips the rest."""
    if not isinstance(stmt, cst.If) or stmt.orelse is not None or _exits(stmt.test):
        return None
    body = stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else ()
    if not body or any(_exits(st) for st in body[:-1]):
        return None
    last = body[-1]
    if not isinstance(last, cst.SimpleStatementLine) or not isinstance(last.body[-1], (cst.Return, cst.Raise)):
        return None
    if any(_exits(small) for small in last.body[:-1]):
        return None
    return stmt.test


def _operand(test: cst.BaseExpression) -> str:
    text = code(test)
    atomic = isinstance(test, (cst.Name, cst.Attribute, cst.Subscript)) or (test.lpar and test.rpar)
    return text if atomic else f"({text})"


def condition_text(conds: List[Condition]) -> str:
    """The condition under which BN is built, as Python (``bnorm``, ``not a and b``)."""
    parts = [_operand(t) if positive else f"not {_operand(t)}" for t, positive in conds]
    return " and ".join(parts)


def bias_when_off(conds: List[Condition]) -> str:
    """The ``use_bias`` value that keeps the bias exactly where BN is not built."""
    if not conds:
        return "False"
    if len(conds) == 1:
        test, positive = conds[0]
        if positive:
            return f"not {_operand(test)}"
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return code(test)  # ``if not use_bn: return x``: already a bool
        return f"bool({code(test)})"
    return f"not ({condition_text(conds)})"
