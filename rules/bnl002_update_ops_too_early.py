"""BNL002: UPDATE_OPS is read before the BN layers of the step exist."""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from bnlint.analysis.module_info import names_in
from bnlint.source.cstwalk import find, walk
from bnlint.core.diagnostics import Fix
from bnlint.fix.edits import (
    block_statements,
    tf_prefix,
    update_ops_expr,
    wrap_statement,
    comment_rows_above,
    has_multiline_string,
    is_single_statement_line,
    move_rows_edits,
    rows,
    statement_chain,
)
from bnlint.rulekit.rule import Invalid, Rule, RuleContext
from bnlint.facts.updates import consumers, is_step, is_update_collection_call


class UpdateOpsTooEarly(Rule):
    """Finds `tf.get_collection(tf.GraphKeys.UPDATE_OPS)` evaluated before the model or tower loop
    that creates the BN layers, when the resulting list is what the training step depends on
    (`control_dependencies`, `tf.group`, `sess.run`). A read whose result is only used to filter out
    earlier ops is not flagged.
    """

    code = "BNL002"
    name = "update-ops-gathered-too-early"
    summary = "UPDATE_OPS read before the BN layers exist: the step depends on an empty or partial list"
    fix_safety = "safe"
    why = """
    `get_collection` returns a snapshot. Read before the towers/model are built, it is empty (or
    holds only the layers built so far), so the step's control dependency covers nothing and the
    moving mean/variance of the layers built later are never updated: inference uses their initial
    values (mean 0, variance 1), and validation loss explodes while training loss looks fine.
    """
    example = """
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)   # BNL002: empty here
    for i in range(num_gpus):
        with tf.device("/gpu:%d" % i):
            loss = tower_loss(images[i], is_training)
    with tf.control_dependencies(update_ops):
        train_op = opt.minimize(loss)
    """
    fix_doc = """
    Read the collection after every tower/model call of the step: the fix moves the
    `update_ops = tf.get_collection(...)` statement (with the comment lines above it) to just
    before the statement that makes the step depend on it, e.g. the
    `with tf.control_dependencies(update_ops):`, keeping the variable name. When the list is also
    read in between, or other code may read the name (a helper reading it as a global, as the
    report's `setup_grad` does inside the tower loop; a closure), the statement is repeated there
    instead of moved, so that code keeps its (early) list. When the list is used inside the tower
    loop itself (`with tf.control_dependencies(update_ops): grads = opt.compute_gradients(loss)`
    per tower, the report's `setup_grad` inlined), no single place serves those uses: the fix then
    wraps the step built after the loop (`apply_gradients`) in
    `with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):`, read there, after
    every tower, so the step waits for all towers' update ops. Otherwise no fix is offered when the
    two places run under different loops/conditions, when something the statement reads is
    reassigned in between, or when the step using the list is built in another function.
    """
    VALID = [
        """
import tensorflow as tf
x = tf.zeros([4, 3])
y = tf.layers.batch_normalization(x, training=True)
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
""",
        """
import tensorflow as tf
skip = set(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)
post = [op for op in tf.get_collection(tf.GraphKeys.UPDATE_OPS) if op not in skip]
with tf.control_dependencies(post):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow.compat.v1 as tf
def tower_loss(x, training):
    return tf.reduce_mean(tf.layers.batch_normalization(x, training=training))
opt = tf.train.AdamOptimizer()
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
grads = []
with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
    for i in range(2):
        with tf.device("/gpu:%d" % i):
            grads.append(opt.compute_gradients(tower_loss(tf.zeros([4, 3]), True)))
with tf.control_dependencies(update_ops):
    train_op = opt.apply_gradients(grads[0])
""",
            lines=[5],
            expected_fix="""
import tensorflow.compat.v1 as tf
def tower_loss(x, training):
    return tf.reduce_mean(tf.layers.batch_normalization(x, training=training))
opt = tf.train.AdamOptimizer()
grads = []
with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
    for i in range(2):
        with tf.device("/gpu:%d" % i):
            grads.append(opt.compute_gradients(tower_loss(tf.zeros([4, 3]), True)))
update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = opt.apply_gradients(grads[0])
""",
        ),
        Invalid(
            """
import tensorflow as tf

def build(x, n):
    # BN update ops of every tower
    ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)

    print("collected", len(ops))
    losses = []
    for i in range(n):
        with tf.device("/gpu:%d" % i):
            losses.append(tf.layers.batch_normalization(x, training=True))
    with tf.device("/cpu:0"):
        loss = tf.add_n(losses)
        train_op = tf.group(tf.train.AdamOptimizer().minimize(loss), *ops)
    return train_op
""",
            lines=[5],
            expected_fix="""
import tensorflow as tf

def build(x, n):
    # BN update ops of every tower
    ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)

    print("collected", len(ops))
    losses = []
    for i in range(n):
        with tf.device("/gpu:%d" % i):
            losses.append(tf.layers.batch_normalization(x, training=True))
    with tf.device("/cpu:0"):
        loss = tf.add_n(losses)
        # BN update ops of every tower
        ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        train_op = tf.group(tf.train.AdamOptimizer().minimize(loss), *ops)
    return train_op
""",
        ),
        Invalid(
            """
import tensorflow as tf
def build(x, n, train_flag):
    opt = tf.train.AdamOptimizer()
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    tower_grads = []
    for i in range(n):
        with tf.device("/gpu:%d" % i):
            loss = tf.reduce_sum(tf.layers.batch_normalization(x[i], training=train_flag))
            with tf.control_dependencies(update_ops):
                grads = opt.compute_gradients(loss)
            tower_grads.append(grads)
    train_op = opt.apply_gradients(tower_grads[0])
    return train_op
""",
            lines=[4],
            expected_fix="""
import tensorflow as tf
def build(x, n, train_flag):
    opt = tf.train.AdamOptimizer()
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    tower_grads = []
    for i in range(n):
        with tf.device("/gpu:%d" % i):
            loss = tf.reduce_sum(tf.layers.batch_normalization(x[i], training=train_flag))
            with tf.control_dependencies(update_ops):
                grads = opt.compute_gradients(loss)
            tower_grads.append(grads)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train_op = opt.apply_gradients(tower_grads[0])
    return train_op
""",
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        for ev in info.all_events():
            if not is_update_collection_call(info, ev.node):
                continue
            later_bn = self._bn_after(ctx, ev)
            if not later_bn:
                continue
            if isinstance(ev.stmt, cst.With):
                uses = [ev]  # with tf.control_dependencies(tf.get_collection(UPDATE_OPS)):
            else:
                uses = [u for name in ev.targets for u in consumers(info, ev, name)]
                if uses and all(u.body is ev.body for u in uses):
                    # BN layers built after the last step that uses the list are not its layers.
                    last_use = max(u.order for u in uses)
                    later_bn = [b for b in later_bn if b.order < last_use]
                    if not later_bn:
                        continue
                for name in ev.targets:
                    rebinds = [o for o, _ in ev.body.assigned.get(name, []) if o > later_bn[-1].order]
                    if rebinds:
                        uses = []  # re-read after the model was built
            if not uses or _steps_read_late(ev, later_bn):
                continue
            first = later_bn[0]
            ctx.report(
                ev.node,
                f"UPDATE_OPS is read here, before the BN layers built at line {ctx.line_of(first.node)}"
                f"{' (and later)' if len(later_bn) > 1 else ''} exist: the list the step depends on is "
                "empty or partial, so the moving_mean/moving_variance of those BN layers are never "
                "updated and inference uses their initial values (mean 0, variance 1); read the "
                "collection after the model/tower loop",
                fix=self._fix(ctx, ev, uses, later_bn) or _step_fix(ctx, ev, uses, later_bn),
            )

    @staticmethod
    def _fix(ctx: RuleContext, gather, uses, later_bn) -> Optional[Fix]:
        """Move ``name = get_collection(UPDATE_OPS)`` (with its comment lines) to just before the
        statement that makes the step depend on it, after every BN layer of the step; when the
        name is also read in between, by other code (a global, a closure), or the statement is
        alone in its block, re-read it there instead and leave the first read alone. Offered only
        when both places sit under the same loops/conditions (``with`` blocks do not matter: ``get_collection`` ignores scopes)."""
        info = ctx.info
        stmt = gather.line_stmt
        if isinstance(gather.stmt, cst.With) or not is_single_statement_line(stmt):
            return None
        small = stmt.body[0]
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)) or has_multiline_string(info, stmt):
            return None
        name = small.targets[0].target.value
        body = gather.body
        # Functions reading the name as a global (the report's setup_grad, called in the tower loop)
        # may run before the new place: the first read stays for them, the steps here re-read.
        elsewhere = any(u.body is not body for u in uses) or _read_elsewhere(info, body, name)
        uses = [u for u in uses if u.body is body]
        if not uses:
            return None
        stop = body.node
        g_outer = _loops_and_conds(statement_chain(info, stmt, stop)[:-1])
        g_end = rows(info, stmt)[1]
        bn_end = max(_pos(info, b.node, end=True) for b in later_bn)
        use_chains = [statement_chain(info, u.line_stmt, stop) for u in uses]
        chain = min(use_chains, key=lambda c: _pos(info, c[-1]))
        target = None
        for i in range(len(chain) - 1, -1, -1):
            start = _pos(info, chain[i])
            if start[0] <= g_end:
                break
            if bn_end > start or _loops_and_conds(chain[:i]) != g_outer:
                continue
            if all(len(c) > i and _same(c[:i], chain[:i]) and _pos(info, c[i]) >= start for c in use_chains):
                target = chain[i]
                break
        if target is None:
            return None
        t_start = _pos(info, target)
        # The value must mean the same there: nothing it reads (nor the name) is rebound in between.
        for n in names_in(small.value) | {name}:
            for _, value in body.assigned.get(n, []):
                if value is not small.value and (g_end, 10**9) < _pos(info, value) < t_start:
                    return None
        read_between = any((g_end, 10**9) < p < t_start for p in _name_uses(info, stop, name))
        keep = read_between or elsewhere or len(block_statements(info, stmt)) < 2
        first = comment_rows_above(info, stmt)
        edits = move_rows_edits(info, first, g_end, t_start[0], keep=keep)
        verb = "Read the collection again" if keep else f"Move `{name} = ...`"
        return Fix(f"{verb} after the BN layers, right before line {t_start[0]}", tuple(edits), "safe")

    @staticmethod
    def _bn_after(ctx: RuleContext, gather):
        out = []
        for ev in gather.body.events:
            if ev.order <= gather.order:
                continue
            if isinstance(gather.stmt, cst.With) and not any(c.call is not None and c.order >= gather.order for c in ev.ctx):
                continue
            if ev.training_collection_sites():
                out.append(ev)
        return out


def _late_steps(gather, later_bn):
    """Steps built after the towers, under the same loops and conditions as the early read."""
    last_bn = max(b.order for b in later_bn)
    return [e for e in gather.body.events if is_step(e) and e.order > last_bn
            and e.loops == gather.loops and e.conds == gather.conds]


def _steps_read_late(gather, later_bn) -> bool:
    """Every step after the towers runs under control_dependencies of UPDATE_OPS read after the
    last BN layer (what ``_step_fix`` writes): the early list then covers nothing that matters."""
    steps = _late_steps(gather, later_bn)
    if not steps:
        return False
    info = gather.body.module
    last_bn = max(b.order for b in later_bn)
    late = [u for u in gather.body.events if u.order > last_bn and is_update_collection_call(info, u.node)]

    def reads_late(c) -> bool:
        expr = c.call.args[0].value if c.call is not None and c.call.args else None
        if expr is None:
            return False
        inside = {id(n) for n in walk(expr)}
        if any(id(u.node) in inside for u in late):
            return True
        if isinstance(expr, cst.Name):
            value = gather.body.binding(expr.value, c.order)
            return value is not None and any(u.node is value or id(u.node) in {id(n) for n in walk(value)} for u in late)
        return False

    return all(any(c.kind == "deps" and reads_late(c) for c in e.ctx) for e in steps)


def _step_fix(ctx: RuleContext, gather, uses, later_bn) -> Optional[Fix]:
    """When the early list is used inside the tower loop (``with control_dependencies(update_ops):
    grads = opt.compute_gradients(loss)`` per tower, the report's ``setup_grad`` inlined), no place
    for the read serves every use. Instead the step built after the towers, under the same loops
    and conditions as the early read, runs under ``control_dependencies`` of the collection read
    right there: it then holds every tower's update ops, and the step depends on all of them. The
    early read and its uses stay (they are harmless); nothing else changes meaning."""
    info = ctx.info
    prefix = tf_prefix(info)
    if prefix is None or len(gather.node.args) != 1:
        return None  # a scoped read: the whole collection could pull in other models' updates
    if not any(len(u.loops) > len(gather.loops) for u in uses):
        return None  # not the tower-loop shape: the plain fix or none
    steps = _late_steps(gather, later_bn)
    if not steps or any(not is_single_statement_line(e.line_stmt) for e in steps):
        return None
    header = f"with {prefix}.control_dependencies({update_ops_expr(prefix)})"
    edits = []
    for stmt in dict.fromkeys(e.line_stmt for e in steps):
        edit = wrap_statement(info, stmt, header)
        if edit is None:
            return None
        edits.append(edit)
    # A training BN layer built after a step would be missing from the list read there.
    later = any(o.order > min(e.order for e in steps) and o.training_collection_sites() for o in gather.body.events)
    return Fix("Run the step under control_dependencies on UPDATE_OPS read after the towers",
               tuple(edits), "unsafe" if later else "safe")


def _pos(info, node, end: bool = False) -> tuple:
    p = info.position(node)
    return (p.end.line, p.end.column) if end else (p.start.line, p.start.column)


def _same(a, b) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _loops_and_conds(chain) -> List[int]:
    """The enclosing statements that decide whether/how often code runs (``with`` does not)."""
    return [id(s) for s in chain if not isinstance(s, (cst.With, cst.SimpleStatementLine))]


def _read_elsewhere(info, body, name: str) -> bool:
    """Whether code outside ``body`` may read ``name``: another function or the module level names
    it (a global read, a closure, a ``global`` declaration). Moving the assignment could then leave
    it unbound when that code runs (``bnlint verify`` caught a helper reading a ``global``)."""
    nested = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
    for other in info.bodies.values():
        if other is body:
            continue
        root = other.node
        if any(n.value == name for n in find(root, cst.Name, prune=lambda n: n is not root and isinstance(n, nested))):
            return True
    return False


def _name_uses(info, root, name: str) -> List[tuple]:
    return [_pos(info, n) for n in find(root, cst.Name) if n.value == name]
