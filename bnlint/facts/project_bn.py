"""Project-wide BN facts that do not depend on resolving every call: which modules a module
imports, whether the project's BN ever runs in inference mode, whether anything in the project
runs the UPDATE_OPS collection.

Real trainers often reach their model through calls bnlint cannot resolve (``model = Net(args)``,
``network_fn = nets_factory.get_network_fn(...)``); the step's module then shows no BN of its own.
These facts let a rule still decide from the import graph and from the project as a whole, where
the evidence is unambiguous (a wrong collection around the step; training BN while nothing in
the whole project reads UPDATE_OPS or updates BN in place).
"""

from __future__ import annotations

import weakref
from typing import Callable, Dict, List, Tuple

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import CallEvent, ModuleInfo, dotted, literal_string
from bnlint.facts.keras_models import module_index
from bnlint.analysis.project import Project, module_fact


def imported_modules(project: Project, info: ModuleInfo) -> List[ModuleInfo]:
    """Modules of the linted tree with BN sites that ``info`` imports, directly or through one
    module it imports (``train -> nets_factory -> resnet``). Only those direct imports and modules
    with BN are parsed: this runs for modules with an optimizer step, on trees of any size."""
    return _import_graph(project, info)[1]


def _import_graph(project: Project, info: ModuleInfo) -> Tuple[List[ModuleInfo], List[ModuleInfo]]:
    """(direct imports, imported modules with BN sites) of ``info``."""
    seen = {info.modname}
    out: List[ModuleInfo] = []
    direct: List[ModuleInfo] = []
    for name in _import_names(info):
        m = project.find_module(name, info)
        if m is not None and m.modname not in seen:
            seen.add(m.modname)
            direct.append(m)
    for m in direct:
        if project.find_bn_module(m.modname, info) is not None:
            out.append(m)
    for m in direct:
        for name in _import_names(m):
            found = project.find_bn_module(name, m)
            if found is not None and found.modname not in seen:
                seen.add(found.modname)
                out.append(found)
    return direct, out


def _import_names(info: ModuleInfo) -> List[str]:
    """Dotted names a module's imports may refer to (``from pkg import mod``: ``pkg.mod``, ``pkg``)."""
    out: List[str] = []
    for imp in info.local_imports.values():
        if imp[0] == "module":
            out.append(imp[1])
        else:
            out.extend([f"{imp[1]}.{imp[2]}" if imp[1].strip(".") else imp[1] + imp[2], imp[1]])
    return list(dict.fromkeys(n for n in out if n.strip(".") or n.startswith(".")))


def unit_test_module(info: ModuleInfo) -> bool:
    """``*_test.py``, ``test_*.py`` or under ``tests/``: tiny graphs, not trainers."""
    parts = info.modname.split(".")
    return parts[-1].startswith("test_") or parts[-1].endswith("_test") or bool(set(parts[:-1]) & {"test", "tests"})


_PER_MODULE: "weakref.WeakKeyDictionary[Project, Dict[tuple, object]]" = weakref.WeakKeyDictionary()


def per_module(project: Project, info: ModuleInfo, fact: Callable[[ModuleInfo], object]):
    """``fact(info)`` computed once per project (a module is asked about by each importer)."""
    memo = _PER_MODULE.setdefault(project, {})
    key = (fact, info.modname)
    if key not in memo:
        memo[key] = fact(info)
    return memo[key]


def imported_training_bn(project: Project, info: ModuleInfo) -> List[CallEvent]:
    """Calls building training, collection-based BN in the modules ``info`` imports."""
    out: List[CallEvent] = []
    direct, modules = _import_graph(project, info)
    for mod in modules:
        out.extend(ev for ev in per_module(project, mod, project.module_trains_bn)
                   if _used(project, ev, [info] + direct + modules))
    return out


def _used(project: Project, ev: CallEvent, modules: List[ModuleInfo]) -> bool:
    """The call's function may run: module level, a method (called through objects, which bnlint
    does not resolve), a function the tree calls, or one named elsewhere (``{"resnet": resnet.net}``,
    ``partial(net, ...)``). An unused helper builds nothing."""
    body = ev.body
    if not body.is_function() or body.class_name is not None or project.is_called(body):
        return True
    name = body.name.split(".")[-1]
    for m in modules:
        index = module_index(m)
        if index.name_counts.get(name, 0) > (1 if m is body.module else 0) or name in index.attributes:
            return True
    return False


# --- is the project's BN ever in inference mode? -----------------------------------------------------

_HARD_WIRED: "weakref.WeakKeyDictionary[Project, bool]" = weakref.WeakKeyDictionary()


def bn_always_training(project: Project) -> bool:
    """Every collection-based BN site of the project trains with the constant True (a literal, or
    slim's default), and there is at least one. A flag still a parameter of a function nobody in
    the tree calls counts as unknown: callers bnlint cannot see (``self.bn(x, train=False)``) may
    pass False."""
    if project not in _HARD_WIRED:
        _HARD_WIRED[project] = _always_training(project)
    return _HARD_WIRED[project]


def _always_training(project: Project) -> bool:
    seen = False
    for info in project.modules.values():
        for ev in info.all_events():
            for s in ev.sites:
                if s.kind == "keras" or not s.collection_based:
                    continue
                if s.flag[0] == "param" and project.is_called(ev.body):
                    continue  # the callers' instantiations carry it
                if s.flag != ("const", True):
                    return False
                seen = True
    return seen


def module_always_training(info, training) -> bool:
    """Every training BN site of the ``training`` calls has the constant flag True and the module
    builds no BN with training=False: this module's graph never runs BN in inference mode."""
    flags = {s.flag for e in training for s in e.training_collection_sites()}
    frozen = any(s.flag == ("const", False) for e in info.all_events() for s in e.sites if s.collection_based)
    return flags == {("const", True)} and not frozen


def bn_never_in_inference_mode(project: Project, info, training) -> bool:
    """The project's BN is hard-wired to training mode, or (when this module trains BN itself) the
    module's own graph is."""
    return bn_always_training(project) or bool(training) and module_always_training(info, training)


# --- does anything run the update ops? ----------------------------------------------------------------

# Helpers that run UPDATE_OPS with the step by default.
_UPDATE_MECHANISMS = tfnames.CREATE_TRAIN_OP | {"tf.contrib.layers.optimize_loss"}


_UPDATE_ATTRS = ("UPDATE_OPS", "updates")


@module_fact
def module_runs_updates(info: ModuleInfo) -> bool:
    """The module reads UPDATE_OPS or Keras ``.updates``, makes BN update in place
    (``updates_collections=None``) or uses a helper that runs the updates (``create_train_op``,
    ``optimize_loss``, RunUpdateOps). From the calls and assignments only: it runs on every module."""
    for ev in info.all_events():
        if ev.callee in _UPDATE_MECHANISMS or (dotted(ev.node.func) or "").endswith("RunUpdateOps"):
            return True
        for a in ev.node.args:
            if isinstance(a.value, cst.Attribute) and a.value.attr.value in _UPDATE_ATTRS:
                return True
            if a.keyword is not None and a.keyword.value == "updates_collections" and \
                    isinstance(a.value, cst.Name) and a.value.value == "None":
                return True
            if literal_string(a.value) == "update_ops":
                return True
    return any(isinstance(v, cst.Attribute) and v.attr.value in _UPDATE_ATTRS
               for body in info.bodies.values() for values in body.assigned.values() for _, v in values)


def project_runs_updates(project: Project) -> bool:
    return project.any_module(module_runs_updates)


def calls_own_function(project: Project, ev: CallEvent) -> bool:
    """The call runs a function of its own module (``main()``): its BN is reported inside it."""
    tgt = project.target(ev)
    return tgt is not None and tgt.module is ev.body.module


def site_text(ev: CallEvent) -> str:
    """``models.py:12``: where a BN call of another module is, for messages."""
    info = ev.body.module
    return f"{info.path.replace(chr(92), '/').rsplit('/', 1)[-1]}:{info.position(ev.node).start.line}"
