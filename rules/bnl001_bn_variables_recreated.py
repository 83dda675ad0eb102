"""BNL001: a BN-building function is called again without variable reuse."""

from __future__ import annotations

import re
from typing import Optional

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import arg, kwarg, literal_string, positional
from bnlint.core.diagnostics import Fix
from bnlint.fix.edits import insert_keyword, is_single_statement_line, tf_prefix, wrap_block, wrap_statement
from bnlint.analysis.project import call_arg
from bnlint.rulekit.root_causes import reached_bodies
from bnlint.rulekit.rule import Invalid, Rule, RuleContext
from bnlint.facts.scoped_bn import scoped_bn_sites
from bnlint.rulekit.shared_builders import bn_builders, same_branch
from bnlint.facts.updates import reuse_in_effect

_EVALISH = re.compile(r"(^|_)(val|valid|validation|eval|evaluation|test|infer|inference|predict|pred|dev)(_|$|\d)", re.I)


def _flag_kinds(sites) -> set:
    kinds = set()
    for s in sites:
        if s.flag == ("const", False):
            kinds.add("F")
        elif s.flag == ("const", True):
            kinds.add("T")
        else:
            kinds.add("D")
    return kinds


_NAME_WORDS = ("scope", "name", "name_or_scope")


def _name_word(word: str) -> bool:
    return word in _NAME_WORDS or word.endswith(("_scope", "_name"))


def _distinct_names(project, first, ev) -> bool:
    """The two calls pass their own scope/name (``_stack(x, 64, scope='conv2')`` after ``scope='conv1'``,
    ``scope=str(i)``, ``batch_norm(h1, "d_bn2")`` after ``"d_bn1"`` for a ``name`` parameter): the
    function's named layers get a different prefix each time."""
    def names(call):
        return {a.keyword.value: a.value for a in call.node.args if a.keyword is not None and _name_word(a.keyword.value)}

    a, b = names(first), names(ev)
    callee = project.target(ev)
    for param in callee.params if callee is not None else ():
        if _name_word(param) and param not in a and param not in b:  # passed by position
            va, vb = call_arg(first, callee, param), call_arg(ev, callee, param)
            if va is not None and vb is not None:
                a[param], b[param] = va, vb
    for key in set(a) & set(b):
        la, lb = literal_string(a[key]), literal_string(b[key])
        if la is None or lb is None or la != lb:
            return True  # computed names (str(i), "%s_%d" % ...) are the code's own naming scheme
    return False


def _vscopes(ev) -> tuple:
    """The variable scopes around a call, by literal name (two ``with variable_scope("net")``
    blocks name variables alike), else by the ``with`` that opens them."""
    return tuple(c.scope_name if c.scope_name is not None else id(c.call) for c in ev.ctx if c.kind == "vscope")


class BNVariablesRecreated(Rule):
    """Finds a second construction of BN layers (an eval/validation graph, or another tower) made by
    calling the same model or helper function again while variable reuse is not in effect: no
    enclosing `variable_scope(..., reuse=True/tf.AUTO_REUSE)`, no earlier `reuse_variables()`, no
    `reuse=` passed through, no `tf.make_template`. Helpers are followed
    (`conv(..., with_bn=True)` -> `bn()` -> `tf.layers.batch_normalization`), also across modules.
    """

    code = "BNL001"
    name = "bn-variables-recreated"
    summary = "BN layers built again without variable reuse: the copy's statistics are never trained"
    fix_safety = "unsafe"
    why = """
    With unnamed layers every call creates new variables (`batch_normalization_7/moving_mean`,
    ...). Training updates the first copy; the eval graph (or the other towers) read the second,
    which still holds its initial values (moving mean 0, variance 1) and untrained weights. This is
    how a model with training loss ~1 reports validation loss in the thousands. With named layers
    the second call fails at graph build (`Variable bn1/gamma already exists`).
    """
    example = """
    logits = model(train_x, is_training=True)
    val_logits = model(val_x, is_training=False)   # BNL001: new, untrained BN variables
    """
    fix_doc = """
    The second construction must run in the same variable scope as the first, with reuse on and
    the scope's layer counters reset, so unnamed layers (`dense`, `batch_normalization_1`, ...) get
    the first call's names. The fix picks, in this order:

    - the function takes `reuse` and hands it to a named `variable_scope`: pass `reuse=True` (safe);
    - the first call runs in a named `variable_scope("model")`: run the second in
      `variable_scope("model", reuse=tf.AUTO_REUSE)`, or add `reuse=tf.AUTO_REUSE` to the second's
      own `variable_scope("model")` (safe);
    - towers built in a loop: put the loop body in
      `with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):` (safe when no layers
      are built after the loop: leaving that scope resets the layer counters, so a later unnamed
      layer would collide with the towers' names);
    - otherwise (unsafe): put both calls in `variable_scope(tf.get_variable_scope(),
      reuse=tf.AUTO_REUSE)` (variable names unchanged), or, when other layers are built after the
      first call, in one named scope `variable_scope("<function>")` (renames the variables, so old
      checkpoints no longer match).

    Wrapping only the second call in `variable_scope(tf.get_variable_scope(), reuse=True)` does NOT
    work with unnamed layers (`Variable batch_normalization_2/gamma does not exist`).
    """
    VALID = [
        """
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
with tf.variable_scope("net"):
    logits = model(tf.zeros([2, 3]), True)
with tf.variable_scope("net", reuse=True):
    val_logits = model(tf.zeros([2, 3]), False)
""",
        """
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(x, training=training)
with tf.variable_scope(tf.get_variable_scope()):
    for i in range(4):
        with tf.device("/gpu:%d" % i):
            out = model(tf.zeros([2, 3]), True)
            tf.get_variable_scope().reuse_variables()
""",
        """
import tensorflow as tf
def block(x, training):
    return tf.nn.relu(tf.layers.batch_normalization(x, training=training))
x = tf.zeros([2, 3])
x = block(x, True)
x = block(x, True)
""",
        """
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(x, training=training)
shared = tf.make_template("model", model)
a = shared(tf.zeros([2, 3]), True)
b = shared(tf.zeros([2, 3]), False)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def bn(inp, train_flag, name=None):
    return tf.layers.batch_normalization(inp, training=train_flag, name=name)
def conv(x, filters, with_bn=False, train_flag=None):
    x = tf.layers.conv2d(x, filters, 3, use_bias=not with_bn)
    if with_bn:
        x = bn(x, train_flag)
    return x
def model(x, train_flag):
    return conv(x, 8, with_bn=True, train_flag=train_flag)
logits = model(tf.zeros([2, 8, 8, 3]), True)
val_logits = model(tf.zeros([2, 8, 8, 3]), False)
""",
            lines=[12],
        ),
        Invalid(
            """
import tensorflow.compat.v1 as tf
def tower(x, is_training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training)
losses = []
for i in range(4):
    with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i):
        losses.append(tower(tf.zeros([2, 3]), True))
""",
            lines=[7],
            expected_fix="""
import tensorflow.compat.v1 as tf
def tower(x, is_training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=is_training)
losses = []
for i in range(4):
    with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
        with tf.device("/gpu:%d" % i), tf.name_scope("tower_%d" % i):
            losses.append(tower(tf.zeros([2, 3]), True))
""",
        ),
        Invalid(
            """
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
train_logits = model(tf.zeros([2, 3]), True)
val_logits = model(tf.zeros([2, 3]), False)  # eval graph
""",
            lines=[5],
            expected_fix="""
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
    train_logits = model(tf.zeros([2, 3]), True)
with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
    val_logits = model(tf.zeros([2, 3]), False)  # eval graph
""",
        ),
        Invalid(
            """
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
train_logits = model(tf.zeros([2, 3]), True)
val_logits = model(tf.zeros([2, 3]), False)
head = tf.layers.dense(val_logits, 2)
""",
            lines=[5],
            expected_fix="""
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
with tf.variable_scope("model"):
    train_logits = model(tf.zeros([2, 3]), True)
with tf.variable_scope("model", reuse=tf.AUTO_REUSE):
    val_logits = model(tf.zeros([2, 3]), False)
head = tf.layers.dense(val_logits, 2)
""",
        ),
        Invalid(
            """
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
with tf.variable_scope('net'):
    train_logits = model(tf.zeros([2, 3]), True)
eval_logits = model(tf.zeros([2, 3]), False)
""",
            lines=[6],
            expected_fix="""
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
with tf.variable_scope('net'):
    train_logits = model(tf.zeros([2, 3]), True)
with tf.variable_scope('net', reuse=tf.AUTO_REUSE):
    eval_logits = model(tf.zeros([2, 3]), False)
""",
        ),
        Invalid(
            """
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
with tf.variable_scope("net"):
    train_logits = model(tf.zeros([2, 3]), True)
with tf.variable_scope("net"):
    eval_logits = model(tf.zeros([2, 3]), False)
""",
            lines=[7],
            expected_fix="""
import tensorflow as tf
def model(x, training):
    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
with tf.variable_scope("net"):
    train_logits = model(tf.zeros([2, 3]), True)
with tf.variable_scope("net", reuse=tf.AUTO_REUSE):
    eval_logits = model(tf.zeros([2, 3]), False)
""",
        ),
        Invalid(
            """
import tensorflow as tf
def model(x, training, reuse=None):
    with tf.variable_scope("model", reuse=reuse):
        return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
logits = model(tf.zeros([2, 3]), True)
eval_logits = model(tf.zeros([2, 3]), False)
""",
            lines=[6],
            expected_fix="""
import tensorflow as tf
def model(x, training, reuse=None):
    with tf.variable_scope("model", reuse=reuse):
        return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)
logits = model(tf.zeros([2, 3]), True)
eval_logits = model(tf.zeros([2, 3]), False, reuse=True)
""",
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        project = ctx.project
        for body in ctx.info.bodies.values():
            calls = {}
            self._sites, self._reported = {}, set()
            for ev in body.events:
                tgt = project.target(ev)
                if tgt is None or tgt is body:
                    continue
                # ``with slim.arg_scope(resnet_arg_scope(is_training=t)): net = resnet(x)``
                sites = ev.sites or scoped_bn_sites(project, ev)
                if any(s.kind in ("functional", "layer_class") for s in sites):
                    self._sites[id(ev)] = sites
                    calls.setdefault(tgt.key, []).append(ev)
            # In execution order: once a build raises "already exists", nothing after it runs, so
            # that call is the failure to report (not a later eval build in the same function).
            for ev in sorted((e for evs in calls.values() for e in evs), key=lambda e: e.order):
                if not self._fresh(ev) or reuse_in_effect(ev):
                    continue
                earlier = [e for e in calls[project.target(ev).key] if e.order < ev.order]
                before = len(ctx.diagnostics)
                verdict = self._check_call(ctx, ev, earlier)
                if verdict:
                    self._reported.add(id(ev))
                for d in ctx.diagnostics[before:]:
                    # A rebuild reported inside the code this call runs is the same bug.
                    d.cause = (body.key, reached_bodies(project, ev))
                if verdict == "raises":
                    break
            else:
                self._check_siblings(ctx, body, calls)

    def _check_siblings(self, ctx: RuleContext, body, calls) -> None:
        """``train(x)`` then ``evaluate(vx)`` in one body, both building ``model`` (one with the flag
        False): the evaluation copy gets its own, never trained, BN variables."""
        project = ctx.project
        evs = sorted((e for evs in calls.values() for e in evs if self._fresh(e) and not reuse_in_effect(e)),
                     key=lambda e: e.order)
        builders = {}
        for ev in evs:
            if id(ev) in self._reported:
                continue
            for first in evs:
                if first.order >= ev.order or project.target(first) is project.target(ev):
                    continue
                if ev.arg_names() & set(first.targets) or first.tower_loop is not None or ev.tower_loop is not None:
                    continue
                kinds_first, kinds_ev = _flag_kinds(self._sites[id(first)]), _flag_kinds(self._sites[id(ev)])
                if kinds_first == kinds_ev or not ({"F"} & (kinds_first | kinds_ev)) or not same_branch(first, ev):
                    continue
                for e in (first, ev):
                    if id(e) not in builders:
                        builders[id(e)] = bn_builders(project, e)
                shared = builders[id(first)] & builders[id(ev)]
                if not shared:
                    continue
                model = sorted(shared)[0].partition(":")[2]
                name = ctx.info.module.code_for_node(ev.node.func)
                d = ctx.report(
                    ev.node,
                    f"`{name}` builds the BN layers of `{model}` again (first built through "
                    f"`{ctx.info.module.code_for_node(first.node.func)}` at line {ctx.line_of(first.node)}) "
                    "without variable reuse, in the same graph: it gets new variables "
                    "(batch_normalization_1/moving_mean, ...) that training never updates, so this "
                    "graph runs on untrained statistics; build both in one variable_scope with "
                    "reuse=tf.AUTO_REUSE (or pass reuse=True to the second)",
                )
                d.cause = (body.key, reached_bodies(project, ev))
                break

    def _fresh(self, ev):
        """The BN sites of this call whose variables are created anew (not reused/templated)."""
        return [s for s in self._sites[id(ev)] if s.kind in ("functional", "layer_class") and s.reuse is None]

    def _check_call(self, ctx: RuleContext, ev, earlier) -> Optional[str]:
        """Report this call if it rebuilds BN layers; "raises" when the build fails right here."""
        name = ctx.info.module.code_for_node(ev.node.func)
        loop = ev.tower_loop
        if loop is not None and not (ev.arg_names() & set(ev.targets)):
            ctx.report(
                ev.node,
                f"`{name}` builds BN layers once per tower in this loop without variable reuse: every "
                "tower creates its own moving_mean/moving_variance and weights, so the towers do not "
                "share a model and the copy used for eval/checkpoints sees 1/N of the training; use "
                "variable_scope(..., reuse=tf.AUTO_REUSE) around the towers",
                fix=_tower_fix(ctx, ev, loop),
            )
            return "new"
        for first in earlier:
            if first.tower_loop is not None and first.tower_loop is loop:
                continue
            fresh_named = any(s.named for s in self._fresh(ev))
            same_scope = _vscopes(first) == _vscopes(ev)
            if fresh_named and same_scope and not _distinct_names(ctx.project, first, ev):
                ctx.report(
                    ev.node,
                    f"`{name}` builds the same BN variables again (first at line {ctx.line_of(first.node)}) "
                    "without reuse; its layers are named (a name=/scope= or a literal variable_scope), so "
                    "the second build gets the same variable names and graph construction stops at this "
                    "call with 'ValueError: Variable ... already exists'; enter the first call's "
                    "variable_scope with reuse=True (or pass reuse=True)",
                    fix=_second_call_fix(ctx, first, ev),
                )
                return "raises"
            if ev.arg_names() & set(first.targets):
                continue  # stacking blocks: x = f(x); x = f(x)
            kinds_first, kinds_ev = _flag_kinds(self._sites[id(first)]), _flag_kinds(self._sites[id(ev)])
            flags_differ = kinds_first != kinds_ev and ("F" in kinds_first or "F" in kinds_ev)
            evalish = any(_EVALISH.search(n) for n in set(ev.targets) | ev.arg_names())
            if flags_differ or evalish:
                ctx.report(
                    ev.node,
                    f"`{name}` builds BN layers again (first at line {ctx.line_of(first.node)}) without "
                    f"variable reuse; {'this call runs in another variable scope' if fresh_named else 'its layers are unnamed'}, "
                    "so it gets new variables (batch_normalization_1/moving_mean, ...) that training "
                    "never updates and this graph "
                    "runs on untrained statistics (huge validation loss); reuse the first call's "
                    "variables (named variable_scope with reuse=True, or tf.AUTO_REUSE)",
                    fix=_second_call_fix(ctx, first, ev),
                )
                return "new"
        return None


# --- fixes --------------------------------------------------------------------------------------------
# Which rewrites work was settled by running them on TF 2.21 (tests/test_fix_execution.py): a
# variable scope entered through a VariableScope object (``variable_scope(get_variable_scope())``)
# restores the layer-name counters when it exits, so the next construction gets the same names;
# a scope entered by literal name resets them too. Anything else gives the second call new names.

_LAYER_API = ("tf.layers.", "slim.", "tf.contrib.layers.", "tf.make_template")


def _builds_layers(project, ev, depth: int = 0) -> bool:
    """Whether this call creates (named-by-counter) layers, directly or through project functions."""
    if ev.sites or (ev.callee or "").startswith(_LAYER_API):
        return True
    tgt = project.target(ev) if depth < 3 else None
    return tgt is not None and tgt is not ev.body and any(_builds_layers(project, e, depth + 1) for e in tgt.events)


def _layers_built_after(project, body, order: int, inside) -> bool:
    """Layers built after ``order`` in ``body`` (outside the fixed statements) or after the calls
    of ``body``: leaving a counter-restoring scope would make their default names collide."""
    if any(e.order > order and not inside(e) and _builds_layers(project, e) for e in body.events):
        return True
    return any(
        any(e.order > c.order and _builds_layers(project, e) for e in c.body.events)
        for c in project.callers.get(body.key, [])
    ) if body.is_function() else False


def _scope_ctxs(ev) -> list:
    return [c for c in ev.ctx if c.kind == "vscope"]


def _restores_counters(info, c) -> bool:
    """``variable_scope(tf.get_variable_scope(), ...)``: entered through a VariableScope object."""
    first = arg(c.call, "name_or_scope", 0) if c.call is not None else None
    return isinstance(first, cst.Call) and info.resolve(first.func) in tfnames.GET_VARIABLE_SCOPE


def _current_scope_header(p: str) -> str:
    return f"with {p}.variable_scope({p}.get_variable_scope(), reuse={p}.AUTO_REUSE)"


def _tower_fix(ctx: RuleContext, ev, loop) -> Optional[Fix]:
    info, p = ctx.info, tf_prefix(ctx.info)
    if p is None or not isinstance(loop.node, cst.For):
        return None
    edit = wrap_block(info, loop.node.body, _current_scope_header(p))
    if edit is None:
        return None
    last_in_loop = max(e.order for e in ev.body.events if loop in e.loops)
    unsafe = _layers_built_after(ctx.project, ev.body, last_in_loop, lambda e: loop in e.loops)
    return Fix("Build every tower in `variable_scope(get_variable_scope(), reuse=AUTO_REUSE)` so they share variables",
               (edit,), "unsafe" if unsafe else "safe")


def _passes_reuse_to_named_scope(body, param: str) -> bool:
    return any(c.kind == "vscope" and c.scope_name and c.reuse == ("param", param)
               for e in body.events for c in e.ctx)


def _second_call_fix(ctx: RuleContext, first, ev) -> Optional[Fix]:
    info, project, p = ctx.info, ctx.project, tf_prefix(ctx.info)
    if p is None:
        return None
    name = info.module.code_for_node(ev.node.func)
    # 1. The function takes `reuse` and gives it to a named variable_scope.
    tgt = project.target(ev)
    if tgt is not None and "reuse" in tgt.defaults and kwarg(ev.node, "reuse") is None and \
            _passes_reuse_to_named_scope(tgt, "reuse"):
        index = tgt.params.index("reuse") - (1 if tgt.is_method else 0) if "reuse" in tgt.params else None
        if index is None or positional(ev.node, index) is None:
            return Fix(f"Pass `reuse=True` to `{name}`", (insert_keyword(info, ev.node, "reuse", "True"),), "safe")
    f_scopes, s_scopes = _scope_ctxs(first), _scope_ctxs(ev)
    f_named = [c for c in f_scopes if c.scope_name]
    # 2. The first call runs in one named scope: enter it again (or reuse the second's own entry).
    if len(f_scopes) == 1 and f_named and f_named[0].call is not None:
        scope = f_named[0]
        scope_text = info.module.code_for_node(arg(scope.call, "name_or_scope", 0))
        if not s_scopes and is_single_statement_line(ev.line_stmt):
            edit = wrap_statement(info, ev.line_stmt, f"with {p}.variable_scope({scope_text}, reuse={p}.AUTO_REUSE)")
            if edit is not None:
                return Fix(f"Build `{name}` again inside variable_scope({scope_text}) with reuse", (edit,), "safe")
        if len(s_scopes) == 1 and s_scopes[0].call is not None and s_scopes[0].call is not scope.call and \
                s_scopes[0].scope_name == scope.scope_name and kwarg(s_scopes[0].call, "reuse") is None and \
                positional(s_scopes[0].call, 2) is None:
            edit = insert_keyword(info, s_scopes[0].call, "reuse", f"{p}.AUTO_REUSE")
            return Fix(f"Reuse the variables of variable_scope({scope_text})", (edit,), "safe")
        return None
    if s_scopes or not is_single_statement_line(ev.line_stmt):
        return None
    stmts = (ev.line_stmt,) if f_scopes else (first.line_stmt, ev.line_stmt)
    if f_scopes and not all(_restores_counters(info, c) for c in f_scopes):
        return None
    if len(stmts) == 2 and (stmts[0] is stmts[1] or not is_single_statement_line(stmts[0])
                            or first.loops != ev.loops):
        return None
    inside = lambda e: any(e.line_stmt is s for s in stmts)  # noqa: E731
    later_layers = _layers_built_after(project, ev.body, first.order, inside)
    # 3. The first call already restores the counters: the same scope around the second suffices.
    if f_scopes:
        edit = wrap_statement(info, ev.line_stmt, _current_scope_header(p))
        if edit is None:
            return None
        return Fix(f"Build `{name}` again in `variable_scope(get_variable_scope(), reuse=AUTO_REUSE)`",
                   (edit,), "unsafe" if later_layers else "safe")
    # 4. Both calls in the current scope with AUTO_REUSE: names kept; counters restored after each.
    if not later_layers:
        edits = [wrap_statement(info, s, _current_scope_header(p)) for s in stmts]
        if None in edits:
            return None
        return Fix(f"Build both `{name}` calls in `variable_scope(get_variable_scope(), reuse=AUTO_REUSE)`",
                   tuple(edits), "unsafe")
    # 5. Other layers follow: one named scope for both calls (variables get renamed).
    scope = _free_scope_name(info, ev)
    edits = [wrap_statement(info, stmts[0], f'with {p}.variable_scope("{scope}")'),
             wrap_statement(info, stmts[1], f'with {p}.variable_scope("{scope}", reuse={p}.AUTO_REUSE)')]
    if None in edits:
        return None
    return Fix(f'Build both `{name}` calls in variable_scope("{scope}") (renames their variables)',
               tuple(edits), "unsafe")


def _free_scope_name(info, ev) -> str:
    base = ev.node.func.attr.value if isinstance(ev.node.func, cst.Attribute) else \
        ev.node.func.value if isinstance(ev.node.func, cst.Name) else "model"
    used = {c.scope_name for e in info.all_events() for c in e.ctx if c.kind == "vscope" and c.scope_name}
    used |= {literal_string(arg(e.node, "name_or_scope", 0))
             for e in info.all_events() if e.callee in tfnames.VARIABLE_SCOPE}
    name, i = base, 1
    while name in used:
        i += 1
        name = f"{base}_{i}"
    return name
