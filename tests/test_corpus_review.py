"""The corpus review comparison (benchmarks/corpus/run.py), offline, on programs from tests/programs.

A tiny corpus cache is laid out in a temp folder (src/<name>-<version>/), linted for real, and
compared with a review file: unreviewed findings fail the run, reviewed ones pass, a moved line
still matches, a fixed bug is reported as no longer found, and --update writes todo entries.
"""

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_SPEC = importlib.util.spec_from_file_location("bnlint_corpus_run", REPO / "benchmarks" / "corpus" / "run.py")
run = sys.modules[_SPEC.name] = importlib.util.module_from_spec(_SPEC)  # dataclasses look it up
_SPEC.loader.exec_module(run)

PROGRAMS = REPO / "tests" / "programs"


def _corpus(tmp_path, *programs):
    root = tmp_path / "cache" / "src" / "demo-1.0"
    root.mkdir(parents=True)
    for name in programs:
        shutil.copy(PROGRAMS / name, root / name)
    listing = tmp_path / "projects.txt"
    listing.write_text("# test corpus\ndemo==1.0  # programs from tests/programs\n", encoding="utf-8")
    return root, listing


def _run(tmp_path, listing, *extra):
    return run.main(["--cache", str(tmp_path / "cache"), "--projects", str(listing),
                     "--review", str(tmp_path / "review.toml"), *extra])


def _review_all(tmp_path, verdict):
    path = tmp_path / "review.toml"
    entries = run.load_review(path)
    for entry in entries:
        entry.verdict, entry.reason = verdict, "checked in the test"
    run.write_review(path, entries)
    return entries


def test_unreviewed_then_reviewed_then_moved_then_lost(tmp_path, capsys):
    root, listing = _corpus(tmp_path, "report_multigpu_buggy.py", "report_multigpu_fixed.py")
    assert _run(tmp_path, listing) == 1  # nothing reviewed yet
    assert "UNREVIEWED demo/report_multigpu_buggy.py:" in capsys.readouterr().out

    assert _run(tmp_path, listing, "--update") == 1  # writes todo entries, still unreviewed
    todo = run.load_review(tmp_path / "review.toml")
    assert todo and {e.verdict for e in todo} == {"todo"}
    assert {e.path for e in todo} == {"report_multigpu_buggy.py"}  # the fixed twin stays silent
    assert all(e.text and e.text in (root / e.path).read_text().splitlines()[e.line - 1] for e in todo)

    reviewed = _review_all(tmp_path, "bug")
    assert _run(tmp_path, listing) == 0
    table = capsys.readouterr().out
    assert f"| **all** | {len(reviewed)} | {len(reviewed)} | 0 | 0 | 0 | 0 | 1.00 |" in table

    buggy = root / "report_multigpu_buggy.py"
    buggy.write_text("# moved down\n\n\n" + buggy.read_text())  # every finding moves 3 lines
    assert _run(tmp_path, listing) == 0
    capsys.readouterr()

    shutil.copy(PROGRAMS / "report_multigpu_fixed.py", buggy)  # the bugs are fixed: lost
    assert _run(tmp_path, listing) == 1
    out = capsys.readouterr().out
    assert out.count("BUG NO LONGER FOUND demo/report_multigpu_buggy.py:") == len(reviewed)


def test_false_alarm_gone_is_fine_and_prune_drops_it(tmp_path, capsys):
    root, listing = _corpus(tmp_path, "gan_two_steps.py")
    _run(tmp_path, listing, "--update")
    entries = _review_all(tmp_path, "false")
    assert entries
    (root / "gan_two_steps.py").write_text("import tensorflow as tf\n")
    assert _run(tmp_path, listing) == 0  # a false alarm that went away is progress
    assert "gone (false)" in capsys.readouterr().out
    assert _run(tmp_path, listing, "--prune") == 0
    assert run.load_review(tmp_path / "review.toml") == []


def test_one_entry_matches_one_finding():
    finding = run.Finding("p", "a.py", "BNL001", 10, "x = f(x)")
    twin = run.Finding("p", "a.py", "BNL001", 20, "x = f(x)")
    entry = run.Entry("p", "a.py", "BNL001", 11, "x = f(x)", verdict="false")
    result = run.compare([finding, twin], [entry])
    assert [f.line for f, _ in result.matched] == [10]  # nearest line wins
    assert [f.line for f in result.unreviewed] == [20]  # the same text twice needs two entries


def test_review_file_round_trips_awkward_text(tmp_path):
    entry = run.Entry("p", "dir/a.py", "BNL003", 3, 'print("a\\b")\t# "q"', 'msg with "quotes"',
                      "note", "reason \\ with backslash")
    path = tmp_path / "review.toml"
    run.write_review(path, [entry])
    assert run.load_review(path) == [entry]


def test_bad_verdict_is_a_clear_error(tmp_path):
    path = tmp_path / "review.toml"
    path.write_text('[[finding]]\nproject = "p"\npath = "a.py"\ncode = "BNL001"\nline = 1\n'
                    'text = "x"\nverdict = "maybe"\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="verdict 'maybe'"):
        run.load_review(path)


def test_committed_project_list_is_pinned_and_explained():
    projects = run.read_projects(REPO / "benchmarks" / "corpus" / "projects.txt")
    pinned = [p for p in projects if not p.installed]
    assert len(pinned) >= 20
    assert all(p.why for p in projects)  # every project says why it is in
    assert len({p.name for p in projects}) == len(projects)
    assert {p.name for p in projects if p.installed} == {"tensorflow", "tf_keras", "keras"}


def test_unreadable_project_line_is_a_clear_error(tmp_path):
    listing = tmp_path / "projects.txt"
    listing.write_text("tensorpack>=0.9  # not pinned\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="projects.txt:1: cannot read"):
        run.read_projects(listing)
