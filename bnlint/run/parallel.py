"""Worker processes for cold runs, and the two analysis phases they run.

Phase 1 (``analyse``), once per relevant file: parse, build the ``ModuleInfo``, reduce it to a
picklable ``ModuleSummary``, and run every rule with the facts of that module alone, recording each
question the rules ask the project. Only summaries, findings and the question log travel back; the
CST dies with the task, so no process holds the whole tree.

The main process solves the cross-module fixpoint over all summaries (``bnlint.analysis.summary.solve``).
A module's phase-1 findings stand when its BN sites came out the same and every recorded question
has the same answer in the whole tree's index. The others (the ones that really use other modules)
get phase 2 (``check``): parse the module again and run the rules on a ``Project`` over the global
index, which parses any other module a rule asks about on demand.

``Pool`` runs tasks in ``-j`` worker processes (largest first) with a per-file time limit: a CPU-time
alarm in the worker (BNL901 for the file), and a hard kill from the main process for a worker that
does not answer in time (stuck in native code or blocked). With one job, or little work, the same
tasks run in-process, under a wall-clock alarm.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from bnlint.core.diagnostics import Diagnostic, Location
from bnlint.core.gc_pause import gc_paused
from bnlint.core.codes import PARSE_ERROR, TIMEOUT
from bnlint.analysis.summary import ModuleSummary

DEFAULT_TIMEOUT = 20.0  # seconds per file (CLI default)
HARD_KILL_GRACE = 30.0  # wall seconds on top of 3x the limit before a silent worker is killed


class AnalysisTimeout(BaseException):
    """The per-file time limit expired (BaseException: rules' ``except Exception`` must not eat it)."""


@dataclass
class Analysed:
    """Phase-1 result of one file."""

    summary: ModuleSummary
    diagnostics: List[Diagnostic]
    queries: List[tuple]
    uses_bn: bool  # ``discover.uses_bn`` (True when CPython cannot read the file: libcst decides)


@dataclass
class Skipped:
    """Phase 1 found no BN word used in code (``discover.uses_bn``): not analysed further."""


@dataclass
class Checked:
    """Phase-2 result of one module: its findings and the modules the rules read."""

    diagnostics: List[Diagnostic]
    touched: Tuple[str, ...]


@dataclass
class Failed:
    """The file could not be analysed: a BNL900/BNL901 diagnostic for it."""

    diagnostic: Diagnostic


# --- what every worker knows (set once per phase, see ``Pool.share``) -----------------------------------

_SHARED: Dict[str, Any] = {}


def _problem(code: str, path: str, message: str, row: int = 1, col: int = 1) -> Diagnostic:
    return Diagnostic(code=code, message=message, filename=path, location=Location(row, col), severity="error")


def analyse(path: str, modname: str, raw: bytes, check_words: bool):
    """Phase 1 for one file (see module docstring). ``check_words``: skip the file when BN words
    appear only in imports, strings or comments (files picked by the text prefilter)."""
    from bnlint.lint.check import check_module
    from bnlint.source.discover import code_ast, uses_bn
    from bnlint.analysis.parse import parse
    from bnlint.analysis.project import MODULE_FACTS, Project, summarize
    from bnlint.source.reading import SourceError, decode_source

    try:
        src = decode_source(path, raw)
        tree = code_ast(src.text)
        words = tree is None or uses_bn(tree)
        if check_words and not words:
            return Skipped()
        info = parse(src, modname, compiles=tree is not None)
    except SourceError as exc:
        return Failed(_problem(PARSE_ERROR, path, str(exc), getattr(exc, "row", 1), getattr(exc, "col", 1)))
    del tree
    summary = summarize(info)
    project = Project([info], record=True, assume=_SHARED.get("assume"))
    diags = check_module(info, project, _SHARED["settings"])
    summary.facts = {name: bool(fact(info)) for name, fact in MODULE_FACTS.items()}
    return Analysed(summary, diags, project.queries or [], words)


def check(modname: str):
    """Phase 2 for one module: rules over the whole tree's index, other modules parsed on demand."""
    from bnlint.lint.check import check_module
    from bnlint.analysis.project import Project

    index = _SHARED["index"]
    project = Project(index=index, loader=_load)
    info = project._module(modname)
    if info is None:
        path = index.modules.get(modname, modname)
        return Failed(_problem(PARSE_ERROR, path, "file changed or became unreadable during the run"))
    diags = check_module(info, project, _SHARED["settings"])
    return Checked(diags, tuple(project.loaded))


def _load(modname: str, path: str):
    """A module of the index, parsed again; None if its file no longer has the analysed content."""
    from bnlint.analysis.parse import parse
    from bnlint.source.notebook import read_code
    from bnlint.source.reading import SourceError, decode_source

    try:
        raw = read_code(path)
        expected = _SHARED.get("hashes", {}).get(path)
        if expected is not None:
            from bnlint.run.cache import content_hash

            if content_hash(raw) != expected:
                return None
        return parse(decode_source(path, raw), modname)
    except (OSError, SourceError):
        return None


TASKS: Dict[str, Callable] = {"analyse": analyse, "check": check}


def run_task(kind: str, args: tuple, path: str, timeout: Optional[float], cpu_clock: bool = False):
    """One task with its time limit; every failure becomes a ``Failed`` naming the file.

    Workers count the CPU time of their process (``cpu_clock``): a busy machine must not time files
    out. In-process the clock is the wall clock, since a parse abandoned by an earlier timeout may
    still burn CPU in its helper thread; the caller's own timer is put back afterwards."""
    alarm = timeout is not None and timeout > 0 and threading.current_thread() is threading.main_thread()
    sig, which = (signal.SIGPROF, signal.ITIMER_PROF) if cpu_clock else (signal.SIGALRM, signal.ITIMER_REAL)
    previous, before, started = None, (0.0, 0.0), time.monotonic()
    fired = []

    def on_alarm(signum, frame):
        fired.append(True)
        raise AnalysisTimeout()

    if alarm:
        previous = signal.signal(sig, on_alarm)
        before = signal.setitimer(which, timeout)
    try:
        with gc_paused():
            return TASKS[kind](*args)
    except (AnalysisTimeout, Exception) as exc:
        # The alarm may land inside C code (compile(), libcst) that reports it as its own error.
        if fired or isinstance(exc, AnalysisTimeout):
            return Failed(_problem(TIMEOUT, path, f"analysis timed out after {timeout:g} s (--timeout); file skipped"))
        if interrupted(exc):  # Ctrl-C/SIGTERM that libcst turned into its own error: stop the run
            raise KeyboardInterrupt from exc
        if isinstance(exc, RecursionError):
            return Failed(_problem(PARSE_ERROR, path, "expression nesting too deep to analyse"))
        # A bug in a rule must not stop the run: report it on the file.
        return Failed(_problem(PARSE_ERROR, path, f"bnlint internal error ({type(exc).__name__}: {exc}); please report it"))
    finally:
        if alarm:
            signal.setitimer(which, 0)
            signal.signal(sig, previous)
            if before[0] > 0:  # someone else's timer was running: let it go on
                signal.setitimer(which, max(before[0] - (time.monotonic() - started), 0.001), before[1])


def interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` stands for a KeyboardInterrupt: libcst's position code, interrupted, raises a
    KeyError from its ``finally`` with the interrupt only as the context."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


# --- the pool ----------------------------------------------------------------------------------------------


@dataclass
class Task:
    kind: str
    args: tuple
    path: str  # the file the task is about (for BNL901/BNL900)
    weight: int = 0  # bigger first
    id: int = 0


@dataclass
class _Worker:
    process: Any
    conn: Any
    task: Optional[Task] = None
    started: float = 0.0


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class Pool:
    """``jobs`` worker processes (or none: in-process) sharing state set with ``share``."""

    def __init__(self, jobs: int, timeout: Optional[float]):
        self.jobs = max(1, jobs)
        self.timeout = timeout
        self._workers: List[_Worker] = []
        self._shared: Dict[str, Any] = {}

    def share(self, **values) -> None:
        """State every task sees (settings, the global index ...)."""
        self._shared.update(values)
        for w in self._workers:
            w.conn.send(("share", values))

    def run(self, tasks: Sequence[Task], in_process: bool = False) -> Iterator[Tuple[Task, Any]]:
        """(task, result) as tasks finish, largest tasks started first."""
        todo = sorted(tasks, key=lambda t: -t.weight)
        for i, t in enumerate(todo):
            t.id = i
        if in_process or self.jobs == 1 or len(todo) < 2:
            _SHARED.clear()
            _SHARED.update(self._shared)
            for t in todo:
                yield t, run_task(t.kind, t.args, t.path, self.timeout)
            return
        yield from self._run_parallel(todo)

    def _run_parallel(self, todo: List[Task]) -> Iterator[Tuple[Task, Any]]:
        from multiprocessing.connection import wait

        while len(self._workers) < min(self.jobs, len(todo)):
            self._workers.append(self._spawn())
        queue = list(todo)
        running = 0
        while queue or running:
            for w in self._workers:
                if w.task is None and queue:
                    w.task = queue.pop(0)
                    w.started = time.monotonic()
                    w.conn.send(("run", w.task.kind, w.task.args, w.task.path, self.timeout))
                    running += 1
            ready = wait([w.conn for w in self._workers if w.task is not None], timeout=self._poll())
            for w in list(self._workers):
                if w.task is None:
                    continue
                task = w.task
                if w.conn in ready:
                    try:
                        result, alive = w.conn.recv()
                    except (EOFError, OSError):
                        result, alive = Failed(_problem(PARSE_ERROR, task.path, "bnlint worker died analysing this file")), False
                    if not alive:
                        self._replace(w)
                    w.task = None
                    running -= 1
                    yield task, result
                elif self._overdue(w):
                    self._replace(w)
                    w.task = None
                    running -= 1
                    yield task, Failed(_problem(TIMEOUT, task.path, f"analysis timed out after {self.timeout:g} s (--timeout); file skipped"))

    def _poll(self) -> Optional[float]:
        return 1.0 if self.timeout else None

    def _overdue(self, w: _Worker) -> bool:
        return bool(self.timeout) and time.monotonic() - w.started > 3 * self.timeout + HARD_KILL_GRACE

    def _spawn(self) -> _Worker:
        import multiprocessing as mp

        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child, self._shared), daemon=True)
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def _replace(self, w: _Worker) -> None:
        """Kill a stuck or dead worker (one we started) and start a fresh one in its place."""
        try:
            w.process.kill()
        except (OSError, AttributeError):
            pass
        w.process.join(timeout=5)
        w.conn.close()
        fresh = self._spawn()
        w.process, w.conn = fresh.process, fresh.conn

    def close(self) -> None:
        for w in self._workers:
            try:
                w.conn.send(("stop",))
            except (OSError, BrokenPipeError):
                pass
        for w in self._workers:
            w.process.join(timeout=5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(timeout=5)
            w.conn.close()
        self._workers = []

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve(conn, shared: Dict[str, Any]) -> None:
    """Worker loop: receive tasks, answer results, until told to stop or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    _SHARED.update(shared)
    from bnlint.lint.registry import all_rules

    all_rules()  # import every rule (and its module facts) once per worker
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if msg[0] == "stop":
            return
        if msg[0] == "share":
            _SHARED.update(msg[1])
            continue
        _, kind, args, path, timeout = msg
        result = run_task(kind, args, path, timeout, cpu_clock=True)
        # A timed-out parse may still run in its helper thread (libcst parses on a big-stack thread):
        # this process is no good for more work, so it says so and ends; the pool starts another.
        alive = threading.active_count() == 1
        conn.send((result, alive))
        if not alive:
            return
