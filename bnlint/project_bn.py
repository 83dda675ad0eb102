"""Project-wide BN facts that do not depend on resolving every call: which modules a module
imports, whether the project's BN ever runs in inference mode, whether anything in the project
runs the UPDATE_OPS collection.

Real trainers often reach their model through calls bnlint cannot resolve (``model = Net(args)``,
``network_fn = nets_factory.get_network_fn(...)``); the step's module then shows no BN of its own.
These facts let a rule still decide from the import graph and from the project as a whole, where
the evidence is unambiguous (a wrong collection around the step; BN that is training-mode
everywhere while nothing in the project reads UPDATE_OPS).
"""

from __future__ import annotations

import weakref
from typing import Callable, Dict, List

import libcst as cst

from bnlint import tfnames
from bnlint.analysis import CallEvent, ModuleInfo, kwarg
from bnlint.cstwalk import walk
from bnlint.project import Project, module_fact

MAX_IMPORT_DEPTH = 4


def imported_modules(project: Project, info: ModuleInfo, depth: int = MAX_IMPORT_DEPTH) -> List[ModuleInfo]:
    """Modules of the linted tree that ``info`` imports, directly or through other modules."""
    seen = {info.modname}
    out: List[ModuleInfo] = []
    todo = [info]
    for _ in range(depth):
        nxt = []
        for mod in todo:
            for imp in mod.local_imports.values():
                names = [imp[1]] if imp[0] == "module" else [f"{imp[1]}.{imp[2]}" if imp[1].strip(".") else imp[1] + imp[2], imp[1]]
                for name in names:
                    found = project.find_module(name, mod) if name.strip(".") or name.startswith(".") else None
                    if found is not None and found.modname not in seen:
                        seen.add(found.modname)
                        out.append(found)
                        nxt.append(found)
                        break
        todo = nxt
    return out


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
    for mod in imported_modules(project, info):
        out.extend(per_module(project, mod, project.module_trains_bn))
    return out


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


# --- does anything run the update ops? ----------------------------------------------------------------

_UPDATE_MECHANISMS = tfnames.CREATE_TRAIN_OP


@module_fact
def module_runs_updates(info: ModuleInfo) -> bool:
    """The module names UPDATE_OPS, makes BN update in place (``updates_collections=None``), reads
    Keras ``.updates`` or uses a helper that runs the updates (``create_train_op``, RunUpdateOps)."""
    for node in walk(info.module):
        if isinstance(node, cst.Attribute) and node.attr.value in ("UPDATE_OPS", "updates", "RunUpdateOps"):
            return True
        if isinstance(node, cst.SimpleString) and "update_ops" in node.value.lower():
            return True
        if isinstance(node, cst.Name) and node.value == "RunUpdateOps":
            return True
    for ev in info.all_events():
        if ev.callee in _UPDATE_MECHANISMS:
            return True
        upd = kwarg(ev.node, "updates_collections")
        if isinstance(upd, cst.Name) and upd.value == "None":
            return True
    return False


def project_runs_updates(project: Project) -> bool:
    return project.any_module(module_runs_updates)


def site_text(ev: CallEvent) -> str:
    """``models.py:12``: where a BN call of another module is, for messages."""
    info = ev.body.module
    return f"{info.path.replace(chr(92), '/').rsplit('/', 1)[-1]}:{info.position(ev.node).start.line}"
