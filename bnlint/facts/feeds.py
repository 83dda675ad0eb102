"""``feed_dict``s and ``session.run``: entries, boolean placeholders used as BN flags, fetched
step names, whether a run trains or evaluates (and why).
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import CallEvent, ModuleInfo, arg, dotted, literal_string, names_in
from bnlint.source.cstwalk import walk
from bnlint.facts.updates import is_step
from bnlint.facts.edits import code
from bnlint.facts.events import self_assignments
from bnlint.facts.names import _TRAIN_FETCH, eval_function_name, evalish_data_name, is_training_name


# --- feed dicts -----------------------------------------------------------------------------------


def feed_entries(ev: CallEvent) -> Optional[Tuple[List[Tuple[cst.BaseExpression, cst.BaseExpression]], bool]]:
    """(key, value) pairs of the feed dict of ``sess.run`` / ``t.eval``, and whether that is all of
    it; None when the call has no feed dict we can read."""
    if ev.method == "run":
        expr = arg(ev.node, "feed_dict", 1)
    elif ev.method == "eval":
        expr = arg(ev.node, "feed_dict", 0)
    else:
        return None
    if isinstance(expr, cst.Name):
        expr = ev.body.binding(expr.value, ev.order)
    if not isinstance(expr, cst.Dict):
        return None
    pairs, complete = [], True
    for el in expr.elements:
        if isinstance(el, cst.DictElement):
            pairs.append((el.key, el.value))
        else:
            complete = False
    return pairs, complete


def _placeholder_default(info: ModuleInfo, value: cst.BaseExpression) -> Optional[tuple]:
    """("plain",) for tf.placeholder(tf.bool), ("default", bool) for placeholder_with_default."""
    if not isinstance(value, cst.Call):
        return None
    name = info.resolve(value.func)
    if name == "tf.placeholder":
        dtype = arg(value, "dtype", 0)
        if dtype is not None and (info.resolve(dtype) == "tf.bool" or literal_string(dtype) == "bool"):
            return ("plain",)
    if name == "tf.placeholder_with_default":
        default = arg(value, "input", 0)
        if isinstance(default, cst.Name) and default.value in ("True", "False"):
            return ("default", default.value == "True")
        if isinstance(default, cst.Call) and info.resolve(default.func) == "tf.constant":
            inner = arg(default, "value", 0)
            if isinstance(inner, cst.Name) and inner.value in ("True", "False"):
                return ("default", inner.value == "True")
    return None


def bool_placeholders(info: ModuleInfo) -> Dict[str, tuple]:
    """Names (``is_training``, ``self.is_training``) bound to boolean placeholders in this module."""
    out: Dict[str, tuple] = {}
    for body in info.bodies.values():
        for name, values in body.assigned.items():
            for _, v in values:
                kind = _placeholder_default(info, v)
                if kind is not None:
                    out[name] = kind
    for cname in info.classes:
        for attr, values in self_assignments(info, cname).items():
            for _, v in values:
                kind = _placeholder_default(info, v)
                if kind is not None:
                    out["self." + attr] = kind
    return out


def used_as_bn_flag(info: ModuleInfo, name: str) -> bool:
    """``name`` is passed to a call that builds BN, or is named like a training flag."""
    last = name.split(".")[-1]
    if is_training_name(last):
        return True
    return any(ev.sites and last in ev.arg_names() for ev in info.all_events())


def key_text(expr: cst.BaseExpression) -> Optional[str]:
    return dotted(expr)


def flag_key(info: ModuleInfo, placeholders: Dict[str, tuple], key: cst.BaseExpression) -> bool:
    """Is this feed-dict key the BN training placeholder?"""
    text = key_text(key)
    if text is None:
        return False
    if text in placeholders:
        return True
    last = text.split(".")[-1]
    if "." in text and "self." + last in placeholders:
        return True  # model.is_training where the class sets self.is_training = tf.placeholder(bool)
    return is_training_name(last)


def _name_tokens(node) -> Iterator[str]:
    """Names and attribute components in an expression (``mnist.test.images`` -> mnist, test, images)."""
    found: List[str] = []
    for n in walk(node) if node is not None else ():
        if isinstance(n, cst.Name):
            found.append(n.value)
        elif isinstance(n, cst.SimpleString):
            text = literal_string(n)
            if text:
                found.append(text)
    return iter(found)


def step_names(info: ModuleInfo) -> set:
    """Names bound to an optimizer step (or a group holding one) anywhere in the module."""
    names = set()
    for ev in info.all_events():
        if is_step(ev):
            names.update(ev.targets)
    for ev in info.all_events():
        if ev.callee in tfnames.GROUP and names_in(ev.node.args) & names:
            names.update(ev.targets)
    return names


def is_training_run(ev: CallEvent, steps: set) -> bool:
    fetches = arg(ev.node, "fetches", 0) if ev.method == "run" else ev.node.func
    for tok in _name_tokens(fetches):
        if tok in steps or _TRAIN_FETCH.search(tok):
            return True
    return False


def eval_run_reason(ev: CallEvent, pairs) -> Optional[str]:
    """Why this run looks like an evaluation (eval function, validation data/fetches/loop)."""
    fn = eval_function_name(ev.body)
    if fn:
        return f"it runs in `{fn}`"
    fetches = arg(ev.node, "fetches", 0) if ev.method == "run" else ev.node.func
    for tok in _name_tokens(fetches):
        if evalish_data_name(tok):
            return f"it fetches `{tok}`"
    for _, value in pairs:
        if any(evalish_data_name(tok) for tok in _name_tokens(value)):
            text = code(value)
            return f"it feeds `{text if len(text) <= 40 else text[:37] + '...'}`"
    for _, value in pairs:
        # ``vx, vy = sess.run(valid_next)`` / ``for vx, vy in val_batches:`` before the run.
        bound = ev.body.binding(value.value, ev.order) if isinstance(value, cst.Name) else None
        tok = next((t for t in _name_tokens(bound) if evalish_data_name(t)), None) if bound is not None else None
        if tok is not None:
            return f"it feeds `{value.value}`, read from `{tok}`"
    for loop in ev.loops:
        it = getattr(loop.node, "iter", None)
        for tok in _name_tokens(it):
            if evalish_data_name(tok):
                return f"it runs in a loop over `{tok}`"
    return None
