"""Applying fixes: edits to fixpoint (as ruff does), checks, then an atomic write.

For each file with applicable fixes: apply every non-overlapping fix, re-lint the result (against
the other modules of the run, so cross-module facts still hold), and repeat until no fix applies.
The new text is written only if it parses, no fixed finding is reported again, and the fixer run
on its own output would change nothing; otherwise the file is left untouched and the reason is
reported. Writing keeps the encoding, BOM, line endings and file mode, and goes through a temporary
file in the same folder plus ``os.replace`` so a crash never leaves a half-written file.
"""

from __future__ import annotations

import ast
import difflib
import os
import stat
import tempfile
import threading
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from bnlint.core.diagnostics import Diagnostic
from bnlint.fix.effect import changes_variables
from bnlint.fix.edits import split_lines
from bnlint.source.notebook import at_cells, changed_cells, is_notebook
from bnlint.core.settings import Settings
from bnlint.source.reading import SourceError, SourceFile
from bnlint.fix.text_edits import FixError, apply_edits  # noqa: F401 (FixError: part of this API)

# Set by the command's SIGINT/SIGTERM handler (``cli``) along with raising KeyboardInterrupt, which
# Python drops when it lands in a __del__ or weakref callback.
STOP = threading.Event()
MAX_ITERATIONS = 100  # ruff's limit too


@dataclass
class FileFix:
    path: str
    original: SourceFile
    text: str  # the fixed text (== original.text when nothing applied)
    applied: List[Diagnostic] = field(default_factory=list)  # findings whose fix was applied
    remaining: List[Diagnostic] = field(default_factory=list)  # findings in the fixed text
    error: Optional[str] = None  # why nothing was applied
    written: bool = False

    @property
    def changed(self) -> bool:
        return self.error is None and self.text != self.original.text

    def diff(self) -> str:
        if is_notebook(self.path):  # the changed cells, as they read in the notebook
            return "".join(unified_diff(old, new, f"{self.path}:cell {n}")
                           for n, old, new in changed_cells(self.original.text, self.text))
        return unified_diff(self.original.text, self.text, self.path)


@dataclass
class FixRun:
    result: object  # LintResult of the run, its diagnostics replaced by what remains after fixing
    files: List[FileFix] = field(default_factory=list)

    @property
    def applied(self) -> List[Diagnostic]:
        return [d for f in self.files if f.changed for d in f.applied]

    @property
    def failures(self) -> List[FileFix]:
        return [f for f in self.files if f.error is not None]


def applicable(diags: Sequence[Diagnostic], unsafe: bool) -> List[Diagnostic]:
    return [d for d in diags if d.fix is not None and d.fix.edits and (unsafe or d.fix.applicability == "safe")]


def select_fixes(diags: Sequence[Diagnostic], unsafe: bool) -> List[Diagnostic]:
    """Fixes to apply together: ordered by position, skipping any that overlaps an earlier one
    (the next iteration gets it, re-computed on the new text)."""
    chosen, seen, last_end = [], set(), None
    for d in sorted(applicable(diags, unsafe), key=lambda d: (min(e.location for e in d.fix.edits), d.code)):
        edits = sorted(d.fix.edits, key=lambda e: (e.location, e.end_location))
        key = tuple(edits)
        if key in seen:
            continue  # two findings, one repair
        if last_end is not None and edits[0].location < last_end:
            continue
        if any(b.location < a.end_location for a, b in zip(edits, edits[1:])):
            continue
        seen.add(key)
        chosen.append(d)
        last_end = max(e.end_location for e in edits)
    return chosen


# --- the fix loop ------------------------------------------------------------------------------------------


def _parses(text: str, path: str) -> None:
    import libcst as cst

    try:
        cst.parse_module(text)
    except Exception as exc:  # libcst raises ParserSyntaxError, sometimes others on odd input
        raise FixError(f"the fixed source does not parse: {str(exc).splitlines()[0] if str(exc) else exc}")


def _compiles(text: str, path: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text, path)
        return True
    except (SyntaxError, ValueError):
        return False


def _stems_imported(info) -> set:
    out = set()
    for ref in info.local_imports.values():
        mod = ref[1].strip(".")
        if mod:
            out.add(mod.split(".")[-1])
        if ref[0] == "symbol":
            out.add(ref[2])  # ``from pkg import models`` may import a module
    return out


def context_modules(info, infos: Sequence) -> list:
    """The modules whose facts can change ``info``'s findings: what it imports (transitively, for
    the helpers' BN summaries) and what imports it (two levels, for callers of its functions).
    Re-linting against these instead of the whole tree keeps fixing fast on large trees."""
    stem = lambda i: i.modname.split(".")[-1]  # noqa: E731
    imports = {id(i): _stems_imported(i) for i in infos}
    by_stem: Dict[str, list] = {}
    for i in infos:
        by_stem.setdefault(stem(i), []).append(i)
    chosen = {id(info): info}
    todo = [info]
    while todo:  # imported modules, transitively
        cur = todo.pop()
        for name in imports.get(id(cur), ()):
            for dep in by_stem.get(name, []):
                if id(dep) not in chosen:
                    chosen[id(dep)] = dep
                    todo.append(dep)
    targets = {stem(info)}
    for _ in range(2):  # importers, and their importers
        new = [i for i in infos if id(i) not in chosen and imports[id(i)] & targets]
        for i in new:
            chosen[id(i)] = i
        targets = {stem(i) for i in new}
    return [i for i in chosen.values() if i is not info]


class Relinter:
    """Lints new versions of one file in the context of the modules that matter to it."""

    def __init__(self, src: SourceFile, modname: str, others: Sequence, settings: Settings):
        self.src, self.modname, self.others, self.settings = src, modname, list(others), settings

    def __call__(self, text: str) -> List[Diagnostic]:
        from bnlint.lint.check import noqa_filter, run_rules
        from bnlint.analysis.parse import parse

        new = SourceFile(path=self.src.path, raw=b"", text=text, encoding=self.src.encoding, bom=self.src.bom)
        try:
            info = parse(new, self.modname)
        except SourceError as exc:
            raise FixError(f"the fixed source cannot be analysed: {exc}")
        if info.python2:
            raise FixError("the fixed source is not Python 3")
        diags = run_rules([info, *self.others], self.settings, only=[info])
        return sorted(noqa_filter(diags, {self.src.path: new}), key=Diagnostic.sort_key)


def fix_text(src: SourceFile, diags: Sequence[Diagnostic], relint, unsafe: bool) -> FileFix:
    """Fix one file's text to fixpoint; raise FixError when a check fails."""
    result = FileFix(path=src.path, original=src, text=src.text, remaining=list(diags))
    text, current = src.text, list(diags)
    # The re-linter may see a smaller project than the run did (see context_modules): counts
    # before fixing are the larger of both views, so a finding only one view has cannot fail a check.
    original_counts = Counter(d.code for d in diags) | Counter(d.code for d in relint(src.text))
    compiled_before = _compiles(src.text, src.path)
    applied: List[Diagnostic] = []
    for _ in range(MAX_ITERATIONS):
        chosen = select_fixes(current, unsafe)
        if not chosen:
            break
        new_text = apply_edits(text, [e for d in chosen for e in d.fix.edits])
        _parses(new_text, src.path)
        if compiled_before and not _compiles(new_text, src.path):
            raise FixError("the fixed source is not valid Python")
        new_diags = relint(new_text)
        before = original_counts if not applied else Counter(d.code for d in current)
        after, fixed = Counter(d.code for d in new_diags), Counter(d.code for d in chosen)
        for code, n in fixed.items():
            if after[code] > before[code] - n:
                d = next(d for d in chosen if d.code == code)
                raise FixError(f"the {code} fix at line {d.location.row} ({d.fix.message}) did not remove the finding")
        applied.extend(chosen)
        text, current = new_text, new_diags
    else:
        raise FixError(f"fixes did not converge after {MAX_ITERATIONS} rounds")
    # The loop ended because linting the result offers no fix to apply: running the fixer on its
    # own output changes nothing (idempotence). No fixed finding may be back at the end either.
    # A fix that changes which variables a layer creates is unsafe by nature (``fix_effect``);
    # checked again on the combined result, whatever the rules called their fixes.
    if not unsafe and changes_variables(src.text, text):
        raise FixError("the fixes change which variables a layer creates; that is unsafe (--unsafe-fixes)")
    final = Counter(d.code for d in current)
    for code, n in Counter(d.code for d in applied).items():
        if final[code] > original_counts[code] - n:
            raise FixError(f"{code} is reported again after fixing")
    result.text, result.applied, result.remaining = text, applied, current
    return result


# --- files -----------------------------------------------------------------------------------------------------


def write_atomic(path: str, data: bytes, expected: bytes) -> None:
    """Replace ``path``'s content with ``data`` if it still holds ``expected``; keep its mode."""
    real = os.path.realpath(path)  # a symlink stays a symlink; its target gets the new content
    with open(real, "rb") as fh:
        if fh.read() != expected:
            raise FixError("the file changed while it was being fixed")
    st = os.stat(real)
    # Replacing through a rename would bypass a read-only mode (root, or a writable folder): honour
    # it, as version-control checkouts (Perforce, git-annex) rely on it.
    if not st.st_mode & 0o222 or not os.access(real, os.W_OK):
        raise FixError("the file is read-only; make it writable to apply the fixes")
    folder = os.path.dirname(real) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(real) + ".", suffix=".bnlint-tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        try:
            os.chown(tmp, st.st_uid, st.st_gid)
        except (PermissionError, AttributeError):
            pass
        os.replace(tmp, real)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def unified_diff(old: str, new: str, path: str) -> str:
    if old == new:
        return ""
    out = []
    rel = not os.path.isabs(path)  # git-style a/ b/ prefixes, so `patch -p1` / `git apply` take it
    old_name, new_name = (f"a/{path}", f"b/{path}") if rel else (path, path)
    for line in difflib.unified_diff(split_lines(old), split_lines(new), fromfile=old_name, tofile=new_name):
        out.append(line)
        if not line.endswith(("\n", "\r")):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def fix_paths(paths: Sequence[str], settings: Settings, write: bool = True) -> FixRun:
    """Lint ``paths``, fix every file with applicable fixes, write them when ``write``."""
    from bnlint.run.paths import lint_paths

    result = lint_paths(paths, settings)
    return fix_result(result, settings, write)


def _parse(src: SourceFile):
    from bnlint.source.discover import module_name
    from bnlint.analysis.parse import parse

    try:
        return parse(src, module_name(src.path, os.path.dirname(src.path) or "."))
    except SourceError:
        return None


def fix_result(result, settings: Settings, write: bool = True) -> FixRun:
    run = FixRun(result=result)
    unsafe = bool(settings.unsafe_fixes)
    by_file: Dict[str, List[Diagnostic]] = {}
    for d in result.diagnostics:
        by_file.setdefault(d.filename, []).append(d)
    infos: Optional[dict] = None  # parsed only when some file has a fix to apply
    remaining: List[Diagnostic] = []
    for path, diags in by_file.items():
        if STOP.is_set():  # an interrupt Python swallowed (raised in a __del__): stop between files
            raise KeyboardInterrupt
        src = result.sources.get(path)
        if src is None or not applicable(diags, unsafe):
            remaining.extend(diags)
            continue
        if infos is None:
            infos = {info.path: info for info in result.infos}
        info = infos.get(path) or _parse(src)
        if info is None or info.python2:
            remaining.extend(diags)
            continue
        relint = Relinter(src, info.modname, context_modules(info, result.infos), settings)
        try:
            ff = fix_text(src, diags, relint, unsafe)
            data = src.encode(ff.text)
            if ff.text != src.text and write:
                write_atomic(path, data, src.raw)
                ff.written = True
        except (FixError, UnicodeEncodeError, OSError, SourceError) as exc:  # SourceError: a notebook's cells
            reason = (f"the fix cannot be encoded as {src.encoding}" if isinstance(exc, UnicodeEncodeError)
                      else str(exc))
            ff = FileFix(path=path, original=src, text=src.text, remaining=list(diags), error=reason)
        run.files.append(ff)
        remaining.extend(ff.remaining)
        if path in result.notebooks and ff.changed:
            result.notebooks[path] = ff.text  # the remaining findings are on the fixed cells
    result.diagnostics = sorted(remaining, key=Diagnostic.sort_key)
    return run


# --- reporting (used by ``bnlint --fix/--diff``) -----------------------------------------------------------------


def _counts(diags: Sequence[Diagnostic]) -> str:
    return ", ".join(f"{n} × {code}" for code, n in sorted(Counter(d.code for d in diags).items()))


def fixed_summary(run: FixRun, verb: str = "Fixed") -> List[str]:
    """``Fixed 2 findings in 1 file (1 × BNL002, 1 × BNL003).`` plus one line per failed file."""
    lines = []
    applied = run.applied
    files = [f for f in run.files if f.changed]
    if applied:
        lines.append(f"{verb} {len(applied)} finding{'s' if len(applied) != 1 else ''} in {len(files)} "
                     f"file{'s' if len(files) != 1 else ''} ({_counts(applied)}).")
    for f in run.failures:
        lines.append(f"bnlint: error: {f.path}: fixes not applied, file left unchanged: {f.error}")
    return lines


def show_fixes(run: FixRun) -> str:
    """--show-fixes after --fix/--diff: every applied fix, per file."""
    out = []
    for f in run.files:
        if not f.changed:
            continue
        out.append(f"{f.path}:")
        for d in at_cells(f.applied, {f.path: f.original.text}):
            out.append(f"    {d.position_text()} {d.code} [{d.fix.applicability}] {d.fix.message}")
    return "\n".join(out) + ("\n" if out else "")


def hidden_unsafe(diags: Sequence[Diagnostic], settings: Settings) -> int:
    if settings.unsafe_fixes:
        return 0
    return sum(1 for d in diags if d.fix is not None and d.fix.edits and d.fix.applicability == "unsafe")


def changed_files(run: FixRun) -> List[Tuple[str, str]]:
    return [(f.path, f.diff()) for f in run.files if f.changed]
