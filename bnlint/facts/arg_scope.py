"""Whether an arg_scope somewhere in the project may set BN's training flag from outside a helper.

Inside one function ``bnlint.analysis.bn_sites`` resolves the arg_scopes around a BN call. Across functions
it cannot: slim projects build their BN helpers without ``is_training`` and let a caller's scope
provide it (``with slim.arg_scope([slim.batch_norm], is_training=t): net(x)``, or a scope made by a
function, ``with slim.arg_scope(hyperparams_fn()):``). A slim BN whose flag is left at its default
is then not known to train in eval graphs, and rules stay silent when this fact holds.
"""

from __future__ import annotations

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import ModuleInfo
from bnlint.analysis.bn_sites import scoped_keywords
from bnlint.analysis.project import site_free_fact


@site_free_fact
def may_set_bn_flag(info: ModuleInfo) -> bool:
    """Some ``slim.arg_scope`` of the module lists a BN op with ``is_training``, or is built from a
    call or a name (its keywords are not visible here)."""
    for ev in info.all_events():
        if ev.callee in tfnames.ARG_SCOPE and ev.node.args:
            first = ev.node.args[0].value
            if not isinstance(first, (cst.List, cst.Tuple, cst.Name)):
                return True  # slim.arg_scope(hyperparams_fn()), arg_scope(scopes[0])
            if isinstance(first, cst.Name) and len(ev.node.args) == 1:
                return True  # with slim.arg_scope(sc): a scope object made elsewhere
        if any(c.kind == "argscope" for c in ev.ctx) and "is_training" in scoped_keywords(
                ev, lambda op: info.resolve(op) in tfnames.BN_CREATORS)[0]:
            return True
    return False
