"""Which files to look at: discovery with excludes, module names, the text prefilter and the
CPython-AST test for BN words used in code, and the imports that pull helper modules in.
"""

from __future__ import annotations

import os
import re
from typing import Dict, Iterable, List, Sequence, Tuple

from bnlint.core.diagnostics import Diagnostic, Location
from bnlint.source.notebook import SUFFIX as NOTEBOOK, is_notebook
from bnlint.core.codes import PARSE_ERROR
from bnlint.core.settings import Settings
from bnlint.source.reading import SourceError, path_problem


DEFAULT_EXCLUDE = [
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", "build", "dist",
    "node_modules", ".eggs", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".bnlint_cache",
    "site-packages", "__pypackages__",
]

# Every rule needs BN layers (or the learning phase / hand-rolled BN) in play, so a file can
# matter only if it mentions one; an optimizer step alone is not enough. Files importing a
# module whose functions build BN layers are pulled in by ``tree_analysis`` (a helper `bn()` in
# ops.py makes every caller of it relevant). The test is cheap on purpose: plain substring
# searches first (memchr speed), a word-boundary regex only on the few files that pass, so
# ``fused_batch_norm`` or ``FusedBatchNormV3`` (TF internals, no BN layer) do not count.
_BN_LITERALS = (b"batch_norm", b"BatchNormalization", b"normalizer_fn", b"set_learning_phase")
_BN_WORDS = re.compile(rb"\bbatch_norm(?:alization)?\b|BatchNormalization|normalizer_fn|set_learning_phase")
# Keras application models built with BN (keras_models.KERAS_APPS_WITH_BN), in an ``applications`` file.
_BN_APPS = re.compile(rb"\b(?:ResNet|resnet|Inception|inception|Xception|xception|MobileNet|mobilenet|DenseNet"
                      rb"|densenet|NASNet|nasnet|EfficientNet|efficientnet|RegNet|regnet)")
# Hand-rolled BN (BNL012): batch moments kept in an ExponentialMovingAverage.
_HAND_ROLLED = (b"moments(", b"ExponentialMovingAverage")
# The same words as identifiers (``uses_bn``).
_BN_CODE_NAME = re.compile(
    r"(?:batch_norm|batch_normalization|(?:Sync)?BatchNormalization|normalizer_fn|set_learning_phase|moments"
    r"|ExponentialMovingAverage)$|(?:ResNet|resnet|Inception|inception|Xception|xception|MobileNet|mobilenet"
    r"|DenseNet|densenet|NASNet|nasnet|EfficientNet|efficientnet|RegNet|regnet)"
)
_IMPORT_LINE = re.compile(rb"^\s*(?:from\s+(\.*[\w.]*)\s+import\s+([\w., ()*]+)|import\s+([\w., ]+))", re.M)


def is_excluded(path: str, patterns: Sequence[str]) -> bool:
    import fnmatch

    parts = os.path.normpath(path).split(os.sep)
    for pat in patterns:
        if any(fnmatch.fnmatch(p, pat) for p in parts) or fnmatch.fnmatch(path, pat):
            return True
    return False


class _Excluder:
    """``is_excluded`` during a walk, fast: the patterns are one compiled regex, and only a new
    path component (and the whole relative path) need checking, since its folders passed."""

    def __init__(self, patterns: Sequence[str]):
        import fnmatch

        joined = "|".join(f"(?:{fnmatch.translate(os.path.normcase(p))})" for p in patterns)
        self._match = re.compile(joined).match if patterns else None

    def __call__(self, name: str, rel: str) -> bool:
        m = self._match
        return m is not None and (m(os.path.normcase(name)) is not None or m(os.path.normcase(rel)) is not None)


def discover(paths: Sequence[str], settings: Settings) -> Tuple[List[Tuple[str, str]], List[Diagnostic]]:
    """(file, root) pairs for the files named in ``paths`` and those the include patterns match in
    the folders of ``paths`` (Python files and notebooks by default: ``bnlint.source.file_patterns``),
    less the excluded ones and, when ``settings.notebooks`` is off, every notebook; unreadable paths
    become BNL900."""
    from bnlint.source.file_patterns import Includer, include_patterns, root_relative

    excluded = _Excluder(list(settings.exclude or DEFAULT_EXCLUDE) + list(settings.extend_exclude))
    included = Includer(include_patterns(settings))
    out: List[Tuple[str, str]] = []
    errors: List[Diagnostic] = []
    seen = set()
    notebooks = settings.notebooks
    for path in paths:
        if not os.path.exists(path):
            if os.path.realpath(path) not in seen:  # reported once, also when a folder walk meets it
                seen.add(os.path.realpath(path))
                errors.append(_error(path, path_problem(path)))
            continue
        if os.path.isfile(path):
            real = os.path.realpath(path)
            if is_notebook(path) and not notebooks:
                continue
            if real not in seen:
                seen.add(real)
                out.append((path, os.path.dirname(path) or "."))
            continue
        if os.path.isdir(path):
            visited_dirs = set()
            def onerror(exc: OSError, _errors=errors) -> None:
                _errors.append(_error(exc.filename or path, f"cannot list directory: {exc.strerror}"))
            for dirpath, dirnames, filenames in os.walk(path, onerror=onerror, followlinks=True):
                real_dir = os.path.realpath(dirpath)
                if real_dir in visited_dirs:  # symlink loop
                    dirnames[:] = []
                    continue
                visited_dirs.add(real_dir)
                # Patterns apply below the path the user named, never to the path itself.
                rel_dir = os.path.relpath(dirpath, path)
                rel_dir = "" if rel_dir == "." else rel_dir + os.sep
                dirnames[:] = sorted(d for d in dirnames if not excluded(d, rel_dir + d))
                in_root = root_relative(dirpath, settings.root)
                for fn in sorted(filenames):
                    if not included(fn, None if in_root is None else in_root + fn) or excluded(fn, rel_dir + fn):
                        continue
                    if is_notebook(fn) and not notebooks:
                        continue
                    fp = os.path.join(dirpath, fn)
                    real = os.path.realpath(fp) if os.path.islink(fp) else os.path.join(real_dir, fn)
                    if real in seen:
                        continue
                    seen.add(real)
                    out.append((fp, path))
        elif os.path.realpath(path) not in seen:
            seen.add(os.path.realpath(path))
            errors.append(_error(path, path_problem(path)))
    return out, errors


def module_name(path: str, root: str) -> str:
    abs_root = os.path.abspath(root)
    abs_path = os.path.abspath(path)
    if abs_path.startswith(abs_root.rstrip(os.sep) + os.sep):
        rel = abs_path[len(abs_root.rstrip(os.sep)) + 1:]
    else:
        rel = os.path.relpath(abs_path, abs_root)
    if rel.startswith(".."):
        rel = os.path.basename(path)
    rel = rel[:-3] if rel.endswith(".py") else rel[:-len(NOTEBOOK)] if rel.endswith(NOTEBOOK) else rel
    parts = [p for p in rel.split(os.sep) if p not in ("", ".")]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1] or ["__init__"]
    return ".".join(parts)


def _error(path: str, reason: str, row: int = 1, col: int = 1) -> Diagnostic:
    return Diagnostic(code=PARSE_ERROR, message=reason, filename=path, location=Location(row, col), severity="error")


def prefilter(raw: bytes) -> bool:
    """Whether a file can matter by itself (see ``_BN_LITERALS``)."""
    if any(word in raw for word in _BN_LITERALS) and _BN_WORDS.search(raw) is not None:
        return True
    if b"applications" in raw and _BN_APPS.search(raw) is not None:
        return True
    return all(word in raw for word in _HAND_ROLLED)


def code_ast(text: str):
    """CPython's AST of ``text``, or None when CPython rejects it (``parse`` then says why).
    ``source.cpython_ast`` judges nesting with CPython's default limits (libcst's safe range)."""
    from bnlint.source.reading import cpython_ast

    try:
        return cpython_ast(text)
    except (SyntaxError, SourceError):
        return None


def uses_bn(tree) -> bool:
    """Second stage of the prefilter, on CPython's AST: a BN word is used in code (a name, an
    attribute, a keyword, an aliased import), not only in imports, strings or comments. Re-export
    modules and docs that merely name BN cannot produce a finding or a BN site."""
    import ast

    match = _BN_CODE_NAME.match
    Name, Attribute, keyword, alias, AST = ast.Name, ast.Attribute, ast.keyword, ast.alias, ast.AST
    stack = [tree]
    while stack:  # ast.walk, inlined: this runs on every candidate file
        node = stack.pop()
        t = type(node)
        if t is Name:
            name = node.id
        elif t is Attribute:
            name = node.attr
        elif t is keyword:
            name = node.arg
        elif t is alias:
            name = node.name.rpartition(".")[2] if node.asname else None
        else:
            name = None
        if name and match(name):
            return True
        for attr in node._fields:
            value = getattr(node, attr, None)
            if type(value) is list:
                stack.extend(x for x in value if isinstance(x, AST))
            elif isinstance(value, AST) and not isinstance(value, ast.expr_context):
                stack.append(value)
    return False


def imported_modules(raw: bytes, modname: str) -> List[str]:
    """Dotted names a file imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``), relative
    imports resolved against ``modname``."""
    out = []
    package = modname.split(".")[:-1]
    for m in _IMPORT_LINE.finditer(raw):
        if m.group(1) is not None:
            mod = m.group(1).decode("ascii", "replace")
            dots = len(mod) - len(mod.lstrip("."))
            if dots:
                base = package[: len(package) - (dots - 1)] if dots - 1 <= len(package) else []
                mod = ".".join(base + ([mod.lstrip(".")] if mod.lstrip(".") else []))
            if mod:
                out.append(mod)
            for n in re.split(rb"[\s,()]+", m.group(2)):
                if n and n not in (b"as", b"*"):
                    name = n.decode("ascii", "replace")
                    out.append(f"{mod}.{name}" if mod else name)
        else:
            for n in m.group(3).split(b","):
                name = n.strip().split(b" ")[0].decode("ascii", "replace")
                if name:
                    out.append(name)
    return out


def importers_of(modules: set, pending: Dict[str, List[str]]) -> List[str]:
    """Files (keys of ``pending``) that import one of ``modules``, matched on dotted names:
    ``from models import small_cnn`` matches ``models`` or ``pkg.models``; a common stem such as
    ``utils`` alone does not pull in a whole tree."""

    # A match is one name being a dotted suffix of the other (``a.b.c`` ~ ``b.c``): set lookups of
    # every dotted suffix, not a names x modules scan (quadratic on big trees).
    exact = set(modules)
    of_modules = {s for m in modules for s in _suffixes(m)}
    return [p for p, names in pending.items()
            if any(i in of_modules or any(s in exact for s in _suffixes(i)) for i in names)]


def imported_among(modules: Iterable[str], importers: Dict[str, List[str]]) -> List[str]:
    """The ``modules`` that some file of ``importers`` imports, by the match of ``importers_of``;
    one pass over all the imports, where asking ``importers_of`` module by module is quadratic."""
    names = {i for imported in importers.values() for i in imported}
    of_names = {s for i in names for s in _suffixes(i)}
    return [m for m in modules if m in of_names or any(s in names for s in _suffixes(m))]


def _suffixes(name: str):
    parts = name.split(".")
    return (".".join(parts[k:]) for k in range(len(parts)))
