"""`bnlint --fix` / `--diff` / `--unsafe-fixes` / `--show-fixes`: the fix engine on real files.

Covers what the fixer promises besides the rewrites themselves: bytes outside the edits stay the
same (encoding, BOM, CRLF, missing final newline, file mode), writes are atomic and leave no
temporary files, files needing no fix are never rewritten, a fix that fails a check leaves the
file untouched, and fixing is idempotent.
"""

import codecs
import json
import os
import stat
import subprocess
import sys

import pytest

from bnlint.commands import cli
from bnlint.core.diagnostics import Edit, Fix, Location
from bnlint.run.paths import lint_paths
from bnlint.run.fixer import FixError, apply_edits, fix_result, fix_text
from bnlint.core.settings import Settings
from bnlint.source.reading import read_source

STEP_BUG = (
    "import tensorflow as tf\n"
    "y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)\n"
    "# the step\n"
    "train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))  # keep me\n"
)
STEP_FIXED = (
    "import tensorflow as tf\n"
    "y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)\n"
    "# the step\n"
    "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n"
    "    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))  # keep me\n"
)
# BNL001 only, whose fix (both calls in an AUTO_REUSE scope) is unsafe.
EVAL_REBUILT = (
    "import tensorflow as tf\n"
    "def model(x, training):\n"
    "    return tf.layers.batch_normalization(tf.layers.dense(x, 4), training=training)\n"
    "logits = model(tf.zeros([2, 3]), True)\n"
    "val_logits = model(tf.zeros([2, 3]), False)\n"
)
CLEAN = (
    "import tensorflow as tf\n"
    "y = tf.layers.batch_normalization(tf.zeros([4, 3]), training=True)\n"
    "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n"
    "    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))\n"
)


def write(path, data: bytes, mode=None, mtime=None):
    path.write_bytes(data)
    if mode is not None:
        os.chmod(path, mode)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_fix_writes_the_rewrite_and_reports_it(tmp_path, capsys):
    f = write(tmp_path / "train.py", STEP_BUG.encode())
    code, out, err = run(["--fix", "--isolated", str(f)], capsys)
    assert f.read_text() == STEP_FIXED
    assert code == 0, (out, err)
    assert "Fixed 1 finding in 1 file (1 × BNL003)" in err
    code, out, err = run(["--isolated", str(f)], capsys)
    assert code == 0 and out == ""


def test_fix_is_idempotent(tmp_path, capsys):
    f = write(tmp_path / "train.py", STEP_BUG.encode())
    run(["--fix", "--isolated", str(f)], capsys)
    once = f.read_bytes()
    os.utime(f, (1_000_000, 1_000_000))
    code, out, err = run(["--fix", "--isolated", str(f)], capsys)
    assert f.read_bytes() == once and os.stat(f).st_mtime == 1_000_000
    assert "Fixed" not in err


def test_diff_prints_and_writes_nothing(tmp_path, capsys):
    f = write(tmp_path / "train.py", STEP_BUG.encode(), mtime=1_000_000)
    code, out, err = run(["--diff", "--isolated", str(f)], capsys)
    assert code == 1
    assert f.read_bytes() == STEP_BUG.encode() and os.stat(f).st_mtime == 1_000_000
    assert out.startswith(f"--- {f}\n+++ {f}\n")
    assert "+with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n" in out
    assert "-train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))  # keep me\n" in out
    assert "Would fix 1 finding" in err


def test_diff_of_a_clean_file_exits_0(tmp_path, capsys):
    f = write(tmp_path / "ok.py", CLEAN.encode())
    code, out, err = run(["--diff", "--isolated", str(f)], capsys)
    assert (code, out) == (0, "")


def test_unsafe_fixes_need_the_flag(tmp_path, capsys):
    f = write(tmp_path / "eval.py", EVAL_REBUILT.encode(), mtime=1_000_000)
    code, out, err = run(["--fix", "--isolated", str(f)], capsys)
    assert code == 1 and "BNL001" in out
    assert f.read_bytes() == EVAL_REBUILT.encode() and os.stat(f).st_mtime == 1_000_000
    assert "1 more fix available with --unsafe-fixes" in err
    code, out, err = run(["--fix", "--unsafe-fixes", "--isolated", str(f)], capsys)
    assert code == 0, (out, err)
    assert "reuse=tf.AUTO_REUSE" in f.read_text()


def test_show_fixes_lists_what_was_applied(tmp_path, capsys):
    f = write(tmp_path / "train.py", STEP_BUG.encode())
    code, out, err = run(["--fix", "--show-fixes", "--isolated", str(f)], capsys)
    assert f"{f}:\n" in out
    assert "4:12 BNL003 [safe] Run `minimize` under `tf.control_dependencies`" in out


def test_remaining_findings_keep_exit_1(tmp_path, capsys):
    f = write(tmp_path / "both.py", (EVAL_REBUILT + "step = tf.train.AdamOptimizer().minimize(logits)\n").encode())
    code, out, err = run(["--fix", "--isolated", str(f)], capsys)
    assert code == 1
    assert "BNL001" in out and "BNL003" not in out
    assert "Fixed 1 finding" in err


def test_json_output_carries_the_fix_edits(tmp_path, capsys):
    f = write(tmp_path / "train.py", STEP_BUG.encode())
    code, out, err = run(["--format", "json", "--isolated", str(f)], capsys)
    (finding,) = json.loads(out)
    fix = finding["fix"]
    assert fix["applicability"] == "safe"
    (edit,) = fix["edits"]
    assert edit["location"] == {"row": 4, "column": 1}
    assert edit["content"].startswith("with tf.control_dependencies(")
    assert apply_edits(STEP_BUG, [Edit(e["content"], Location(**e["location"]), Location(**e["end_location"]))
                                  for e in fix["edits"]]) == STEP_FIXED


# --- bytes outside the edits ----------------------------------------------------------------------


def test_crlf_stays_crlf(tmp_path, capsys):
    f = write(tmp_path / "train.py", STEP_BUG.replace("\n", "\r\n").encode())
    run(["--fix", "--isolated", str(f)], capsys)
    data = f.read_bytes()
    assert data == STEP_FIXED.replace("\n", "\r\n").encode()
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_bom_and_utf8_text_are_kept(tmp_path, capsys):
    text = "# coding: utf-8\n# Größe µ — 模型\n" + STEP_BUG
    f = write(tmp_path / "train.py", codecs.BOM_UTF8 + text.encode("utf-8"))
    run(["--fix", "--isolated", str(f)], capsys)
    assert f.read_bytes() == codecs.BOM_UTF8 + ("# coding: utf-8\n# Größe µ — 模型\n" + STEP_FIXED).encode("utf-8")


def test_latin1_file_is_written_back_in_latin1(tmp_path, capsys):
    text = "# -*- coding: latin-1 -*-\n# données d'entraînement\n" + STEP_BUG
    f = write(tmp_path / "train.py", text.encode("latin-1"))
    run(["--fix", "--isolated", str(f)], capsys)
    expected = ("# -*- coding: latin-1 -*-\n# données d'entraînement\n" + STEP_FIXED).encode("latin-1")
    assert f.read_bytes() == expected


def test_missing_final_newline_stays_missing(tmp_path, capsys):
    f = write(tmp_path / "train.py", STEP_BUG.rstrip("\n").encode())
    run(["--fix", "--isolated", str(f)], capsys)
    assert f.read_bytes() == STEP_FIXED.rstrip("\n").encode()


def test_tabs_indent_with_tabs(tmp_path, capsys):
    src = ("import tensorflow as tf\n"
           "def build(x):\n"
           "\ty = tf.layers.batch_normalization(x, training=True)\n"
           "\treturn tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))\n")
    f = write(tmp_path / "train.py", src.encode())
    run(["--fix", "--isolated", str(f)], capsys)
    assert f.read_text().splitlines()[3:] == [
        "\twith tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):",
        "\t\treturn tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))",
    ]


def test_mode_kept_and_no_temporary_files_left(tmp_path, capsys):
    f = write(tmp_path / "train.py", STEP_BUG.encode(), mode=0o751)
    run(["--fix", "--isolated", str(f)], capsys)
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o751
    assert sorted(os.listdir(tmp_path)) == ["train.py"]
    assert f.read_text() == STEP_FIXED


def test_symlink_stays_a_link_and_its_target_is_fixed(tmp_path, capsys):
    target = write(tmp_path / "real.py", STEP_BUG.encode())
    link = tmp_path / "link.py"
    link.symlink_to(target)
    run(["--fix", "--isolated", str(link)], capsys)
    assert link.is_symlink() and target.read_text() == STEP_FIXED


def test_files_without_fixes_are_not_rewritten(tmp_path, capsys):
    clean = write(tmp_path / "clean.py", CLEAN.encode(), mtime=1_000_000)
    unsafe_only = write(tmp_path / "eval.py", EVAL_REBUILT.encode(), mtime=1_000_000)
    other = write(tmp_path / "util.py", b"def f():\n    return 1\n", mtime=1_000_000)
    buggy = write(tmp_path / "train.py", STEP_BUG.encode(), mtime=1_000_000)
    run(["--fix", "--isolated", str(tmp_path)], capsys)
    for f, data in ((clean, CLEAN), (unsafe_only, EVAL_REBUILT), (other, "def f():\n    return 1\n")):
        assert f.read_bytes() == data.encode() and os.stat(f).st_mtime == 1_000_000, f
    assert buggy.read_text() == STEP_FIXED


def test_python2_files_get_no_fix(tmp_path, capsys):
    src = STEP_BUG + 'print "done"\n'
    f = write(tmp_path / "py2.py", src.encode(), mtime=1_000_000)
    code, out, err = run(["--fix", "--unsafe-fixes", "--isolated", str(f)], capsys)
    assert code == 1 and "BNL003" in out  # still analysed and reported
    assert f.read_bytes() == src.encode() and os.stat(f).st_mtime == 1_000_000


# --- checks before writing ----------------------------------------------------------------------------


def _lint_with_fix(path, make_fix):
    """Real lint of ``path`` with its one finding's fix replaced by ``make_fix(diag)``."""
    settings = Settings()
    result = lint_paths([str(path)], settings)
    (d,) = result.diagnostics
    d.fix = make_fix(d)
    return result, settings


@pytest.mark.parametrize("content,reason", [
    ("train_op = (", "does not parse"),  # syntax error
    ("pass  # the step was here\ntrain_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))  # keep me",
     "did not remove the finding"),
])
def test_a_fix_failing_a_check_leaves_the_file_untouched(tmp_path, content, reason):
    f = write(tmp_path / "train.py", STEP_BUG.encode(), mtime=1_000_000)
    result, settings = _lint_with_fix(f, lambda d: Fix("broken", (
        Edit(content, Location(4, 1), Location(4, len(STEP_BUG.splitlines()[3]) + 1)),)))
    run_ = fix_result(result, settings, write=True)
    (failed,) = run_.failures
    assert reason in failed.error
    assert f.read_bytes() == STEP_BUG.encode() and os.stat(f).st_mtime == 1_000_000
    assert [d.code for d in run_.result.diagnostics] == ["BNL003"]  # still reported


def test_a_non_idempotent_fix_is_refused(tmp_path):
    # Inserting "y = y\n" removes nothing and would be applied again forever.
    f = write(tmp_path / "train.py", STEP_BUG.encode())
    src = read_source(str(f))

    def relint(text):
        from bnlint.lint.check import lint_source

        found = lint_source(text, str(f))
        for d in found:
            d.fix = Fix("loop", (Edit("y = y\n", Location(3, 1), Location(3, 1)),))
        return found

    with pytest.raises(FixError):
        fix_text(src, relint(src.text), relint, unsafe=False)


def test_file_changed_during_fixing_is_not_overwritten(tmp_path):
    f = write(tmp_path / "train.py", STEP_BUG.encode())
    result = lint_paths([str(f)], Settings())
    f.write_text(STEP_BUG + "# edited meanwhile\n")
    run_ = fix_result(result, Settings(), write=True)
    assert "changed while it was being fixed" in run_.failures[0].error
    assert f.read_text() == STEP_BUG + "# edited meanwhile\n"
    assert sorted(os.listdir(tmp_path)) == ["train.py"]


def test_cli_subprocess_exit_codes(tmp_path):
    f = write(tmp_path / "train.py", STEP_BUG.encode())
    cmd = [sys.executable, "-m", "bnlint", "--isolated"]
    assert subprocess.run(cmd + ["--diff", str(f)], capture_output=True).returncode == 1
    assert subprocess.run(cmd + ["--fix", str(f)], capture_output=True).returncode == 0
    assert subprocess.run(cmd + ["--diff", str(f)], capture_output=True).returncode == 0
    assert f.read_text() == STEP_FIXED


# --- the bundled examples ---------------------------------------------------------------------------------

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
HEALTHY = sorted(n for n in os.listdir(EXAMPLES) if n.startswith("healthy_") and n.endswith(".py"))


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_examples_are_left_alone(tmp_path, capsys, name):
    with open(os.path.join(EXAMPLES, name), "rb") as fh:
        data = fh.read()
    f = write(tmp_path / name, data, mtime=1_000_000)
    code, out, err = run(["--fix", "--unsafe-fixes", "--isolated", str(f)], capsys)
    assert f.read_bytes() == data and os.stat(f).st_mtime == 1_000_000
    assert "Fixed" not in err


def test_cross_module_facts_hold_while_fixing(tmp_path, capsys):
    # The BN layer is built in another module: the re-lint after the fix must still see it there.
    pkg = tmp_path / "proj"
    pkg.mkdir()
    write(pkg / "models.py", b"import tensorflow as tf\n"
                             b"def net(x):\n"
                             b"    return tf.layers.batch_normalization(x, training=True)\n", mtime=1_000_000)
    write(pkg / "train.py", b"import tensorflow as tf\n"
                            b"from models import net\n"
                            b"loss = tf.reduce_sum(net(tf.zeros([4, 3])))\n"
                            b"train_op = tf.train.AdamOptimizer().minimize(loss)\n")
    code, out, err = run(["--fix", "--isolated", str(pkg)], capsys)
    assert code == 0, (out, err)
    assert (pkg / "train.py").read_text().splitlines()[3:] == [
        "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):",
        "    train_op = tf.train.AdamOptimizer().minimize(loss)",
    ]
    assert os.stat(pkg / "models.py").st_mtime == 1_000_000


def test_context_modules_are_the_import_neighbourhood(tmp_path):
    from bnlint.run.fixer import context_modules

    for name, body in {"a.py": "import b\n", "b.py": "from c import f\n", "c.py": "def f(): pass\n",
                       "d.py": "import a\n", "e.py": "import d\n", "f2.py": "import e\n", "z.py": "x = 1\n"}.items():
        write(tmp_path / name, ("import tensorflow as tf\nbn = tf.layers.batch_normalization\n" + body).encode())
    result = lint_paths([str(tmp_path)], Settings())
    infos = {os.path.basename(i.path): i for i in result.infos}
    got = sorted(os.path.basename(i.path) for i in context_modules(infos["a.py"], list(infos.values())))
    assert got == ["b.py", "c.py", "d.py", "e.py"]  # imports transitively, importers two levels up


# --- property: only the wrapped statement changes, whatever the file's style -------------------------------

from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

from bnlint.lint.check import lint_source  # noqa: E402
from bnlint.source.reading import decode_source  # noqa: E402


@hsettings(max_examples=40, deadline=None)
@given(newline=st.sampled_from(["\n", "\r\n"]), bom=st.booleans(), final_newline=st.booleans(),
       indent=st.sampled_from(["    ", "  ", "\t"]),
       comment=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
       encoding=st.sampled_from(["utf-8", "latin-1"]))
def test_fix_changes_only_the_step_statement(newline, bom, final_newline, indent, comment, encoding):
    if encoding == "latin-1":
        comment = comment.encode("latin-1", "replace").decode("latin-1")
        bom = False
    lines = [f"# -*- coding: {encoding} -*-", "import tensorflow as tf", f"# {comment}", "def build(x):",
             f"{indent}y = tf.layers.batch_normalization(x, training=True)  # {comment}",
             f"{indent}op = tf.train.AdamOptimizer().minimize(y)", f"{indent}return op"]
    text = newline.join(lines) + (newline if final_newline else "")
    raw = (codecs.BOM_UTF8 if bom else b"") + text.encode(encoding)
    src = decode_source("m.py", raw)

    def relint(t):
        return lint_source(t, "m.py", Settings(select=["BNL003"]))

    fixed = fix_text(src, relint(src.text), relint, unsafe=False)
    out = src.encode(fixed.text)
    header = f"{indent}with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):"
    expected_lines = lines[:5] + [header, indent + lines[5]] + lines[6:]
    expected = newline.join(expected_lines) + (newline if final_newline else "")
    assert out == (codecs.BOM_UTF8 if bom else b"") + expected.encode(encoding)
    again = fix_text(decode_source("m.py", out), relint(fixed.text), relint, unsafe=False)
    assert again.text == fixed.text and not again.applied
