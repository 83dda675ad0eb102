"""The result cache (.bnlint_cache/): warm runs, invalidation, --no-cache, damaged cache files.

Every run here is a real `bnlint` process in a temporary project (cwd = project root, where the
cache folder lives, as ruff's does).
"""

import json
import os
import pickle
import subprocess
import sys
import textwrap

import pytest

from test_parallel import HEALTHY, MODELS, SINGLE, TRAIN, write_tree

# Prints bnlint's JSON findings, then whether libcst got imported, on stderr's last line.
PROBE = (
    "import sys\n"
    "from bnlint.commands.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "print('LIBCST', 'libcst' in sys.modules, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)


def run(cwd, *args):
    proc = subprocess.run([sys.executable, "-c", PROBE, ".", "--format", "json", "--isolated", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    imported = proc.stderr.strip().splitlines()[-1]
    return json.loads(proc.stdout), imported == "LIBCST True"


def findings(out):
    return sorted((d["filename"], d["location"]["row"], d["code"]) for d in out)


@pytest.fixture
def project(tmp_path):
    write_tree(tmp_path, {"models.py": MODELS, "train.py": TRAIN, "single.py": SINGLE, "healthy.py": HEALTHY})
    return tmp_path


def cache_files(root):
    folder = root / ".bnlint_cache"
    return sorted(p for p in folder.iterdir() if p.suffix in (".runs", ".files")) if folder.is_dir() else []


def test_warm_run_gives_identical_findings_without_importing_libcst(project):
    cold, cold_libcst = run(project)
    assert cold_libcst  # the cold run parsed
    assert {"BNL001", "BNL003"} <= {d["code"] for d in cold}
    assert (project / ".bnlint_cache" / "CACHEDIR.TAG").is_file()
    assert (project / ".bnlint_cache" / ".gitignore").read_text().strip().endswith("*")
    warm, warm_libcst = run(project)
    assert warm == cold  # byte-for-byte the same JSON (fixes included)
    assert not warm_libcst


def test_a_changed_file_is_analysed_again(project):
    before, _ = run(project)
    assert ("./single.py", 3, "BNL003") in findings(before)
    (project / "single.py").write_text(textwrap.dedent(HEALTHY).lstrip("\n"))
    after, libcst = run(project)
    assert libcst
    assert not any(f == "./single.py" for f, _, _ in findings(after))
    # Everything else is still reported.
    assert [f for f in findings(after) if f[0] != "./single.py"] == [f for f in findings(before) if f[0] != "./single.py"]


def test_changing_a_producer_module_changes_its_callers_findings(project):
    """train.py is unchanged; its findings come from models.py, which stops building BN."""
    before, _ = run(project)
    assert any(f == "./train.py" for f, _, _ in findings(before))
    (project / "models.py").write_text(textwrap.dedent(MODELS).replace(
        "tf.nn.relu(tf.layers.batch_normalization(x, training=is_training))", "tf.nn.relu(x)"))
    after, _ = run(project)
    assert not any(f == "./train.py" for f, _, _ in findings(after))
    fresh, _ = run(project, "--no-cache")
    assert after == fresh


def test_no_cache_neither_reads_nor_writes_a_cache(project):
    out, _ = run(project, "--no-cache")
    assert not (project / ".bnlint_cache").exists()
    run(project)  # now a cache exists ...
    stale = cache_files(project)
    assert stale
    (project / "single.py").write_text(textwrap.dedent(HEALTHY).lstrip("\n"))
    # ... and --no-cache ignores it: the edit shows, and the cache files are untouched.
    mtimes = [p.stat().st_mtime_ns for p in stale]
    again, libcst = run(project, "--no-cache")
    assert libcst
    assert not any(f == "./single.py" for f, _, _ in findings(again))
    assert [p.stat().st_mtime_ns for p in cache_files(project)] == mtimes


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "foreign-pickle"])
def test_a_damaged_cache_is_ignored_and_rewritten(project, damage):
    good, _ = run(project)
    for path in cache_files(project):
        data = path.read_bytes()
        if damage == "garbage":
            path.write_bytes(os.urandom(256))
        elif damage == "truncated":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "empty":
            path.write_bytes(b"")
        else:  # a pickle that would run code if loaded blindly
            path.write_bytes(pickle.dumps({"format": 1, "runs": os.system, "files": {}}))
    out, libcst = run(project)
    assert out == good
    assert libcst  # nothing usable in the cache: analysed again
    warm, libcst = run(project)
    assert warm == good and not libcst  # and the cache was written afresh


def test_a_pickle_with_code_in_the_cache_does_not_run(project):
    run(project)
    marker = project / "pwned"

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    for path in cache_files(project):
        path.write_bytes(pickle.dumps({"format": 1, "runs": {"x": Boom()}, "order": ["x"], "files": {"x": Boom()}}))
    out, _ = run(project)
    assert not marker.exists()
    assert {"BNL001", "BNL003"} <= {d["code"] for d in out}


def test_fix_on_a_warm_cache_still_fixes(project):
    """A warm run answers from the cache without parsing, yet --fix gets every file it must fix."""
    run(project)
    before = (project / "single.py").read_text()
    proc = subprocess.run([sys.executable, "-m", "bnlint", ".", "--isolated", "--fix", "-q"], cwd=project,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    after = (project / "single.py").read_text()
    assert after != before and "control_dependencies" in after
    out, libcst = run(project)
    assert libcst  # the fixed file is new content: analysed again
    assert not any(f == "./single.py" for f, _, _ in findings(out))
