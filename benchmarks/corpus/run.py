"""Lint the real-code corpus and compare every finding with the committed review.

    python benchmarks/corpus/run.py [--cache DIR] [--select CODES] [--only NAME ...]
                                    [--review FILE] [--update] [--prune]

Each project of projects.txt (fetched by fetch.py into <cache>/src/<name>-<version>/) is linted
as one root with the default-on rules (or --select). Every finding is looked up in review.toml,
keyed by (project, path inside the project, code, stripped source line); the line number only
breaks ties, so a finding whose line moved still matches. Exit 1 when a finding is not reviewed
(missing, or verdict "todo") or a reviewed `bug` is no longer found; both are listed. --update
appends the unreviewed findings as verdict "todo" for a human to fill; --prune drops reviewed
notes/false alarms that are no longer found. Precision = (bug + note) / findings.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fetch import cache_dir, default_python, read_projects  # noqa: E402

REVIEW = HERE / "review.toml"
VERDICTS = ("bug", "note", "false", "todo")


@dataclass
class Finding:
    project: str  # the project's name (no version: a re-pin keeps its review)
    path: str  # inside the project, "/"-separated
    code: str
    line: int
    text: str  # the stripped source line
    message: str = ""

    @property
    def key(self) -> tuple:
        return (self.project, self.path, self.code, self.text)

    def where(self) -> str:
        return f"{self.project}/{self.path}:{self.line} {self.code}"


@dataclass
class Entry(Finding):
    verdict: str = "todo"
    reason: str = ""


@dataclass
class Stats:
    projects: int = 0
    files: int = 0
    lines: int = 0
    seconds: float = 0.0
    errors: list = field(default_factory=list)  # BNL9xx: files bnlint could not read/analyse


@dataclass
class Comparison:
    matched: list = field(default_factory=list)  # (Finding, Entry)
    unreviewed: list = field(default_factory=list)  # Findings without an entry, or whose entry is todo
    lost_bugs: list = field(default_factory=list)  # bug entries no longer found
    gone: list = field(default_factory=list)  # note/false/todo entries no longer found

    @property
    def ok(self) -> bool:
        return not self.unreviewed and not self.lost_bugs


def _line_text(path: str, row: int) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                if number == row:
                    return line.strip()
    except OSError:
        pass
    return ""


def _count_lines(path: str) -> int:
    try:
        with open(path, "rb") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return 0


def lint_project(name: str, root: Path, select: list | None, stats: Stats) -> list[Finding]:
    """Findings of one project root, linted in-process like `bnlint --isolated --no-cache`."""
    from bnlint.source.discover import discover
    from bnlint.run.paths import lint_paths
    from bnlint.core.settings import Settings

    settings = Settings(select=select)
    started = time.perf_counter()
    result = lint_paths([str(root)], settings, jobs=1, cache_dir=None)
    stats.seconds += time.perf_counter() - started
    files, _ = discover([str(root)], settings)
    stats.projects += 1
    stats.files += len(files)
    stats.lines += sum(_count_lines(path) for path, _ in files)
    stats.errors.extend(f"{name}/{os.path.relpath(e.filename, root)}: {e.code} {e.message}" for e in result.errors)
    out = []
    for d in result.diagnostics:
        rel = Path(os.path.relpath(d.filename, root)).as_posix()
        out.append(Finding(name, rel, d.code, d.location.row, _line_text(d.filename, d.location.row),
                           " ".join(d.message.split())))
    return out


def collect(cache: Path, select: list | None, projects: list, only: list | None = None,
            python: str | None = None) -> tuple[list[Finding], Stats, list[str]]:
    """Lint every fetched project; (findings, stats, names of projects not fetched)."""
    from fetch import _installed

    stats, findings, absent = Stats(), [], []
    for project in projects:
        if only and project.name not in only:
            continue
        version = project.version
        if project.installed:
            try:
                version, _ = _installed(project, python or default_python())
            except RuntimeError:
                version = None
        root = cache / "src" / f"{project.name}-{version}"
        if version is None or not root.is_dir():
            absent.append(project.name)
            continue
        before = stats.seconds
        found = lint_project(project.name, root, select, stats)
        findings.extend(found)
        print(f"  {project.name}: {len(found)} findings, {stats.seconds - before:.0f} s", file=sys.stderr, flush=True)
    return findings, stats, absent


# -- the review file -------------------------------------------------------------------------

def load_review(path: Path) -> list[Entry]:
    if not path.exists():
        return []
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    entries = []
    for number, item in enumerate(data.get("finding", []), 1):
        try:
            entry = Entry(item["project"], item["path"], item["code"], int(item["line"]), item["text"],
                          item.get("message", ""), item.get("verdict", "todo"), item.get("reason", ""))
        except KeyError as missing:
            raise SystemExit(f"{path}: finding #{number} lacks {missing}")
        if entry.verdict not in VERDICTS:
            raise SystemExit(f"{path}: finding #{number} ({entry.where()}) has verdict {entry.verdict!r}, "
                             f"want one of {', '.join(VERDICTS)}")
        entries.append(entry)
    return entries


def _toml_string(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(c if c >= " " or c == "\t" else f"\\u{ord(c):04x}" for c in out)
    return f'"{out}"'


def render_review(entries: list[Entry]) -> str:
    head = ("# Review of every bnlint finding on the real-code corpus (benchmarks/corpus/run.py).\n"
            "# verdict: bug (real misuse), note (true but minor/deliberate), false (false alarm), todo.\n"
            "# Keyed by project + path + code + text (the stripped line); `line` only breaks ties.\n")
    blocks = []
    for e in sorted(entries, key=lambda e: (e.project, e.path, e.line, e.code)):
        blocks.append("\n".join([
            "[[finding]]",
            f"project = {_toml_string(e.project)}",
            f"path = {_toml_string(e.path)}",
            f"code = {_toml_string(e.code)}",
            f"line = {e.line}",
            f"text = {_toml_string(e.text)}",
            f"message = {_toml_string(e.message)}",
            f"verdict = {_toml_string(e.verdict)}",
            f"reason = {_toml_string(e.reason)}",
        ]))
    return head + "\n" + "\n\n".join(blocks) + ("\n" if blocks else "")


def write_review(path: Path, entries: list[Entry]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render_review(entries), encoding="utf-8")
    os.replace(tmp, path)


def compare(findings: list[Finding], entries: list[Entry], projects: set | None = None) -> Comparison:
    """Pair findings with entries one-to-one by key (nearest line first). ``projects``: the
    projects linted this run; entries of others are neither matched nor lost."""
    result = Comparison()
    pool = defaultdict(list)
    for entry in entries:
        if projects is None or entry.project in projects:
            pool[entry.key].append(entry)
    for finding in sorted(findings, key=lambda f: (f.project, f.path, f.line, f.code)):
        candidates = pool.get(finding.key)
        if not candidates:
            result.unreviewed.append(finding)
            continue
        entry = min(candidates, key=lambda e: abs(e.line - finding.line))
        candidates.remove(entry)
        result.matched.append((finding, entry))
        if entry.verdict == "todo":
            result.unreviewed.append(finding)
    for left in pool.values():
        for entry in left:
            (result.lost_bugs if entry.verdict == "bug" else result.gone).append(entry)
    return result


# -- the report ------------------------------------------------------------------------------

def table(comparison: Comparison, stats: Stats) -> str:
    rows = defaultdict(Counter)
    for finding, entry in comparison.matched:
        rows[finding.code]["findings"] += 1
        rows[finding.code][entry.verdict] += 1
    for finding in comparison.unreviewed:
        if not any(f is finding for f, _ in comparison.matched):
            rows[finding.code]["findings"] += 1
            rows[finding.code]["todo"] += 1
    for entry in comparison.lost_bugs:
        rows[entry.code]["lost"] += 1
    total = Counter()
    for counts in rows.values():
        total.update(counts)
    header = "| rule | findings | bug | note | false | todo | bugs lost | precision |"
    lines = [header, "|" + "---|" * 8]

    def row(name, c):
        precision = f"{(c['bug'] + c['note']) / c['findings']:.2f}" if c["findings"] else "-"
        return (f"| {name} | {c['findings']} | {c['bug']} | {c['note']} | {c['false']} | {c['todo']} "
                f"| {c['lost']} | {precision} |")

    lines += [row(code, rows[code]) for code in sorted(rows)]
    lines.append(row("**all**", total))
    lines.append("")
    lines.append(f"{stats.projects} projects, {stats.files} files, {stats.lines} lines linted in "
                 f"{stats.seconds:.0f} s; {len(stats.errors)} files not analysed (BNL9xx)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", help="corpus cache (default $BNLINT_CORPUS_CACHE or /root/.cache/bnlint-corpus)")
    parser.add_argument("--select", help="comma-separated codes (default: the default-on rules)")
    parser.add_argument("--only", nargs="*", help="lint only these projects")
    parser.add_argument("--review", default=str(REVIEW), help="review file (default benchmarks/corpus/review.toml)")
    parser.add_argument("--update", action="store_true", help="append unreviewed findings as verdict todo")
    parser.add_argument("--prune", action="store_true", help="drop note/false/todo entries no longer found")
    parser.add_argument("--python", default=default_python(), help="venv python for '@ installed' projects")
    parser.add_argument("--projects", default=str(HERE / "projects.txt"), help="project list (default projects.txt)")
    args = parser.parse_args(argv)
    projects = read_projects(Path(args.projects))

    cache = cache_dir(args.cache)
    select = [c.strip().upper() for c in args.select.split(",") if c.strip()] if args.select else None
    review_path = Path(args.review)
    entries = load_review(review_path)
    findings, stats, absent = collect(cache, select, projects, args.only, args.python)
    if absent:
        print(f"not fetched (run fetch.py): {', '.join(absent)}", file=sys.stderr)
    linted = {p.name for p in projects if (not args.only or p.name in args.only) and p.name not in absent}
    if select:  # entries of rules not selected are out of this run
        entries_in = [e for e in entries if e.code in select]
    else:
        entries_in = entries
    comparison = compare(findings, entries_in, linted)

    print(table(comparison, stats))
    for error in stats.errors:
        print(f"  not analysed: {error}")
    for finding in comparison.unreviewed:
        print(f"UNREVIEWED {finding.where()}: {finding.text}")
    for entry in comparison.lost_bugs:
        print(f"BUG NO LONGER FOUND {entry.where()}: {entry.text}  ({entry.reason})")
    for entry in comparison.gone:
        print(f"gone ({entry.verdict}) {entry.where()}: {entry.text}")

    if args.update or args.prune:
        kept = entries
        if args.prune:
            gone = {id(e) for e in comparison.gone}
            kept = [e for e in entries if id(e) not in gone]
        if args.update:
            reviewed = {id(f) for f, _ in comparison.matched}
            kept = kept + [Entry(f.project, f.path, f.code, f.line, f.text, f.message)
                           for f in comparison.unreviewed if id(f) not in reviewed]
        # matched entries follow their finding's current line, so the file stays readable
        for finding, entry in comparison.matched:
            entry.line = finding.line
            entry.message = finding.message
        write_review(review_path, kept)
        print(f"wrote {review_path} ({len(kept)} findings)")
    if not comparison.ok:
        print(f"{len(comparison.unreviewed)} findings not reviewed, {len(comparison.lost_bugs)} reviewed bugs "
              f"no longer found", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
