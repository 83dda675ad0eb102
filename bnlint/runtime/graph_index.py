"""A read-only index of a TensorFlow graph for the BN checks.

Built in one pass over ``graph.as_graph_def()`` (integer ids, input and consumer lists), so every
check is a walk over plain Python lists and costs time linear in the graph size. It finds:

- the BN *layers*: pairs of ``moving_mean``/``moving_variance`` variables (fused, unfused, Keras 2
  and Keras 3 BN all name them so), keyed by the variables' scope;
- the ops that *write* each moving variable, found by following the variable's handle/ref
  forward (through Identity/Switch/Enter/... and into tf.cond/function bodies), never by op name:
  what lands in UPDATE_OPS varies (AssignSub, AssignSubVariableOp, ``cond_N/Identity``, Merge);
- the BN *applications*: each place an input is normalized, and whether it uses batch statistics
  (``train``), moving statistics (``infer``) or picks by a runtime flag (``flag``);
- the *tower* of an op: its device index when ops sit on several devices, else a ``tower_N``-like
  name scope.
"""

from __future__ import annotations

import os
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

from bnlint.runtime._tf import tf

VAR_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable"})
MOVING_STATS = ("moving_mean", "moving_variance")
# Ops that hand a variable's handle/ref (or any tensor) through unchanged: output k <- input 0.
PASS_THROUGH = frozenset({
    "Identity", "RefIdentity", "Switch", "RefSwitch", "Merge", "RefMerge", "Enter", "RefEnter",
    "Exit", "RefExit", "NextIteration", "RefNextIteration", "IdentityN",
})
# op type -> (function-valued attrs, index of the first input passed to the function)
CALL_OPS = {
    "If": (("then_branch", "else_branch"), 1),
    "StatelessIf": (("then_branch", "else_branch"), 1),
    "Case": (("branches",), 1),
    "StatelessCase": (("branches",), 1),
    "While": (("cond", "body"), 0),
    "StatelessWhile": (("cond", "body"), 0),
    "PartitionedCall": (("f",), 0),
    "StatefulPartitionedCall": (("f",), 0),
}
# Ops whose output is chosen at run time (a training flag that is a tensor).
SELECTORS = frozenset({
    "Merge", "RefMerge", "Switch", "RefSwitch", "Select", "SelectV2",
    "If", "StatelessIf", "Case", "StatelessCase",
})
COLLECTIVES = frozenset({
    "CollectiveReduce", "CollectiveReduceV2", "CollectiveReduceV3", "NcclAllReduce",
    "CollectiveGather", "CollectiveGatherV2", "CollectiveAllToAllV2", "CollectiveAllToAllV3",
})
# Values that make a write an initializer or a checkpoint restore, not a moving-average update.
INIT_VALUES = frozenset({"Const", "Fill", "RestoreV2", "Restore", "RestoreSlice", "ZerosLike", "OnesLike"})
FUSED_BN = frozenset({"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"})
STOP_BACKWARD = frozenset({"Placeholder", "PlaceholderWithDefault", "Const", "VarHandleOp", "VariableV2"})
WRITE_PREFIXES = (
    "Assign", "Scatter", "ResourceScatter", "ResourceApply", "Apply", "ResourceSparseApply", "SparseApply",
)

_TOWER_PART = r"(?:tower|clone|replica|gpu|cpu|device|dev|worker|split|shard)[_-]?(\d+)"
TOWER_SCOPE_RE = re.compile(r"(?:^|/)" + _TOWER_PART + r"(?=/|$)", re.IGNORECASE)
TOWER_PART_RE = re.compile(_TOWER_PART, re.IGNORECASE)
DEVICE_INDEX_RE = re.compile(r"(?:^|[/:])(?:gpu|cpu|xla_gpu|xla_cpu|tpu|sycl):(\d+)", re.IGNORECASE)

APP_BUDGET = 48  # nodes visited by one bounded walk around a BN application


def is_write_op(op_type: str) -> bool:
    return op_type.startswith(WRITE_PREFIXES)


def device_index(device: str) -> Optional[int]:
    m = DEVICE_INDEX_RE.search(device or "")
    return int(m.group(1)) if m else None


def scope_of(var_name: str) -> str:
    return var_name.rsplit("/", 1)[0] if "/" in var_name else ""


@dataclass
class BNLayer:
    """One BN layer's moving statistics (node ids of the variable ops)."""

    name: str
    mean: Optional[int] = None
    variance: Optional[int] = None

    def variables(self) -> List[Tuple[str, int]]:
        out = []
        if self.mean is not None:
            out.append(("moving_mean", self.mean))
        if self.variance is not None:
            out.append(("moving_variance", self.variance))
        return out


@dataclass
class BNApp:
    """One place where a BN layer normalizes an input."""

    node: int  # anchor op id (FusedBatchNorm*, batchnorm/Rsqrt or the tf.cond op)
    layer: Optional[str]
    mode: str  # "train" (batch statistics) | "infer" (moving statistics) | "flag" (chosen at run time)
    kind: str  # "fused" | "unfused" | "cond"
    input: Optional[str] = None  # tensor whose statistics the layer normalizes with in training
    channel_axis: int = -1
    synchronized: bool = False
    extra: Dict[str, object] = field(default_factory=dict)


class GraphIndex:
    def __init__(self, graph):
        self.graph = graph
        gd = graph.as_graph_def()
        nodes = list(gd.node)
        n = len(nodes)
        self.nodes = nodes
        self.names = [nd.name for nd in nodes]
        self.types = [nd.op for nd in nodes]
        self.devices = [nd.device for nd in nodes]
        self.ids = {name: i for i, name in enumerate(self.names)}
        self.inputs: List[List[Tuple[int, int]]] = [[] for _ in range(n)]
        self.ctrl: List[List[int]] = [[] for _ in range(n)]
        self.consumers: List[List[Tuple[int, int, int]]] = [[] for _ in range(n)]
        ids = self.ids
        for i, nd in enumerate(nodes):
            data = self.inputs[i]
            for s in nd.input:
                if s.startswith("^"):
                    j = ids.get(s[1:])
                    if j is not None:
                        self.ctrl[i].append(j)
                    continue
                name, _, out = s.partition(":")
                j = ids.get(name, -1)
                o = int(out) if out else 0
                if j >= 0:
                    self.consumers[j].append((i, len(data), o))
                data.append((j, o))
        self.functions = {f.signature.name: f for f in gd.library.function}
        self._fn_writes: Dict[str, frozenset] = {}
        self._fn_has_bn: Dict[str, bool] = {}
        self._device_towers: Optional[bool] = None
        self._layers: Optional[Dict[str, BNLayer]] = None
        self._writers: Dict[int, List[int]] = {}
        self._writer_var: Optional[Dict[int, int]] = None
        self._apps: Optional[List[BNApp]] = None

    # ---------------------------------------------------------------- basics
    def __len__(self) -> int:
        return len(self.names)

    def tensor_name(self, node: int, out: int = 0) -> str:
        return f"{self.names[node]}:{out}"

    def op(self, node: int):
        return self.graph.get_operation_by_name(self.names[node])

    def resolve(self, fetches) -> List[int]:
        """Node ids of ops/tensors/names (any nest of them)."""
        out = []
        for item in tf.nest.flatten(fetches, expand_composites=False):
            if item is None:
                continue
            if isinstance(item, (bytes, str)):
                name = item.decode() if isinstance(item, bytes) else item
                name = name.lstrip("^").split(":")[0]
            elif hasattr(item, "op") and hasattr(item.op, "name") and not hasattr(item, "node_def"):
                name = item.op.name  # Tensor, Variable
            elif hasattr(item, "name") and hasattr(item, "node_def"):
                name = item.name  # Operation
            else:
                raise TypeError(f"cannot resolve fetch {item!r} to a graph op")
            if name not in self.ids:
                raise ValueError(f"no op named {name!r} in the graph")
            out.append(self.ids[name])
        return out

    def ancestors(self, roots: Iterable[int], control: bool = True) -> bytearray:
        """Mark every op the roots depend on (themselves included), through data and control edges."""
        seen = bytearray(len(self.names))
        stack = []
        for r in roots:
            if not seen[r]:
                seen[r] = 1
                stack.append(r)
        inputs, ctrl = self.inputs, self.ctrl
        while stack:
            i = stack.pop()
            for j, _ in inputs[i]:
                if j >= 0 and not seen[j]:
                    seen[j] = 1
                    stack.append(j)
            if control:
                for j in ctrl[i]:
                    if not seen[j]:
                        seen[j] = 1
                        stack.append(j)
        return seen

    # ---------------------------------------------------------------- towers
    def tower(self, node: int) -> Optional[int]:
        """A ``tower_N``-like name scope, else the device index when ops sit on several devices."""
        m = TOWER_SCOPE_RE.search(self.names[node])
        if m:
            return int(m.group(1))
        if self._device_towers is None:
            indices = {device_index(d) for d in set(self.devices) if d}
            indices.discard(None)
            self._device_towers = len(indices) >= 2
        if not self._device_towers:
            return None
        if is_write_op(self.types[node]) and len(self.inputs[node]) > 1 and self.inputs[node][1][0] >= 0:
            # assignments are colocated with their variable: the value's device tells the tower
            node = self.inputs[node][1][0]
        return device_index(self.devices[node])

    # ---------------------------------------------------------------- variables
    def var_shape(self, node: int) -> Optional[Tuple[int, ...]]:
        attr = self.nodes[node].attr
        if "shape" not in attr:
            return None
        shape = attr["shape"].shape
        if shape.unknown_rank:
            return None
        return tuple(d.size for d in shape.dim)

    def variables(self) -> List[int]:
        return [i for i, t in enumerate(self.types) if t in VAR_OPS]

    @property
    def layers(self) -> Dict[str, BNLayer]:
        """BN layers in creation order, keyed by the scope of their moving variables."""
        if self._layers is None:
            layers: Dict[str, BNLayer] = {}
            for i, t in enumerate(self.types):
                if t not in VAR_OPS:
                    continue
                name = self.names[i]
                last = name.rsplit("/", 1)[-1]
                if last not in MOVING_STATS:
                    continue
                layer = layers.setdefault(scope_of(name), BNLayer(scope_of(name)))
                if last == "moving_mean":
                    layer.mean = i
                else:
                    layer.variance = i
            self._layers = layers
        return self._layers

    def layer_of_var(self, node: int) -> Optional[str]:
        name = self.names[node]
        if name.rsplit("/", 1)[-1] in MOVING_STATS and scope_of(name) in self.layers:
            return scope_of(name)
        return None

    # ---------------------------------------------------------------- writers
    def writers(self, var: int) -> List[int]:
        """Every op that assigns the variable, found by following its handle/ref forward."""
        if var in self._writers:
            return self._writers[var]
        found: List[int] = []
        seen = {(var, 0)}
        stack = [(var, 0)]
        types, consumers = self.types, self.consumers
        while stack:
            node, out = stack.pop()
            for dst, pos, o in consumers[node]:
                if o != out:
                    continue
                t = types[dst]
                nxt: List[Tuple[int, int]] = []
                if pos == 0 and is_write_op(t):
                    found.append(dst)
                elif t in ("Switch", "RefSwitch"):
                    if pos == 0:
                        nxt = [(dst, 0), (dst, 1)]
                elif t == "IdentityN":
                    nxt = [(dst, pos)]
                elif t in ("Merge", "RefMerge"):
                    nxt = [(dst, 0)]
                elif t in PASS_THROUGH:
                    if pos == 0:
                        nxt = [(dst, 0)]
                elif (t in CALL_OPS or t in self.functions) and self._call_writes(dst, pos):
                    found.append(dst)
                for item in nxt:
                    if item not in seen:
                        seen.add(item)
                        stack.append(item)
        self._writers[var] = found
        return found

    def is_update(self, writer: int) -> bool:
        """A moving-average update, as opposed to an initializer or a checkpoint restore."""
        t = self.types[writer]
        if t in CALL_OPS or t in self.functions:
            return True
        ins = self.inputs[writer]
        if len(ins) < 2 or ins[1][0] < 0:
            return True
        src = ins[1][0]
        for _ in range(4):
            if self.types[src] not in ("Identity", "Snapshot") or not self.inputs[src]:
                break
            nxt = self.inputs[src][0][0]
            if nxt < 0:
                break
            src = nxt
        if self.types[src] in INIT_VALUES or "/Initializer/" in self.names[src]:
            return False
        return True

    def updates(self, var: int) -> List[int]:
        return [w for w in self.writers(var) if self.is_update(w)]

    @property
    def writer_var(self) -> Dict[int, int]:
        """Update op id -> moving variable id, over all BN layers."""
        if self._writer_var is None:
            wv: Dict[int, int] = {}
            for layer in self.layers.values():
                for _, var in layer.variables():
                    for w in self.updates(var):
                        wv.setdefault(w, var)
            self._writer_var = wv
        return self._writer_var

    def _call_funcs(self, node_def) -> Tuple[List[str], int]:
        t = node_def.op
        if t in CALL_OPS:
            attrs, offset = CALL_OPS[t]
        elif t in self.functions:
            return [t], 0
        else:
            return [], 0
        names = []
        for a in attrs:
            if a not in node_def.attr:
                continue
            av = node_def.attr[a]
            if av.HasField("func"):
                names.append(av.func.name)
            elif av.HasField("list"):
                names.extend(f.name for f in av.list.func)
        return names, offset

    def _call_writes(self, node: int, pos: int) -> bool:
        funcs, offset = self._call_funcs(self.nodes[node])
        arg = pos - offset
        return arg >= 0 and any(arg in self._written_args(f) for f in funcs)

    def _written_args(self, fname: str) -> frozenset:
        """Indices of a library function's arguments that it (or a function it calls) writes."""
        if fname in self._fn_writes:
            return self._fn_writes[fname]
        self._fn_writes[fname] = frozenset()  # guards recursion
        fdef = self.functions.get(fname)
        if fdef is None:
            return frozenset()
        args = {a.name: k for k, a in enumerate(fdef.signature.input_arg)}
        body = {nd.name: nd for nd in fdef.node_def}

        def resolve(s: str, depth: int = 0) -> Optional[int]:
            name = s.lstrip("^").split(":")[0]
            if name in args:
                return args[name]
            nd = body.get(name)
            if nd is not None and nd.op in PASS_THROUGH and nd.input and depth < 8:
                return resolve(nd.input[0], depth + 1)
            return None

        written = set()
        for nd in fdef.node_def:
            data = [s for s in nd.input if not s.startswith("^")]
            if is_write_op(nd.op) and data:
                a = resolve(data[0])
                if a is not None:
                    written.add(a)
                continue
            funcs, offset = self._call_funcs(nd)
            for f in funcs:
                for j in self._written_args(f):
                    if j + offset < len(data):
                        a = resolve(data[j + offset])
                        if a is not None:
                            written.add(a)
        result = frozenset(written)
        self._fn_writes[fname] = result
        return result

    def _function_has_bn(self, fname: str) -> bool:
        if fname in self._fn_has_bn:
            return self._fn_has_bn[fname]
        self._fn_has_bn[fname] = False
        fdef = self.functions.get(fname)
        found = False
        if fdef is not None:
            for nd in fdef.node_def:
                if nd.op in FUSED_BN or nd.name.endswith("batchnorm/Rsqrt"):
                    found = True
                    break
                funcs, _ = self._call_funcs(nd)
                if any(self._function_has_bn(f) for f in funcs):
                    found = True
                    break
        self._fn_has_bn[fname] = found
        return found

    # ---------------------------------------------------------------- applications
    def _var_back(self, node: int, depth: int = 6) -> Optional[int]:
        """The variable op a value/handle comes from, through reads and pass-through ops."""
        for _ in range(depth):
            if node < 0:
                return None
            t = self.types[node]
            if t in VAR_OPS:
                return node
            if t not in PASS_THROUGH and t not in ("ReadVariableOp", "Cast", "Snapshot") or not self.inputs[node]:
                return None
            node = self.inputs[node][0][0]
        return None

    def _const_bool(self, node: int) -> Optional[bool]:
        for _ in range(4):
            if node < 0:
                return None
            if self.types[node] == "Const":
                value = self.nodes[node].attr["value"].tensor
                if value.dtype == tf.bool.as_datatype_enum:
                    return bool(tf.make_ndarray(value).reshape(-1)[0])
                return None
            if self.types[node] != "Identity" or not self.inputs[node]:
                return None
            node = self.inputs[node][0][0]
        return None

    def _layer_by_writer(self, starts: Iterable[int]) -> Optional[str]:
        """Bounded forward walk from batch statistics to the moving-average update they feed."""
        wv = self.writer_var
        seen = set(starts)
        queue = deque(seen)
        visited = 0
        while queue and visited < APP_BUDGET:
            i = queue.popleft()
            visited += 1
            if i in wv:
                return self.layer_of_var(wv[i])
            for dst, _, _ in self.consumers[i]:
                if dst not in seen:
                    seen.add(dst)
                    queue.append(dst)
        return None

    @property
    def apps(self) -> List[BNApp]:
        if self._apps is None:
            _ = self.layers  # the walks below look layers up
            apps = []
            for i, t in enumerate(self.types):
                if t in FUSED_BN:
                    apps.append(self._fused_app(i))
                elif t == "Rsqrt" and self.names[i].endswith("batchnorm/Rsqrt"):
                    app = self._unfused_app(i)
                    if app is not None:
                        apps.append(app)
                elif t in ("If", "StatelessIf", "Case", "StatelessCase"):
                    app = self._cond_app(i)
                    if app is not None:
                        apps.append(app)
            self._apps = apps
        return self._apps

    def _fused_app(self, i: int) -> BNApp:
        nd = self.nodes[i]
        ins = self.inputs[i]
        is_training = nd.attr["is_training"].b if "is_training" in nd.attr else True
        mode = "train" if is_training else "infer"
        x_src, x_out = ins[0]
        input_tensor = self.tensor_name(x_src, x_out) if x_src >= 0 else None
        if x_src >= 0 and self.types[x_src] in ("Switch", "RefSwitch"):
            # v1 tf.cond: a training and an inference copy of the op, picked by the predicate
            sw = self.inputs[x_src]
            if len(sw) > 1 and self._const_bool(sw[1][0]) is None:
                mode = "flag"
            if sw and sw[0][0] >= 0:
                input_tensor = self.tensor_name(*sw[0])
        layer = None
        for k in (4, 3):
            if k < len(ins):
                var = self._var_back(ins[k][0])
                if var is not None and self.layer_of_var(var):
                    layer = self.layer_of_var(var)
                    break
        if layer is None:
            layer = self._layer_by_writer([i])
        if layer is None and len(ins) > 1:
            gamma = self._var_back(ins[1][0])
            if gamma is not None and scope_of(self.names[gamma]) in self.layers:
                layer = scope_of(self.names[gamma])
        fmt = nd.attr["data_format"].s if "data_format" in nd.attr else b"NHWC"
        return BNApp(i, layer, mode, "fused", input_tensor, 1 if fmt.startswith(b"NC") else -1)

    def _unfused_app(self, i: int) -> Optional[BNApp]:
        found_var = None
        moments: List[int] = []
        crossed = synced = False
        seen = {i}
        queue = deque([i])
        visited = 0
        while queue and visited < APP_BUDGET:
            j = queue.popleft()
            visited += 1
            t = self.types[j]
            if t in VAR_OPS:
                if found_var is None and self.layer_of_var(j):
                    found_var = j
                continue
            if t == "Mean" and "moments" in self.names[j]:
                moments.append(j)
                continue
            if t in STOP_BACKWARD:
                continue
            if t in SELECTORS:
                crossed = True
            if t in COLLECTIVES:
                synced = True
            for k, _ in self.inputs[j]:
                if k >= 0 and k not in seen:
                    seen.add(k)
                    queue.append(k)
        if crossed and (moments or found_var is not None):
            mode = "flag"
        elif moments:
            mode = "train"
        elif found_var is not None:
            mode = "infer"
        else:
            return None
        input_tensor = None
        if moments:
            src, out = self.inputs[moments[0]][0]
            if src >= 0 and self.types[src] == "SquaredDifference":
                src, out = self.inputs[src][0]
            if src >= 0:
                input_tensor = self.tensor_name(src, out)
        layer = self.layer_of_var(found_var) if found_var is not None else None
        if layer is None and moments:
            layer = self._layer_by_writer(moments)
        return BNApp(i, layer, mode, "unfused", input_tensor, -1, synced)

    def _cond_app(self, i: int) -> Optional[BNApp]:
        funcs, offset = self._call_funcs(self.nodes[i])
        if not any(self._function_has_bn(f) for f in funcs):
            return None
        ins = self.inputs[i]
        layer = None
        for j, _ in ins[offset:]:
            var = self._var_back(j) if j >= 0 else None
            if var is not None and self.layer_of_var(var):
                layer = self.layer_of_var(var)
                break
        if layer is None:
            return None
        pred = self._const_bool(ins[0][0]) if ins else None
        mode = "flag" if pred is None else ("train" if pred else "infer")
        input_tensor = None
        op = self.op(i)
        for t in op.inputs[offset:]:
            if t.dtype != tf.resource and t.shape.rank is not None and t.shape.rank >= 2:
                input_tensor = t.name
                break
        return BNApp(i, layer, mode, "cond", input_tensor)

    def apps_by_layer(self) -> Dict[str, List[BNApp]]:
        out: Dict[str, List[BNApp]] = {}
        for app in self.apps:
            if app.layer is not None:
                out.setdefault(app.layer, []).append(app)
        return out

    def static_batch(self, app: BNApp) -> Optional[int]:
        if app.input is None:
            return None
        shape = self.graph.get_tensor_by_name(app.input).shape
        if shape.rank is None or shape.rank < 2:
            return None
        return shape.as_list()[0]  # an int or None under v1 and v2 TensorShape alike

    # ---------------------------------------------------------------- source lines
    def source_row(self, node: int, filename: Optional[str]) -> Optional[int]:
        """Line of ``filename`` (innermost frame) that created the op, when the graph was built here."""
        if not filename or not filename.endswith(".py"):
            return None
        target = os.path.abspath(filename)
        try:
            frames = self.op(node).traceback
        except (KeyError, ValueError):
            return None
        for frame in reversed(list(frames or [])):
            if os.path.abspath(frame.filename) == target:
                return frame.lineno
        return None
