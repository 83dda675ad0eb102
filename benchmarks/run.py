"""bnlint against flake8, ruff and fixit on a large real codebase, side by side.

    python benchmarks/run.py                      # the TF/Keras corpus, 3 rounds, -j = all cores
    python benchmarks/run.py --repeat 5 --jobs 2 --fixit-sample 0 --markdown table.md

Installs nothing: the tools come from the ``bench`` extra (``pip install -e '.[bench]'``); a missing
one is skipped with a note. The corpus (by default the ``.py`` files of the installed
``tensorflow``, ``tf_keras`` and ``keras`` packages) is copied to a temporary folder first, so no
configuration file or cache of the tools' own applies, and every tool gets that same folder.

Runs alternate between tools round by round (the order rotates), so machine load hits all of them
alike. Per tool: median wall time, median CPU time (user+system of the process and its workers,
from ``os.wait4``), and peak RSS of the largest process. Rows:

- bnlint cold: ``--no-cache``, cross-module analysis on; bnlint warm: nothing changed since the
  previous run (own cache folder, primed by an untimed run first; a timed run that had to write
  to the cache, because bnlint's own sources changed meanwhile, is discarded and repeated).
- flake8: flake8's default checks, with bnlint's plugin hidden (pure flake8);
  flake8 + bnlint plugin: the same with the ``BNL`` plugin registered as installed.
- ruff: ``ruff check`` default rules, warm (its cache primed the same way) and cold (``--no-cache``).
- fixit: ``fixit lint`` default rules, on a sample of files with the time scaled up by lines
  (``--fixit-sample N``, 0 = every file), marked as extrapolated.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

PACKAGES = ("tensorflow", "tf_keras", "keras")
BIN = os.path.dirname(sys.executable)

# flake8 without bnlint's plugin: flake8 finds plugins through entry points, so hide ours.
FLAKE8_WITHOUT_BNLINT = (
    "import sys\n"
    "import flake8.plugins.finder as finder\n"
    "found = finder.find_plugins\n"
    "finder.find_plugins = lambda cfg, opts: [p for p in found(cfg, opts) if p.package != 'bnlint']\n"
    "from flake8.main.cli import main\n"
    "sys.exit(main())\n"
)


@dataclass
class Tool:
    name: str
    argv: List[str]
    env: Dict[str, str] = field(default_factory=dict)
    prime: bool = False  # run once untimed first (warm rows)
    cache: Optional[str] = None  # a warm row's cache folder: a timed run must not write to it
    scale: float = 1.0  # extrapolation factor for sampled runs
    note: str = ""
    walls: List[float] = field(default_factory=list)
    cpus: List[float] = field(default_factory=list)
    rss: List[int] = field(default_factory=list)  # bytes
    failed: str = ""

    def wall(self) -> float:
        return statistics.median(self.walls) * self.scale

    def cpu(self) -> float:
        return statistics.median(self.cpus) * self.scale


def measure(argv: Sequence[str], cwd: str, env: Dict[str, str]):
    """(wall s, cpu s, peak rss bytes, exit code, stderr) of one run; stdout is discarded.

    ``os.wait4`` gives the resources of the process and of the workers it waited for: CPU summed,
    RSS the largest single process."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=dict(os.environ, **env), stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return wall, usage.ru_utime + usage.ru_stime, rss, proc.returncode, text


def _stamp(folder: Optional[str]):
    """(name, mtime, size) of every file in a cache folder."""
    if not folder or not os.path.isdir(folder):
        return None
    return sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in os.scandir(folder))


def corpus_sources(packages: Sequence[str]) -> List[str]:
    roots = []
    for name in packages:
        spec = importlib.util.find_spec(name)  # locates the package without importing it
        if spec is None or not spec.submodule_search_locations:
            sys.exit(f"benchmarks/run.py: package {name!r} is not installed")
        roots.extend(spec.submodule_search_locations)
    return roots


def copy_corpus(roots: Sequence[str], dest: str) -> List[str]:
    files = []
    for root in roots:
        base = os.path.dirname(root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for fn in sorted(filenames):
                if fn.endswith(".py"):
                    rel = os.path.relpath(os.path.join(dirpath, fn), base)
                    target = os.path.join(dest, rel)
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    shutil.copyfile(os.path.join(dirpath, fn), target)
                    files.append(rel)
    return sorted(files)


def count_lines(paths: Sequence[str], cwd: str) -> int:
    total = 0
    for p in paths:
        with open(os.path.join(cwd, p), "rb") as fh:
            total += fh.read().count(b"\n")
    return total


def which(name: str) -> Optional[str]:
    local = os.path.join(BIN, name)
    return local if os.path.exists(local) else shutil.which(name)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f", {kb / 2**20:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def version(argv: Sequence[str]) -> str:
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", nargs="*", default=None, help="folders to lint (default: installed TF/Keras sources)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per tool (default 3)")
    ap.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="-j for bnlint and flake8")
    ap.add_argument("--fixit-sample", type=int, default=150,
                    help="run fixit on N evenly spread files and scale by lines (0: every file; default 150)")
    ap.add_argument("--tools", default=",".join(ROWS),
                    help="comma-separated rows to run")
    ap.add_argument("--markdown", default=None, help="also write the table to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary corpus copy")
    args = ap.parse_args(argv)

    roots = args.corpus or corpus_sources(PACKAGES)
    work = tempfile.mkdtemp(prefix="bnlint-bench-")
    corpus = os.path.join(work, "corpus")
    files = copy_corpus(roots, corpus)
    lines = count_lines(files, corpus)
    cache = os.path.join(work, "bnlint-cache")
    j = str(args.jobs)
    py = sys.executable
    wanted = set(args.tools.split(","))
    print(f"corpus: {len(files)} files, {lines} lines, copied to {corpus}", file=sys.stderr)

    tools: List[Tool] = []

    def add(tool: Tool, needs: str) -> None:
        key = _key(tool.name)
        group = key.split("-")[0]  # "bnlint" or "ruff" names both rows; "flake8" is a row of its own
        if key not in wanted and not (group in wanted and group not in ROWS):
            return
        if which(needs) is None and needs != "python":
            tool.failed = f"{needs} not installed (pip install -e '.[bench]')"
        tools.append(tool)

    add(Tool("bnlint cold", [py, "-m", "bnlint", ".", "--isolated", "--no-cache", "-j", j, "-q", "--exit-zero"]), "python")
    add(Tool("bnlint warm", [py, "-m", "bnlint", ".", "--isolated", "-j", j, "-q", "--exit-zero"],
             env={"BNLINT_CACHE_DIR": cache}, prime=True, cache=cache), "python")
    add(Tool("flake8", [py, "-c", FLAKE8_WITHOUT_BNLINT, "--isolated", "-j", j, "."]), "flake8")
    add(Tool("flake8 + bnlint plugin", [which("flake8") or "flake8", "--isolated", "-j", j, "."]), "flake8")
    add(Tool("ruff warm", [which("ruff") or "ruff", "check", "--isolated", "--exit-zero", "-q", "."], prime=True), "ruff")
    add(Tool("ruff cold", [which("ruff") or "ruff", "check", "--isolated", "--no-cache", "--exit-zero", "-q", "."]), "ruff")
    fixit = Tool("fixit", [which("fixit") or "fixit", "lint"])
    if args.fixit_sample and args.fixit_sample < len(files):
        step = len(files) / args.fixit_sample
        sample = [files[int(i * step)] for i in range(args.fixit_sample)]
        fixit.scale = lines / max(1, count_lines(sample, corpus))
        fixit.note = f"extrapolated: {len(sample)} files ({lines / fixit.scale:.0f} lines) timed, x{fixit.scale:.1f} by lines"
        fixit.argv = fixit.argv + sample
    else:
        fixit.argv = fixit.argv + ["."]
    add(fixit, "fixit")

    active = [t for t in tools if not t.failed]
    try:
        for round_ in range(args.repeat):
            shift = round_ % max(1, len(active))
            for t in active[shift:] + active[:shift]:
                if t.failed:
                    continue
                for attempt in range(3 if t.cache else 1):
                    if t.prime and (attempt or not t.walls or not t.cache):  # a warm row starts warm
                        measure(t.argv, corpus, t.env)
                    stamp = _stamp(t.cache)
                    wall, cpu, rss, code, err = measure(t.argv, corpus, t.env)
                    if _stamp(t.cache) == stamp:
                        break  # nothing written: it really was a warm run
                    print(f"{t.name}: the cache was rewritten (bnlint's sources changed?), again", file=sys.stderr)
                if code not in (0, 1):
                    t.failed = f"exit {code}: {err.strip().splitlines()[-1] if err.strip() else ''}"
                    continue
                t.walls.append(wall)
                t.cpus.append(cpu)
                t.rss.append(rss)
                print(f"round {round_ + 1}: {t.name:24s} {wall:8.2f} s wall {cpu:8.2f} s cpu {rss / 2**20:7.0f} MB",
                      file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    versions = {
        "bnlint": version([py, "-m", "bnlint", "--version"]),
        "flake8": version([which("flake8") or "flake8", "--version"]),
        "ruff": version([which("ruff") or "ruff", "--version"]),
        "fixit": version([which("fixit") or "fixit", "--version"]),
    }
    report = render(tools, args, len(files), lines, versions)
    print(report)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(report + "\n")
    if args.keep:
        print(f"corpus kept in {corpus}", file=sys.stderr)
    return 0


ROWS = ("bnlint-cold", "bnlint-warm", "flake8", "flake8-plugin", "ruff-warm", "ruff-cold", "fixit")


def _key(name: str) -> str:
    return {"flake8 + bnlint plugin": "flake8-plugin"}.get(name, name.replace(" ", "-"))


def render(tools: List[Tool], args, n_files: int, lines: int, versions: Dict[str, str]) -> str:
    by = {t.name: t for t in tools if t.walls and not t.failed}
    out = [
        f"Machine: {machine()}; load average at the end {os.getloadavg()[0]:.2f}",
        f"Corpus: {n_files} files, {lines:,} lines ({', '.join(PACKAGES) if not args.corpus else ', '.join(args.corpus)}); "
        f"-j {args.jobs}; median of {args.repeat} alternating runs",
        "Versions: " + "; ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        "| tool | wall (s) | CPU (s) | peak RSS (MB) | note |",
        "|---|---:|---:|---:|---|",
    ]
    for t in tools:
        if t.failed or not t.walls:
            out.append(f"| {t.name} | - | - | - | {t.failed or 'not run'} |")
            continue
        out.append(f"| {t.name} | {t.wall():.2f} | {t.cpu():.2f} | {max(t.rss) / 2**20:.0f} | {t.note} |")
    out += ["", "| target | measured | holds |", "|---|---:|:---:|"]

    def ratio(label, a, b, limit, fmt, ok):
        if a in by and b in by:
            value = by[a].wall() / by[b].wall()
            out.append(f"| {label} | {fmt.format(value)} | {'yes' if ok(value) else 'NO'} |")
        else:
            out.append(f"| {label} | - | not measured |")

    ratio("bnlint cold / flake8 wall <= 0.25", "bnlint cold", "flake8", 0.25, "{:.3f}", lambda v: v <= 0.25)
    ratio("fixit / bnlint cold wall >= 30", "fixit", "bnlint cold", 30, "{:.0f}x", lambda v: v >= 30)
    ratio("bnlint warm / ruff warm wall <= 2", "bnlint warm", "ruff warm", 2, "{:.2f}", lambda v: v <= 2)
    ratio("flake8 + plugin / flake8 wall <= 1.15", "flake8 + bnlint plugin", "flake8", 1.15, "{:.3f}", lambda v: v <= 1.15)
    if "bnlint cold" in by:
        peak = max(by["bnlint cold"].rss) / 2**20
        out.append(f"| bnlint cold peak RSS < 500 MB | {peak:.0f} MB | {'yes' if peak < 500 else 'NO'} |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
