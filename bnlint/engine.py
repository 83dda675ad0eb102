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

# A file can matter only if it mentions one of these (BN creators, collections, optimizer steps,
# TF/Keras imports). Files importing such a module are pulled in by ``_import_closure``.
_RELEVANT = re.compile(
    rb"batch_norm|BatchNorm|UPDATE_OPS|update_ops|minimize|apply_gradients|compute_gradients"
    rb"|normalizer_fn|learning_phase|GradientTape|import\s+tensorflow|from\s+tensorflow"
    rb"|tf_slim|tf_keras|import\s+keras|from\s+keras|\.fit\(|moments\("
)
_IMPORT_LINE = re.compile(rb"^\s*(?:from\s+(\.*[\w.]*)\s+import\s+([\w., ()]+)|import\s+([\w., ]+))", re.M)


@dataclass
class LintResult:
    diagnostics: List[Diagnostic] = field(default_factory=list)
    files_seen: int = 0
    files_parsed: int = 0
    errors: List[Diagnostic] = field(default_factory=list)  # files bnlint could not read (BNL900)
    sources: Dict[str, SourceFile] = field(default_factory=dict)


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
                dirnames[:] = sorted(d for d in dirnames if not is_excluded(os.path.join(dirpath, d), exclude))
                for fn in sorted(filenames):
                    if not fn.endswith(".py"):
                        continue
                    fp = os.path.join(dirpath, fn)
                    if is_excluded(fp, exclude):
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


def imported_names(raw: bytes) -> List[str]:
    names = []
    for m in _IMPORT_LINE.finditer(raw):
        if m.group(1) is not None:
            mod = m.group(1).decode("ascii", "replace")
            names.append(mod.lstrip(".").split(".")[-1] if mod.strip(".") else "")
            for n in re.split(rb"[\s,()]+", m.group(2)):
                if n and n != b"as":
                    names.append(n.decode("ascii", "replace"))
        else:
            for n in m.group(3).split(b","):
                names.append(n.strip().split(b" ")[0].decode("ascii", "replace").split(".")[-1])
    return [n for n in names if n]


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
    msg = str(first).strip().splitlines()
    reason = msg[0] if msg else "syntax error"
    err = SourceError(f"syntax error: {reason}")
    err.row, err.col = getattr(first, "raw_line", 1), getattr(first, "raw_column", 0) + 1  # type: ignore[attr-defined]
    raise err


def _import_closure(candidates: Dict[str, bytes], relevant: set) -> set:
    """Files that import (directly or transitively) a relevant module are relevant too."""
    stems: Dict[str, List[str]] = {}
    for path in candidates:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem == "__init__":
            stem = os.path.basename(os.path.dirname(path))
        stems.setdefault(stem, []).append(path)
    imports = {path: set(imported_names(raw)) for path, raw in candidates.items() if path not in relevant}
    changed = True
    while changed:
        changed = False
        relevant_stems = {os.path.splitext(os.path.basename(p))[0] for p in relevant} | {
            os.path.basename(os.path.dirname(p)) for p in relevant if p.endswith("__init__.py")
        }
        for path, names in list(imports.items()):
            if names & relevant_stems:
                relevant.add(path)
                del imports[path]
                changed = True
    return relevant


def build_modules(files: Sequence[Tuple[str, str]], result: LintResult):
    """Read, prefilter and parse; returns ModuleInfos and records BNL900 errors in ``result``."""
    raws: Dict[str, bytes] = {}
    roots: Dict[str, str] = {}
    for path, root in files:
        result.files_seen += 1
        try:
            with open(path, "rb") as fh:
                raws[path] = fh.read()
            roots[path] = root
        except OSError as exc:
            result.errors.append(_error(path, f"cannot read file: {exc.strerror or exc}"))
    relevant = {p for p, raw in raws.items() if prefilter(raw)}
    relevant = _import_closure(raws, relevant)
    infos = []
    for path in [p for p, _ in files if p in relevant]:
        try:
            src = decode_source(path, raws[path])
            result.sources[path] = src
            infos.append(parse(src, module_name(path, roots[path])))
            result.files_parsed += 1
        except SourceError as exc:
            result.errors.append(_error(path, str(exc), getattr(exc, "row", 1), getattr(exc, "col", 1)))
    return infos


def run_rules(infos, settings: Settings, codes: Optional[Iterable[str]] = None) -> List[Diagnostic]:
    from bnlint.project import Project
    from bnlint.rule import RuleContext

    project = Project(infos)
    rules = [cls() for code, cls in all_rules().items() if codes is None or code in codes]
    out: List[Diagnostic] = []
    for info in infos:
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
    infos = build_modules(files, result)
    diags = run_rules(infos, settings)
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
