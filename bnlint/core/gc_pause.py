"""Automatic garbage collection paused while one file is analysed.

libcst builds millions of small objects for a big module. CPython's generational collector would
traverse that growing tree again and again while it is being built (over a third of a cold run's
CPU on the TensorFlow corpus), though reference counting frees nearly all of it. Paused per file,
the collector runs once after the file, on what it left: one traversal instead of many, and the
few cycles the analysis makes (a module and its function bodies) are still freed.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class IdleCollector:
    """Garbage collection for a long-running process that works in bursts (the language server).

    Each re-lint leaves some thousands of objects in reference cycles (a module's bodies point
    back at it) once its result is replaced. Left to the automatic collector, every tenth
    re-lint or so pays, in the middle of its work, a collection of the garbage of the previous
    ones (tens of ms: the p95 of a re-lint), and results that lived through two collections
    are only freed by full collections (a hundred ms and more). So automatic collection is off
    (``start``) and the collections are placed by the work's rhythm:

    - ``after_work``: once the answer is sent, the young generation is collected: what the work
      left alive (its result) moves to the middle generation, the rest is freed;
    - ``stale``: when the result is dropped because a newer one is coming (an edit, during the
      debounce), the middle generation is collected, which frees that result while it is young;
    - a full collection when the process is idle for ``idle`` seconds after some work, or after
      ``every`` pieces of work without an idle moment: whatever lived long and died is freed.
    """

    def __init__(self, idle: float = 1.0, every: int = 100) -> None:
        self.idle, self.every = idle, every
        self.works = 0
        self._timer = None
        self.on_collect = None  # called with (generation, objects collected, cpu seconds)

    def start(self) -> None:
        gc.disable()

    def after_work(self, loop) -> None:
        """Call after each piece of work, from the event loop ``loop`` (runs after its answer)."""
        self.works += 1
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(self.idle, self.collect, 2)
        loop.call_soon(self.collect, 2 if self.works >= self.every else 0)

    def stale(self) -> None:
        """Call when the last result was dropped (and nothing urgent waits)."""
        self.collect(1)

    def collect(self, generation: int) -> None:
        import time

        if generation == 2:
            self.works = 0
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        cpu = time.process_time()
        found = gc.collect(generation)
        if self.on_collect is not None:
            self.on_collect(generation, found, time.process_time() - cpu)
