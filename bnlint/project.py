"""Cross-function and cross-module facts: which calls build BN layers, with which training flag.

Each function gets a summary: the set of BN ``Site``s it creates, expressed in terms of its own
parameters (``conv(..., with_bn=False)`` creates none; ``bn(x, train_flag)`` trains iff the caller's
``train_flag`` is not constant False). Summaries are computed to a fixpoint over every module of the
linted tree, so ``from models import small_cnn`` is followed too.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional

import libcst as cst

from bnlint import tfnames
from bnlint.analysis import (
    DYN,
    Body,
    CallEvent,
    Flag,
    ModuleInfo,
    Site,
    arg,
    const_flag,
    has_star_kwargs,
    kwarg,
    literal_string,
    positional,
)

_MAX_SITES = 64


class Project:
    def __init__(self, modules: Iterable[ModuleInfo]):
        self.modules: Dict[str, ModuleInfo] = {}
        for m in modules:
            self.modules[m.modname] = m
        self.bodies: Dict[str, Body] = {}
        for m in self.modules.values():
            self.bodies.update(m.bodies)
        self.callers: Dict[str, List[CallEvent]] = {}
        self._targets: Dict[int, Optional[Body]] = {}
        self._by_suffix: Dict[str, List[str]] = {}
        for name in self.modules:
            parts = name.split(".")
            for i in range(len(parts)):
                self._by_suffix.setdefault(".".join(parts[i:]), []).append(name)
        self._resolve_calls()
        self._fixpoint()

    # -- call resolution ---------------------------------------------------------------------------
    def find_module(self, name: str, importer: ModuleInfo) -> Optional[ModuleInfo]:
        if name.startswith("."):
            dots = len(name) - len(name.lstrip("."))
            base = importer.modname.split(".")[: -dots] if dots else []
            name = ".".join(base + [name.lstrip(".")]) if name.lstrip(".") else ".".join(base)
        if name in self.modules:
            return self.modules[name]
        hits = self._by_suffix.get(name, [])
        return self.modules[hits[0]] if len(hits) == 1 else None

    def target(self, ev: CallEvent) -> Optional[Body]:
        """The function of the linted tree that this call runs, if any."""
        key = id(ev)
        if key not in self._targets:
            self._targets[key] = self._lookup(ev)
        return self._targets[key]

    def _lookup(self, ev: CallEvent) -> Optional[Body]:
        ref = ev.local
        if ref is None:
            return None
        info = ev.body.module
        if ref[0] == "func":
            return self.bodies.get(ref[1])
        if ref[0] == "name":
            name = ref[1]
            body: Optional[Body] = ev.body
            while body is not None and body is not info.top:
                hit = self.bodies.get(f"{info.modname}:{body.name}.<locals>.{name}")
                if hit:
                    return hit
                body = body.parent
            hit = self.bodies.get(f"{info.modname}:{name}")
            if hit:
                return hit
            imp = info.local_imports.get(name)
            if imp and imp[0] == "symbol":
                mod = self.find_module(imp[1], info)
                if mod is not None:
                    return self.bodies.get(f"{mod.modname}:{imp[2]}")
            return None
        if ref[0] == "import":
            mod = self.find_module(ref[1], info)
            if mod is not None:
                return self.bodies.get(f"{mod.modname}:{ref[2]}")
        return None

    def _resolve_calls(self) -> None:
        for body in self.bodies.values():
            for ev in body.events:
                tgt = self.target(ev)
                if tgt is not None:
                    self.callers.setdefault(tgt.key, []).append(ev)

    # -- summaries ---------------------------------------------------------------------------------
    def _fixpoint(self) -> None:
        changed = True
        rounds = 0
        while changed and rounds < 50:
            changed = False
            rounds += 1
            for body in self.bodies.values():
                sites = set()
                for ev in body.events:
                    ev.sites = self._event_sites(ev)
                    sites.update(ev.sites)
                    if len(sites) > _MAX_SITES:
                        break
                new = frozenset(list(sites)[:_MAX_SITES]) if len(sites) > _MAX_SITES else frozenset(sites)
                if new != body.summary:
                    body.summary = new
                    changed = True

    def _event_sites(self, ev: CallEvent) -> List[Site]:
        direct = direct_site(ev)
        if direct is not None:
            return [direct]
        tgt = self.target(ev)
        if tgt is None or not tgt.summary or tgt is ev.body:
            return []
        out = []
        for s in tgt.summary:
            inst = instantiate(s, ev, tgt)
            if inst is not None:
                out.append(inst)
        return out

    # -- questions the rules ask -------------------------------------------------------------------
    def is_called(self, body: Body) -> bool:
        return bool(self.callers.get(body.key))

    def concrete_training_sites(self, ev: CallEvent) -> List[Site]:
        """Collection-based BN sites of this call that really train (flag not constant False).

        A flag that is still a parameter of the enclosing function is decided by its callers; when
        nobody in the tree calls that function, its default decides.
        """
        out = []
        for s in ev.training_collection_sites():
            if s.flag[0] == "param":
                body = ev.body
                if self.is_called(body):
                    continue
                default = const_flag(body, body.defaults.get(s.flag[1])) if body.defaults.get(s.flag[1]) is not None else DYN
                if default == ("const", False):
                    continue
            out.append(s)
        return out

    def module_trains_bn(self, info: ModuleInfo) -> List[CallEvent]:
        return [ev for ev in info.all_events() if self.concrete_training_sites(ev)]


# --- BN sites created directly by a TF call ------------------------------------------------------------


def _normalizer_flag(body: Body, params_expr, order: int):
    """Flag and in-place-ness from a normalizer_params / batch_norm_params dict."""
    if params_expr is None:
        return ("const", True), False  # slim batch_norm default is_training=True
    expr = params_expr
    if isinstance(expr, cst.Name):
        bound = body.binding(expr.value)
        if bound is None:
            return (("param", expr.value) if expr.value in body.params else DYN), False
        expr = bound
    entries = {}
    if isinstance(expr, cst.Dict):
        for el in expr.elements:
            if isinstance(el, cst.DictElement):
                key = literal_string(el.key)
                if key:
                    entries[key] = el.value
    elif isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "dict":
        for a in expr.args:
            if a.keyword is not None:
                entries[a.keyword.value] = a.value
    else:
        return DYN, False
    flag = const_flag(body, entries["is_training"]) if "is_training" in entries else ("const", True)
    upd = entries.get("updates_collections")
    inplace = isinstance(upd, cst.Name) and upd.value == "None"
    return flag, inplace


def _scope_reuse(ev: CallEvent) -> object:
    reuse = None
    for c in ev.ctx:
        if c.kind == "vscope" and c.reuse:
            if c.reuse == "auto":
                return "auto"
            reuse = c.reuse
    return reuse


def _argscope_flag(ev: CallEvent):
    """``with slim.arg_scope([slim.batch_norm], is_training=X, updates_collections=None)``."""
    info = ev.body.module
    flag, inplace = None, False
    for c in ev.ctx:
        if c.kind != "argscope" or c.call is None or not c.call.args:
            continue
        first = c.call.args[0].value
        listed = []
        if isinstance(first, (cst.List, cst.Tuple)):
            listed = [info.resolve(e.value) for e in first.elements]
        if not any(name in tfnames.BN_CREATORS for name in listed):
            continue
        v = kwarg(c.call, "is_training")
        if v is not None:
            flag = const_flag(ev.body, v)
        upd = kwarg(c.call, "updates_collections")
        if isinstance(upd, cst.Name) and upd.value == "None":
            inplace = True
    return flag, inplace


def direct_site(ev: CallEvent) -> Optional[Site]:
    info = ev.body.module
    body = ev.body
    name = ev.callee
    if name is None:
        return None
    creator = tfnames.BN_CREATORS.get(name)
    if creator is not None:
        if creator.kind == "keras":
            return Site(ev.guards, DYN, "auto", "keras", False, False)
        if creator.kind == "layer_class":
            return Site(ev.guards, DYN, _scope_reuse(ev), "layer_class", False, False)
        flag_expr = arg(ev.node, creator.flag, creator.flag_pos)
        scoped_flag, scoped_inplace = _argscope_flag(ev)
        if flag_expr is not None:
            flag = const_flag(body, flag_expr)
        elif scoped_flag is not None:
            flag = scoped_flag
        elif has_star_kwargs(ev.node):
            flag = DYN
        else:
            flag = ("const", creator.default_training)
        upd = arg(ev.node, "updates_collections", creator.updates_pos)
        inplace = scoped_inplace or (isinstance(upd, cst.Name) and upd.value == "None")
        named = literal_string(kwarg(ev.node, "name") or kwarg(ev.node, "scope")) is not None
        reuse_expr = kwarg(ev.node, "reuse")
        reuse = _scope_reuse(ev)
        if reuse_expr is not None:
            r = const_flag(body, reuse_expr)
            if r[0] == "param":
                reuse = r
            elif r != ("const", False):
                reuse = "auto"
        return Site(ev.guards, flag, reuse, "functional", inplace, named)
    if name in tfnames.NORMALIZER_HOSTS or name in tfnames.ARG_SCOPE:
        fn = kwarg(ev.node, "normalizer_fn")
        if fn is None or info.resolve(fn) not in tfnames.BN_CREATORS:
            return None
        flag, inplace = _normalizer_flag(body, kwarg(ev.node, "normalizer_params"), ev.order)
        kind = "argscope" if name in tfnames.ARG_SCOPE else "functional"
        return Site(ev.guards, flag, _scope_reuse(ev), kind, inplace, False)
    return None


# --- following a site through a call ---------------------------------------------------------------------


def call_arg(ev: CallEvent, callee: Body, param: str) -> Optional[cst.BaseExpression]:
    """The expression passed for ``param`` at this call, or the callee's default; None if unknown."""
    value = kwarg(ev.node, param)
    if value is not None:
        return value
    if param in callee.params:
        index = callee.params.index(param)
        if callee.is_method and isinstance(ev.node.func, cst.Attribute):
            index -= 1
        if index >= 0:
            value = positional(ev.node, index)
            if value is not None:
                return value
    if has_star_kwargs(ev.node) or any(a.star == "*" for a in ev.node.args):
        return None
    return callee.defaults.get(param)  # None: required parameter not passed visibly


def _value(ev: CallEvent, callee: Body, param: str) -> Flag:
    expr = call_arg(ev, callee, param)
    if expr is None:
        return DYN
    is_default = kwarg(ev.node, param) is None and expr is callee.defaults.get(param)
    return const_flag(callee if is_default else ev.body, expr)


def instantiate(site: Site, ev: CallEvent, callee: Body) -> Optional[Site]:
    guards = set(ev.guards)
    for g in site.guards:
        v = _value(ev, callee, g)
        if v[0] == "const" and not v[1]:
            return None
        if v[0] == "param":
            guards.add(v[1])
    flag = site.flag
    if flag[0] == "param":
        flag = _value(ev, callee, flag[1])
    reuse = site.reuse
    if isinstance(reuse, tuple) and reuse[0] == "param":
        v = _value(ev, callee, reuse[1])
        if v[0] == "const":
            reuse = "auto" if v[1] else None
        elif v[0] == "param":
            reuse = v
        else:
            reuse = "auto"
    if reuse is None:
        reuse = _scope_reuse(ev)
    return Site(frozenset(guards), flag, reuse, site.kind, site.inplace, site.named)
