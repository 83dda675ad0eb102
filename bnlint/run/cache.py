"""The result cache: ``.bnlint_cache/`` at the project root (like ``.ruff_cache``).

Per (bnlint code, settings that affect results), one file holds, per analysed source file keyed on
its content hash and module name: the phase-1 result (module summary, findings computed with that
module's facts alone, and the questions the rules asked the project; see ``bnlint.run.parallel``) and
the phase-2 result with a fingerprint of every cross-module fact it used. A later run revalidates
those against the new whole-tree index, so editing one file re-analyses that file and the modules
whose answers changed, nothing else. A whole run whose inputs are all unchanged is answered from a
run record without parsing or importing libcst.

The code key hashes bnlint's own sources, so an edited rule never serves stale findings. Reading
is forgiving: a missing, truncated or foreign cache file is an empty cache. Pickles are read with
an allow-list of bnlint's own data classes, so a cache file committed to a repository cannot run
code.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass, field, fields
from typing import Dict, List, Optional, Sequence, Tuple

from bnlint import __version__
from bnlint.core.diagnostics import Diagnostic

CACHE_DIR_NAME = ".bnlint_cache"
ENV_DIR = "BNLINT_CACHE_DIR"
MAX_RUNS = 8  # run records kept per cache file (different path sets / subtrees)
FORMAT = 1


def content_hash(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def cache_dir(settings) -> str:
    """``$BNLINT_CACHE_DIR``, else ``.bnlint_cache`` in the project root (the configuration file's
    folder, or the current directory)."""
    env = os.environ.get(ENV_DIR)
    if env:
        return env
    return os.path.join(settings.root or ".", CACHE_DIR_NAME)


_CODE_KEY: Optional[str] = None


def code_key() -> str:
    """bnlint version + the content of its own sources (rules included) + Python version."""
    global _CODE_KEY
    if _CODE_KEY is None:
        import importlib.util

        h = hashlib.blake2b(digest_size=16)
        h.update(f"{FORMAT}:{__version__}:{sys.version_info[:2]}".encode())
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bnlint/, every sub-package
        dirs = [os.path.join(package, d) for d in sorted(os.listdir(package))
                if d != "runtime" and os.path.isfile(os.path.join(package, d, "__init__.py"))]
        dirs.append(package)
        spec = importlib.util.find_spec("bnlint.rules")
        if spec is not None and spec.submodule_search_locations:
            dirs.extend(spec.submodule_search_locations)
        for d in sorted(set(dirs)):
            for name in sorted(os.listdir(d)):
                if name.endswith(".py"):
                    with open(os.path.join(d, name), "rb") as fh:
                        h.update(os.path.relpath(os.path.join(d, name), package).encode() + b"\0" + fh.read())
        _CODE_KEY = h.hexdigest()
    return _CODE_KEY


def settings_key(settings) -> str:
    """Everything in the settings that can change a finding (not where files are found)."""
    skip = {"exclude", "extend_exclude", "include", "extend_include", "config_path"}
    parts = []
    for f in fields(settings):
        if f.name in skip:
            continue
        value = getattr(settings, f.name)
        if f.name == "root":
            value = os.path.abspath(value or ".")
        parts.append(f"{f.name}={value!r}")
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()


@dataclass
class FileEntry:
    """What bnlint learnt about one file content (under one module name)."""

    hash: str
    modname: str
    uses_bn: Optional[bool] = None  # BN words used in code (None: not checked)
    error: Optional[Diagnostic] = None  # BNL900 for this content
    summary: object = None  # bnlint.analysis.summary.ModuleSummary
    diagnostics: List[Diagnostic] = field(default_factory=list)  # phase 1, module-local facts
    queries: List[tuple] = field(default_factory=list)
    checked: Optional[Tuple[str, List[Diagnostic]]] = None  # phase 2: (fingerprint, findings)


@dataclass
class RunEntry:
    diagnostics: List[Diagnostic]
    errors: List[Diagnostic]
    parsed: List[str]  # files of the analysed set (their sources are handed to the fixer)


class Cache:
    """Two files per key: the run records (small, all a warm run reads) and the file entries."""

    def __init__(self, directory: str, settings):
        self.directory = directory
        base = os.path.join(directory, f"{code_key()[:16]}-{settings_key(settings)}")
        self.runs_path, self.files_path = base + ".runs", base + ".files"
        self.files: Dict[str, FileEntry] = {}
        self.runs: Dict[str, RunEntry] = {}
        self._run_order: List[str] = []
        self._files_loaded = False
        self._dirty_runs = self._dirty_files = False

    def load(self) -> "Cache":
        data = _read(self.runs_path)
        if isinstance(data, dict) and isinstance(data.get("runs"), dict) and isinstance(data.get("order"), list):
            self.runs, self._run_order = data["runs"], data["order"]
        return self

    def _load_files(self) -> None:
        if not self._files_loaded:
            self._files_loaded = True
            data = _read(self.files_path)
            if isinstance(data, dict) and isinstance(data.get("files"), dict):
                self.files = data["files"]

    def entry(self, path: str, hash: str, modname: str) -> Optional[FileEntry]:
        self._load_files()
        e = self.files.get(path)
        if isinstance(e, FileEntry) and e.hash == hash and e.modname == modname:
            return e
        return None

    def put(self, path: str, entry: FileEntry) -> None:
        self._load_files()
        self.files[path] = entry
        self._dirty_files = True

    def run(self, key: str) -> Optional[RunEntry]:
        r = self.runs.get(key)
        return r if isinstance(r, RunEntry) else None

    def put_run(self, key: str, entry: RunEntry) -> None:
        self.runs[key] = entry
        if key in self._run_order:
            self._run_order.remove(key)
        self._run_order.append(key)
        for old in self._run_order[:-MAX_RUNS]:
            self.runs.pop(old, None)
        self._run_order = self._run_order[-MAX_RUNS:]
        self._dirty_runs = True

    def save(self) -> None:
        """Write atomically (a concurrent run sees the old or the new file, never half of one);
        entries of files that no longer exist are dropped. Failing to write is not an error."""
        try:
            if self._dirty_files:
                self.files = {p: e for p, e in self.files.items() if os.path.exists(p)}
                _write(self.directory, self.files_path, {"format": FORMAT, "files": self.files})
                self._dirty_files = False
            if self._dirty_runs:
                _write(self.directory, self.runs_path, {"format": FORMAT, "runs": self.runs, "order": self._run_order})
                self._dirty_runs = False
        except OSError:
            pass


def _read(path: str):
    """The cached object, or None when the file is missing, truncated, foreign or tampered with."""
    try:
        with open(path, "rb") as fh:
            data = _SafeUnpickler(io.BytesIO(fh.read())).load()
    except Exception:
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def _write(directory: str, path: str, data: dict) -> None:
    _prepare(directory)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _prepare(directory: str) -> None:
    """Create the folder the way ruff does: ignored by git and marked as a cache for backups."""
    if os.path.isdir(directory):
        return
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, ".gitignore"), "w") as fh:
        fh.write("# Automatically created by bnlint.\n*\n")
    with open(os.path.join(directory, "CACHEDIR.TAG"), "w") as fh:
        fh.write("Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by bnlint.\n")


def run_key(files: Sequence[Tuple[str, str, str]], context: Sequence[str]) -> str:
    """The identity of a whole run: every (path, module name, content hash) and the context files."""
    h = hashlib.blake2b(digest_size=16)
    for path, modname, digest in files:
        h.update(f"{path}\0{modname}\0{digest}\n".encode())
    h.update(("\0".join(sorted(context))).encode())
    return h.hexdigest()


_ALLOWED = {
    ("bnlint.run.cache", "FileEntry"),
    ("bnlint.run.cache", "RunEntry"),
    ("bnlint.core.diagnostics", "Diagnostic"),
    ("bnlint.core.diagnostics", "Location"),
    ("bnlint.core.diagnostics", "Related"),
    ("bnlint.core.diagnostics", "Fix"),
    ("bnlint.core.diagnostics", "Edit"),
    ("bnlint.analysis.summary", "Site"),
    ("bnlint.analysis.summary", "CallSummary"),
    ("bnlint.analysis.summary", "BodySummary"),
    ("bnlint.analysis.summary", "ModuleSummary"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "tuple"),
    ("builtins", "list"),
    ("builtins", "dict"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a bnlint cache")
        return super().find_class(module, name)
