"""Where training happens: BN creators, optimizer steps and tapes in a body or module, whether a
body reaches or feeds a training step, graph mode, whether a module or project builds BN.
"""

from __future__ import annotations

import weakref
from typing import Optional

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import Body, CallEvent, ModuleInfo, names_in
from bnlint.analysis.bn_sites import bn_creator_of
from bnlint.analysis.project import module_fact
from bnlint.facts.updates import is_step
from bnlint.facts.keras_models import KERAS_APPS_WITH_BN, in_tape


# --- BN calls -------------------------------------------------------------------------------------


def bn_creator(ev: CallEvent) -> Optional[tfnames.BNCreator]:
    return bn_creator_of(ev)  # direct, or through functools.partial (bnlint.analysis.bn_sites)


# --- reachability ---------------------------------------------------------------------------------


def _has_tape(body: Body) -> bool:
    return any(in_tape(ev) for ev in body.events)


def trains_here(body: Body) -> bool:
    """The body runs an optimizer step or a GradientTape."""
    return any(is_step(ev) for ev in body.events) or _has_tape(body)


_HAS_STEP: "weakref.WeakKeyDictionary[ModuleInfo, bool]" = weakref.WeakKeyDictionary()


def module_has_step(info: ModuleInfo) -> bool:
    if info not in _HAS_STEP:
        _HAS_STEP[info] = any(is_step(ev) for ev in info.all_events())
    return _HAS_STEP[info]


def reaches_training(project, body: Body, depth: int = 5) -> bool:
    """The module of ``body`` (or of a caller, transitively) builds an optimizer step."""
    seen = set()
    todo = [body]
    while todo and depth >= 0:
        nxt = []
        for b in todo:
            if b.key in seen:
                continue
            seen.add(b.key)
            if module_has_step(b.module):
                return True
            nxt.extend(c.body for c in project.callers.get(b.key, []))
        todo = nxt
        depth -= 1
    return False


def feeds_training(project, body: Body, depth: int = 2) -> bool:
    """The result of this function flows into an optimizer step or is computed under a
    GradientTape at some call site (``loss = f(predict(x)); opt.minimize(loss)``): whatever its
    name, it is part of training."""
    for c in project.callers.get(body.key, []):
        if in_tape(c) or _flows_into_step(c):
            return True
        if depth > 0 and c.body.is_function() and c.node is _returned(c) and feeds_training(project, c.body, depth - 1):
            return True
    return False


def _returned(ev: CallEvent):
    stmt = ev.stmt
    return ev.node if isinstance(stmt, cst.Return) and stmt.value is ev.node else None


def _flows_into_step(ev: CallEvent) -> bool:
    if is_step(ev):
        return True
    tainted = set(ev.targets)
    if not tainted:
        return False
    for other in ev.body.events:
        if other.order <= ev.order:
            continue
        used = names_in(other.node.args) | names_in(other.node.func)
        if used & tainted:
            if is_step(other) or other.method in tfnames.GRADIENT_METHODS or other.callee in tfnames.GRADIENT_FUNCS:
                return True
            tainted.update(other.targets)
    return False


_GRAPH_MODE = {"tf.Session", "tf.InteractiveSession", "tf.placeholder", "tf.placeholder_with_default",
               "tf.disable_eager_execution", "tf.disable_v2_behavior", "tf.train.MonitoredTrainingSession",
               "tf.estimator.EstimatorSpec", "tf.estimator.Estimator"}


def graph_mode(info: ModuleInfo) -> bool:
    """The module builds a TF1 graph (Session, placeholders, Estimator, v1 optimizers)."""
    for ev in info.all_events():
        name = ev.callee or ""
        if name in _GRAPH_MODE or (name.startswith("tf.train.") and name.endswith("Optimizer")):
            return True
    return False


@module_fact
def module_has_bn(info: ModuleInfo) -> bool:
    return any(ev.sites or ev.callee in KERAS_APPS_WITH_BN for ev in info.all_events())


def project_has_bn(project) -> bool:
    return project.any_module(module_has_bn)  # computed once, also across worker processes
