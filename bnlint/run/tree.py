"""Linting a whole tree: which files to parse, the two analysis phases, the result cache.

1. Read every file (the main process; cheap). With the cache on, a run whose files, settings and
   bnlint code are all unchanged is answered from its run record here: no parsing, no libcst.
2. Relevant files: the text ``prefilter`` and, on CPython's AST, a BN word used in code
   (``uses_bn``); then, transitively, files importing a module whose functions build BN layers,
   directly or through such helpers of other modules (``importers_of``), since calls to those
   helpers are what rules follow.
3. Phase 1 for each (``parallel.analyse``, in workers): summary + findings from module-local facts +
   the questions the rules asked. Cached per file content.
4. The main process solves the cross-module index from all summaries (``summary.solve``).
5. A module keeps its phase-1 findings when its BN sites and every recorded answer are the same in
   the whole tree's index; the rest get phase 2 (``parallel.check``), cached per file together with a
   fingerprint of everything cross-module they read.

Every module's findings are therefore exactly those of one in-memory ``Project`` over the whole
relevant set (``check.run_rules``), whatever ``-j`` and whatever the cache holds.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

from bnlint.run.cache import Cache, FileEntry, RunEntry, content_hash, run_key
from bnlint.core.diagnostics import Diagnostic, Location
from bnlint.run.parallel import Analysed, Checked, Pool, Skipped, Task, default_jobs
from bnlint.source.notebook import is_notebook, python_bytes
from bnlint.core.codes import PARSE_ERROR
from bnlint.core.settings import Settings
from bnlint.source.reading import SourceError, read_bytes
from bnlint.analysis.summary import Index, ModuleSummary, answers_hold, combine_facts, module_of, solve

# Below this much work a run stays in-process: forking workers costs more than it saves.
MIN_PARALLEL_BYTES = 256 * 1024


@dataclass
class TreeResult:
    diagnostics: List[Diagnostic] = field(default_factory=list)
    errors: List[Diagnostic] = field(default_factory=list)
    analysed: List[str] = field(default_factory=list)  # relevant files that parsed, in lint order
    raws: Dict[str, bytes] = field(default_factory=dict)
    notebooks: Dict[str, bytes] = field(default_factory=dict)  # notebook path -> its JSON bytes
    modnames: Dict[str, str] = field(default_factory=dict)
    files_parsed: int = 0  # parsed in this run (not served by the cache)


def analyse_tree(files: Sequence[Tuple[str, str]], context: Set[str], settings: Settings, *,
                 jobs: Optional[int] = None, cache_dir: Optional[str] = None,
                 timeout: Optional[float] = None) -> TreeResult:
    """Findings of every file in ``files`` ((path, root) pairs); ``context`` files are analysed
    for cross-module facts only (no findings, no errors)."""
    from bnlint.source.discover import module_name

    out = TreeResult()
    order: List[str] = []
    for path, root in files:
        try:
            raw = read_bytes(path)  # never blocks on a FIFO; clear reasons for the rest
            if is_notebook(path):  # analysed as its cell text; the JSON is kept for writing fixes
                out.notebooks[path], raw = raw, python_bytes(path, raw)
            out.raws[path] = raw
        except SourceError as exc:
            out.errors.append(_problem(path, str(exc)))
            continue
        out.modnames[path] = module_name(path, root)
        order.append(path)

    cache = Cache(cache_dir, settings).load() if cache_dir else None
    hashes = {p: content_hash(out.raws[p]) for p in order} if cache is not None else {}
    key = run_key([(p, out.modnames[p], hashes[p]) for p in order], sorted(context)) if cache is not None else ""
    if cache is not None:
        done = cache.run(key)
        if done is not None:
            out.diagnostics, out.errors = list(done.diagnostics), out.errors + list(done.errors)
            out.analysed = [p for p in done.parsed if p in out.raws]
            return out

    run = _Run(out, order, settings, cache, hashes, jobs, timeout)
    try:
        run.phase1()
        run.phase2()
    finally:
        run.close()
    out.diagnostics = [d for d in run.diagnostics if d.filename not in context]
    out.errors.extend(e for e in run.errors if e.filename not in context)
    if cache is not None:
        if not run.unsettled:  # a timeout or crash may not recur: the next run tries again
            cache.put_run(key, RunEntry(out.diagnostics, [e for e in out.errors if e.filename in out.raws], out.analysed))
        cache.save()
    return out


def _problem(path: str, message: str, row: int = 1, col: int = 1) -> Diagnostic:
    return Diagnostic(code=PARSE_ERROR, message=message, filename=path, location=Location(row, col), severity="error")


def _bn_helpers(s: ModuleSummary) -> bool:
    """Some function (not the module level) builds BN layers itself."""
    top = f"{s.modname}:<module>"
    return any(c.direct is not None for k, b in s.bodies.items() if k != top for c in b.calls)


def _keras_bn(s: ModuleSummary) -> bool:
    return any(c.direct is not None and c.direct.kind == "keras" for b in s.bodies.values() for c in b.calls)


_STEP_WORDS = re.compile(rb"\.(?:minimize|apply_gradients)\(")
_VALIDATION_COND = re.compile(rb"tf\.cond\(\s*(?:tf\.logical_not\(\s*)?(?:self\.)?(?:is_|use_)?(?:val|valid|validation|eval)\w*\s*[,)]")


def _has_functions(s: ModuleSummary) -> bool:
    return len(s.bodies) > 1


class _Run:
    def __init__(self, out: TreeResult, order: List[str], settings: Settings, cache: Optional[Cache],
                 hashes: Dict[str, str], jobs: Optional[int], timeout: Optional[float]):
        self.out, self.order, self.settings, self.cache, self.hashes = out, order, settings, cache, hashes
        self.position = {p: i for i, p in enumerate(order)}
        self.pool = Pool(jobs or default_jobs(), timeout)
        self.explicit_jobs = jobs is not None
        self.in_process = False  # decided once the relevant files are known
        self.analysed: Dict[str, FileEntry] = {}  # path -> phase-1 result
        self.skipped: Set[str] = set()  # prefilter words only in imports/strings/comments
        self.unsettled = False  # some file timed out or crashed bnlint
        self.diagnostics: List[Diagnostic] = []
        self.errors: List[Diagnostic] = []
        self._started = False

    # -- phase 1 and the relevant set ------------------------------------------------------------------
    def phase1(self) -> None:
        from bnlint.source.discover import imported_modules, importers_of, prefilter

        raws, modnames = self.out.raws, self.out.modnames
        candidates = [p for p in self.order if prefilter(raws[p])]
        self.in_process = not self.explicit_jobs and sum(len(raws[p]) for p in candidates) < MIN_PARALLEL_BYTES
        batch = self._analyse(candidates, check_words=True)
        frontier = {s.modname for s in batch if _bn_helpers(s)}
        # Files of this batch importing those (``models`` importing ``layers``) lead further too.
        inner = {s.modname: list(s.imports) for s in batch if s.modname not in frontier and _has_functions(s)}
        grow = set(frontier)
        while grow and inner:
            found = importers_of(grow, inner)
            for m in found:
                del inner[m]
            grow = set(found)
            frontier |= grow
        chosen = {p for p in candidates if p not in self.skipped}
        # Candidates whose functions call those helpers (``model.py`` using ``ops.batch_norm``)
        # build BN too: their importers (``main.py``) matter as well.
        with_functions = {s.modname for s in batch if _has_functions(s)} - frontier
        users = {p: imported_modules(raws[p], modnames[p]) for p in chosen if modnames[p] in with_functions}
        while users:
            found = importers_of(frontier, users)
            if not found:
                break
            for p in found:
                frontier.add(modnames[p])
                del users[p]
        pending = {p: imported_modules(raws[p], modnames[p]) for p in self.order if p not in chosen}
        while frontier and pending:
            found = importers_of(frontier, pending)
            for p in found:
                del pending[p]
            batch = self._analyse(found, check_words=False)
            frontier = {s.modname for s in batch if _has_functions(s)}
        self._analyse(self._step_modules(), check_words=False)
        self._step_helpers(imported_modules)
        self._validation_switches()
        self.out.analysed = [p for p in self.order if p in self.analysed]

    def _step_helpers(self, imported_modules) -> None:
        """Modules holding the optimizer step of a model built from Keras BN layers elsewhere
        (``models/dcn.py`` imports ``layers/core.py`` and ``estimator/utils.py``, whose train_op
        function calls ``minimize``): BNL008 asks whether that step runs the layers' updates, and
        the helper mentions no BN word itself. Only files the relevant Keras-BN models import."""
        keras = {e.summary.modname for e in self.analysed.values() if e.summary is not None and _keras_bn(e.summary)}
        if not keras:
            return
        raws, modnames = self.out.raws, self.out.modnames
        by_mod = {modnames[p]: p for p in self.order}
        wanted = set()
        for path, entry in list(self.analysed.items()):
            names = imported_modules(raws[path], modnames[path])
            if entry.summary is None or not (set(names) & keras or modnames[path] in keras):
                continue
            for name in names:
                p = by_mod.get(name)
                if p is not None and p not in self.analysed and p not in self.skipped and _STEP_WORDS.search(raws[p]):
                    wanted.add(p)
        if wanted:
            self._analyse(sorted(wanted, key=self.position.__getitem__), check_words=False)

    def _validation_switches(self) -> None:
        """Modules that switch validation batches into a model with ``tf.cond(<validation switch>,
        ...)`` and pass it a training flag (BNL007): the model comes from a factory or a network
        object, so no BN word needs to appear in them."""
        raws = self.out.raws
        wanted = [p for p in self.order if p not in self.analysed and p not in self.skipped
                  and b"tf.cond(" in raws[p] and b"is_training" in raws[p] and _VALIDATION_COND.search(raws[p])]
        if wanted:
            self._analyse(wanted, check_words=False)

    def _step_modules(self) -> List[str]:
        """Files that build an optimizer step in a function, imported by a relevant file
        (``optim.py`` with ``def train_op(loss): return opt.minimize(loss)``, called by the
        trainer): the step fed the model's loss lives there (``bnlint.facts.step_callers``)."""
        from bnlint.source.discover import imported_among, imported_modules

        raws, modnames = self.out.raws, self.out.modnames
        helpers = [p for p in self.order if p not in self.analysed and p not in self.skipped
                   and (b"minimize(" in raws[p] or b"apply_gradients(" in raws[p]) and b"def " in raws[p]]
        if not helpers:
            return []
        users = {p: imported_modules(raws[p], modnames[p]) for p in self.analysed}
        used = set(imported_among({modnames[p] for p in helpers}, users))
        return [p for p in helpers if modnames[p] in used]

    def _analyse(self, paths: List[str], check_words: bool) -> List[ModuleSummary]:
        """Phase 1 for ``paths`` (cache first); the summaries of those that parsed. With
        ``check_words``, files that use no BN word in code are set aside in ``skipped``."""
        raws, modnames = self.out.raws, self.out.modnames
        tasks = []
        for p in paths:
            entry = self.cache.entry(p, self.hashes[p], modnames[p]) if self.cache is not None else None
            usable = entry is not None and (entry.summary is not None or entry.error is not None
                                            or (check_words and entry.uses_bn is False))
            if usable:
                self._take(p, entry, check_words)
            else:
                tasks.append(Task("analyse", (p, modnames[p], raws[p], check_words), p, weight=len(raws[p])))
        for task, result in self._run(tasks):
            p = task.path
            if isinstance(result, Analysed):
                self.out.files_parsed += 1
                entry = FileEntry(self.hashes.get(p, ""), modnames[p], uses_bn=result.uses_bn,
                                  summary=result.summary, diagnostics=result.diagnostics, queries=result.queries)
            elif isinstance(result, Skipped):
                entry = FileEntry(self.hashes.get(p, ""), modnames[p], uses_bn=False)
            elif result.diagnostic.code == PARSE_ERROR and "internal error" not in result.diagnostic.message:
                entry = FileEntry(self.hashes.get(p, ""), modnames[p], error=result.diagnostic)
            else:  # timeouts and crashes depend on the machine: report, never cache
                self.errors.append(result.diagnostic)
                self.unsettled = True
                continue
            if self.cache is not None:
                self.cache.put(p, entry)
            self._take(p, entry, check_words)
        return [self.analysed[p].summary for p in sorted(paths, key=self.position.__getitem__) if p in self.analysed]

    def _take(self, path: str, entry: FileEntry, check_words: bool) -> None:
        if entry.error is not None:
            self.errors.append(entry.error)
        elif check_words and entry.uses_bn is False:
            self.skipped.add(path)
        else:
            self.analysed[path] = entry

    def _run(self, tasks: List[Task]):
        if not tasks:
            return iter(())
        if not self._started:
            from bnlint.analysis.project import MODULE_FACTS
            from bnlint.lint.registry import all_rules

            all_rules()  # import the rules (and their module facts) once, before workers fork
            # Phase 1 guesses that facts such as "some module builds BN" hold (the prefilter picked
            # files that mention BN); a module whose rules relied on a wrong guess gets phase 2.
            self.pool.share(settings=self.settings, assume={name: True for name in MODULE_FACTS})
            self._started = True
        return self.pool.run(tasks, in_process=self.in_process)

    # -- the whole tree, and phase 2 --------------------------------------------------------------------
    def phase2(self) -> None:
        paths = self.out.analysed
        summaries = [self.analysed[p].summary for p in paths]
        index = solve(summaries)
        local = {s.modname: solve([s]) for s in summaries}
        from bnlint.analysis.project import SITE_FREE_FACTS

        index.facts = combine_facts(summaries, {m: i.sites for m, i in local.items()}, index, SITE_FREE_FACTS)
        groups = _group(index) if self.cache is not None else {}
        todo: List[Task] = []
        for p in paths:
            entry = self.analysed[p]
            modname = entry.summary.modname
            if self._stands(entry, local[modname], index):
                self.diagnostics.extend(entry.diagnostics)
                continue
            if entry.checked is not None and self.cache is not None:
                touched, fp, diags = entry.checked
                if fp == _fingerprint(index, groups, self.hashes, touched):
                    self.diagnostics.extend(diags)
                    continue
            todo.append(Task("check", (modname,), p, weight=len(self.out.raws[p])))
        if not todo:
            return
        self.pool.share(index=index, hashes=self.hashes)
        for task, result in self._run(todo):
            if isinstance(result, Checked):
                self.diagnostics.extend(result.diagnostics)
                if self.cache is not None:
                    entry = self.analysed[task.path]
                    entry.checked = (result.touched, _fingerprint(index, groups, self.hashes, result.touched), result.diagnostics)
                    self.cache.put(task.path, entry)
            else:
                self.errors.append(result.diagnostic)
                self.unsettled = True

    @staticmethod
    def _stands(entry: FileEntry, local: Index, index: Index) -> bool:
        """Phase-1 findings hold: same BN sites and the same answer to every recorded question."""
        modname = entry.summary.modname
        if local.sites != index.module_sites(modname):
            return False
        if any(index.summaries.get(k) != v for k, v in local.summaries.items()):
            return False
        return answers_hold(entry.queries, index)

    def close(self) -> None:
        self.pool.close()


def _group(index: Index) -> Dict[str, list]:
    """Per module, a canonical text of every cross-module fact about its functions and calls."""
    parts: Dict[str, list] = {m: [] for m in index.modules}

    def sites(ss) -> str:
        return repr(sorted(s.order_key() for s in ss))

    for eid, ss in index.sites.items():
        parts.setdefault(module_of(eid[0]), []).append(f"s{eid}{sites(ss)}")
    for key, ss in index.summaries.items():
        parts.setdefault(module_of(key), []).append(f"b{key}{sites(ss)}")
    for eid, key in index.targets.items():
        parts.setdefault(module_of(eid[0]), []).append(f"t{eid}{key}")
    for key, callers in index.callers.items():
        parts.setdefault(module_of(key), []).append(f"c{key}{callers}")
    return {m: sorted(v) for m, v in parts.items()}


def _fingerprint(index: Index, groups: Dict[str, list], hashes: Dict[str, str], touched) -> str:
    """Everything a phase-2 result may have read: the module table, the tree facts, and for each
    module it loaded, its content and its cross-module facts."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr(tuple(index.modules)).encode())
    h.update(repr(sorted(index.facts.items())).encode())
    h.update(repr((sorted(index.importers.items()), sorted(index.roles.items()))).encode())  # module_roles
    for mod in sorted(touched):
        path = index.modules.get(mod)
        h.update(f"\n{mod}\0{hashes.get(path)}\0".encode())
        h.update("\n".join(groups.get(mod, ())).encode())
    return h.hexdigest()
