"""BN that a caller's arg_scope puts into a model function.

slim models rarely name batch_norm themselves: ``resnet(x)`` builds ``slim.conv2d`` layers and the
caller decides, ``with slim.arg_scope(resnet_arg_scope(is_training=True)): net = resnet(x)``, that
they get ``normalizer_fn=slim.batch_norm`` and which training flag it uses. The arg_scope call then
carries the BN site (kind ``"argscope"``) and the model call carries none. ``scoped_bn_sites`` gives
such a model call the sites it really creates: the arg_scope's sites, seen as layers built by this
call (kind ``"functional"``, the reuse in effect at the call), when the function it runs builds
slim layers that take a normalizer (through project functions too). A model that manages reuse
itself (a ``variable_scope(..., reuse=...)`` or ``reuse=`` inside) gets none: it may share them.
"""

from __future__ import annotations

from typing import List

from dataclasses import replace

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import CallEvent, Site, calls_in, kwarg
from bnlint.analysis.bn_sites import scope_reuse

_MAX_DEPTH = 5


def _argscope_events(ev: CallEvent) -> List[CallEvent]:
    """Events of this body that make the arg_scopes around ``ev`` (the arg_scope call itself, or
    the scope function called inside it, ``arg_scope(resnet_arg_scope(...))``)."""
    inside = set()
    for c in ev.ctx:
        if c.kind == "argscope" and c.call is not None:
            inside.update(id(n) for n in calls_in(c.call))
    return [e for e in ev.body.events if id(e.node) in inside and e.order < ev.order]


def _hosts_normalized_layers(project, ev: CallEvent) -> bool:
    """The function ``ev`` runs builds slim layers that take a normalizer, and manages no reuse."""
    seen, todo, found = set(), [project.target(ev)], False
    for _ in range(_MAX_DEPTH):
        nxt = []
        for body in todo:
            if body is None or body.key in seen:
                continue
            seen.add(body.key)
            for e in body.events:
                if any(c.kind == "vscope" and c.reuse not in (None, False) for c in e.ctx):
                    return False
                if e.callee in tfnames.NORMALIZER_HOSTS:
                    if kwarg(e.node, "reuse") is not None:
                        return False
                    found = True
                nxt.append(project.target(e))
        todo = nxt
    return found


def scoped_bn_sites(project, ev: CallEvent) -> List[Site]:
    """BN sites a model call creates through the arg_scopes around it (see the module doc)."""
    if not any(c.kind == "argscope" for c in ev.ctx) or project.target(ev) is None:
        return []
    given = [s for e in _argscope_events(ev) for s in e.sites if s.kind == "argscope"]
    if not given or not _hosts_normalized_layers(project, ev):
        return []
    reuse = scope_reuse(ev)
    return [replace(s, kind="functional", reuse=reuse if s.reuse is None else s.reuse, named=False) for s in given]
