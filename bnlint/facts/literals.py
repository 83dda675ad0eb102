"""Literal numbers and constant defaults of flags (momentum, step counts)."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from bnlint.analysis.module_info import Body, ModuleInfo, arg, kwarg, literal_string


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
