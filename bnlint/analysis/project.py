"""Cross-function and cross-module facts: which calls build BN layers, with which training flag.

Each function gets a summary: the set of BN ``Site``s it creates, expressed in terms of its own
parameters (``conv(..., with_bn=False)`` creates none; ``bn(x, train_flag)`` trains iff the caller's
``train_flag`` is not constant False). Summaries are computed to a fixpoint over every module of the
linted tree, so ``from models import small_cnn`` is followed too.

The fixpoint itself runs on plain-data summaries (``bnlint.analysis.summary``): ``summarize`` reduces a parsed
module to one, ``solve`` turns the summaries of a tree into an ``Index``. A ``Project`` answers the
rules' questions from an index and the parsed modules it holds. Built from modules
(``Project(infos)``) it computes the index itself; built from an index made from summaries of other
processes (``Project(index=..., loader=...)``) it parses a module only when a rule asks about it.
With ``record=True`` it logs every question and answer, so a result computed from one module alone
can later be checked against the whole tree's index (``bnlint.analysis.summary.answers_hold``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Callable, Dict, Iterable, Iterator, List, Optional

import libcst as cst

from bnlint.analysis.module_info import DYN, Body, CallEvent, ModuleInfo, Site, const_flag, positional
from bnlint.analysis.bn_sites import project_call_keywords, scope_naming, scope_reuse, site_of
from bnlint.analysis.instances import bound_call, class_bases, instance_reference
from bnlint.analysis.module_roles import imported_names, module_roles
from bnlint.analysis.summary import BodySummary, CallSummary, EventId, Index, ModuleSummary, module_of, solve

# Facts about a whole project that rules ask as ``project.any_module(predicate)``; registered by name
# so worker processes can compute each module's value where that module is parsed.
MODULE_FACTS: Dict[str, Callable[[ModuleInfo], bool]] = {}


def module_fact(predicate: Callable[[ModuleInfo], bool]) -> Callable[[ModuleInfo], bool]:
    """Register a per-module predicate for ``Project.any_module`` (decorator).

    It must depend on the module alone and be monotone in BN sites: a module whose calls gain
    sites in the cross-module pass may turn it from False to True, never the reverse."""
    MODULE_FACTS[fact_name(predicate)] = predicate
    return predicate


# Facts that do not read BN sites at all (module_fact's monotonicity is then trivial): a tree-wide
# False holds even when the cross-module pass changed some module's sites.
SITE_FREE_FACTS: set = set()


def site_free_fact(predicate: Callable[[ModuleInfo], bool]) -> Callable[[ModuleInfo], bool]:
    """``module_fact`` for a predicate that reads no BN sites (decorator)."""
    SITE_FREE_FACTS.add(fact_name(predicate))
    return module_fact(predicate)


def fact_name(predicate) -> str:
    return f"{predicate.__module__}.{predicate.__qualname__}"


class Project:
    def __init__(
        self,
        modules: Iterable[ModuleInfo] = (),
        *,
        index: Optional[Index] = None,
        loader: Optional[Callable[[str, str], Optional[ModuleInfo]]] = None,
        assume: Optional[Dict[str, bool]] = None,
        record: bool = False,
    ):
        infos = list(modules)
        self.index = index if index is not None else solve([summarize(m) for m in infos])
        self._loader = loader
        self._assume = dict(assume or {})
        self.queries: Optional[list] = [] if record else None
        self.loaded: Dict[str, ModuleInfo] = {}
        self.touched: List[str] = []  # modules parsed on demand, in order
        self._failed: set = set()
        self._event_ids: Dict[int, EventId] = {}
        self._caller_lists: Dict[str, List[CallEvent]] = {}
        self._facts: Dict[str, bool] = {}
        for m in infos:
            self._adopt(m)
        self.modules = _Modules(self)
        self.bodies = _Bodies(self)
        self.callers = _Callers(self)

    # -- modules ---------------------------------------------------------------------------------
    def _adopt(self, info: ModuleInfo) -> None:
        """Take a parsed module in and give its functions and calls the index's BN sites."""
        self.loaded[info.modname] = info
        sites = self.index.sites
        summaries = self.index.summaries
        for key, body in info.bodies.items():
            body.summary = summaries.get(key, frozenset())
            for i, ev in enumerate(body.events):
                self._event_ids[id(ev)] = (key, i)
                ev.sites = list(sites.get((key, i), ()))

    def _module(self, modname: Optional[str]) -> Optional[ModuleInfo]:
        if modname is None:
            return None
        info = self.loaded.get(modname)
        if info is None and self._loader is not None and modname in self.index.modules and modname not in self._failed:
            info = self._loader(modname, self.index.modules[modname])
            if info is None:
                self._failed.add(modname)
                return None
            self._adopt(info)
            self.touched.append(modname)
        return info

    def _body(self, key: Optional[str]) -> Optional[Body]:
        if key is None:
            return None
        info = self._module(module_of(key))
        return info.bodies.get(key) if info is not None else None

    def _event(self, eid: EventId) -> Optional[CallEvent]:
        body = self._body(eid[0])
        return body.events[eid[1]] if body is not None and eid[1] < len(body.events) else None

    def _ask(self, *query):
        """Every question about other modules goes through here (and into the log)."""
        answer = self.index.answer(query)
        if self.queries is not None:
            self.queries.append((query, answer))
        return answer

    # -- call resolution ---------------------------------------------------------------------------
    def find_module(self, name: str, importer: ModuleInfo) -> Optional[ModuleInfo]:
        return self._module(self._ask("find", name, importer.modname))

    def find_bn_module(self, name: str, importer: ModuleInfo) -> Optional[ModuleInfo]:
        """Like ``find_module``, but only a module with BN sites is parsed and returned."""
        modname = self._ask("find", name, importer.modname)
        return self._module(modname) if modname is not None and self._ask("has-sites", modname) else None

    def target(self, ev: CallEvent) -> Optional[Body]:
        """The function of the linted tree that this call runs, if any."""
        return self._body(self._ask("target", self._event_ids.get(id(ev))))

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

    def role_by_import(self, info: ModuleInfo, role: str) -> Optional[str]:
        """The module that trains/evaluates (``bnlint.analysis.module_roles``) the model ``info`` helps
        build: ``info`` itself or the nearest module importing it, transitively; None if none."""
        return self._ask("role-by-import", info.modname, role)

    def importers(self, info: ModuleInfo) -> List[ModuleInfo]:
        """The modules of the tree that import ``info`` directly."""
        found = (self._module(m) for m in self._ask("importers", info.modname))
        return [m for m in found if m is not None]

    def module_trains_bn(self, info: ModuleInfo) -> List[CallEvent]:
        return [ev for ev in info.all_events() if self.concrete_training_sites(ev)]

    def any_module(self, predicate: Callable[[ModuleInfo], bool]) -> bool:
        """``any(predicate(m) for m in project.modules.values())``, computed once per project.

        ``predicate`` must be registered with ``module_fact``; a project built from summaries of other
        processes answers from their per-module values instead of parsing every module."""
        name = fact_name(predicate)
        if name in self._assume:
            if self.queries is not None:
                self.queries.append((("fact", name), self._assume[name]))
            return self._assume[name]
        known = self._ask("fact", name)
        if known is not None:
            return known
        if name not in self._facts:
            self._facts[name] = any(predicate(m) for m in self.modules.values())
        return self._facts[name]


class _Modules(Mapping):
    """``project.modules``: modname -> ModuleInfo, in lint order; parsed on first access."""

    def __init__(self, project: Project):
        self._p = project

    def __getitem__(self, name: str) -> ModuleInfo:
        info = self._p._module(name) if self._p._ask("module", name) else None
        if info is None:
            raise KeyError(name)
        return info

    def __iter__(self) -> Iterator[str]:
        return iter(self._p._ask("modules"))

    def __len__(self) -> int:
        return len(self._p._ask("modules"))


class _Bodies(Mapping):
    """``project.bodies``: body key -> Body of every module."""

    def __init__(self, project: Project):
        self._p = project

    def __getitem__(self, key: str) -> Body:
        body = self._p._body(key) if self._p._ask("body", key) else None
        if body is None:
            raise KeyError(key)
        return body

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._p._ask("bodies")))

    def __len__(self) -> int:
        return len(self._p._ask("bodies"))


class _Callers(Mapping):
    """``project.callers``: body key -> the calls of that function anywhere in the tree."""

    def __init__(self, project: Project):
        self._p = project

    def __getitem__(self, key: str) -> List[CallEvent]:
        p = self._p
        eids = p._ask("callers", key)
        if not eids:
            raise KeyError(key)
        if key not in p._caller_lists:
            events = [p._event(e) for e in eids]
            p._caller_lists[key] = [e for e in events if e is not None]
        return p._caller_lists[key]

    def __iter__(self) -> Iterator[str]:
        self._p._ask("all-callers")
        return iter(list(self._p.index.callers))

    def __len__(self) -> int:
        return len(self._p._ask("all-callers"))


# --- summaries of one module -------------------------------------------------------------------------------


def summarize(info: ModuleInfo) -> ModuleSummary:
    """The module as the cross-module fixpoint needs it (see ``bnlint.analysis.summary``)."""
    bodies: Dict[str, BodySummary] = {}
    for key, body in info.bodies.items():
        calls = []
        for i, ev in enumerate(body.events):
            direct = site_of(ev)
            ref = _reference(ev)
            if ref is None:
                ref = instance_reference(ev)  # net = Net(); net(x) / model.build(x) / Model(x)
            if direct is None and ref is None:
                continue
            calls.append(_call_summary(ev, (key, i), direct, ref))
        defaults = {p: const_flag(body, d) for p, d in body.defaults.items() if d is not None}
        bodies[key] = BodySummary(key, tuple(body.params), defaults, body.is_method, calls)
    top = tuple(
        b.name for b in info.functions() if b.parent is None and b.class_name is None and "." not in b.name
    )
    exports = tuple(info.exports) if info.exports is not None else None
    return ModuleSummary(info.modname, info.path, bodies, top, exports=exports, star_imports=tuple(info.star_imports),
                         imports=imported_names(info), roles=module_roles(info), class_bases=class_bases(info))


def _call_summary(ev: CallEvent, eid: EventId, direct: Optional[Site], ref: Optional[tuple]) -> CallSummary:
    """Each argument classified as a flag in the caller, the way ``call_arg`` finds arguments."""
    body = ev.body
    pos: List[tuple] = []
    after_star = False
    for a in ev.node.args:
        if a.star == "*":
            after_star = True  # positions after *args are unknowable
        elif a.keyword is None and not a.star and not after_star:
            pos.append(const_flag(body, a.value))
    # Own keywords, readable **dicts and those of arg_scopes listing the function (add_arg_scope).
    given, complete = project_call_keywords(ev)
    kws = {k: const_flag(b, v) for k, (b, v, _) in given.items()}
    return CallSummary(
        event=eid,
        direct=direct,
        ref=ref,
        guards=ev.guards,
        scope_reuse=scope_reuse(ev),
        scope_naming=scope_naming(ev),
        positional=tuple(pos),
        keywords=tuple(kws.items()),
        starred=after_star or not complete,
        attribute=bound_call(ev),
    )


def _reference(ev: CallEvent) -> Optional[tuple]:
    """Where the called function may live: this module (resolved now) or an imported one."""
    ref = ev.local
    if ref is None:
        return None
    info = ev.body.module
    if ref[0] == "func":
        return ("key", ref[1]) if ref[1] in info.bodies else None
    if ref[0] == "name":
        name = ref[1]
        body: Optional[Body] = ev.body
        while body is not None and body is not info.top:
            key = f"{info.modname}:{body.name}.<locals>.{name}"
            if key in info.bodies:
                return ("key", key)
            body = body.parent
        key = f"{info.modname}:{name}"
        if key in info.bodies:
            return ("key", key)
        imp = info.local_imports.get(name)
        if imp and imp[0] == "symbol":
            return ("import", imp[1], imp[2])
        if info.star_imports and name not in info.top.assigned:
            return ("star", tuple(info.star_imports), name)  # ``from layers import *``
        return None
    if ref[0] == "import":
        return ("import", ref[1], ref[2])
    return None


# --- following a site through a call ---------------------------------------------------------------------


def call_arg(ev: CallEvent, callee: Body, param: str) -> Optional[cst.BaseExpression]:
    """The expression passed for ``param`` at this call (by keyword, in a ``**dict`` or by an
    arg_scope listing the callee), or the callee's default; None if unknown."""
    given, complete = project_call_keywords(ev)
    if param in given:
        return given[param][1]
    if param in callee.params:
        index = callee.params.index(param)
        if callee.is_method and bound_call(ev):
            index -= 1
        if index >= 0:
            value = positional(ev.node, index)
            if value is not None:
                return value
    if not complete or any(a.star == "*" for a in ev.node.args):
        return None
    return callee.defaults.get(param)  # None: required parameter not passed visibly
