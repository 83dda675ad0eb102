"""The static graph checks BNL101..BNL106 and :func:`inspect_graph`, which runs them.

Every check reads one :class:`~bnlint.runtime.graph_index.GraphIndex` through a shared
:class:`GraphFacts` (dependency sets and per-variable update coverage computed once), so the
whole inspection is linear in the graph size.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence

from bnlint.core.diagnostics import Diagnostic, Location
from bnlint.runtime.copies import pair_copies
from bnlint.runtime.graph_index import VAR_OPS, BNApp, GraphIndex, is_write_op

DEFAULT_SMALL_BATCH = 16
UPDATE_OPS = "update_ops"  # tf.compat.v1.GraphKeys.UPDATE_OPS


def _quote(names: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _towers(ts) -> str:
    ts = sorted(t for t in set(ts) if t is not None)
    return ("tower " if len(ts) == 1 else "towers ") + ", ".join(str(t) for t in ts)


class GraphFacts:
    """What the checks share: the train/eval dependency sets and each moving variable's updates."""

    def __init__(self, index: GraphIndex, train_ops, eval_fetches=None, *, filename: Optional[str] = None,
                 small_batch: int = DEFAULT_SMALL_BATCH):
        self.index = index
        self.filename = filename or "<graph>"
        self.small_batch = small_batch
        self.train_ids = list(dict.fromkeys(index.resolve(train_ops)))
        if not self.train_ids:
            raise ValueError("inspect_graph needs at least one train op")
        self.train_names = [index.names[i] for i in self.train_ids]
        self.eval_ids = index.resolve(eval_fetches) if eval_fetches is not None else None
        self.train_deps = index.ancestors(self.train_ids)
        self.eval_deps = index.ancestors(self.eval_ids) if self.eval_ids else None
        coll = self._collection(UPDATE_OPS)
        self.collection_deps = index.ancestors(coll) if coll else None
        self.layers = index.layers
        self.apps = index.apps_by_layer()
        # per moving variable: its update ops, and those the train op runs
        self.updates: Dict[int, List[int]] = {}
        self.run_updates: Dict[int, List[int]] = {}
        for layer in self.layers.values():
            for _, var in layer.variables():
                ups = index.updates(var)
                self.updates[var] = ups
                self.run_updates[var] = [w for w in ups if self.train_deps[w]]
        towers = {index.tower(w) for ups in self.updates.values() for w in ups}
        towers |= {index.tower(a.node) for apps in self.apps.values() for a in apps}
        towers.discard(None)
        self.multi_tower = len(towers) >= 2
        self._copies: Optional[Dict[str, Optional[str]]] = None

    def _collection(self, key: str) -> List[int]:
        ids = []
        for item in self.index.graph.get_collection(key):
            name = getattr(item, "name", None)
            if hasattr(item, "op") and not hasattr(item, "node_def"):
                name = item.op.name
            if name is not None and name.split(":")[0] in self.index.ids:
                ids.append(self.index.ids[name.split(":")[0]])
        return ids

    # -- per layer
    def updated_vars(self, layer: str) -> List[str]:
        return [kind for kind, var in self.layers[layer].variables() if self.run_updates[var]]

    def missing_vars(self, layer: str) -> List[str]:
        return [kind for kind, var in self.layers[layer].variables() if not self.run_updates[var]]

    def layer_updates(self, layer: str) -> List[int]:
        return [w for _, var in self.layers[layer].variables() for w in self.updates[var]]

    def inference_use(self, layer: str) -> bool:
        for app in self.apps.get(layer, []):
            if app.mode in ("infer", "flag") and (self.eval_deps is None or self.eval_deps[app.node]):
                return True
        return False

    def training_apps(self, layer: str) -> List[BNApp]:
        return [a for a in self.apps.get(layer, []) if a.mode in ("train", "flag") and self.train_deps[a.node]]

    def untrained_copies(self) -> Dict[str, Optional[str]]:
        """Layers BNL102 reports (never updated, used for inference) -> the trained layer they copy."""
        if self._copies is not None:
            return self._copies
        trained = [name for name in self.layers if self.updated_vars(name)]
        suspects = []
        for name in self.layers:
            if (self.missing_vars(name) and not self.updated_vars(name) and not self.training_apps(name)
                    and self.inference_use(name)):
                suspects.append(name)
        twins = pair_copies(suspects, trained, self.layer_shape)
        self._copies = {name: twins.get(name) for name in suspects if name in twins or not self.layer_updates(name)}
        return self._copies

    def layer_shape(self, layer: str):
        var = self.layers[layer].mean if self.layers[layer].mean is not None else self.layers[layer].variance
        return self.index.var_shape(var)

    # -- output
    def diag(self, code: str, message: str, node: Optional[int] = None, severity: str = "error",
             **data) -> Diagnostic:
        row = self.index.source_row(node, self.filename) if node is not None else None
        return Diagnostic(code, message, self.filename, Location(row or 1, 1), severity=severity, data=data)

    def layer_node(self, layer: str) -> int:
        bn = self.layers[layer]
        return bn.mean if bn.mean is not None else bn.variance

    def train_desc(self) -> str:
        return _quote(self.train_names, 3)


def check_dropped_updates(f: GraphFacts) -> List[Diagnostic]:
    """BNL101: moving statistics whose update ops no train op depends on."""
    copies = f.untrained_copies()
    out = []
    for name in f.layers:
        missing = f.missing_vars(name)
        if not missing or name in copies:
            continue
        layer = f.layers[name]
        dropped = [w for kind, var in layer.variables() if kind in missing for w in f.updates[var]]
        if not dropped:
            continue
        towers = sorted({t for t in (f.index.tower(w) for w in dropped) if t is not None})
        where = f" ({_towers(towers)})" if f.multi_tower and towers else ""
        out.append(f.diag(
            "BNL101",
            f"BN layer '{name}': {'/'.join(missing)} never updated: none of its {len(dropped)} update ops"
            f"{where} is a dependency of train op {f.train_desc()}",
            f.layer_node(name),
            layer=name, variables=missing, towers=towers,
            update_ops=[f.index.names[w] for w in dropped],
        ))
    return out


def check_untrained_copies(f: GraphFacts) -> List[Diagnostic]:
    """BNL102: moving statistics used for inference that no train op updates (an untrained copy)."""
    out = []
    for name, twin in f.untrained_copies().items():
        if twin:
            msg = (f"BN layer '{name}' serves inference but the train op never updates its moving statistics: "
                   f"it is an untrained copy of '{twin}' (variables not reused)")
        else:  # no trained twin: a frozen layer restored from a checkpoint looks the same
            msg = (f"BN layer '{name}' serves inference but the train op never updates its moving statistics: "
                   f"unless a checkpoint restores them, inference uses their initial values")
        out.append(f.diag("BNL102", msg, f.layer_node(name), severity="error" if twin else "warning",
                          layer=name, trained_copy=twin))
    return out


def check_update_collection(f: GraphFacts) -> List[Diagnostic]:
    """BNL103: UPDATE_OPS misses existing BN updates, or the updates of some towers."""
    out = []
    coll = f.collection_deps
    missing = {"warning": [], "info": []}
    coll_towers, other_towers = set(), set()
    for name, layer in f.layers.items():
        ups = f.layer_updates(name)
        if not ups:
            continue
        for _, var in layer.variables():
            in_coll = [w for w in f.updates[var] if coll is not None and coll[w]]
            if f.updates[var] and not in_coll:
                missing["info" if not f.missing_vars(name) else "warning"].append(name)
                break
        for w in ups:
            (coll_towers if coll is not None and coll[w] else other_towers).add(f.index.tower(w))
    for severity, names in missing.items():
        if names:
            what = "the train op runs them anyway" if severity == "info" else "nothing runs them"
            out.append(f.diag(
                "BNL103",
                f"UPDATE_OPS misses the moving-average updates of BN layers {_quote(names)} "
                f"(Keras BN layers do not add them; use layer.updates): {what}",
                f.layer_node(names[0]), severity=severity, layers=names,
            ))
    coll_towers.discard(None)
    lacking = sorted(t for t in other_towers - coll_towers if t is not None)
    if f.multi_tower and coll_towers and lacking:
        out.append(f.diag(
            "BNL103",
            f"UPDATE_OPS holds BN update ops of {_towers(coll_towers)} only, not of {_towers(lacking)}",
            severity="warning", collection_towers=sorted(coll_towers), missing_towers=lacking,
        ))
    # every moving variable updated, but only from some towers: the usual shared-variable pattern
    run_towers, idle_towers = set(), set()
    for name, layer in f.layers.items():
        if f.missing_vars(name):
            continue
        for _, var in layer.variables():
            for w in f.updates[var]:
                (run_towers if f.train_deps[w] else idle_towers).add(f.index.tower(w))
    idle = sorted(t for t in idle_towers - run_towers if t is not None)
    run_towers.discard(None)
    if f.multi_tower and idle and run_towers:
        out.append(f.diag(
            "BNL103",
            f"the train op runs the BN updates of {_towers(run_towers)} only; as the moving variables are shared "
            f"with {_towers(idle)}, every one is still updated (from the batch of {_towers(run_towers)} only)",
            severity="info", run_towers=sorted(run_towers), idle_towers=idle,
        ))
    return out


def check_training_mode_inference(f: GraphFacts) -> List[Diagnostic]:
    """BNL104: an inference fetch reaches BN ops hard-wired to training mode."""
    out = []
    for name, apps in f.apps.items():
        for app in apps:
            if app.mode != "train":
                continue
            if f.eval_deps is not None:
                if not f.eval_deps[app.node]:
                    continue
                msg = (f"an inference/eval fetch runs BN layer '{name}' in training mode (training hard-wired to "
                       f"True in '{f.index.names[app.node]}'): it normalizes with batch statistics, not the "
                       f"moving ones")
                severity = "error"
            else:
                if f.train_deps[app.node]:
                    continue
                msg = (f"BN layer '{name}' runs in training mode (training hard-wired to True) in "
                       f"'{f.index.names[app.node]}', which no train op uses: if it serves inference it normalizes "
                       f"with batch statistics, not the moving ones")
                severity = "warning"
            out.append(f.diag("BNL104", msg, app.node, severity=severity, layer=name, op=f.index.names[app.node]))
            break
    return out


def _reader_towers(index: GraphIndex, train_deps: bytearray) -> Dict[Optional[int], set]:
    """Tower -> variables its training ops read (through read/Identity ops); optimizer writes,
    checkpoint and summary ops (not dependencies of the train op) excluded."""
    towers: Dict[Optional[int], set] = defaultdict(set)
    for var in index.variables():
        stack = [(var, 0)]
        for _ in range(3):
            nxt = []
            for node, _ in stack:
                for dst, pos, _ in index.consumers[node]:
                    t = index.types[dst]
                    if is_write_op(t) or t in ("VarIsInitializedOp", "IsVariableInitialized"):
                        continue
                    if t in ("ReadVariableOp", "Identity", "Switch", "Enter", "Snapshot"):
                        nxt.append((dst, pos))
                    if train_deps[dst]:
                        towers[index.tower(dst)].add(var)
            stack = nxt
    # ops outside any tower scope/device are tower 0 when no op names tower 0 explicitly
    unscoped = towers.pop(None, set())
    if 0 not in towers and towers and unscoped:
        towers[0] = unscoped
    return towers


def check_unshared_towers(f: GraphFacts) -> List[Diagnostic]:
    """BNL105: towers that read their own copies of the variables instead of sharing them."""
    index = f.index
    towers = _reader_towers(index, f.train_deps)
    labels = sorted(towers)
    if len(labels) < 2:
        return []
    ref = labels[0]
    names = {v: index.names[v] for vs in towers.values() for v in vs}

    def shape_of(name):
        return index.var_shape(index.ids[name])

    out = []
    for t in labels[1:]:
        own = [names[v] for v in sorted(towers[t] - towers[ref]) if index.types[v] in VAR_OPS]
        ref_only = [names[v] for v in sorted(towers[ref] - towers[t])]
        twins = pair_copies(own, ref_only, shape_of)
        if not twins:
            continue
        copies = sorted(twins)
        first = copies[0]
        out.append(f.diag(
            "BNL105",
            f"tower {t} does not share weights with tower {ref}: it has its own copies of {len(copies)} variables "
            f"(e.g. '{first}' copies '{twins[first]}'); build towers under one variable scope with reuse",
            index.ids[first], severity="warning", tower=t, reference_tower=ref,
            copies={k: twins[k] for k in copies},
        ))
    return out


def check_small_batch(f: GraphFacts) -> List[Diagnostic]:
    """BNL106: per-device batch below the threshold with unsynchronised BN statistics."""
    groups: Dict[int, List[str]] = defaultdict(list)
    towers: Dict[int, set] = defaultdict(set)
    first_node: Dict[int, int] = {}
    for name in f.layers:
        for app in f.training_apps(name):
            batch = f.index.static_batch(app)
            if app.synchronized or batch is None or batch >= f.small_batch:
                continue
            if name not in groups[batch]:
                groups[batch].append(name)
            towers[batch].add(f.index.tower(app.node))
            first_node.setdefault(batch, f.layer_node(name))
    out = []
    for batch, names in sorted(groups.items()):
        where = f" ({_towers(towers[batch])})" if f.multi_tower and towers[batch] - {None} else ""
        out.append(f.diag(
            "BNL106",
            f"BN layers {_quote(names)} compute batch statistics over per-device batches of {batch} "
            f"(< {f.small_batch}){where} without synchronisation: use synchronized BN "
            f"(tf.keras.layers.BatchNormalization(synchronized=True)) or GroupNorm",
            first_node[batch], severity="warning", batch=batch, threshold=f.small_batch, layers=names,
            towers=sorted(t for t in towers[batch] if t is not None),
        ))
    return out


CHECKS: Sequence[Callable[[GraphFacts], List[Diagnostic]]] = (
    check_dropped_updates,
    check_untrained_copies,
    check_update_collection,
    check_training_mode_inference,
    check_unshared_towers,
    check_small_batch,
)


def inspect_graph(graph, train_ops, eval_fetches=None, *, small_batch: int = DEFAULT_SMALL_BATCH,
                  filename: Optional[str] = None, index: Optional[GraphIndex] = None) -> List[Diagnostic]:
    """Run BNL101..BNL106 on a built graph.

    ``train_ops``: the op(s)/tensor(s)/name(s) a training step fetches. ``eval_fetches``: what
    inference/evaluation fetches (optional; without it BNL102/BNL104 judge by the graph alone).
    ``filename`` names the findings; when it is the script that built the graph, findings point at
    the line that created the layer.
    """
    facts = GraphFacts(index or GraphIndex(graph), train_ops, eval_fetches, filename=filename,
                       small_batch=small_batch)
    diags: List[Diagnostic] = []
    for check in CHECKS:
        diags.extend(check(facts))
    return diags


__all__ = ["inspect_graph", "GraphFacts", "CHECKS", "DEFAULT_SMALL_BATCH"]
