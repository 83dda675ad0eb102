"""Linting a tree: find files, skip the ones that cannot matter, parse each once, run every rule.

The flow is: ``discover`` -> ``read_source`` -> text ``prefilter`` -> ``parse`` (libcst, with a
Python 2 fallback for analysis only) -> ``ModuleInfo`` per file -> one ``Project`` over all of them
(cross-module summaries) -> rules per module -> ``# noqa`` filtering.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from bnlint.diagnostics import Diagnostic, Location
from bnlint.registry import PARSE_ERROR, all_rules
from bnlint.settings import Settings
from bnlint.source import SourceError, SourceFile, decode_source, normalise_python2, read_source

DEFAULT_EXCLUDE = [
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", "build", "dist",
    "node_modules", ".eggs", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".bnlint_cache",
    "site-packages", "__pypackages__",
]

# Every rule needs BN layers (or the learning phase / hand-rolled BN) in play, so a file can
# matter only if it mentions one; an optimizer step alone is not enough. Files importing a
# module whose functions build BN layers are pulled in by ``build_modules`` (a helper `bn()` in
# ops.py makes every caller of it relevant).
_RELEVANT = re.compile(
    rb"batch_norm|BatchNorm|normalizer_fn|SyncBatch|learning_phase|\.moments\(|applications\."
)
_IMPORT_LINE = re.compile(rb"^\s*(?:from\s+(\.*[\w.]*)\s+import\s+([\w., ()]+)|import\s+([\w., ]+))", re.M)


@dataclass
class LintResult:
    diagnostics: List[Diagnostic] = field(default_factory=list)
    files_seen: int = 0
    files_parsed: int = 0
    errors: List[Diagnostic] = field(default_factory=list)  # files bnlint could not read (BNL900)
    sources: Dict[str, SourceFile] = field(default_factory=dict)
    infos: list = field(default_factory=list)  # parsed ModuleInfos (the fixer re-lints against them)


def is_excluded(path: str, patterns: Sequence[str]) -> bool:
    import fnmatch

    parts = os.path.normpath(path).split(os.sep)
    for pat in patterns:
        if any(fnmatch.fnmatch(p, pat) for p in parts) or fnmatch.fnmatch(path, pat):
            return True
    return False


def discover(paths: Sequence[str], settings: Settings) -> Tuple[List[Tuple[str, str]], List[Diagnostic]]:
    """(file, root) pairs for every Python file under ``paths``; unreadable paths become BNL900."""
    exclude = list(settings.exclude or DEFAULT_EXCLUDE) + list(settings.extend_exclude)
    out: List[Tuple[str, str]] = []
    errors: List[Diagnostic] = []
    seen = set()
    for path in paths:
        if not os.path.exists(path) and not os.path.islink(path):
            errors.append(_error(path, "no such file or directory"))
            continue
        if os.path.isfile(path):
            real = os.path.realpath(path)
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
                dirnames[:] = sorted(d for d in dirnames if not is_excluded(os.path.relpath(os.path.join(dirpath, d), path), exclude))
                for fn in sorted(filenames):
                    if not fn.endswith(".py"):
                        continue
                    fp = os.path.join(dirpath, fn)
                    if is_excluded(os.path.relpath(fp, path), exclude):
                        continue
                    real = os.path.realpath(fp)
                    if real in seen:
                        continue
                    seen.add(real)
                    out.append((fp, path))
        else:
            errors.append(_error(path, "not a regular file or directory"))
    return out, errors


def module_name(path: str, root: str) -> str:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if rel.startswith(".."):
        rel = os.path.basename(path)
    rel = rel[:-3] if rel.endswith(".py") else rel
    parts = [p for p in rel.split(os.sep) if p not in ("", ".")]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1] or ["__init__"]
    return ".".join(parts)


def _error(path: str, reason: str, row: int = 1, col: int = 1) -> Diagnostic:
    return Diagnostic(code=PARSE_ERROR, message=reason, filename=path, location=Location(row, col), severity="error")


def prefilter(raw: bytes) -> bool:
    return _RELEVANT.search(raw) is not None


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
                if n and n != b"as":
                    name = n.decode("ascii", "replace")
                    out.append(f"{mod}.{name}" if mod else name)
        else:
            for n in m.group(3).split(b","):
                name = n.strip().split(b" ")[0].decode("ascii", "replace")
                if name:
                    out.append(name)
    return out


def parse(src: SourceFile, modname: str):
    """ModuleInfo for a decoded source, or raise SourceError with the parser's reason."""
    import libcst as cst

    from bnlint.analysis import ModuleInfo

    try:
        module = cst.parse_module(src.text)
        return ModuleInfo(module, src.path, modname)
    except cst.ParserSyntaxError as exc:
        first = exc
    except RecursionError:
        raise SourceError("expression nesting too deep to analyse") from None
    # Python 2 code: analyse a line-preserving Python 3 rendering (no fixes are ever written).
    fixed = normalise_python2(src.text)
    if fixed != src.text:
        try:
            module = cst.parse_module(fixed)
            return ModuleInfo(module, src.path, modname, python2=True)
        except (cst.ParserSyntaxError, RecursionError):
            pass
    # CPython's own message and position are what users know from tracebacks; libcst's are not.
    row, col = getattr(first, "raw_line", 1), getattr(first, "raw_column", 0) + 1
    lines = str(first).strip().splitlines()
    reason = lines[0] if lines else "invalid syntax"
    try:
        compile(src.text, src.path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        reason = exc.msg or reason
        row, col = exc.lineno or row, exc.offset or col
    except (ValueError, RecursionError, MemoryError):
        pass
    err = SourceError(f"syntax error: {reason}")
    err.row, err.col = row, col  # type: ignore[attr-defined]
    raise err


def defines_bn_helpers(info) -> bool:
    """Whether some function of this module builds BN layers itself (so its importers matter)."""
    from bnlint.project import direct_site

    return any(direct_site(ev) is not None for body in info.functions() for ev in body.events)


def importers_of(modules: set, pending: Dict[str, List[str]]) -> List[str]:
    """Files (keys of ``pending``) that import one of ``modules``, matched on dotted names:
    ``from models import small_cnn`` matches ``models`` or ``pkg.models``; a common stem such as
    ``utils`` alone does not pull in a whole tree."""

    def matches(imported: str, module: str) -> bool:
        return imported == module or imported.endswith("." + module) or module.endswith("." + imported)

    return [p for p, names in pending.items() if any(matches(i, m) for i in names for m in modules)]


def build_modules(files: Sequence[Tuple[str, str]], result: LintResult):
    """Read, prefilter and parse; returns ModuleInfos and records BNL900 errors in ``result``.

    Parsed: files the text prefilter keeps, then (transitively) files importing a module whose
    functions build BN layers, since calls to those helpers are what the rules follow.
    """
    raws: Dict[str, bytes] = {}
    modnames: Dict[str, str] = {}
    order: Dict[str, int] = {}
    for i, (path, root) in enumerate(files):
        result.files_seen += 1
        try:
            with open(path, "rb") as fh:
                raws[path] = fh.read()
            modnames[path] = module_name(path, root)
            order[path] = i
        except OSError as exc:
            result.errors.append(_error(path, f"cannot read file: {exc.strerror or exc}"))
    infos = []

    def parse_all(paths) -> List:
        parsed = []
        for path in sorted(paths, key=order.__getitem__):
            try:
                src = decode_source(path, raws[path])
                result.sources[path] = src
                parsed.append(parse(src, modnames[path]))
                result.files_parsed += 1
            except SourceError as exc:
                result.errors.append(_error(path, str(exc), getattr(exc, "row", 1), getattr(exc, "col", 1)))
        return parsed

    relevant = [p for p, raw in raws.items() if prefilter(raw)]
    batch = parse_all(relevant)
    frontier = {i.modname for i in batch if defines_bn_helpers(i)}
    infos.extend(batch)
    pending = {p: imported_modules(raw, modnames[p]) for p, raw in raws.items() if p not in set(relevant)}
    while frontier and pending:
        found = importers_of(frontier, pending)
        for p in found:
            del pending[p]
        batch = parse_all(found)
        infos.extend(batch)
        frontier = {i.modname for i in batch if any(True for _ in i.functions())}
    infos.sort(key=lambda i: order.get(i.path, 0))
    return infos


def run_rules(infos, settings: Settings, codes: Optional[Iterable[str]] = None, only=None) -> List[Diagnostic]:
    """Findings of every module (or of the modules in ``only``), with ``infos`` as the project."""
    from bnlint.project import Project
    from bnlint.rule import RuleContext

    project = Project(infos)
    rules = [cls() for code, cls in all_rules().items() if codes is None or code in codes]
    out: List[Diagnostic] = []
    for info in infos if only is None else only:
        active = [r for r in rules if settings.enabled(r.code, r.default_enabled, info.path)]
        for rule in active:
            ctx = RuleContext(info=info, project=project, settings=settings, rule=rule)
            rule.check(ctx)
            out.extend(ctx.diagnostics)
    return out


_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.I)


def noqa_filter(diags: List[Diagnostic], sources: Dict[str, SourceFile]) -> List[Diagnostic]:
    lines_cache: Dict[str, List[str]] = {}
    kept = []
    for d in diags:
        src = sources.get(d.filename)
        if src is None:
            kept.append(d)
            continue
        lines = lines_cache.setdefault(d.filename, src.text.splitlines())
        line = lines[d.location.row - 1] if 0 < d.location.row <= len(lines) else ""
        m = _NOQA.search(line)
        if m is None:
            kept.append(d)
            continue
        codes = m.group("codes")
        if codes and d.code not in re.split(r"[,\s]+", codes.upper()):
            kept.append(d)
    return kept


def lint_paths(paths: Sequence[str], settings: Settings) -> LintResult:
    result = LintResult()
    files, errors = discover(paths, settings)
    result.errors.extend(errors)
    from bnlint.local_imports import context_files

    context = context_files(paths, files)  # imported by named files, analysed for facts only
    infos = build_modules(files + context, result)
    result.infos = infos
    skip = {path for path, _ in context}
    diags = run_rules(infos, settings, only=[i for i in infos if i.path not in skip] if skip else None)
    if skip:
        result.files_seen -= len(context)
        result.errors = [e for e in result.errors if e.filename not in skip]
    diags = noqa_filter(diags, result.sources)
    result.diagnostics = sorted(diags, key=Diagnostic.sort_key)
    result.errors = [e for e in result.errors if settings.enabled(e.code, True, e.filename)]
    return result


def lint_source(text: str, path: str = "<string>", settings: Optional[Settings] = None,
                extra_modules: Sequence = ()) -> List[Diagnostic]:
    """Lint one in-memory module (tests, flake8, editors). ``extra_modules``: other ModuleInfos."""
    settings = settings or Settings()
    src = SourceFile(path=path, raw=text.encode("utf-8"), text=text, encoding="utf-8", bom=False)
    try:
        info = parse(src, module_name(path, os.path.dirname(path) or "."))
    except SourceError as exc:
        return [_error(path, str(exc), getattr(exc, "row", 1), getattr(exc, "col", 1))]
    diags = run_rules([info, *extra_modules], settings)
    diags = [d for d in diags if d.filename == path]
    return sorted(noqa_filter(diags, {path: src}), key=Diagnostic.sort_key)
