"""Linting files and folders: ``discover`` -> the tree run (``bnlint.run.tree``: prefilter,
parse in workers, cross-module fixpoint, cache) -> root causes folded, ``# noqa`` applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from bnlint.core.diagnostics import Diagnostic
from bnlint.rulekit.root_causes import fold_related
from bnlint.source.notebook import NotebookSource
from bnlint.core.settings import Settings
from bnlint.source.reading import SourceError, SourceFile, decode_source
from bnlint.analysis.parse import parse
from bnlint.lint.check import noqa_filter
from bnlint.source.discover import discover


@dataclass
class LintResult:
    diagnostics: List[Diagnostic] = field(default_factory=list)
    files_seen: int = 0
    files_parsed: int = 0
    errors: List[Diagnostic] = field(default_factory=list)  # files bnlint could not read (BNL900)
    sources: Dict[str, SourceFile] = field(default_factory=dict)  # the relevant (analysed) files
    modnames: Dict[str, str] = field(default_factory=dict)
    notebooks: Dict[str, str] = field(default_factory=dict)  # notebook path -> its cell text (bnlint.source.notebook)
    _infos: Optional[list] = field(default=None, repr=False)

    @property
    def infos(self) -> list:
        """ModuleInfos of the relevant files (the fixer re-lints against them). Analysis keeps no
        trees in memory (workers, cache), so they are parsed here on first use."""
        if self._infos is None:
            self._infos = []
            for path, src in self.sources.items():
                try:
                    self._infos.append(parse(src, self.modnames[path]))
                except SourceError:
                    pass
        return self._infos

    @infos.setter
    def infos(self, value: list) -> None:
        self._infos = list(value)


def lint_paths(paths: Sequence[str], settings: Settings, *, jobs: Optional[int] = None,
               cache_dir: Optional[str] = None, timeout: Optional[float] = None) -> LintResult:
    """Lint files and folders.

    ``jobs``: worker processes (None: all cores, small runs stay in-process). ``cache_dir``: the
    result cache folder (None: no cache; the CLI uses ``.bnlint_cache``). ``timeout``: seconds per
    file before it is reported as BNL901 (None: no limit in-process, ``DEFAULT_TIMEOUT`` in workers).
    The findings are the same for every ``jobs`` and cache state."""
    from bnlint.analysis.local_imports import context_files
    from bnlint.run.tree import analyse_tree

    result = LintResult()
    files, errors = discover(paths, settings)
    result.errors.extend(errors)
    context = context_files(paths, files)  # imported by named files, analysed for facts only
    skip = {path for path, _ in context}
    tree = analyse_tree(files + context, skip, settings, jobs=jobs, cache_dir=cache_dir, timeout=timeout)
    result.files_seen = len(files)
    result.files_parsed = tree.files_parsed
    result.errors.extend(tree.errors)
    for path in tree.analysed:
        try:
            result.sources[path] = (NotebookSource.of(path, tree.notebooks[path]) if path in tree.notebooks
                                    else decode_source(path, tree.raws[path]))
            result.modnames[path] = tree.modnames[path]
        except SourceError:
            pass
    result.notebooks = {p: tree.raws[p].decode("utf-8", "replace") for p in tree.notebooks}
    diags = noqa_filter(fold_related(tree.diagnostics), result.sources)
    result.diagnostics = sorted(diags, key=Diagnostic.sort_key)
    result.errors = [e for e in result.errors if settings.enabled(e.code, True, e.filename)]
    return result
