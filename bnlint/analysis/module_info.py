"""One pass over a module: TF aliases, functions, and every call in execution order with its context.

Rules never walk the tree themselves. They read ``ModuleInfo``: for each body (module level or a
function) an ordered list of ``CallEvent``s, each knowing the ``with`` contexts around it
(variable_scope/reuse, device, control_dependencies, arg_scope), the loops it sits in (tower loops
marked), the ``if`` conditions guarding it, and the names its statement assigns. BN "sites" (places
that create BN moving statistics) are summarised per function by ``bnlint.analysis.project`` so helpers like
``conv(..., with_bn=True) -> bn() -> batch_normalization`` are followed across functions and modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.source.cstwalk import iter_children, walk
from bnlint.core.node_memo import memoised

# Training flags (Flag, DYN) and BN Sites are plain data shared with worker processes.
from bnlint.analysis.summary import DYN, Flag, Site  # noqa: E402,F401


@dataclass(frozen=True)
class Ctx:
    """One ``with`` item in effect."""

    kind: str  # "vscope", "device", "deps", "argscope", "other"
    call: Optional[cst.Call]
    reuse: object = None  # vscope: "auto", ("param", p), False or None
    scope_name: Optional[str] = None  # vscope literal name
    order: int = 0


@dataclass
class Loop:
    node: cst.CSTNode
    tower: bool
    target_names: Tuple[str, ...]


@dataclass
class CallEvent:
    node: cst.Call
    order: int
    body: "Body"
    callee: Optional[str]  # canonical TF name, when it is one
    method: Optional[str]  # attribute name for ``x.method(...)`` calls
    local: Optional[tuple]  # ("func", key) or ("import", module, name)
    ctx: Tuple[Ctx, ...]
    loops: Tuple[Loop, ...]
    guards: frozenset
    conds: Tuple[cst.BaseExpression, ...]
    targets: Tuple[str, ...]
    stmt: cst.CSTNode  # the small statement (or With/For header) holding the call
    line_stmt: cst.CSTNode  # the statement as it appears in its block
    aug: bool = False  # target assigned with +=
    sites: List[Site] = field(default_factory=list)  # BN sites this call creates (after project pass)

    @property
    def tower_loop(self) -> Optional[Loop]:
        for loop in reversed(self.loops):
            if loop.tower:
                return loop
        return None

    def arg_names(self) -> set:
        return names_in(self.node.args)

    def training_collection_sites(self) -> List[Site]:
        return [s for s in self.sites if s.collection_based and s.flag != ("const", False)]


@dataclass
class Body:
    """Module level or one function: its events in execution order."""

    key: str
    name: str
    node: cst.CSTNode
    module: "ModuleInfo"
    params: List[str] = field(default_factory=list)
    defaults: Dict[str, Optional[cst.BaseExpression]] = field(default_factory=dict)
    has_varargs: bool = False
    has_varkw: bool = False
    is_method: bool = False
    class_name: Optional[str] = None
    parent: Optional["Body"] = None
    events: List[CallEvent] = field(default_factory=list)
    assigned: Dict[str, List[Tuple[int, cst.BaseExpression]]] = field(default_factory=dict)
    global_names: set = field(default_factory=set)
    summary: frozenset = frozenset()

    def is_function(self) -> bool:
        return self.parent is not None or self.name != "<module>"

    def binding(self, name: str, before: Optional[int] = None) -> Optional[cst.BaseExpression]:
        """The latest value assigned to ``name`` in this body (before ``order``), else in parents."""
        body: Optional[Body] = self
        while body is not None:
            values = body.assigned.get(name)
            if values:
                chosen = [v for o, v in values if before is None or body is not self or o < before]
                if chosen:
                    return chosen[-1]
            body = body.parent
        return None


_TOWER_WORDS = re.compile(r"gpu|device|tower|clone|replica", re.I)


def names_in(node) -> set:
    """Every bare Name used inside a node (or list of nodes)."""
    found = set()
    for root in node if isinstance(node, (list, tuple)) else ([node] if node is not None else []):
        for n in walk(root):
            if type(n) is cst.Name:
                found.add(n.value)
    return found


def dotted(expr: cst.BaseExpression) -> Optional[str]:
    """``a.b.c`` -> "a.b.c"; None for anything that is not a plain dotted name."""
    parts = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if isinstance(expr, cst.Name):
        parts.append(expr.value)
        return ".".join(reversed(parts))
    return None


def literal_string(expr) -> Optional[str]:
    if isinstance(expr, cst.SimpleString):
        try:
            return expr.evaluated_value if isinstance(expr.evaluated_value, str) else None
        except Exception:  # bytes or odd prefixes
            return None
    if isinstance(expr, cst.ConcatenatedString):
        return None
    return None


def kwarg(call: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a.value
    return None


def positional(call: cst.Call, index: int) -> Optional[cst.BaseExpression]:
    i = 0
    for a in call.args:
        if a.keyword is not None or a.star:
            if a.star == "*":
                return None  # positions after *args are unknowable
            continue
        if i == index:
            return a.value
        i += 1
    return None


def arg(call: cst.Call, name: Optional[str], index: Optional[int]) -> Optional[cst.BaseExpression]:
    value = kwarg(call, name) if name else None
    if value is None and index is not None:
        value = positional(call, index)
    return value


def has_star_kwargs(call: cst.Call) -> bool:
    return any(a.star == "**" for a in call.args)


class ModuleInfo:
    """Everything the rules need to know about one module."""

    def __init__(self, module: cst.Module, path: str, modname: str, python2: bool = False):
        self.module = module
        self.path = path
        self.modname = modname
        self.python2 = python2
        self.aliases: Dict[str, str] = {}
        self.local_imports: Dict[str, tuple] = {}  # name -> ("module", mod) | ("symbol", mod, name)
        self.star_imports: List[str] = []  # ``from layers import *`` of local modules (as written), in order
        self.exports: Optional[List[str]] = None  # ``__all__`` when it is a literal list of names
        self.bodies: Dict[str, Body] = {}
        self.classes: Dict[str, cst.ClassDef] = {}
        self.uses_tf = False
        self.comments_by_line: Optional[Dict[int, str]] = None
        self._positions = None
        self._order = 0
        _collect_imports(self)
        self.top = Body(key=f"{modname}:<module>", name="<module>", node=module, module=self)
        self.bodies[self.top.key] = self.top
        _Walker(self).walk_body(self.top, module.body)

    # -- names ---------------------------------------------------------------------------------
    def resolve(self, expr: cst.BaseExpression) -> Optional[str]:
        """Canonical TF name of an expression such as ``tf.compat.v1.layers.batch_normalization``."""
        name = dotted(expr)
        return None if name is None else resolve_dotted(name, self.aliases, self.local_imports)

    def is_update_ops_key(self, expr: Optional[cst.BaseExpression]) -> bool:
        if expr is None:
            return False
        if literal_string(expr) == "update_ops":
            return True
        resolved = self.resolve(expr)
        return resolved in tfnames.UPDATE_OPS_KEYS or (
            resolved is None and (dotted(expr) or "").endswith("GraphKeys.UPDATE_OPS")
        )

    def collection_key(self, call: cst.Call) -> Optional[cst.BaseExpression]:
        return arg(call, "key", 0)

    # -- positions (computed only when a finding needs them) ----------------------------------
    def position(self, node: cst.CSTNode):
        if self._positions is None:
            from libcst.metadata import MetadataWrapper, PositionProvider

            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        return self._positions[node]

    def code(self) -> str:
        """The module's text (printed from the tree: costly on big modules; see reparse.PieceModuleInfo)."""
        return self.module.code

    def line_comments(self) -> Dict[int, str]:
        if self.comments_by_line is None:
            self.comments_by_line = {}
            for lineno, line in enumerate(self.code().splitlines(), 1):
                if "#" in line:
                    self.comments_by_line[lineno] = line[line.index("#"):]
        return self.comments_by_line

    def functions(self) -> Iterator[Body]:
        return (b for b in self.bodies.values() if b is not self.top)

    def all_events(self) -> Iterator[CallEvent]:
        for body in self.bodies.values():
            yield from body.events


# --- imports and aliases ---------------------------------------------------------------------------

_TF_ROOTS = ("tensorflow", "tf_slim", "tf_keras", "keras")


def _module_dotted(node) -> Optional[str]:
    if node is None:
        return None
    if isinstance(node, cst.Name):
        return node.value
    return dotted(node)


def resolve_dotted(name: str, aliases: Dict[str, str], local_imports: Dict[str, tuple]) -> Optional[str]:
    """Canonical TF name of a dotted name under a module's import aliases (None: not TF)."""
    head, _, rest = name.partition(".")
    base = aliases.get(head)
    if base is None:
        if head in ("tf", "slim") and head not in local_imports:
            base = "tensorflow" if head == "tf" else "tf_slim"
        else:
            return None
    return tfnames.canonical(base + ("." + rest if rest else ""))


def _literal_names(expr: cst.BaseExpression) -> Optional[List[str]]:
    """``["a", "b"]`` / ``("a",)``: the strings; None for anything computed."""
    if not isinstance(expr, (cst.List, cst.Tuple)):
        return None
    names = [literal_string(e.value) for e in expr.elements]
    return None if any(n is None for n in names) else names


def _collect_imports(info: ModuleInfo) -> None:
    class _V:
        def visit_Import(self, node: cst.Import) -> None:
            for alias in node.names:
                full = _module_dotted(alias.name)
                if full is None:
                    continue
                local = alias.asname.name.value if alias.asname else full.split(".")[0]
                root = full.split(".")[0]
                if root in _TF_ROOTS:
                    info.uses_tf = True
                    info.aliases[local] = full if alias.asname else root
                else:
                    info.local_imports[local] = ("module", full if alias.asname else root)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            mod = _module_dotted(node.module) or ""
            dots = len(node.relative)
            if isinstance(node.names, cst.ImportStar):
                if dots or mod.split(".")[0] not in _TF_ROOTS:
                    info.star_imports.append("." * dots + mod)
                return
            root = mod.split(".")[0]
            for alias in node.names:
                name = _module_dotted(alias.name)
                local = alias.asname.name.value if alias.asname else name
                if dots == 0 and root in _TF_ROOTS:
                    info.uses_tf = True
                    info.aliases[local] = f"{mod}.{name}"
                else:
                    info.local_imports[local] = ("symbol", "." * dots + mod, name)

        def visit_Assign(self, node: cst.Assign) -> None:
            # slim = tf.contrib.slim ; tf1 = tf.compat.v1 ; bn = tf.layers.batch_normalization
            if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                local = node.targets[0].target.value
                if local == "__all__":
                    info.exports = _literal_names(node.value)
                    return
                resolved = info.resolve(node.value)
                if resolved is not None and dotted(node.value) is not None:
                    info.aliases[local] = resolved if not resolved.startswith("tf") else "tensorflow" + resolved[2:]

    visitor = _V()
    # Imports and aliases are statements: walk statements only, never into expressions.
    for node in walk(info.module, prune=lambda n: isinstance(n, cst.BaseSmallStatement) or isinstance(n, cst.BaseExpression)):
        t = type(node)
        if t is cst.Import:
            visitor.visit_Import(node)
        elif t is cst.ImportFrom:
            visitor.visit_ImportFrom(node)
        elif t is cst.Assign:
            visitor.visit_Assign(node)


# --- the ordered walk -------------------------------------------------------------------------------


# ``tf.cond(pred, lambda: model(x, True), lambda: model(x, False))``: both branch functions run
# while the graph is built, so their calls are events like any other (other lambdas may run later).
_BRANCH_CALLS = ("cond", "smart_cond", "case")


def _branch_lambdas(call: cst.Call) -> List[cst.Lambda]:
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
    if name not in _BRANCH_CALLS:
        return []
    out = []
    for a in call.args:  # as arguments, or in the (pred, fn) pairs / dict of tf.case
        stop = (cst.Lambda, cst.Call)
        out.extend(n for n in walk(a.value, prune=lambda n: isinstance(n, stop)) if type(n) is cst.Lambda)
    return out


def calls_in(node: Optional[cst.CSTNode]):
    """Calls of an expression in evaluation order (inner calls first); lambdas are not entered,
    except the branch functions of ``tf.cond`` / ``smart_cond`` / ``tf.case``.
    (A sequence to iterate: the language server keeps it from one lint to the next, node_memo.)"""
    if node is None:
        return ()
    return memoised("calls_in", node, _calls_in)


def _calls_in(node: cst.CSTNode) -> Tuple[cst.Call, ...]:
    # Post-order is the reverse of a pre-order that visits children right to left; collected that
    # way without a (node, expanded) stack (this runs on every statement).
    out, stack, call, lam = [], [node], cst.Call, cst.Lambda
    branches: set = set()
    while stack:
        n = stack.pop()
        t = type(n)
        if t is call:
            out.append(n)
            if n.args:
                branches.update(id(b) for b in _branch_lambdas(n))
        elif t is lam and n is not node and id(n) not in branches:
            continue
        stack.extend(iter_children(n))
    out.reverse()
    return tuple(out)


def _target_names(target) -> List[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        out = []
        for el in target.elements:
            out.extend(_target_names(el.value))
        return out
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


class _Walker:
    def __init__(self, info: ModuleInfo):
        self.info = info

    # Bodies -----------------------------------------------------------------------------------
    def walk_body(self, body: Body, stmts: Sequence[cst.CSTNode]) -> None:
        self._walk(body, stmts, (), (), frozenset(), ())

    def _new_function(self, parent: Body, node: cst.FunctionDef, class_name: Optional[str]) -> None:
        name = node.name.value
        qual = f"{class_name}.{name}" if class_name else name
        if parent is not self.info.top:
            qual = f"{parent.name}.<locals>.{qual}"
        key = f"{self.info.modname}:{qual}"
        params = node.params
        names, defaults = [], {}
        for p in list(params.posonly_params) + list(params.params):
            names.append(p.name.value)
            defaults[p.name.value] = p.default
        for p in params.kwonly_params:
            defaults[p.name.value] = p.default
        is_method = class_name is not None and names[:1] in (["self"], ["cls"])
        body = Body(
            key=key,
            name=qual,
            node=node,
            module=self.info,
            params=names,
            defaults=defaults,
            has_varargs=isinstance(params.star_arg, cst.Param),
            has_varkw=params.star_kwarg is not None,
            is_method=is_method,
            class_name=class_name,
            parent=parent if parent is not self.info.top else None,
        )
        self.info.bodies[key] = body
        inner = node.body.body if isinstance(node.body, cst.IndentedBlock) else [node.body]
        self._walk(body, inner, (), (), frozenset(), ())

    def _walk(self, body, stmts, ctx, loops, guards, conds) -> None:
        for stmt in stmts:
            self._stmt(body, stmt, ctx, loops, guards, conds)

    def _block(self, block) -> Sequence[cst.CSTNode]:
        if isinstance(block, cst.IndentedBlock):
            return block.body
        if isinstance(block, cst.SimpleStatementSuite):
            return [block]
        return []

    def _stmt(self, body: Body, stmt, ctx, loops, guards, conds) -> None:
        w = self._walk
        if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in stmt.body:
                self._small(body, small, stmt, ctx, loops, guards, conds)
        elif isinstance(stmt, cst.FunctionDef):
            self._new_function(body, stmt, None)
        elif isinstance(stmt, cst.ClassDef):
            self.info.classes[stmt.name.value] = stmt
            for inner in self._block(stmt.body):
                if isinstance(inner, cst.FunctionDef):
                    self._new_function(body, inner, stmt.name.value)
                else:
                    self._stmt(body, inner, ctx, loops, guards, conds)
        elif isinstance(stmt, cst.If):
            self._events(body, stmt.test, stmt, stmt, ctx, loops, guards, conds, ())
            g = guards
            if isinstance(stmt.test, cst.Name) and (stmt.test.value in body.params or stmt.test.value in body.defaults):
                g = guards | {stmt.test.value}
            w(body, self._block(stmt.body), ctx, loops, g, conds + (stmt.test,))
            orelse = stmt.orelse
            if isinstance(orelse, cst.If):
                self._stmt(body, orelse, ctx, loops, guards, conds + (stmt.test,))
            elif isinstance(orelse, cst.Else):
                w(body, self._block(orelse.body), ctx, loops, guards, conds + (stmt.test,))
        elif isinstance(stmt, cst.For):
            self._events(body, stmt.iter, stmt, stmt, ctx, loops, guards, conds, ())
            loop = Loop(stmt, self._is_tower_loop(stmt), tuple(_target_names(stmt.target)))
            for name in loop.target_names:
                body.assigned.setdefault(name, []).append((self._next(), stmt.iter))
            w(body, self._block(stmt.body), ctx, loops + (loop,), guards, conds)
            if stmt.orelse:
                w(body, self._block(stmt.orelse.body), ctx, loops, guards, conds)
        elif isinstance(stmt, cst.While):
            self._events(body, stmt.test, stmt, stmt, ctx, loops, guards, conds, ())
            loop = Loop(stmt, False, ())
            w(body, self._block(stmt.body), ctx, loops + (loop,), guards, conds)
        elif isinstance(stmt, cst.With):
            new_ctx = ctx
            for item in stmt.items:
                self._events(body, item.item, stmt, stmt, new_ctx, loops, guards, conds, ())
                new_ctx = new_ctx + (self._ctx(body, item.item),)
                if item.asname is not None:
                    for name in _target_names(item.asname.name):
                        body.assigned.setdefault(name, []).append((self._next(), item.item))
            w(body, self._block(stmt.body), new_ctx, loops, guards, conds)
        elif isinstance(stmt, cst.Try) or type(stmt).__name__ == "TryStar":
            w(body, self._block(stmt.body), ctx, loops, guards, conds)
            for h in stmt.handlers:
                w(body, self._block(h.body), ctx, loops, guards, conds)
            if stmt.orelse:
                w(body, self._block(stmt.orelse.body), ctx, loops, guards, conds)
            if stmt.finalbody:
                w(body, self._block(stmt.finalbody.body), ctx, loops, guards, conds)
        elif type(stmt).__name__ == "Match":
            for case in stmt.cases:
                w(body, self._block(case.body), ctx, loops, guards, conds)

    def _small(self, body, small, line_stmt, ctx, loops, guards, conds) -> None:
        targets: List[str] = []
        aug = False
        value = None
        if isinstance(small, cst.Assign):
            for t in small.targets:
                targets.extend(_target_names(t.target))
            value = small.value
        elif isinstance(small, cst.AnnAssign):
            targets = _target_names(small.target)
            value = small.value
        elif isinstance(small, cst.AugAssign):
            targets = _target_names(small.target)
            value = small.value
            aug = True
        elif isinstance(small, cst.Global):
            body.global_names.update(n.name.value for n in small.names)
            return
        self._events(body, small, small, line_stmt, ctx, loops, guards, conds, tuple(targets), aug)
        if value is not None:
            order = self._next()
            for name in targets:
                body.assigned.setdefault(name, []).append((order, value))
        # x.append(...) / x.extend(...) mutate x: remember as an assignment of the argument.
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            f = small.value.func
            if isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name) and f.attr.value in ("append", "extend", "add", "update"):
                if small.value.args:
                    body.assigned.setdefault(f.value.value, []).append((self._next(), small.value.args[0].value))

    def _next(self) -> int:
        self.info._order += 1
        return self.info._order

    def _events(self, body, node, stmt, line_stmt, ctx, loops, guards, conds, targets, aug=False) -> None:
        for call in calls_in(node):
            callee = self.info.resolve(call.func)
            method = call.func.attr.value if isinstance(call.func, cst.Attribute) else None
            local = self._local_ref(body, call.func)
            body.events.append(
                CallEvent(
                    node=call,
                    order=self._next(),
                    body=body,
                    callee=callee,
                    method=method,
                    local=local,
                    ctx=ctx,
                    loops=loops,
                    guards=guards,
                    conds=conds,
                    targets=targets,
                    stmt=stmt,
                    line_stmt=line_stmt,
                    aug=aug,
                )
            )

    def _local_ref(self, body: Body, func: cst.BaseExpression) -> Optional[tuple]:
        """How to find the called function later, once every module is known (see bnlint.analysis.project)."""
        info = self.info
        if isinstance(func, cst.Name):
            return ("name", func.value)
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            base, attr = func.value.value, func.attr.value
            if base in ("self", "cls") and body.class_name:
                return ("func", f"{info.modname}:{body.class_name}.{attr}")
            imp = info.local_imports.get(base)
            if imp and imp[0] == "module":
                return ("import", imp[1], attr)
            if imp and imp[0] == "symbol":  # from pkg import models; models.f()
                return ("import", f"{imp[1]}.{imp[2]}" if imp[1].strip(".") else imp[1] + imp[2], attr)
        return None

    # Contexts -------------------------------------------------------------------------------------
    def _ctx(self, body: Body, item: cst.BaseExpression) -> Ctx:
        order = self.info._order
        if isinstance(item, cst.Name):
            # ``scope = tf.variable_scope(...)`` earlier, possibly in if/else branches: the code
            # picks its scope itself; any branch that reuses means reuse is managed.
            for _, value in body.assigned.get(item.value, []):
                if isinstance(value, cst.Call) and self.info.resolve(value.func) in tfnames.VARIABLE_SCOPE:
                    ctx = self._ctx(body, value)
                    if ctx.reuse:
                        return Ctx("vscope", value, reuse="auto", order=order)
            return Ctx("other", None, order=order)
        if not isinstance(item, cst.Call):
            return Ctx("other", None, order=order)
        if isinstance(item.func, cst.Attribute) and item.func.attr.value == "as_default":
            return Ctx("graph", item, order=order)  # a fresh tf.Graph: its variables are its own
        name = self.info.resolve(item.func)
        if name in tfnames.VARIABLE_SCOPE:
            reuse_expr = kwarg(item, "reuse")
            if reuse_expr is None:
                reuse_expr = positional(item, 2)
            return Ctx("vscope", item, reuse=self._reuse_value(body, reuse_expr),
                       scope_name=literal_string(arg(item, "name_or_scope", 0)), order=order)
        if name in tfnames.DEVICE:
            return Ctx("device", item, order=order)
        if name in tfnames.CONTROL_DEPS:
            return Ctx("deps", item, order=order)
        if name in tfnames.ARG_SCOPE:
            return Ctx("argscope", item, order=order)
        return Ctx("other", item, order=order)

    def _reuse_value(self, body: Body, expr) -> object:
        if expr is None:
            return None
        if self.info.resolve(expr) in tfnames.AUTO_REUSE:
            return "auto"
        flag = const_flag(body, expr)
        if flag[0] == "const":
            return "auto" if flag[1] else False
        if flag[0] == "param":
            return flag
        return "auto"  # reuse=(i > 0), reuse=some_flag: the code manages reuse itself

    def _is_tower_loop(self, loop: cst.For) -> bool:
        # Identifiers only: `for mode in ("tower0", "eval")` is not a tower loop.
        if any(_TOWER_WORDS.search(n) for n in names_in(loop.iter)) or any(
            _TOWER_WORDS.search(n.attr.value) for n in walk(loop.iter) if type(n) is cst.Attribute
        ):
            return True
        info = self.info
        for node in walk(loop.body, prune=lambda n: isinstance(n, (cst.FunctionDef, cst.ClassDef))):
            if type(node) is cst.WithItem and isinstance(node.item, cst.Call) and info.resolve(node.item.func) in tfnames.DEVICE:
                return True
        return False


def const_flag(body: Body, expr: Optional[cst.BaseExpression]) -> Flag:
    """Classify a training-flag expression inside ``body``."""
    if expr is None:
        return ("const", False)
    if isinstance(expr, cst.Name):
        if expr.value in ("True", "False", "None"):
            return ("const", expr.value == "True")
        if expr.value in body.params or expr.value in body.defaults:
            return ("param", expr.value)
        value = body.binding(expr.value)
        values = body.assigned.get(expr.value, [])
        if value is not None and len(values) <= 1 and isinstance(value, cst.Name) and value.value in ("True", "False"):
            return ("const", value.value == "True")
        return DYN
    if isinstance(expr, cst.Integer):
        return ("const", expr.value not in ("0",))
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        inner = const_flag(body, expr.expression)
        return ("const", not inner[1]) if inner[0] == "const" else DYN
    return DYN


def iter_bodies(infos: Iterable[ModuleInfo]) -> Iterator[Body]:
    for info in infos:
        yield from info.bodies.values()
