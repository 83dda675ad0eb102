"""An optimizer step built in a helper of another module, fed the loss of a training BN model.

Projects often keep the optimizer apart from the model: ``optim.py`` has ``def train_op(loss, lr):
return opt.minimize(loss)`` and imports no model; ``train.py`` builds the model (training BN) and
calls ``optim.train_op(loss, ...)``. Neither the helper's module nor its imports build BN, yet its
step is the one that must run the update ops. ``caller_training_bn`` finds the training BN built by
the functions that call such a helper (before the call, so it feeds the loss), following callers
of callers a few levels up.
"""

from __future__ import annotations

from typing import List

from bnlint.analysis.module_info import Body, CallEvent

_MAX_DEPTH = 3


def caller_training_bn(project, body: Body, depth: int = 0) -> List[CallEvent]:
    """Calls building training, collection-based BN in the functions calling ``body`` (before the
    call), in other modules or in this one."""
    if not body.is_function() or depth >= _MAX_DEPTH:
        return []
    out: List[CallEvent] = []
    for call in project.callers.get(body.key, []):
        if call.body is body:
            continue
        built = [e for e in call.body.events if e.order < call.order and project.concrete_training_sites(e)]
        out.extend(built or caller_training_bn(project, call.body, depth + 1))
    return out
