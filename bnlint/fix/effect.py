"""What a fix changes in the program, judged on the code before and after it.

Two questions every fix is asked before it is offered (``RuleContext.report``) and again on the
fixer's combined result (``fixer.fix_text``):

- **No effect.** Is the fixed program the same program? Keyword arguments that only restate what
  the call gets anyway are dropped from both versions before they are compared: a keyword an
  enclosing ``arg_scope([f, ...], k=v)`` already sets for that callee, and a BN training flag
  equal to the creator's default (``training=False`` for ``tf.layers.batch_normalization``). If
  the two programs are then equal (``ast.dump``, so formatting and comments do not count), the
  fix does nothing and is not offered.
- **Variables.** Does the fix change which variables a layer creates (``use_bias``, ``center``,
  ``scale``, ``name``, ``scope`` of a layer call)? Old checkpoints then restore into a different
  model (or not at all), in every branch the layer is built in, so such a fix is never safe.
"""

from __future__ import annotations

import ast
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import resolve_dotted

# Keywords of a layer call that decide which variables it creates (and their names).
VARIABLE_KEYWORDS = ("use_bias", "center", "scale", "name", "scope")
_LAYER_PREFIXES = ("tf.layers.", "keras.layers.", "slim.", "tf.contrib.layers.", "tf.nn.")


def _dotted(node: ast.AST) -> Optional[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


_TF_ROOTS = ("tensorflow", "tf_slim", "tf_keras", "keras")


class _Names:
    """Canonical TF names of dotted expressions, from the module's import aliases (``ModuleInfo``'s
    when the caller has them, else the TF imports and ``slim = tf.contrib.slim`` lines of ``tree``)."""

    def __init__(self, tree: ast.Module, aliases: Optional[Dict[str, str]], local: Optional[Dict[str, tuple]]):
        if aliases is None:
            aliases, local = self._collect(tree)
        self.aliases, self.local = aliases, local or {}

    def _collect(self, tree: ast.Module) -> Tuple[Dict[str, str], Dict[str, tuple]]:
        self.aliases, self.local = {}, {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] in _TF_ROOTS:
                        self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
                    else:
                        self.local[a.asname or a.name.split(".")[0]] = ("module", a.name)
            elif isinstance(node, ast.ImportFrom):
                for a in node.names:
                    if not node.level and (node.module or "").split(".")[0] in _TF_ROOTS:
                        self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                    else:
                        self.local[a.asname or a.name] = ("symbol", node.module, a.name)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = self.canonical(node.value) if _dotted(node.value) else None
                if name and name != _dotted(node.value) and name.startswith(("tf", "slim", "keras")):
                    self.aliases[node.targets[0].id] = "tensorflow" + name[2:] if name.startswith("tf") else name
        return self.aliases, self.local

    def canonical(self, node: ast.AST) -> Optional[str]:
        name = _dotted(node)
        if name is None:
            return None
        # A project function (not TF): its own name identifies it.
        return resolve_dotted(name, self.aliases, self.local) or name


def _assigned_names(stmts: Sequence[ast.stmt]) -> set:
    out = set()
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                out.add(node.id)
    return out


def _restating(value: ast.AST, expected: ast.AST, rebound: set) -> bool:
    """``value`` is the same expression as ``expected`` and means the same here: a constant, or
    names not rebound inside the scope's body."""
    if ast.dump(value) != ast.dump(expected):
        return False
    for node in ast.walk(value):
        if isinstance(node, ast.Name) and node.id in rebound:
            return False
        if not isinstance(node, (ast.Name, ast.Attribute, ast.Constant, ast.Load, ast.UnaryOp, ast.Not,
                                 ast.USub)):
            return False  # calls, subscripts...: evaluated again, maybe to something else
    return True


class _Normalise(ast.NodeTransformer):
    """Drops keywords that restate the effective value (see the module docstring)."""

    def __init__(self, names: _Names, tree: ast.Module):
        self.names = names
        self.scopes: List[Tuple[set, Dict[str, ast.AST], set]] = []  # (callees, keywords, rebound)
        self.defaults = _constant_defaults(tree)

    def _arg_scope(self, item: ast.withitem, body: Sequence[ast.stmt]):
        call = item.context_expr
        if not isinstance(call, ast.Call) or self.names.canonical(call.func) not in tfnames.ARG_SCOPE:
            return None
        if not call.args or not isinstance(call.args[0], (ast.List, ast.Tuple)):
            return None
        callees = {self.names.canonical(e) for e in call.args[0].elts} - {None}
        kws = {k.arg: k.value for k in call.keywords if k.arg is not None}
        return callees, kws, _assigned_names(body)

    def visit_With(self, node):
        pushed = 0
        for item in node.items:
            scope = self._arg_scope(item, node.body)
            if scope is not None:
                self.scopes.append(scope)
                pushed += 1
        self.generic_visit(node)
        del self.scopes[len(self.scopes) - pushed:]
        return node

    visit_AsyncWith = visit_With

    def visit_FunctionDef(self, node):
        # A function body runs when it is called, not where it is defined: outer scopes may be gone.
        saved, self.scopes = self.scopes, []
        self.generic_visit(node)
        self.scopes = saved
        return node

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_Call(self, node):
        self.generic_visit(node)
        callee = self.names.canonical(node.func)
        if callee is None:
            return node
        creator = tfnames.BN_CREATORS.get(callee)
        kept = []
        for kw in node.keywords:
            if kw.arg is not None and self._restates(callee, creator, kw):
                continue
            kept.append(kw)
        node.keywords = kept
        return node

    def _restates(self, callee: str, creator, kw: ast.keyword) -> bool:
        for callees, kws, rebound in reversed(self.scopes):  # the innermost scope setting it wins
            if callee in callees and kw.arg in kws:
                return _restating(kw.value, kws[kw.arg], rebound)
        if creator is not None and creator.flag == kw.arg and isinstance(kw.value, ast.Constant):
            return kw.value.value is creator.default_training
        default = self.defaults.get(callee, {}).get(kw.arg)
        return default is not None and isinstance(kw.value, ast.Constant) and ast.dump(kw.value) == ast.dump(default)


def _constant_defaults(tree: ast.Module) -> Dict[str, Dict[str, ast.Constant]]:
    """Keyword parameters with constant defaults of the module's top-level functions, by name
    (only names defined once: a redefinition may change them)."""
    defs: Dict[str, list] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defs.setdefault(node.name, []).append(node)
    out = {}
    for name, nodes in defs.items():
        if len(nodes) != 1:
            continue
        args = nodes[0].args
        positional = args.posonlyargs + args.args
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        out[name] = {a.arg: d for a, d in pairs if isinstance(d, ast.Constant)}
    return out


def _tree(text: str) -> Optional[ast.Module]:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def same_program(before: str, after: str, aliases: Optional[Dict[str, str]] = None,
                 local: Optional[Dict[str, tuple]] = None) -> bool:
    """Whether ``after`` means exactly what ``before`` does (restated arguments ignored)."""
    if before == after:
        return True
    old, new = _tree(before), _tree(after)
    if old is None or new is None:
        return False
    names = _Names(old, aliases, local)
    old, new = _Normalise(names, old).visit(old), _Normalise(names, new).visit(new)
    return ast.dump(old) == ast.dump(new)


def variable_signature(text: str, aliases: Optional[Dict[str, str]] = None,
                       local: Optional[Dict[str, tuple]] = None) -> Optional[Counter]:
    """Every layer call with the keywords that decide its variables (a multiset)."""
    tree = _tree(text)
    if tree is None:
        return None
    return _signature(tree, _Names(tree, aliases, local))


def changes_variables(before: str, after: str, aliases: Optional[Dict[str, str]] = None,
                      local: Optional[Dict[str, tuple]] = None) -> bool:
    old = variable_signature(before, aliases, local)
    new = variable_signature(after, aliases, local)
    return old is None or new is None or old != new


# --- the same two questions, asked of the top-level statements a fix touches ---------------------------
#
# A fix changes a few lines of a big module, and asking the questions of the whole module parses,
# normalises and dumps all of it twice per fix (most of a language-server re-lint). Both answers
# are sums over the top-level statements: ``ast.dump`` of a module is the dumps of its statements
# in order, and the variable signature a multiset sum over them. Normalising a top-level
# statement depends only on the import names (the module's, given) and the module's constant
# defaults (``_constant_defaults``). So when the defaults are the same before and after, the
# statements the fix does not touch cancel out, and only the touched ones are parsed and compared.


def _lines(text: str) -> List[str]:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _defaults_key(defaults: Dict[str, Dict[str, ast.Constant]]) -> Dict[str, Dict[str, str]]:
    return {name: {a: ast.dump(d) for a, d in kws.items()} for name, kws in defaults.items()}


class FixEffect:
    """``same_program`` and ``changes_variables`` of ``before`` against fixed versions of it,
    each parsing only the top-level statements the fix touches (whole modules when that is not
    known to give the same answer). ``before`` must be CPython-parseable for the local path."""

    def __init__(self, before: str, aliases: Optional[Dict[str, str]], local: Optional[Dict[str, tuple]],
                 tree: Optional[ast.Module] = None):
        """``tree``: CPython's AST of ``before`` when the caller has it (read, never changed)."""
        self.before, self.aliases, self.local = before, aliases, local
        self._given = tree
        self._ready = False
        self._last = None  # (after, region texts) of the last question

    def _prepare(self) -> None:
        self._ready = True
        self.tree = None
        if self.aliases is None or "\r" in self.before:
            return
        tree = self._given if self._given is not None else _tree(self.before)
        if tree is None or not tree.body:
            return
        self.lines = _lines(self.before)
        starts: List[int] = []  # 0-based line of each top-level statement's first line (decorators included)
        last_end = 0
        for node in tree.body:
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())]) - 1
            if starts and start < last_end:  # shares a line with the previous statement: one piece
                last_end = max(last_end, node.end_lineno)
                continue
            starts.append(start)
            last_end = node.end_lineno
        self.starts = starts  # statement k of ``body`` in piece order
        self.counts = []  # number of statements in each piece
        k = 0
        for i, start in enumerate(starts):
            stop = starts[i + 1] if i + 1 < len(starts) else len(self.lines) + 1
            n = 0
            while k < len(tree.body) and min([tree.body[k].lineno] + [
                    d.lineno for d in getattr(tree.body[k], "decorator_list", ())]) - 1 < stop:
                k, n = k + 1, n + 1
            self.counts.append(n)
        self.tree = tree
        self.defaults = _constant_defaults(tree)
        self.names = _Names(tree, self.aliases, self.local)

    def _regions(self, after: str):
        """(old statements, new statements) of the pieces the change touches, freshly parsed
        (normalising changes a tree), or None: ask of the whole modules."""
        if self._last is not None and self._last[0] == after:
            texts = self._last[1]
            return None if texts is None else (_tree(texts[0]), _tree(texts[1]))
        texts = self._region_texts(after)
        self._last = (after, texts)
        return None if texts is None else (_tree(texts[0]), _tree(texts[1]))

    def _region_texts(self, after: str):
        if not self._ready:
            self._prepare()
        if self.tree is None or "\r" in after:
            return None
        old, new = self.lines, _lines(after)
        i = 0
        while i < len(old) and i < len(new) and old[i] == new[i]:
            i += 1
        j = 0
        while j < len(old) - i and j < len(new) - i and old[-1 - j] == new[-1 - j]:
            j += 1
        # pieces [p, q) cover the changed old lines [i, len(old) - j)
        p = max((k for k, s in enumerate(self.starts) if s <= i), default=0)
        q = next((k for k, s in enumerate(self.starts) if s >= len(old) - j and s > i), len(self.starts))
        lo = self.starts[p] if p else 0
        hi = self.starts[q] if q < len(self.starts) else len(old)
        texts = "".join(old[lo:hi]), "".join(new[lo:len(new) - (len(old) - hi)])
        old_region, new_region = _tree(texts[0]), _tree(texts[1])
        if old_region is None or new_region is None or len(old_region.body) != sum(self.counts[p:q]):
            return None
        first = sum(self.counts[:p])
        body = self.tree.body[:first] + new_region.body + self.tree.body[first + len(old_region.body):]
        if _defaults_key(_constant_defaults(ast.Module(body=body, type_ignores=[]))) != \
                _defaults_key(self.defaults):
            return None
        return texts

    def same_program(self, after: str) -> bool:
        if after == self.before:
            return True
        regions = self._regions(after)
        if regions is None:
            return same_program(self.before, after, self.aliases, self.local)
        old, new = regions
        norm = _Normalise(self.names, self.tree)
        return ast.dump(norm.visit(old)) == ast.dump(norm.visit(new))

    def changes_variables(self, after: str) -> bool:
        regions = self._regions(after)
        if regions is None:
            return changes_variables(self.before, after, self.aliases, self.local)
        old, new = (_signature(t, self.names) for t in regions)
        return old != new


def _signature(tree: ast.AST, names: _Names) -> Counter:
    out: Counter = Counter()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = names.canonical(node.func)
        if callee is None or not callee.startswith(_LAYER_PREFIXES):
            continue
        kws = tuple(sorted((k.arg, ast.dump(k.value)) for k in node.keywords if k.arg in VARIABLE_KEYWORDS))
        out[(callee, kws)] += 1
    return out
