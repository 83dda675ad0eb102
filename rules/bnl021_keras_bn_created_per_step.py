"""BNL021: a Keras BN layer constructed where it runs repeatedly (each training step, each call(),
each model build): new, untrained variables every time."""

from __future__ import annotations

import re
from typing import Optional

import libcst as cst

from bnlint.analysis.module_info import dotted
from bnlint.core.diagnostics import Edit, Fix, Location
from bnlint.fix.edits import rows, statement_chain
from bnlint.facts.edits import code, replace_node
from bnlint.facts.names import evalish_data_name, training_param
from bnlint.facts.training import graph_mode
from bnlint.facts.keras_models import in_tape
from bnlint.analysis.project import call_arg
from bnlint.rulekit.rule import Invalid, Rule, RuleContext

_LITERALS = (cst.Integer, cst.Float, cst.SimpleString)


def _called_in_tape(project, body, depth: int = 0) -> bool:
    """Some call chain into this function starts inside a GradientTape block."""
    if depth >= 4 or not body.is_function():
        return False
    return any(in_tape(c) or _called_in_tape(project, c.body, depth + 1) for c in project.callers.get(body.key, []))


def _loop_with_tape(ev) -> bool:
    """Constructed in a loop whose body also runs a GradientTape (a training loop)."""
    return any(loop in other.loops for loop in ev.loops for other in ev.body.events if in_tape(other))


def _literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation):
        node = node.expression
    return isinstance(node, _LITERALS) or isinstance(node, cst.Name) and node.value in ("True", "False", "None")


def _hoist(info, call: cst.Call) -> Optional[Fix]:
    """Create the layer once, at module level just above the module statement holding the step; only
    when its arguments are literals (they mean the same there), the step is not in a class (one layer
    per instance is wanted there) and no `with` other than the GradientTape encloses it (a strategy
    or device scope must keep applying)."""
    chain = statement_chain(info, call, stop=info.module)
    if not chain or isinstance(chain[0], cst.ClassDef) or not all(_literal(a.value) for a in call.args):
        return None
    for stmt in chain:
        if isinstance(stmt, cst.With) and "GradientTape" not in code(stmt.items[0].item):
            return None
    row = rows(info, chain[0])[0]
    if isinstance(chain[0], cst.FunctionDef) and chain[0].decorators:
        row = info.position(chain[0].decorators[0]).start.line
    text = info.module.code
    base = f"{chain[0].name.value}_bn" if isinstance(chain[0], cst.FunctionDef) else "step_bn"
    name, n = base, 1
    while re.search(rf"\b{name}\b", text):
        n += 1
        name = f"{base}{n}"
    gap = "\n\n" if isinstance(chain[0], (cst.FunctionDef, cst.ClassDef)) else ""
    insert = Edit(f"{name} = {code(call)}  # created once (BNL021)\n{gap}", Location(row, 1), Location(row, 1))
    return Fix("Create the BN layer once, outside the step", (insert, replace_node(info, call, name)),
               applicability="unsafe")


def _eval_rebuilds(project, info):
    """(evaluation call, earlier call) pairs of one builder of Keras BN in one body of the graph."""
    for body in info.bodies.values():
        builds = {}
        for ev in body.events:
            tgt = project.target(ev)
            if tgt is None or not any(s.kind == "keras" for s in tgt.summary) or tgt.name.split(".")[-1] in _ONCE:
                continue
            if any(c.kind == "graph" for c in ev.ctx):
                continue  # a graph of its own (restored from a checkpoint)
            first = builds.setdefault(tgt.key, ev)
            if first is not ev and _evaluation_call(ev, tgt):
                yield ev, first


_ONCE = {"__init__", "build", "call", "__call__"}


def _evaluation_call(ev, tgt) -> bool:
    """Named as evaluation (``val_logits = f(x_val)``) or passing False for a training parameter."""
    if any(evalish_data_name(n) for n in set(ev.targets) | ev.arg_names()):
        return True
    param = training_param(tgt)
    value = call_arg(ev, tgt, param) if param else None
    return isinstance(value, cst.Name) and value.value == "False"


def _in_call_method(body, ev) -> bool:
    """Constructed unconditionally in ``call()`` of a Keras layer or model class (a ``__call__``
    of a plain class is often a functional-model builder that runs once)."""
    if body.class_name is None or body.name.split(".")[-1] != "call" or ev.conds:
        return False
    info = body.module
    cls = info.classes.get(body.class_name)
    for base in cls.bases if cls is not None else ():
        name = info.resolve(base.value) or (dotted(base.value) or "")
        if name.startswith("keras.") or name.endswith(("Layer", "Model")):
            return True
    return False


class KerasBNCreatedPerStep(Rule):
    """Finds `tf.keras.layers.BatchNormalization(...)` constructed inside a `GradientTape` block, in
    a function called (through any chain) from inside one, in a loop whose body runs one, or
    unconditionally in the `call()`/`__call__` method of a layer or model class, instead of once
    (in `__init__`/`build`, or when the model is built); and a builder function that constructs
    Keras BN called again for evaluation in the same graph (`val_logits = build_net(x_val, False)`
    after `logits = build_net(x, True)`): Keras layers ignore `variable_scope` reuse, so the second
    call gets its own, never-trained BN layers."""

    code = "BNL021"
    name = "keras-bn-created-per-step"
    summary = "Keras BN layer constructed per step/call/build: new, untrained variables every time"
    why = """
    Every construction creates a new layer with new gamma/beta and fresh moving statistics
    (mean 0, variance 1). Built inside the step, the optimizer updates a layer that is thrown away,
    the moving averages are reset every step, and inference uses yet another fresh layer. Inside
    `tf.function` it fails on the second trace ("tf.function only supports singleton
    tf.Variables created on the first call").
    """
    example = """
    def train_step(x, y):
        with tf.GradientTape() as tape:
            h = tf.keras.layers.BatchNormalization()(dense(x), training=True)   # BNL021
    """
    fix_safety = "unsafe"
    fix_doc = """
    Create the layer once (in the model's `__init__`, or next to the model) and call that object
    in the step. The unsafe fix does this for a step outside any class whose construction has
    only literal arguments: it creates the layer at module level, just above the function (or
    loop) holding the step, and calls that object in the step (a layer shared by every call of
    the function is what the step means; not done inside a `with` other than the GradientTape).
    At runtime the mistake shows as BNL110 (many layers from one line, each seeing one call).
    """
    VALID = [
        """
import tensorflow as tf
bn = tf.keras.layers.BatchNormalization()
dense = tf.keras.layers.Dense(4)
def train_step(x, opt):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(bn(dense(x), training=True))
    variables = dense.trainable_variables + bn.trainable_variables
    opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
""",
        """
import tensorflow as tf
def build_model():
    inputs = tf.keras.Input((4,))
    return tf.keras.Model(inputs, tf.keras.layers.BatchNormalization()(inputs))
model = build_model()
def train_step(x, opt):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x, training=True))
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
class Head(tf.keras.layers.Layer):
    def __init__(self, units):
        super().__init__()
        self.dense = tf.keras.layers.Dense(units)
    def call(self, x, training=False):
        return tf.keras.layers.BatchNormalization()(self.dense(x), training=training)
""",
            lines=[7],
        ),
        Invalid(
            """
import tensorflow as tf
dense = tf.keras.layers.Dense(4)
def forward(x):
    return tf.keras.layers.BatchNormalization()(dense(x), training=True)
def train_step(x, opt):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(forward(x))
    opt.apply_gradients(zip(tape.gradient(loss, dense.trainable_variables), dense.trainable_variables))
""",
            lines=[4],
            expected_fix="""
import tensorflow as tf
dense = tf.keras.layers.Dense(4)
forward_bn = tf.keras.layers.BatchNormalization()  # created once (BNL021)


def forward(x):
    return forward_bn(dense(x), training=True)
def train_step(x, opt):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(forward(x))
    opt.apply_gradients(zip(tape.gradient(loss, dense.trainable_variables), dense.trainable_variables))
""",
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        # In eager code the construction inside the step is the one root cause (reported below);
        # a second build for evaluation is a bug of its own only in a TF1 graph.
        for ev, first in _eval_rebuilds(ctx.project, ctx.info) if graph_mode(ctx.info) else ():
            ctx.report(
                ev.node,
                f"`{ctx.info.module.code_for_node(ev.node.func)}` constructs new Keras BN layers on every call, "
                f"and this evaluation build comes after the training build at line {ctx.line_of(first.node)}: "
                "Keras layers ignore variable_scope reuse, so it evaluates BN layers of its own whose "
                "moving statistics (and gamma/beta) were never trained; build the model once "
                "(a tf.keras.Model) and call it with training=False",
            )
        for body in ctx.info.bodies.values():
            step = None
            for ev in body.events:
                if not (ev.callee and ev.callee.startswith("keras.layers.") and any(s.kind == "keras" for s in ev.sites)):
                    continue
                if step is None:
                    step = _called_in_tape(ctx.project, body)
                if _in_call_method(body, ev):
                    ctx.report(
                        ev.node,
                        f"`{ctx.info.module.code_for_node(ev.node.func)}` is constructed inside "
                        f"`{body.name}`, which runs every time the layer is applied (each training step "
                        "in eager mode, each graph build: the train and eval graphs get different BN "
                        "layers): its gamma/beta and moving statistics are never the trained ones; "
                        "create it once in `__init__`/`build` and call it here",
                    )
                elif in_tape(ev) or step or _loop_with_tape(ev):
                    ctx.report(
                        ev.node,
                        f"`{ctx.info.module.code_for_node(ev.node.func)}` is constructed inside the training step: "
                        "each step gets a new BN layer with fresh gamma/beta and moving statistics, so nothing "
                        "it learns survives the step; create the layer once and call it here",
                        fix=_hoist(ctx.info, ev.node),
                    )
