"""The local modules one file imports, found on demand (for flake8 and editors, which lint one file).

The CLI sees the whole tree at once; a flake8 plugin gets a single file. To still know that
``from models import small_cnn`` builds BN layers, the modules the file imports are resolved to
files the way Python would find them from a script or package next to it (the file's directory, the
package root above it, its ancestors up to the project root, ``src/``), parsed, and followed
transitively up to ``MAX_MODULES``. Parsed modules are cached by (path, mtime, size), so linting a
whole tree file by file parses each imported module once per process.
"""

from __future__ import annotations

import ast
import collections
import os
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from bnlint.analysis.parse import parse
from bnlint.source.discover import prefilter, uses_bn
from bnlint.source.reading import SourceError, SourceFile, decode_source, read_bytes

MAX_MODULES = 64
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
_TF_ROOTS = {"tensorflow", "tf_slim", "tf_keras", "keras"}

# (abs path) -> ((mtime_ns, size), module source text or None when unreadable)
_TEXT_CACHE: Dict[str, Tuple[Tuple[int, int], Optional[SourceFile]]] = {}
# (abs path) -> (the SourceFile it was parsed from, ModuleInfo); valid while _TEXT_CACHE holds that source
_INFO_CACHE: Dict[str, tuple] = {}


def package_name(path: str) -> Tuple[str, str]:
    """(dotted module name, directory it is importable from): walk up while ``__init__.py`` exists."""
    path = os.path.abspath(path)
    directory, stem = os.path.split(path)
    parts = [] if stem == "__init__.py" else [os.path.splitext(stem)[0]]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        parts.insert(0, os.path.basename(directory))
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return ".".join(parts) or os.path.splitext(stem)[0], directory


def project_root(start: str) -> Optional[str]:
    here = os.path.abspath(start)
    while True:
        if any(os.path.exists(os.path.join(here, m)) for m in _PROJECT_MARKERS):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


_ROOTS: Dict[str, List[str]] = {}  # directory -> search_roots of a file in it (cached like _MODULE_FILES)


def search_roots(path: str) -> List[str]:
    """Directories absolute imports of ``path`` are looked up in, nearest first."""
    here = os.path.dirname(os.path.abspath(path))
    cached = _ROOTS.get(here)
    if cached is None:
        cached = _ROOTS[here] = _search_roots(path, here)
    return cached


def _search_roots(path: str, here: str) -> List[str]:
    _, importable_from = package_name(path)
    top = project_root(here)
    roots = [here, importable_from]
    if top is not None:
        walk = here
        while walk.startswith(top) and walk != top:
            walk = os.path.dirname(walk)
            roots.append(walk)
        roots.append(os.path.join(top, "src"))
    seen, out = set(), []
    for r in roots:
        if r not in seen and os.path.isdir(r):
            seen.add(r)
            out.append(r)
    return out


# (root, dotted name) -> the module's file or None. One lint run (a flake8 process) asks the same
# questions for file after file: the answers are stat calls, cached for the process.
_MODULE_FILES: Dict[Tuple[str, str], Optional[str]] = {}


def forget_layout() -> None:
    """Drop the cached import roots and module locations (a long-lived process, such as the
    language server, calls this when files may have been created, moved or deleted)."""
    _ROOTS.clear()
    _MODULE_FILES.clear()


def _module_file(root: str, dotted: str) -> Optional[str]:
    key = (root, dotted)
    if key in _MODULE_FILES:
        return _MODULE_FILES[key]
    base = os.path.join(root, *dotted.split("."))
    found = None
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            found = candidate
            break
    _MODULE_FILES[key] = found
    return found


_BLOCKS = {"body", "orelse", "finalbody", "handlers", "cases"}  # fields holding statements


def _statements(tree: ast.AST):
    """Every statement, breadth first like ``ast.walk``, without descending into expressions
    (imports are statements; walking every expression node cost more than the rest of the plugin)."""
    queue = collections.deque([tree])
    while queue:
        node = queue.popleft()
        yield node
        for name in node._fields:
            if name in _BLOCKS:
                queue.extend(getattr(node, name, None) or ())


_INDENTED_IMPORT = re.compile(r"^[ \t]+(?:import|from)\b", re.M)


def imported_modules(tree: ast.AST, text: Optional[str] = None) -> List[Tuple[int, str, List[str]]]:
    """(relative level, module, imported names) for every import statement, TF imports left out.
    With the module's ``text``: when no import line is indented, only the top level is looked at."""
    out = []
    top_only = text is not None and isinstance(tree, ast.Module) and _INDENTED_IMPORT.search(text) is None
    for node in (tree.body if top_only else _statements(tree)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in _TF_ROOTS:
                    out.append((0, alias.name, []))
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level == 0 and mod.split(".")[0] in _TF_ROOTS:
                continue
            out.append((node.level, mod, [a.name for a in node.names if a.name != "*"]))
    return out


def resolve(path: str, imports: Iterable[Tuple[int, str, List[str]]]) -> List[str]:
    """Files of the local modules ``imports`` (made in ``path``) refer to; submodules included."""
    roots: Optional[List[str]] = None
    found: List[str] = []
    for level, mod, names in imports:
        if level:
            base = os.path.dirname(os.path.abspath(path))
            for _ in range(level - 1):
                base = os.path.dirname(base)
            candidates = [(base, mod)] if mod else []
            candidates += [(base, f"{mod}.{n}" if mod else n) for n in names]
        else:
            roots = search_roots(path) if roots is None else roots
            candidates = [(r, mod) for r in roots] + [(r, f"{mod}.{n}") for r in roots for n in names]
        for root, dotted in candidates:
            hit = _module_file(root, dotted)
            if hit is not None and hit not in found:
                found.append(hit)
    return found


def _read(path: str) -> Optional[SourceFile]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (st.st_mtime_ns, st.st_size)
    cached = _TEXT_CACHE.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        src: Optional[SourceFile] = decode_source(path, read_bytes(path))
    except SourceError:
        src = None
    _TEXT_CACHE[path] = (key, src)
    return src


def local_dependencies(starts: Iterable[Tuple[str, ast.AST, Optional[str]]], known: Iterable[str] = ()
                       ) -> List[Tuple[SourceFile, List[str]]]:
    """(source, files it imports) of the local modules the ``(path, tree, text)`` starts import,
    directly or through each other, leaving out the starts themselves and the ``known`` files."""
    queue: List[str] = []
    seen = {os.path.realpath(p) for p in known}
    for path, tree, text in starts:
        seen.add(os.path.realpath(path))
        queue.extend(resolve(path, imported_modules(tree, text)))
    out: List[Tuple[SourceFile, List[str]]] = []
    while queue and len(out) < MAX_MODULES:
        dep = queue.pop(0)
        real = os.path.realpath(dep)
        if real in seen:
            continue
        seen.add(real)
        src = _read(dep)
        if src is None:
            continue
        facts = _dependency_facts(dep, src)
        if facts is None:
            continue
        imports = facts[0]
        out.append((src, imports))
        queue.extend(imports)
    return out


# (abs path) -> (the SourceFile read, files it imports, whether it can matter by itself)
_DEP_CACHE: Dict[str, Tuple[SourceFile, List[str], bool]] = {}


def _dependency_facts(path: str, src: SourceFile) -> Optional[Tuple[List[str], bool]]:
    """What a module imports and whether it can matter by itself (``prefilter`` and ``uses_bn``),
    computed once per content: linting a tree file by file meets the same modules again and again."""
    cached = _DEP_CACHE.get(path)
    if cached is not None and cached[0] is src:
        return cached[1], cached[2]
    try:
        tree = ast.parse(src.text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    facts = (resolve(path, imported_modules(tree, src.text)), prefilter(src.raw) and uses_bn(tree))
    _DEP_CACHE[path] = (src, *facts)
    return facts


def _relevant(deps: List[Tuple[SourceFile, List[str]]]) -> List[SourceFile]:
    """The dependencies that can matter to BN analysis: those that use BN themselves (``prefilter``
    and ``uses_bn``) or import one that does."""
    relevant = {src.path for src, _ in deps if _DEP_CACHE.get(src.path, (None, None, True))[2]}
    changed = True
    while changed:
        changed = False
        for src, imports in deps:
            if src.path not in relevant and relevant.intersection(imports):
                relevant.add(src.path)
                changed = True
    return [src for src, _ in deps if src.path in relevant]


def dependency_modules(path: str, tree: ast.AST, text: Optional[str] = None) -> list:
    """ModuleInfos of the local modules ``path`` imports that can matter to BN analysis.

    Parsed modules are reused while their file is unchanged. A ``Project`` writes its results into
    the modules (``Body.summary``, ``CallEvent.sites``); they are cleared here so every analysis
    starts from scratch, as with freshly parsed modules."""
    infos = []
    for src in _relevant(local_dependencies([(path, tree, text)])):
        cached = _INFO_CACHE.get(src.path)
        if cached is not None and cached[0] is src:
            info = cached[1]
            for body in info.bodies.values():
                body.summary = frozenset()
                for ev in body.events:
                    ev.sites = []
        else:
            try:
                info = parse(src, package_name(src.path)[0])
            except SourceError:
                continue
            _INFO_CACHE[src.path] = (src, info)
        infos.append(info)
    return infos


def context_files(paths: Sequence[str], files: Sequence[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """(file, import root) of the local modules that the files named in ``paths`` import but that are
    not among ``files`` (the linted set). The CLI analyses them for cross-module facts only, so
    ``bnlint train.py`` (pre-commit passes staged files by name) still knows what ``models`` builds."""
    from bnlint.source.notebook import is_notebook
    from bnlint.source.notebook import read_source as read_notebook

    starts = []
    for p in paths:
        if not ((p.endswith(".py") or is_notebook(p)) and os.path.isfile(p)):
            continue
        try:
            src = read_notebook(p) if is_notebook(p) else _read(os.path.abspath(p))
        except SourceError:
            continue
        if src is None:
            continue
        try:
            starts.append((p, ast.parse(src.text), src.text))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    if not starts:
        return []
    deps = local_dependencies(starts, known=[f for f, _ in files])
    return [(src.path, package_name(src.path)[1]) for src in _relevant(deps)]
