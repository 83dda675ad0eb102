"""BNL019: a tf.distribute strategy with a small per-replica batch and unsynchronised BN."""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from bnlint.analysis.module_info import kwarg
from bnlint.facts.events import event_of
from bnlint.facts.keras_models import is_keras_app_with_bn, module_index
from bnlint.facts.literals import literal_number
from bnlint.rulekit.rule import Invalid, Rule, RuleContext

_STRATEGIES = {
    "tf.distribute." + n for n in ("MirroredStrategy", "MultiWorkerMirroredStrategy", "TPUStrategy",
                                   "experimental.MultiWorkerMirroredStrategy", "experimental.TPUStrategy",
                                   "experimental.CentralStorageStrategy")
}
_SYNCED = {"keras.layers.SyncBatchNormalization", "keras.layers.experimental.SyncBatchNormalization"}


def _per_replica_batches(info) -> List[float]:
    """``N * strategy.num_replicas_in_sync`` with N a known number: N is the per-replica batch."""
    out = []
    for operand, _ in module_index(info).replica_products:
        value = literal_number(info.top, operand)
        if value is None and isinstance(operand, cst.Name):
            value = _any_body_number(info, operand)
        if value is not None:
            out.append(value)
    return out


def _any_body_number(info, name: cst.Name) -> Optional[float]:
    for body in info.bodies.values():
        if name.value in body.assigned:
            return literal_number(body, name)
    return None


def _unsynced_bn(project, ev, depth: int = 0) -> Optional[cst.Call]:
    """A Keras BN layer without synchronisation that this call builds (directly or in helpers)."""
    if any(s.kind == "keras" for s in ev.sites) or is_keras_app_with_bn(ev.callee):
        if is_keras_app_with_bn(ev.callee):
            return ev.node
        if ev.callee is not None and ev.callee.startswith("keras.layers."):
            synced = ev.callee in _SYNCED or (isinstance(kwarg(ev.node, "synchronized"), cst.Name)
                                              and kwarg(ev.node, "synchronized").value == "True")
            return None if synced else ev.node
        tgt = project.target(ev)
        if tgt is not None and depth < 4:
            for inner in tgt.events:
                found = _unsynced_bn(project, inner, depth + 1)
                if found is not None:
                    return found
    return None


class UnsyncedBNSmallReplicaBatch(Rule):
    """Finds Keras BN layers built under `strategy.scope()` of a multi-replica `tf.distribute`
    strategy (Mirrored, MultiWorkerMirrored, TPU, CentralStorage) without `synchronized=True`,
    when the code states a per-replica batch (`PER_REPLICA * strategy.num_replicas_in_sync`) below
    the `small-batch` setting (default 16).
    """

    code = "BNL019"
    name = "unsynced-bn-small-replica-batch"
    summary = "Multi-replica training with a small per-replica batch and unsynchronised BN"
    severity = "warning"
    why = """
    Under a distribution strategy each replica normalises with the statistics of its own slice of
    the batch. With a handful of examples per replica those statistics are noisy, training is
    unstable and the moving averages (averaged from per-replica values) do not describe the
    data the model sees at inference. `bnlint inspect` reports the same per device from a built
    graph (BNL106).
    """
    example = """
    strategy = tf.distribute.MirroredStrategy()
    global_batch = 4 * strategy.num_replicas_in_sync
    with strategy.scope():
        model = build_model()          # BNL019: BatchNormalization() sees 4 examples
    """
    fix_doc = """
    Synchronise the statistics across replicas: `tf.keras.layers.BatchNormalization(
    synchronized=True)` (TF >= 2.12; `SyncBatchNormalization` before), or use GroupNormalization /
    LayerNormalization, or raise the per-replica batch. No automatic fix.
    """
    VALID = [
        """
import tensorflow as tf
strategy = tf.distribute.MirroredStrategy()
batch = 4 * strategy.num_replicas_in_sync
with strategy.scope():
    model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.BatchNormalization(synchronized=True)])
""",
        """
import tensorflow as tf
strategy = tf.distribute.MirroredStrategy()
batch = 64 * strategy.num_replicas_in_sync
with strategy.scope():
    model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.BatchNormalization()])
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
PER_REPLICA_BATCH = 4
def build_model():
    return tf.keras.Sequential([
        tf.keras.layers.Conv2D(32, 3, use_bias=False),
        tf.keras.layers.BatchNormalization(),
        tf.keras.layers.ReLU(),
    ])
strategy = tf.distribute.MirroredStrategy()
global_batch = PER_REPLICA_BATCH * strategy.num_replicas_in_sync
with strategy.scope():
    model = build_model()
    model.compile("adam", "mse")
""",
            lines=[12],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info, project = ctx.info, ctx.project
        strategies = {t for ev in info.all_events() if ev.callee in _STRATEGIES for t in ev.targets}
        if not strategies:
            return
        small = [b for b in _per_replica_batches(info) if b < ctx.settings.small_batch]
        if not small:
            return
        seen = set()
        for ev in info.all_events():
            if id(ev.line_stmt) in seen:
                continue
            scoped = any(
                c.call is not None and isinstance(c.call.func, cst.Attribute) and c.call.func.attr.value == "scope"
                and isinstance(c.call.func.value, cst.Name) and c.call.func.value.value in strategies
                for c in ev.ctx
            )
            if not scoped:
                continue
            bn = _unsynced_bn(project, ev)
            if bn is None:
                continue
            seen.add(id(ev.line_stmt))
            where = f" (line {ctx.line_of(bn)})" if bn is not ev.node and event_of(info, bn) is not None else ""
            ctx.report(
                ev.node,
                f"BN built under a multi-replica strategy with {int(min(small))} examples per replica and no "
                f"synchronisation{where}: each replica "
                "normalises with the noisy statistics of its own tiny slice; use "
                "BatchNormalization(synchronized=True), GroupNormalization, or a larger per-replica batch",
            )
