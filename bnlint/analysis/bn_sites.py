"""One model of each BN site: the arguments a BN layer really gets where it is built.

A BN call rarely states everything itself. Its training flag and update mode may come from

* its own arguments (``is_training=t``, positional, ``updates_collections=None``);
* a ``**kwargs`` dict (``**BN_PARAMS``), a dict literal, ``dict(...)`` or ``{**base, ...}``, bound in
  the function, an enclosing function or at module level;
* an enclosing ``slim.arg_scope([slim.batch_norm, ...], is_training=t, **params)``;
* the ``normalizer_params`` of a slim/contrib layer (``slim.conv2d(..., normalizer_fn=slim.batch_norm,
  normalizer_params=bn_params)``), itself possibly set by an arg_scope on the layer;
* ``functools.partial(slim.batch_norm, is_training=t)`` bound to a name that is called later;
* the API's default when none of these says anything.

``site_of`` turns a call into a ``Site`` (see ``bnlint.analysis.summary``) with the flag, where it came from
(``Site.flag_source``), the update mode and the reuse in effect; ``bnlint.analysis.project`` follows sites
through the project's functions. The same keyword resolution serves calls of the project's own
functions: ``with slim.arg_scope([bottleneck], is_training=t)`` hands ``is_training`` to every
``bottleneck(...)`` call inside (``scoped_keywords``), and ``**cfg`` dicts are expanded there too.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import (
    DYN,
    Body,
    CallEvent,
    Flag,
    Site,
    arg,
    const_flag,
    dotted,
    literal_string,
    positional,
)

# Where a BN site's training flag comes from.
EXPLICIT, DICT, ARGSCOPE, PARTIAL, DEFAULT, UNKNOWN = "explicit", "dict", "argscope", "partial", "default", "unknown"

_PARTIAL = {"functools.partial", "partial"}
_MAX_DEPTH = 6

# A keyword's value together with the body it is written in (flags are classified there).
Value = Tuple[Body, cst.BaseExpression, str]  # (body, expression, source)
Keywords = Dict[str, Value]


# --- names and dicts --------------------------------------------------------------------------------


def lookup(body: Body, name: str, before: Optional[int] = None) -> Optional[Tuple[Body, cst.BaseExpression]]:
    """The latest value bound to ``name`` seen from ``body``: the body, its enclosing functions,
    then the module level (top-level functions have no parent body). A parameter of the same name
    on the way shadows it."""
    b: Optional[Body] = body
    chain = []
    while b is not None:
        chain.append(b)
        b = b.parent
    top = body.module.top
    if top not in chain:
        chain.append(top)
    for b in chain:
        values = b.assigned.get(name)
        if values:
            chosen = [v for o, v in values if before is None or b is not body or o < before]
            if chosen:
                return b, chosen[-1]
        if name in b.params or name in b.defaults:
            return None
    return None


def dict_entries(body: Body, expr: Optional[cst.BaseExpression], source: str = DICT, order: Optional[int] = None,
                 depth: int = 0) -> Optional[Keywords]:
    """``{"k": v}``, ``dict(k=v)``, ``dict(base, k=v)``, ``{**base, "k": v}`` or a name bound to one
    (entries later in the dict win); None when the dict cannot be read (a parameter, a call, ...)."""
    if expr is None or depth > _MAX_DEPTH:
        return None
    if isinstance(expr, cst.Name):
        found = lookup(body, expr.value, order)
        if found is None or found[1] is expr:
            return None
        return dict_entries(found[0], found[1], source, None, depth + 1)
    out: Keywords = {}
    if isinstance(expr, cst.Dict):
        for el in expr.elements:
            if isinstance(el, cst.DictElement):
                key = literal_string(el.key)
                if key is None:
                    return None
                out[key] = (body, el.value, source)
            else:  # **base
                base = dict_entries(body, el.value, source, order, depth + 1)
                if base is None:
                    return None
                out.update(base)
        return out
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "dict":
        for a in expr.args:
            if a.keyword is not None:
                out[a.keyword.value] = (body, a.value, source)
            elif a.star == "**" or not a.star:
                base = dict_entries(body, a.value, source, order, depth + 1)
                if base is None:
                    return None
                out.update(base)
            else:
                return None
        return out
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "copy":
        return dict_entries(body, expr.func.value, source, order, depth + 1)
    return None


def call_keywords(body: Body, call: cst.Call, order: Optional[int] = None) -> Tuple[Keywords, bool]:
    """A call's keyword arguments with ``**dicts`` expanded, and whether every ``**`` was readable."""
    out: Keywords = {}
    complete = True
    for a in call.args:
        if a.keyword is not None:
            out.setdefault(a.keyword.value, (body, a.value, EXPLICIT))
        elif a.star == "**":
            entries = dict_entries(body, a.value, DICT, order)
            if entries is None:
                complete = False
            else:
                for k, v in entries.items():
                    out.setdefault(k, v)
    return out, complete


# --- arg_scope --------------------------------------------------------------------------------------


def _listed_ops(body: Body, first: cst.BaseExpression, order: int):
    if isinstance(first, cst.Name):
        found = lookup(body, first.value, order)
        first = found[1] if found is not None else first
    if isinstance(first, (cst.List, cst.Tuple)):
        return [e.value for e in first.elements]
    return []


def scoped_keywords(ev: CallEvent, matches: Callable[[cst.BaseExpression], bool]) -> Tuple[Keywords, bool]:
    """Keywords that enclosing ``slim.arg_scope([...ops...], **kw)`` blocks of this call's body give
    to the ops ``matches`` accepts (inner scopes win), and whether all of them were readable."""
    out: Keywords = {}
    complete = True
    for c in ev.ctx:
        if c.kind != "argscope" or c.call is None or not c.call.args:
            continue
        if not any(matches(op) for op in _listed_ops(ev.body, c.call.args[0].value, c.order)):
            continue
        kws, ok = call_keywords(ev.body, c.call, c.order)
        complete = complete and ok
        for k, (b, v, _) in kws.items():
            out[k] = (b, v, ARGSCOPE)
    return out, complete


def same_function(ev: CallEvent) -> Callable[[cst.BaseExpression], bool]:
    """Does an arg_scope list entry name the function this call runs (``bottleneck``, ``ops.conv``,
    or a TF op under another alias)?"""
    info = ev.body.module
    text = dotted(ev.node.func)
    resolved = ev.callee

    def matches(op: cst.BaseExpression) -> bool:
        if text is not None and dotted(op) == text:
            return True
        return resolved is not None and info.resolve(op) == resolved

    return matches


def _is_bn_op(ev: CallEvent) -> Callable[[cst.BaseExpression], bool]:
    info = ev.body.module
    return lambda op: info.resolve(op) in tfnames.BN_CREATORS


def project_call_keywords(ev: CallEvent) -> Tuple[Keywords, bool]:
    """Keywords a call of a project function receives: its own, its ``**dicts``, and those of
    enclosing arg_scopes that list it (``@slim.add_arg_scope`` functions)."""
    own, complete = call_keywords(ev.body, ev.node, ev.order)
    scoped, ok = scoped_keywords(ev, same_function(ev))
    for k, v in scoped.items():
        own.setdefault(k, v)
    return own, complete and ok


# --- BN calls ---------------------------------------------------------------------------------------


def _partial_bn(ev: CallEvent) -> Optional[Tuple[tfnames.BNCreator, Keywords]]:
    """``bn = functools.partial(slim.batch_norm, is_training=t)`` ... ``bn(x)``."""
    func = ev.node.func
    if not isinstance(func, cst.Name):
        return None
    found = lookup(ev.body, func.value, ev.order)
    if found is None or not isinstance(found[1], cst.Call):
        return None
    pbody, call = found
    info = ev.body.module
    if (dotted(call.func) not in _PARTIAL and info.resolve(call.func) not in _PARTIAL) or not call.args:
        return None
    creator = tfnames.BN_CREATORS.get(info.resolve(call.args[0].value) or "")
    if creator is None:
        return None
    kws, _ = call_keywords(pbody, call)
    return creator, {k: (b, v, PARTIAL) for k, (b, v, _) in kws.items()}


def bn_creator_of(ev: CallEvent) -> Optional[tfnames.BNCreator]:
    """The TF BN API this call runs, directly or through a ``functools.partial``."""
    creator = tfnames.BN_CREATORS.get(ev.callee or "")
    if creator is None:
        found = _partial_bn(ev)
        creator = found[0] if found else None
    return creator


def bn_keywords(ev: CallEvent) -> Optional[Tuple[tfnames.BNCreator, Keywords, bool]]:
    """The keyword arguments a direct BN call gets, from every source (own > partial > arg_scope),
    and whether they are all known."""
    creator = tfnames.BN_CREATORS.get(ev.callee or "")
    bound: Keywords = {}
    if creator is None:
        found = _partial_bn(ev)
        if found is None:
            return None
        creator, bound = found
    own, complete = call_keywords(ev.body, ev.node, ev.order)
    for name, pos in ((creator.flag, creator.flag_pos), ("updates_collections", creator.updates_pos)):
        if name and pos is not None and name not in own and not bound:
            value = positional(ev.node, pos)
            if value is not None:
                own[name] = (ev.body, value, EXPLICIT)
    scoped, ok = scoped_keywords(ev, _is_bn_op(ev))
    merged = dict(scoped)
    merged.update(bound)
    merged.update(own)
    return creator, merged, complete and ok


def _normalizer_keywords(ev: CallEvent) -> Optional[Tuple[Keywords, bool]]:
    """For ``slim.conv2d(..., normalizer_fn=slim.batch_norm, normalizer_params=p)`` (arguments of the
    host or of an arg_scope on it): the keywords its batch_norm call gets."""
    info = ev.body.module
    own, complete = call_keywords(ev.body, ev.node, ev.order)
    fn = own.get("normalizer_fn")
    # A normalizer_fn given by an arg_scope is that arg_scope's site (kind "argscope"), not the layer's.
    if fn is None or info.resolve(fn[1]) not in tfnames.BN_CREATORS:
        return None
    if ev.callee not in tfnames.ARG_SCOPE:
        scoped, ok = scoped_keywords(ev, same_function(ev))
        complete = complete and ok
        for k, v in scoped.items():
            own.setdefault(k, v)
    out: Keywords = {}
    if ev.callee not in tfnames.ARG_SCOPE:
        bn_scoped, ok = scoped_keywords(ev, _is_bn_op(ev))
        out.update(bn_scoped)
        complete = complete and ok
    params = own.get("normalizer_params")
    if params is not None:
        entries = dict_entries(params[0], params[1], DICT if params[2] == EXPLICIT else params[2], ev.order)
        if entries is None:
            return out, False
        out.update(entries)
    return out, complete


def effective_keywords(ev: CallEvent) -> Optional[Tuple[str, Keywords, bool]]:
    """(BN API name, keywords it gets, all known) for a direct BN call or a slim layer with a BN
    normalizer; None for other calls. Rules read any BN argument (decay, epsilon, ...) here."""
    found = bn_keywords(ev)
    if found is not None:
        return found[0].name, found[1], found[2]
    if ev.callee in tfnames.NORMALIZER_HOSTS or ev.callee in tfnames.ARG_SCOPE:
        normalizer = _normalizer_keywords(ev)
        if normalizer is not None:
            fn = call_keywords(ev.body, ev.node, ev.order)[0]["normalizer_fn"]
            return ev.body.module.resolve(fn[1]) or "slim.batch_norm", normalizer[0], normalizer[1]
    return None


def _flag(kws: Keywords, key: Optional[str], default: bool, complete: bool) -> Tuple[Flag, str]:
    value = kws.get(key or "")
    if value is not None:
        return const_flag(value[0], value[1]), value[2]
    if not complete:
        return DYN, UNKNOWN
    return ("const", default), DEFAULT


def _inplace(kws: Keywords) -> bool:
    value = kws.get("updates_collections")
    return value is not None and isinstance(value[1], cst.Name) and value[1].value == "None"


def scope_reuse(ev: CallEvent) -> object:
    """Reuse in effect from the enclosing ``variable_scope``s / ``tf.Graph`` of a call."""
    reuse = None
    for c in ev.ctx:
        if c.kind == "graph":
            return "auto"  # built into its own tf.Graph: a second call cannot duplicate variables
        if c.kind == "vscope" and c.reuse:
            if c.reuse == "auto":
                return "auto"
            reuse = c.reuse
    return reuse


def scope_naming(ev: CallEvent) -> Optional[bool]:
    """Whether the variable names of layers built by this call are the same on every call, as
    decided by its innermost naming ``variable_scope``: a literal name (entering it resets the
    layer-name counters, so a second build without reuse raises "Variable ... already exists"),
    a computed one (``variable_scope(name)``: callers choose), None when no scope decides.
    Scopes entered through ``get_variable_scope()`` keep the outer names."""
    info = ev.body.module
    for c in reversed(ev.ctx):
        if c.kind != "vscope" or c.call is None:
            continue
        if c.scope_name is not None:
            return True
        first = arg(c.call, "name_or_scope", 0)
        if isinstance(first, cst.Call) and info.resolve(first.func) in tfnames.GET_VARIABLE_SCOPE:
            continue
        return False
    return None


def site_of(ev: CallEvent) -> Optional[Site]:
    """The BN site a call creates directly (a TF BN API, a partial of one, or a slim layer with a
    BN normalizer); None for any other call."""
    name = ev.callee
    found = bn_keywords(ev)
    if found is not None:
        creator, kws, complete = found
        if creator.kind == "keras":
            return Site(ev.guards, DYN, "auto", "keras", False, False, UNKNOWN)
        if creator.kind == "layer_class":
            return Site(ev.guards, DYN, scope_reuse(ev), "layer_class", False, False, UNKNOWN)
        flag, source = _flag(kws, creator.flag, creator.default_training, complete)
        naming = scope_naming(ev)
        name_value = kws.get("name") or kws.get("scope")
        named = name_value is not None and literal_string(name_value[1]) is not None if naming is None else naming
        reuse = scope_reuse(ev)
        reuse_value = kws.get("reuse")
        if reuse_value is not None:
            r = const_flag(reuse_value[0], reuse_value[1])
            if r[0] == "param":
                reuse = r
            elif r != ("const", False):
                reuse = "auto"
        return Site(ev.guards, flag, reuse, "functional", _inplace(kws), named, source)
    if name in tfnames.NORMALIZER_HOSTS or name in tfnames.ARG_SCOPE:
        normalizer = _normalizer_keywords(ev)
        if normalizer is None:
            return None
        kws, complete = normalizer
        flag, source = _flag(kws, "is_training", True, complete)  # slim's batch_norm default
        kind = "argscope" if name in tfnames.ARG_SCOPE else "functional"
        return Site(ev.guards, flag, scope_reuse(ev), kind, _inplace(kws), False, source)
    return None


def flag_source(ev: CallEvent) -> Optional[str]:
    """Where the training flag of the BN this call builds directly comes from (None: no BN here)."""
    site = site_of(ev)
    return site.flag_source if site is not None else None


def flag_omitted(ev: CallEvent) -> bool:
    """A functional BN call (tf.layers / slim / contrib, or a partial of one) whose training flag
    nothing sets: not its arguments, dicts, partial or an arg_scope. The API default decides."""
    creator = bn_creator_of(ev)
    return creator is not None and creator.kind == "functional" and flag_source(ev) == DEFAULT


def argscope_sets(ev: CallEvent, keyword: str) -> bool:
    """An enclosing ``slim.arg_scope([... batch_norm ...], keyword=...)``."""
    return keyword in scoped_keywords(ev, _is_bn_op(ev))[0]
