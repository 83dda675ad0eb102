"""Bad inputs never stop a run, never crash bnlint, and never cost a user a byte of their code.

Every case goes through the real command (``python -m bnlint``) or ``paths.lint_paths``: each bad
file gets a message naming it, the other files are still linted, the exit code is 1 (findings),
2 only when bnlint could not do what it was asked (a fix it could not write), and no file is ever
lost or half-written. Bad files mention BN on purpose: files that cannot matter to BN analysis are
skipped unread by the prefilter, whatever is wrong with them.
"""

from __future__ import annotations

import ast
import codecs
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from bnlint.commands import cli
from bnlint.run import fixer
from bnlint.run.paths import lint_paths
from bnlint.core.settings import Settings

BUG = (
    "import tensorflow as tf\n"
    "y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)\n"
    "train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))\n"
)  # BNL003 at 3:12
PY2 = (
    "import sys\n"
    "import tensorflow as tf\n"
    'print "building the graph"\n'
    "y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)\n"
    "try:\n"
    "    n = 0777 + 10L\n"
    "except ValueError, e:\n"
    '    print >>sys.stderr, "bad value", `e`\n'
    "if n <> 3:\n"
    "    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))\n"
)  # BNL003 at 10:16


def bnlint(*args, cwd=None, timeout=300, **kwargs):
    return subprocess.run([sys.executable, "-m", "bnlint", "--no-cache", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def by_file(stdout: str) -> dict:
    out: dict = {}
    for d in json.loads(stdout):
        out.setdefault(os.path.normpath(d["filename"]), []).append(d)
    return out


def no_crash(proc) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in (0, 1, 2), proc.stderr[-3000:]


def snapshot(root) -> dict:
    """Every file under ``root`` (symlinks and FIFOs as what they are), for byte comparisons."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[p] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as fh:
                    out[p] = ("file", fh.read(), stat.S_IMODE(st.st_mode))
            elif not stat.S_ISDIR(st.st_mode):
                out[p] = ("special", stat.S_IFMT(st.st_mode))
    return out


def generated_module(size: int) -> str:
    """A generated-looking module of about ``size`` bytes that builds BN layers."""
    parts = ["import tensorflow as tf\n"]
    n, i = len(parts[0]), 0
    while n < size:
        part = f"def block_{i}(x, training):\n    x = tf.layers.dense(x, {i % 7 + 1})\n" \
               f"    return tf.layers.batch_normalization(x, training=training)\n\n"
        parts.append(part)
        n += len(part)
        i += 1
    return "".join(parts)


# --- one tree with every kind of bad input ---------------------------------------------------------------------

# name -> (bytes, expected finding: (code, row, message fragment)); None: no finding at all.
def _cases() -> dict:
    latin1 = ("# -*- coding: latin-1 -*-\n# d\u00e9j\u00e0 vu: caf\u00e9\n" + BUG).encode("latin-1")
    return {
        "syntax_error.py": ((BUG + "def broken(:\n    pass\n").encode(), ("BNL900", 4, "syntax error")),
        "python2.py": (PY2.encode(), ("BNL003", 10, "minimize")),
        "latin1.py": (latin1, ("BNL003", 5, "minimize")),
        "not_utf8.py": ((BUG + "# caf\xe9\n").encode("latin-1"),
                        ("BNL900", 4, "not valid UTF-8 and no `# -*- coding: ... -*-` line declares another "
                                      "encoding: byte 0xe9 at line 4, column 6")),
        "bad_latin_decl.py": (("# coding: ascii\n" + BUG + "# caf\xe9\n").encode("latin-1"), ("BNL900", 5, "not valid ascii")),
        "unknown_codec.py": (("# -*- coding: klingon -*-\n" + BUG).encode(), ("BNL900", 1, "unknown encoding 'klingon'")),
        "bom.py": (codecs.BOM_UTF8 + BUG.encode(), ("BNL003", 3, "minimize")),
        "bom_and_latin1.py": (codecs.BOM_UTF8 + ("# coding: latin-1\n" + BUG).encode(), ("BNL900", 1, "byte order mark")),
        "crlf.py": (BUG.replace("\n", "\r\n").encode(), ("BNL003", 3, "minimize")),
        "mixed_newlines.py": (BUG.replace("\n", "\r\n", 1).encode(), ("BNL003", 3, "minimize")),
        "cr_only.py": (BUG.replace("\n", "\r").encode(), ("BNL003", 3, "minimize")),
        "tabs.py": (b"import tensorflow as tf\ndef build(x):\n\ty = tf.layers.batch_normalization(x, training=True)"
                    b"\n\treturn tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))\n", ("BNL003", 4, "minimize")),
        "python2_mixed_tabs.py": (b"import tensorflow as tf\ndef build(x):\n"
                                  b"        y = tf.layers.batch_normalization(x, training=True)\n"
                                  b"\tprint 'step'\n\treturn tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))\n",
                                  ("BNL003", 5, "minimize")),
        "binary.py": (b"\x7fELF\x02\x01\x01\x00\x00batch_normalization\x00\xff\xfe", ("BNL900", 1, "binary file")),
        # Python cannot run UTF-16 source, and the byte prefilter sees no BN word in it: skipped.
        "utf16.py": (BUG.encode("utf-16"), None),
        "empty.py": (b"", None),
        "only_comment.py": (b"# batch_normalization is discussed here, nothing else\n", None),
        "too_deep.py": ((BUG + "z = " + "-" * 5000 + "1\n").encode(), ("BNL900", 1, "nesting too deep")),
        "too_many_brackets.py": ((BUG + "z = " + "(" * 250 + "1" + ")" * 250 + "\n").encode(),
                                 ("BNL900", 4, "200 nested brackets")),
        "deep_but_valid.py": ((BUG + "z = " + "[" * 190 + "]" * 190 + "\n" + "w = " + "a + " * 2500 + "a\n").encode(),
                              ("BNL003", 3, "minimize")),
        "python312_syntax.py": (("type Vector = list[float]\n" + BUG).encode(), ("BNL003", 4, "minimize")),
    }


@pytest.fixture(scope="module")
def bad_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_tree")
    cases = _cases()
    for name, (data, _) in cases.items():
        (root / name).write_bytes(data)
    (root / "huge.py").write_text(generated_module(5 * 1024 * 1024))
    os.symlink("self_loop.py", root / "self_loop.py")
    os.symlink("nowhere/missing.py", root / "dangling.py")
    os.mkfifo(root / "pipe.py")
    (root / "folder.py").mkdir()  # a directory named like a module: its contents are linted
    (root / "folder.py" / "inner.py").write_bytes(BUG.encode())
    (root / "sub").mkdir()
    os.symlink("..", root / "sub" / "up")  # a directory symlink loop
    return root, cases


def test_every_bad_input_is_reported_by_name_and_the_run_goes_on(bad_tree):
    root, cases = bad_tree
    start = time.monotonic()
    # The special files are also named on the command line: still one report each.
    proc = bnlint("--format", "json", ".", "pipe.py", "self_loop.py", "dangling.py", cwd=root, timeout=240)
    elapsed = time.monotonic() - start
    no_crash(proc)
    assert proc.returncode == 1  # findings; bnlint itself did its job
    found = by_file(proc.stdout)
    for name, (_, expected) in cases.items():
        if expected is None:
            assert name not in found, found.get(name)
            continue
        code, row, fragment = expected
        got = found.get(name)
        assert got is not None and len(got) == 1, (name, got)
        assert (got[0]["code"], got[0]["location"]["row"]) == (code, row), (name, got[0])
        assert fragment in got[0]["message"], (name, got[0]["message"])
    special = {
        "huge.py": "5.0 MB is over bnlint's 2.0 MB limit",
        "self_loop.py": "symbolic link loop",
        "dangling.py": "broken symbolic link",
        "pipe.py": "named pipe (FIFO)",
    }
    for name, fragment in special.items():
        got = found.get(name)
        assert got is not None and len(got) == 1 and got[0]["code"] == "BNL900", (name, got)
        assert fragment in got[0]["message"], got[0]["message"]
    # Found once through the walk, not again through the sub/up -> .. loop.
    assert [d["location"]["row"] for d in found[os.path.join("folder.py", "inner.py")]] == [3]
    assert not any(k.startswith("sub") for k in found)
    # Each unreadable file is also named on stderr, in words.
    for name in ["syntax_error.py", "binary.py", "pipe.py", "self_loop.py", "huge.py"]:
        assert f"{name}: " in proc.stderr
    # The 5 MB file is refused up front, not parsed for minutes.
    assert elapsed < 120


PY2_IDIOMS = [
    'print "a # not a comment", x  # a comment',
    'if x: print "yes"',
    'for i in range(3): print i,',
    'print >>sys.stderr, "error %d" % n',
    "print",
    "except (IOError, OSError), e: pass",
    'raise ValueError, "bad value"',
    'exec "x = 1" in namespace',
    "n = 0777 + 0xFFL + 10L",
    "if a <> b: pass",
    "s = `x`",
    'r = ur"\\d+"',
    "f = lambda (k, v): v",
    "def g(a, (b, c), d=(1, 2)): return b",
]


@pytest.mark.parametrize("line", PY2_IDIOMS)
def test_python2_idioms_render_as_python3_line_for_line(line):
    from bnlint.source.reading import normalise_python2

    text = ("try:\n    pass\n" if line.startswith("except") else "") + line + "\nz = 1\n"
    rendered = normalise_python2(text)
    assert rendered != text and rendered.count("\n") == text.count("\n")
    ast.parse(rendered)


def test_python2_file_with_tabs_and_crlf_reports_at_the_right_lines(tmp_path):
    body = PY2.replace("    ", "\t").replace("\n", "\r\n")
    (tmp_path / "old.py").write_bytes(body.encode())
    result = lint_paths([str(tmp_path)], Settings())
    assert [(d.code, d.location.row, d.fix) for d in result.diagnostics] == [("BNL003", 10, None)]
    assert not result.errors


def test_python2_findings_never_carry_fixes(bad_tree):
    root, _ = bad_tree
    proc = bnlint("--format", "json", "python2.py", "python2_mixed_tabs.py", "--select", "ALL", cwd=root)
    no_crash(proc)
    diags = json.loads(proc.stdout)
    assert diags and all(d["fix"] is None for d in diags)


def test_fix_over_the_bad_tree_changes_only_fixable_good_files(bad_tree, tmp_path):
    src, cases = bad_tree
    root = tmp_path / "tree"
    shutil.copytree(src, root, symlinks=True, ignore=lambda d, names: [n for n in names if n == "pipe.py"])
    os.mkfifo(root / "pipe.py")
    before = snapshot(root)
    proc = bnlint("--fix", "--unsafe-fixes", ".", cwd=root, timeout=240)
    no_crash(proc)
    assert proc.returncode == 1, proc.stderr  # the unreadable files remain as findings
    after = snapshot(root)
    assert set(after) == set(before)  # nothing created (no temporary files left), nothing lost
    fixed = {os.path.relpath(p, root) for p in before if before[p] != after[p]}
    expected_fixed = {n for n, (_, exp) in cases.items() if exp and exp[0] == "BNL003" and not n.startswith("python2")}
    assert fixed == expected_fixed | {os.path.join("folder.py", "inner.py")}
    for rel in fixed:
        old, new = before[str(root / rel)][1], after[str(root / rel)][1]
        assert old.startswith(codecs.BOM_UTF8) == new.startswith(codecs.BOM_UTF8)
        assert old.count(b"\r\n") <= new.count(b"\r\n") and (b"\r\n" in old) == (b"\r\n" in new)
    assert b"caf\xe9" in after[str(root / "latin1.py")][1]  # still latin-1 on disk
    relint = lint_paths([str(root / rel) for rel in fixed], Settings())
    assert not [d for d in relint.diagnostics if d.code == "BNL003"] and not relint.errors


# --- files bnlint may not read ------------------------------------------------------------------------------------


def _world_readable_dir() -> str:
    path = tempfile.mkdtemp(prefix="bnlint-perm-")
    os.chmod(path, 0o755)  # pytest's tmp_path lives under a 0700 folder an unprivileged user cannot enter
    return path


def test_unreadable_file_and_folder(tmp_path):
    """chmod 000 stops everyone but root. Running as root, the command runs as ``nobody``."""
    root = _world_readable_dir()
    try:
        with open(os.path.join(root, "secret.py"), "w") as fh:
            fh.write(BUG)
        with open(os.path.join(root, "ok.py"), "w") as fh:
            fh.write(BUG)
        os.mkdir(os.path.join(root, "locked"))
        with open(os.path.join(root, "locked", "inside.py"), "w") as fh:
            fh.write(BUG)
        os.chmod(os.path.join(root, "secret.py"), 0)
        os.chmod(os.path.join(root, "locked"), 0)
        prefix, kwargs = [], {}
        if os.geteuid() == 0:  # drop to nobody: setpriv (util-linux), else Popen's own setuid
            if shutil.which("setpriv"):
                prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            else:
                kwargs = {"user": 65534, "group": 65534, "extra_groups": []}
        env = {**os.environ, "HOME": root}

        def run(*args):
            return subprocess.run([*prefix, sys.executable, *args], cwd=root, env=env, capture_output=True,
                                  text=True, timeout=300, **kwargs)

        # A clone in a private folder (a home with mode 700) leaves its venv out of nobody's reach:
        # then there is nothing to test as that user, which is a reason to skip, not a failure.
        try:
            probe = run("-c", "import bnlint.commands.cli")
        except (PermissionError, OSError) as exc:
            pytest.skip(f"cannot run python as an unprivileged user here: {exc}")
        if probe.returncode != 0:
            last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"the unprivileged user cannot import bnlint from this checkout (private folder?): {last}")
        proc = run("-m", "bnlint", "--no-cache", "--format", "json", ".")
        no_crash(proc)
        assert proc.returncode == 1
        found = by_file(proc.stdout)
        assert "permission denied" in found["secret.py"][0]["message"]
        assert "cannot list directory" in found["locked"][0]["message"]
        assert [d["code"] for d in found["ok.py"]] == ["BNL003"]
    finally:
        os.chmod(os.path.join(root, "locked"), 0o755)
        shutil.rmtree(root)


# --- files that change under bnlint --------------------------------------------------------------------------------


def test_file_deleted_between_discovery_and_reading(tmp_path, monkeypatch):
    import bnlint.run.paths as engine

    for name in ("a.py", "gone.py", "c.py"):
        (tmp_path / name).write_text(BUG)
    discover = engine.discover

    def discover_then_delete(paths, settings):
        found = discover(paths, settings)
        os.unlink(tmp_path / "gone.py")  # the user deletes a file while bnlint runs
        return found

    monkeypatch.setattr(engine, "discover", discover_then_delete)
    result = lint_paths([str(tmp_path)], Settings())
    assert [(os.path.basename(e.filename), e.code) for e in result.errors] == [("gone.py", "BNL900")]
    assert "disappeared" in result.errors[0].message
    assert sorted(os.path.basename(d.filename) for d in result.diagnostics) == ["a.py", "c.py"]


def test_file_deleted_before_its_fix_is_written_is_not_resurrected(tmp_path, monkeypatch, capsys):
    for name in ("a.py", "gone.py"):
        (tmp_path / name).write_text(BUG)
    fix_text = fixer.fix_text

    def fix_then_delete(src, *args, **kwargs):
        out = fix_text(src, *args, **kwargs)
        if src.path.endswith("gone.py"):
            os.unlink(src.path)
        return out

    monkeypatch.setattr(fixer, "fix_text", fix_then_delete)
    code = cli.main(["--fix", "--no-cache", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2  # a fix was asked for and could not be written
    assert "gone.py: fixes not applied" in err
    assert sorted(os.listdir(tmp_path)) == ["a.py"]
    assert "control_dependencies" in (tmp_path / "a.py").read_text()


def test_files_deleted_and_rewritten_while_fixing_a_tree(tmp_path):
    """A user (or their editor) deletes and rewrites files during ``bnlint --fix``: whatever the
    timing, no crash, no deleted file comes back, every file is its old, new, or user-written self."""
    n = 120
    paths = []
    for i in range(n):
        p = tmp_path / f"m{i:03d}.py"
        p.write_text(BUG.replace("y)", f"y) + {i}"))
        paths.append(p)
    original = {p: p.read_bytes() for p in paths}
    proc = subprocess.Popen([sys.executable, "-m", "bnlint", "--no-cache", "--fix", "-j", "2", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deleted, rewritten = set(), {}
    for i, p in enumerate(paths):  # spread over the run: discovery, reading, analysis, writing
        if proc.poll() is not None:
            break
        if i % 3 == 0:
            p.unlink()
            deleted.add(p)
        elif i % 3 == 1:
            data = b"# edited by the user\n" + original[p]
            p.write_bytes(data)
            rewritten[p] = data
        time.sleep(0.05)
    out, err = proc.communicate(timeout=300)
    assert "Traceback" not in err, err[-3000:]
    assert proc.returncode in (0, 1, 2), err
    for p in paths:
        if p in deleted:
            assert not p.exists(), f"{p} was deleted by the user and bnlint brought it back"
            continue
        data = p.read_bytes()
        ast.parse(data)
        if p in rewritten:
            # bnlint saw the old content; it must not have overwritten the user's edit with a fix of it
            assert data == rewritten[p] or data.startswith(b"# edited by the user\n"), p
        else:
            assert data == original[p] or b"control_dependencies" in data, p
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".bnlint-tmp")]


# --- writes that fail -------------------------------------------------------------------------------------------


@pytest.fixture
def read_only_and_writable(tmp_path):
    """The same buggy file twice in one folder, one of them read-only."""
    ro, rw = tmp_path / "readonly.py", tmp_path / "writable.py"
    ro.write_text(BUG)
    rw.write_text(BUG)
    ro.chmod(0o444)
    return ro, rw


def test_read_only_file_is_not_rewritten_and_the_run_goes_on(tmp_path, read_only_and_writable):
    ro, rw = read_only_and_writable
    proc = bnlint("--fix", str(tmp_path))
    no_crash(proc)
    assert proc.returncode == 2
    assert f"{ro}: fixes not applied" in proc.stderr and "read-only" in proc.stderr
    assert ro.read_text() == BUG and stat.S_IMODE(ro.stat().st_mode) == 0o444
    assert "control_dependencies" in rw.read_text()
    assert f"{ro}:3:12: BNL003" in proc.stdout  # still reported


def test_add_noqa_writes_atomically_and_leaves_read_only_files_alone(tmp_path, read_only_and_writable):
    ro, rw = read_only_and_writable
    proc = bnlint("--add-noqa", str(tmp_path))
    no_crash(proc)
    assert proc.returncode == 2
    assert f"{ro}: not written: the file is read-only" in proc.stderr
    assert ro.read_text() == BUG
    assert "# noqa: BNL003" in rw.read_text()
    assert sorted(os.listdir(tmp_path)) == ["readonly.py", "writable.py"]


@pytest.fixture
def full_disk():
    """A 64 KiB tmpfs, filled up: real ENOSPC on write (needs root and a kernel that allows it)."""
    mount = tempfile.mkdtemp(prefix="bnlint-tmpfs-")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount], capture_output=True)
    if done.returncode != 0:
        os.rmdir(mount)
        pytest.skip("cannot mount a tmpfs here; test_disk_full_injected covers the same path")
    try:
        yield mount
    finally:
        subprocess.run(["umount", mount], capture_output=True)
        os.rmdir(mount)


def test_disk_full_on_a_real_tmpfs(full_disk):
    target = os.path.join(full_disk, "train.py")
    with open(target, "w") as fh:
        fh.write(BUG)
    try:
        with open(os.path.join(full_disk, "filler"), "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    proc = bnlint("--fix", target)  # --no-cache: the cache folder would not fit either
    no_crash(proc)
    assert proc.returncode == 2
    assert f"{target}: fixes not applied" in proc.stderr and "No space left on device" in proc.stderr
    with open(target) as fh:
        assert fh.read() == BUG
    assert sorted(os.listdir(full_disk)) == ["filler", "train.py"]
    proc = bnlint("--add-noqa", target)  # the other command that writes users' files
    no_crash(proc)
    assert proc.returncode == 2 and "No space left on device" in proc.stderr
    with open(target) as fh:
        assert fh.read() == BUG
    assert sorted(os.listdir(full_disk)) == ["filler", "train.py"]
    # With the cache on, the cache write fails too; still no crash and the same verdict.
    proc = subprocess.run([sys.executable, "-m", "bnlint", "--fix", target], cwd=full_disk, capture_output=True, text=True)
    no_crash(proc)
    assert proc.returncode == 2


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_disk_full_injected(tmp_path, monkeypatch, capsys, where):
    """ENOSPC raised where a real full disk raises it: the data write, the flush to disk, the rename."""
    target, other = tmp_path / "train.py", tmp_path / "other.py"
    target.write_text(BUG)
    other.write_text(BUG)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "write":
        real_fdopen = os.fdopen

        class FullFile:
            def __init__(self, fh):
                self.fh = fh

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()

            def write(self, data):
                self.fh.write(data[: len(data) // 2])  # half the bytes reach the temporary file
                full()

            def __getattr__(self, name):
                return getattr(self.fh, name)

        monkeypatch.setattr(fixer.os, "fdopen", lambda fd, *a, **k: FullFile(real_fdopen(fd, *a, **k)))
    else:
        monkeypatch.setattr(fixer.os, where, full)
    code = cli.main(["--fix", "--no-cache", str(target)])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 2
    assert f"{target}: fixes not applied" in err and "No space left on device" in err
    assert target.read_text() == BUG  # never half-written
    assert sorted(os.listdir(tmp_path)) == ["other.py", "train.py"]  # the temporary file is gone
    assert cli.main(["--fix", "--no-cache", str(other)]) == 0  # and the next run is fine


# --- the per-file time limit ------------------------------------------------------------------------------------


def test_pathological_file_times_out_and_the_run_goes_on(tmp_path):
    slow = tmp_path / "giant_table.py"
    slow.write_text(BUG + "TABLE = {" + ", ".join(f"'k{i}': [{i}, {i + 1}]" for i in range(60000)) + "}\n")
    (tmp_path / "train.py").write_text(BUG)
    start = time.monotonic()
    proc = bnlint("--timeout", "1", "--format", "json", str(tmp_path))
    elapsed = time.monotonic() - start
    no_crash(proc)
    assert proc.returncode == 1
    found = by_file(proc.stdout)
    assert [d["code"] for d in found[str(slow)]] == ["BNL901"]
    assert "timed out" in found[str(slow)][0]["message"]
    assert [d["code"] for d in found[str(tmp_path / "train.py")]] == ["BNL003"]
    assert f"{slow}: analysis timed out" in proc.stderr
    assert elapsed < 60
