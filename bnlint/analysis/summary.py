"""Per-module summaries and the cross-module fixpoint, as plain picklable data (no libcst here).

A worker process that parsed a module reduces it to a ``ModuleSummary``: for every function (and
the module level) the parameters, the training flags of its defaults, and the calls that matter
across functions: calls that create BN layers directly (``direct``) and calls of functions of the
linted tree (``ref``), each with the training flags it passes. ``solve`` runs over the summaries of
the whole tree: it resolves calls to functions of other modules, computes which BN ``Site``s every
function creates (a fixpoint, since helpers call helpers), and who calls whom. ``bnlint.analysis.project``
builds the same summaries in-process, so one code path computes the facts, wherever modules were
parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

# A training-flag value as far as static analysis can tell:
#   ("const", bool)   a literal (None counts as False: no training BN)
#   ("param", name)   whatever the caller passes for this parameter
#   ("dyn",)          anything else (placeholder, FLAGS, expression)
Flag = tuple
DYN: Flag = ("dyn",)

MAX_SITES = 64  # per function: enough to tell "builds BN" apart, bounded for generated code
MAX_ROUNDS = 50

EventId = Tuple[str, int]  # (body key, index of the call in ``Body.events``)


@dataclass(frozen=True)
class Site:
    """A place where BN moving statistics get created, seen from the function that contains it."""

    guards: frozenset  # parameters of the function that must be truthy for this BN to exist
    flag: Flag
    reuse: object  # "auto" (variables reused/managed), ("param", p), or None (fresh variables)
    kind: str  # tfnames.BNCreator.kind or "argscope"
    inplace: bool  # updates_collections=None: updates run inside the forward pass
    named: bool  # the BN layer has a literal name (a second unscoped build raises)
    # where the flag of the BN call comes from: explicit, dict, argscope, partial, default, unknown
    flag_source: str = "explicit"

    @property
    def collection_based(self) -> bool:
        return self.kind in ("functional", "layer_class", "argscope") and not self.inplace

    def order_key(self) -> tuple:
        """A total order, so site lists come out the same in every process (sets do not)."""
        return (self.kind, repr(self.flag), repr(self.reuse), self.inplace, self.named, tuple(sorted(self.guards)),
                self.flag_source)


@dataclass(frozen=True)
class CallSummary:
    """One call as the fixpoint sees it: a direct BN site and/or a reference to a tree function,
    plus what it passes (each argument already classified as a training flag in the caller)."""

    event: EventId
    direct: Optional[Site]
    # ("key", body key) for a function of the same module; ("import", module as written, name)
    # for one that another module may define; None when the call cannot reach the tree.
    ref: Optional[tuple]
    guards: frozenset
    scope_reuse: object  # reuse in effect from enclosing variable_scopes at the call
    positional: Tuple[Flag, ...]  # positional arguments before any ``*args``
    keywords: Tuple[Tuple[str, Flag], ...]
    starred: bool  # ``*args`` or ``**kwargs`` present: omitted parameters are unknowable
    attribute: bool  # ``obj.f(...)``: a method's ``self`` is not among the positional arguments
    # The call's innermost naming variable_scope: literal (True), computed (False), none (None).
    scope_naming: Optional[bool] = None


@dataclass
class BodySummary:
    key: str
    params: Tuple[str, ...]
    defaults: Dict[str, Flag]  # parameter -> flag of its default value (absent: no default)
    is_method: bool
    calls: List[CallSummary] = field(default_factory=list)


@dataclass
class ModuleSummary:
    modname: str
    path: str
    bodies: Dict[str, BodySummary]  # in source order, module level first
    top_functions: Tuple[str, ...] = ()  # names other modules can import
    facts: Dict[str, bool] = field(default_factory=dict)  # per-module facts (see Project.any_module)
    imports: Tuple[str, ...] = ()  # project modules it may import, as written (bnlint.analysis.module_roles)
    roles: Tuple[str, ...] = ()  # what it does with the model: "trains", "evaluates"
    exports: Optional[Tuple[str, ...]] = None  # ``__all__`` (None: every public name)
    star_imports: Tuple[str, ...] = ()  # ``from layers import *`` (modules as written), in order
    # class -> its base classes defined in the same module (methods are inherited from them)
    class_bases: Dict[str, Tuple[str, ...]] = field(default_factory=dict)


# --- finding modules by the name an import uses ---------------------------------------------------------


class ModuleTable:
    """Module lookup by dotted name, relative name, or unambiguous suffix (``models`` finds
    ``pkg.models`` when no other module ends in ``models``)."""

    def __init__(self, modnames: Iterable[str]):
        self.names = list(dict.fromkeys(modnames))
        self._known = set(self.names)
        self._by_suffix: Dict[str, List[str]] = {}
        for name in self.names:
            parts = name.split(".")
            for i in range(len(parts)):
                self._by_suffix.setdefault(".".join(parts[i:]), []).append(name)

    def find(self, name: str, importer: str) -> Optional[str]:
        if name.startswith("."):
            dots = len(name) - len(name.lstrip("."))
            base = importer.split(".")[:-dots] if dots else []
            name = ".".join(base + [name.lstrip(".")]) if name.lstrip(".") else ".".join(base)
        if name in self._known:
            return name
        hits = self._by_suffix.get(name, [])
        return hits[0] if len(hits) == 1 else None


def module_of(key: str) -> str:
    """Module name of a body key ``"pkg.mod:func"``."""
    return key.partition(":")[0]


# --- following a site through a call --------------------------------------------------------------------


def passed_flag(call: CallSummary, callee: BodySummary, param: str) -> Flag:
    """The flag ``call`` passes for ``param`` of ``callee`` (its default when omitted)."""
    for name, flag in call.keywords:
        if name == param:
            return flag
    if param in callee.params:
        index = callee.params.index(param)
        if callee.is_method and call.attribute:
            index -= 1
        if 0 <= index < len(call.positional):
            return call.positional[index]
    if call.starred:
        return DYN
    return callee.defaults.get(param, DYN)


def instantiate(site: Site, call: CallSummary, callee: BodySummary) -> Optional[Site]:
    """``site`` of ``callee`` as created by ``call``; None when the call switches it off."""
    guards = set(call.guards)
    for g in site.guards:
        v = passed_flag(call, callee, g)
        if v[0] == "const" and not v[1]:
            return None
        if v[0] == "param":
            guards.add(v[1])
    flag = site.flag
    if flag[0] == "param":
        flag = passed_flag(call, callee, flag[1])
    reuse = site.reuse
    if isinstance(reuse, tuple) and reuse[0] == "param":
        v = passed_flag(call, callee, reuse[1])
        if v[0] == "const":
            reuse = "auto" if v[1] else None
        elif v[0] == "param":
            reuse = v
        else:
            reuse = "auto"
    if reuse is None:
        reuse = call.scope_reuse
    named = site.named if call.scope_naming is None else call.scope_naming
    return Site(frozenset(guards), flag, reuse, site.kind, site.inplace, named, site.flag_source)


def _sorted_sites(sites: Iterable[Site]) -> List[Site]:
    return sorted(sites, key=Site.order_key)


# --- the whole tree -------------------------------------------------------------------------------------


@dataclass
class Index:
    """Cross-module facts of a tree: call targets, callers, BN sites, per-module facts."""

    modules: Dict[str, str]  # modname -> path, in lint order
    table: ModuleTable
    body_keys: FrozenSet[str]
    targets: Dict[EventId, str]  # calls that reach a function of the tree
    callers: Dict[str, Tuple[EventId, ...]]  # body key -> calls of it, in module/body/call order
    sites: Dict[EventId, Tuple[Site, ...]]  # calls that create BN sites
    summaries: Dict[str, FrozenSet[Site]]  # body key -> sites it creates
    facts: Dict[str, Optional[bool]]  # any-module facts (None: not known from the summaries)
    # modname -> modules importing it (resolved), and the roles of each module
    importers: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    roles: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    _by_module: Optional[Dict[str, Dict[EventId, Tuple[Site, ...]]]] = field(default=None, repr=False)

    def module_sites(self, modname: str) -> Dict[EventId, Tuple[Site, ...]]:
        if self._by_module is None:
            self._by_module = {}
            for e, s in self.sites.items():
                self._by_module.setdefault(module_of(e[0]), {})[e] = s
        return self._by_module.get(modname, {})

    def role_by_import(self, modname: str, role: str) -> Optional[str]:
        """The nearest module that is ``modname`` or imports it (transitively) and has ``role``."""
        seen = {modname}
        todo = [modname]
        while todo:
            nxt = []
            for m in todo:
                if role in self.roles.get(m, ()):
                    return m
                for imp in self.importers.get(m, ()):
                    if imp not in seen:
                        seen.add(imp)
                        nxt.append(imp)
            todo = sorted(nxt)
        return None

    def answer(self, query: tuple):
        """The answer to one question a ``Project`` asks of its index (see ``Project._ask``)."""
        kind = query[0]
        if kind == "target":
            return self.targets.get(query[1]) if query[1] is not None else None
        if kind == "callers":
            return self.callers.get(query[1], ())
        if kind == "find":
            return self.table.find(query[1], query[2])
        if kind == "module":
            return query[1] in self.modules
        if kind == "modules":
            return tuple(self.modules)
        if kind == "body":
            return query[1] in self.body_keys
        if kind == "bodies":
            return self.body_keys
        if kind == "all-callers":
            return frozenset(self.callers)
        if kind == "has-sites":
            return bool(self.module_sites(query[1]))
        if kind == "fact":
            return self.facts.get(query[1])
        if kind == "role-by-import":
            return self.role_by_import(query[1], query[2])
        if kind == "importers":
            return self.importers.get(query[1], ())
        raise ValueError(f"unknown question {query!r}")


def answers_hold(log: Sequence[tuple], index: Index) -> bool:
    """Would a project over ``index`` have answered every logged (question, answer) the same way?"""
    return all(index.answer(q) == a for q, a in log)


def resolve(ref: Optional[tuple], importer: str, table: ModuleTable, body_keys,
            modules: Optional[Dict[str, "ModuleSummary"]] = None) -> Optional[str]:
    if ref is None:
        return None
    if ref[0] == "key":
        return ref[1] if ref[1] in body_keys else None
    if ref[0] == "star":
        return star_target(ref[1], ref[2], importer, table, body_keys, modules or {})
    mod = table.find(ref[1], importer)
    if mod is None:
        return None
    key = f"{mod}:{ref[2]}"
    if key not in body_keys and f"{key}.__init__" in body_keys:
        key = f"{key}.__init__"  # ``Net(x)`` of a class another module defines runs its __init__
    if key not in body_keys and "." in ref[2] and modules:
        key = inherited(modules.get(mod), ref[2], body_keys) or key
    return key if key in body_keys else None


def inherited(summary: Optional["ModuleSummary"], qual: str, body_keys, depth: int = 0) -> Optional[str]:
    """Body key of ``Class.method`` found on a base class of the same module, if any."""
    if summary is None or depth > 4:
        return None
    cls, _, method = qual.partition(".")
    for base in summary.class_bases.get(cls, ()):
        key = f"{summary.modname}:{base}.{method}"
        if key in body_keys:
            return key
        found = inherited(summary, f"{base}.{method}", body_keys, depth + 1)
        if found is not None:
            return found
    return None


def exported(names: Optional[Sequence[str]], name: str) -> bool:
    """Whether ``from module import *`` binds ``name``: listed in ``__all__``, or public without it."""
    return name in names if names is not None else not name.startswith("_")


def star_target(stars: Sequence[str], name: str, importer: str, table: ModuleTable, body_keys,
                modules: Dict[str, "ModuleSummary"], depth: int = 0) -> Optional[str]:
    """The function ``name`` bound by ``from m import *`` lines (the last one that exports it wins,
    as in Python), following star imports of those modules in turn."""
    for star in reversed(stars):
        mod = table.find(star, importer)
        summary = modules.get(mod) if mod is not None else None
        if summary is None or not exported(summary.exports, name):
            continue
        key = f"{mod}:{name}"
        if key in body_keys:
            return key
        if depth < 4 and summary.star_imports:
            found = star_target(summary.star_imports, name, mod, table, body_keys, modules, depth + 1)
            if found is not None:
                return found
    return None


def solve(modules: Sequence[ModuleSummary], facts: Optional[Dict[str, Optional[bool]]] = None) -> Index:
    """Resolve every call, then BN sites per function to a fixpoint (least solution, deterministic)."""
    table = ModuleTable(m.modname for m in modules)
    bodies: Dict[str, BodySummary] = {}
    for m in modules:
        bodies.update(m.bodies)
    keys = frozenset(bodies)
    by_name = {m.modname: m for m in modules}
    targets: Dict[EventId, str] = {}
    callers: Dict[str, List[EventId]] = {}
    for m in modules:
        for body in m.bodies.values():
            for call in body.calls:
                tgt = resolve(call.ref, m.modname, table, keys, by_name)
                if tgt is not None:
                    targets[call.event] = tgt
                    callers.setdefault(tgt, []).append(call.event)
    summaries: Dict[str, FrozenSet[Site]] = {k: frozenset() for k in bodies}
    sites: Dict[EventId, Tuple[Site, ...]] = {}
    active = [b for b in bodies.values() if b.calls]
    for _ in range(MAX_ROUNDS):
        changed = False
        for body in active:
            found = set()
            for call in body.calls:
                made = _call_sites(call, body, targets.get(call.event), bodies, summaries)
                if made:
                    sites[call.event] = made
                    found.update(made)
                else:
                    sites.pop(call.event, None)
            if len(found) > MAX_SITES:
                found = set(_sorted_sites(found)[:MAX_SITES])
            new = frozenset(found)
            if new != summaries[body.key]:
                summaries[body.key] = new
                changed = True
        if not changed:
            break
    importers: Dict[str, List[str]] = {}
    for m in modules:
        for name in m.imports:
            found = table.find(name, m.modname)
            if found is not None and found != m.modname and m.modname not in importers.get(found, ()):
                importers.setdefault(found, []).append(m.modname)
    return Index(
        importers={k: tuple(v) for k, v in importers.items()},
        roles={m.modname: m.roles for m in modules if m.roles},
        modules={m.modname: m.path for m in modules},
        table=table,
        body_keys=keys,
        targets=targets,
        callers={k: tuple(v) for k, v in callers.items()},
        sites=sites,
        summaries=summaries,
        facts=dict(facts or {}),
    )


def _call_sites(call: CallSummary, body: BodySummary, target: Optional[str], bodies, summaries) -> Tuple[Site, ...]:
    if call.direct is not None:
        return (call.direct,)
    if target is None or target == body.key or not summaries.get(target):
        return ()
    callee = bodies[target]
    out = [instantiate(s, call, callee) for s in _sorted_sites(summaries[target])]
    return tuple(s for s in out if s is not None)


def combine_facts(modules: Sequence[ModuleSummary], local_sites: Dict[str, Dict[EventId, tuple]], index: Index,
                  site_free: Iterable[str] = ()) -> Dict[str, Optional[bool]]:
    """Any-module facts of the tree from the per-module values workers computed with module-local
    BN sites. A fact true somewhere is true; false everywhere is false only if no module's sites
    changed in the cross-module pass (else it is unknown and must be computed with all modules)."""
    names = {n for m in modules for n in m.facts}
    free = set(site_free)  # facts that read no BN sites: false everywhere is false
    changed = any(index.module_sites(m.modname) != local_sites.get(m.modname, {}) for m in modules)
    out: Dict[str, Optional[bool]] = {}
    for name in names:
        if any(m.facts.get(name) for m in modules):
            out[name] = True
        else:
            out[name] = None if changed and name not in free else False
    return out
