"""Jupyter notebooks: code cells linted as one program, magics masked, positions per cell, fixes
written back into the changed cells only (tests/notebooks/*.ipynb, made by make_notebooks.py)."""

import glob
import json
import os
import shutil
import subprocess
import sys

import jsonschema
import pytest

nbformat = pytest.importorskip("nbformat")  # the `notebooks` extra (make test installs it)

from bnlint.commands.cli import main  # noqa: E402
from bnlint.source.notebook import _source_spans, cell_sources, cell_text, mask_magics  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = os.path.join(HERE, "notebooks")
SARIF_SCHEMA = os.path.join(HERE, "data", "sarif-schema-2.1.0.json")


def run(args, capsys):
    code = main(["--no-cache", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def nbdir(tmp_path, monkeypatch):
    for name in os.listdir(NOTEBOOKS):
        if name.endswith(".ipynb"):
            shutil.copy(os.path.join(NOTEBOOKS, name), tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_colab_trainer_findings_point_into_cells(nbdir, capsys):
    code, out, _ = run(["colab_trainer.ipynb"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("colab_trainer.ipynb:cell 5:4:14: BNL002 UPDATE_OPS is read here, before the BN "
                               "layers built at cell 5, line 5 exist")
    assert lines[1].startswith("colab_trainer.ipynb:cell 6:1:24: BNL001 `setup_network` builds BN layers again "
                               "(first at cell 5, line 5)")
    assert len(lines) == 2


def test_json_and_sarif_carry_the_cell(nbdir, capsys):
    _, out, _ = run(["colab_trainer.ipynb", "--format", "json"], capsys)
    found = {d["code"]: d for d in json.loads(out)}
    assert (found["BNL002"]["cell"], found["BNL002"]["location"]) == (5, {"row": 4, "column": 14})
    assert (found["BNL001"]["cell"], found["BNL001"]["location"]) == (6, {"row": 1, "column": 24})
    edits = found["BNL002"]["fix"]["edits"]
    assert all(e["cell"] == 5 for e in edits) and {e["location"]["row"] for e in edits} <= {4, 5, 6, 7}
    _, out, _ = run(["colab_trainer.ipynb", "--format", "sarif"], capsys)
    log = json.loads(out)
    with open(SARIF_SCHEMA) as fh:
        schema = json.load(fh)
    jsonschema.Draft4Validator(schema).validate(log)
    results = {r["ruleId"]: r for r in log["runs"][0]["results"]}
    loc = results["BNL002"]["locations"][0]
    assert loc["properties"] == {"cell": 5} and loc["physicalLocation"]["region"]["startLine"] == 4
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == "colab_trainer.ipynb"


def test_magics_are_masked_without_moving_findings(nbdir, capsys):
    code, out, err = run(["magics.ipynb"], capsys)
    assert code == 1, err
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("magics.ipynb:cell 7:3:12: BNL003 `minimize` runs without the BN update ops")
    # the BN in the %%time cell is hard-wired to training=True: the message says so, at its cell position
    assert "built at cell 6, line 4" in lines[0] and "never leave training mode" in lines[0]
    assert "BNL900" not in out  # the %%bash cell, `files = !ls`, `x?`, the raw cell: no parse error


def test_healthy_notebook_passes(nbdir, capsys):
    code, out, err = run(["healthy.ipynb"], capsys)
    assert (code, out) == (0, "") and "All checks passed (1 files)." in err


def test_folders_find_notebooks_and_the_switch_turns_them_off(nbdir, capsys):
    code, out, _ = run(["."], capsys)
    assert code == 1 and {line.split(":")[0] for line in out.splitlines()} == {"./colab_trainer.ipynb", "./magics.ipynb"}
    code, out, err = run([".", "--no-notebooks"], capsys)
    assert (code, out) == (0, "") and "(0 files)" in err
    code, out, _ = run(["magics.ipynb", "--no-notebooks"], capsys)  # named ones too (pre-commit passes names)
    assert (code, out) == (0, "")
    (nbdir / "pyproject.toml").write_text("[tool.bnlint]\nnotebooks = false\n")
    code, out, _ = run(["."], capsys)
    assert (code, out) == (0, "")
    code, out, _ = run([".", "--notebooks"], capsys)
    assert code == 1 and "magics.ipynb:cell 7:3:12: BNL003" in out


def _outside(raw: bytes, cell: int):
    """The notebook's text before and after cell ``cell``'s ``source`` value."""
    text = raw.decode("utf-8")
    start, end = _source_spans(text)[cell]
    return text[:start], text[end:]


def test_fix_changes_only_the_fixed_cell_colab_layout(nbdir, capsys):
    before = (nbdir / "colab_trainer.ipynb").read_bytes()
    code, _, err = run(["colab_trainer.ipynb", "--fix"], capsys)
    assert "Fixed 1 finding in 1 file (1 × BNL002)." in err
    after = (nbdir / "colab_trainer.ipynb").read_bytes()
    assert after != before
    assert _outside(after, 5) == _outside(before, 5)  # outputs, metadata, key order, no final newline: same bytes
    assert not after.endswith(b"\n") and after.startswith(b'{\n  "nbformat": 4,\n  "nbformat_minor": 0,')
    old_nb, new_nb = json.loads(before), json.loads(after)
    source = new_nb["cells"][4]["source"]
    assert source == "".join(source).splitlines(keepends=True)  # split the way Jupyter does
    assert not source[-1].endswith("\n")
    assert source[5:] == ["update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)\n",
                          "with tf.control_dependencies(update_ops):\n", "    train_op = optim.minimize(loss)"]
    old_nb["cells"][4]["source"] = source
    assert old_nb == new_nb
    nbformat.validate(nbformat.reads(after.decode(), as_version=nbformat.NO_CONVERT))
    code, _, err = run(["colab_trainer.ipynb", "--fix"], capsys)  # idempotent
    assert (nbdir / "colab_trainer.ipynb").read_bytes() == after and "Fixed" not in err


def test_fix_keeps_magics_and_matches_jupyters_own_writer(nbdir, capsys):
    path = nbdir / "magics.ipynb"
    nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    code, _, err = run(["magics.ipynb", "--fix"], capsys)
    assert code == 0 and "Fixed 1 finding in 1 file (1 × BNL003)." in err
    nb.cells[6].source = ("loss = tf.reduce_sum(x)\n"
                          "%time train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n"
                          "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n"
                          "    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)")
    # The file came from nbformat: writing the expected notebook with nbformat gives the same bytes.
    assert path.read_text(encoding="utf-8") == nbformat.writes(nb) + "\n"


def test_diff_shows_the_cell_and_writes_nothing(nbdir, capsys):
    before = (nbdir / "magics.ipynb").read_bytes()
    code, out, _ = run(["magics.ipynb", "--diff"], capsys)
    assert code == 1 and (nbdir / "magics.ipynb").read_bytes() == before
    assert out.startswith("--- a/magics.ipynb:cell 7\n+++ b/magics.ipynb:cell 7\n")
    assert " %time train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n" in out  # the magic, as written
    assert "+with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n" in out
    assert "bnlint-magic" not in out and "bnlint-cell" not in out


def test_add_noqa_writes_into_the_cell(nbdir, capsys):
    code = main(["--no-cache", "magics.ipynb", "--add-noqa"])
    capsys.readouterr()
    assert code == 0
    nb = nbformat.read(str(nbdir / "magics.ipynb"), as_version=nbformat.NO_CONVERT)
    assert nb.cells[6].source.splitlines()[2].endswith("minimize(loss)  # noqa: BNL003")
    assert nb.cells[1].source.startswith("%load_ext autoreload\n")
    code, out, _ = run(["magics.ipynb"], capsys)
    assert (code, out) == (0, "")


@pytest.mark.parametrize("content, reason", [
    (b'{"cells": [', "not a Jupyter notebook: invalid JSON (Expecting value at line 1, column 12)"),
    (b'{"metadata": {}}', "not a Jupyter notebook: the JSON has no 'cells' list"),
    (b'[1, 2]', "not a Jupyter notebook: the JSON has no 'cells' list"),
    (b'{"worksheets": [], "nbformat": 3}', "an nbformat 3 notebook"),
    (b'{"cells": [{"cell_type": "code", "source": 3}]}', "cell 1 has a 'source' that is neither text nor a list"),
    (b'\xff\xfe{}', "not a Jupyter notebook: not UTF-8 JSON"),
])
def test_broken_notebooks_are_bnl900(nbdir, capsys, content, reason):
    (nbdir / "broken.ipynb").write_bytes(content)
    code, out, err = run(["broken.ipynb"], capsys)
    assert code == 1 and out.startswith("broken.ipynb:") and " BNL900 " in out and reason in out, out + err
    assert "Traceback" not in err


def test_syntax_error_in_a_cell_points_at_the_cell(nbdir, capsys):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"), nbformat.v4.new_code_cell("import tensorflow as tf"),
                                         nbformat.v4.new_code_cell("y = tf.layers.batch_normalization(x\nz = (")])
    nbformat.write(nb, str(nbdir / "bad.ipynb"))
    code, out, _ = run(["bad.ipynb"], capsys)
    assert code == 1 and out.startswith("bad.ipynb:cell 3:") and "BNL900" in out


def test_notebook_named_alone_knows_the_local_modules_it_imports(nbdir, capsys):
    from bn_snippets import MODELS

    (nbdir / "models.py").write_text(MODELS)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("!pip install -q tqdm\nimport tensorflow as tf\nfrom models import small_cnn"),
        nbformat.v4.new_code_cell("loss = small_cnn(tf.zeros([4, 8, 8, 3]), True)\n"
                                  "train_op = tf.train.AdamOptimizer().minimize(loss)")])
    nbformat.write(nb, str(nbdir / "uses_models.ipynb"))
    code, out, _ = run(["uses_models.ipynb"], capsys)
    assert code == 1 and out.startswith("uses_models.ipynb:cell 2:2:12: BNL003"), out


def test_mask_keeps_lines_and_leaves_strings_alone():
    source = ("%matplotlib inline\nx = 1\ns = '''\n%not a magic\n'''\nif x:\n    !ls -la \\\n      more\n"
              "names = !ls\nhelp?\n??tf.layers\n%%time\nprint(x % 2)\n")
    masked = mask_magics(source)
    assert masked.count("\n") == source.count("\n")
    compile(masked, "<cell>", "exec")
    kept = [ln for ln, m in zip(source.splitlines(), masked.splitlines()) if ln == m]
    assert kept == ["x = 1", "s = '''", "%not a magic", "'''", "if x:", "print(x % 2)"]
    assert cell_sources(cell_text([(3, source)])) == [(3, source)]  # masked lines come back as written


def test_cell_magic_with_python_body_is_linted_other_cell_magics_are_not():
    text = cell_text([(1, "%%time\ny = 1"), (2, "%%bash\nfor x in (; do"), (3, "%%javascript\nf({\n  a: 1\n})")])
    compile(text, "<nb>", "exec")
    assert "y = 1\n" in text and "for x in" not in text.replace("#bnlint-magic:for x in (; do", "")


def test_pre_commit_hook_lints_a_staged_notebook(nbdir):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    from test_precommit import local_config

    env = dict(os.environ, PRE_COMMIT_HOME=str(nbdir / ".pch"), GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.invalid", NO_COLOR="1")

    def sh(*cmd):
        return subprocess.run(cmd, cwd=nbdir, env=env, capture_output=True, text=True)

    assert sh("git", "init", "-q").returncode == 0
    (nbdir / ".pre-commit-config.yaml").write_text(local_config("bnlint"))
    assert sh(sys.executable, "-m", "pre_commit", "install").returncode == 0
    sh("git", "add", ".pre-commit-config.yaml", "magics.ipynb")
    blocked = sh("git", "commit", "-m", "nb")
    assert blocked.returncode != 0
    assert "magics.ipynb:cell 7:3:12: BNL003" in blocked.stdout + blocked.stderr


CORPUS = os.path.expanduser("~/.cache/bnlint-corpus/src")
REAL = sorted(glob.glob(os.path.join(CORPUS, "**", "*.ipynb"), recursive=True)) if os.path.isdir(CORPUS) else []


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(NOTEBOOKS, "*.ipynb"))) + REAL, ids=os.path.basename)
def test_writing_one_changed_cell_keeps_every_other_byte(path):
    """Any notebook (ours, and the real ones of the corpus when it is there): the cell text
    compiles, and a change to one cell rewrites exactly that cell's source value."""
    from bnlint.source.notebook import NotebookSource

    raw = open(path, "rb").read()
    src = NotebookSource.of(path, raw)
    compile(src.text, path, "exec")
    cells = cell_sources(src.text)
    number, old = next((n, s) for n, s in reversed(cells) if s.strip())
    lines = src.text.splitlines(keepends=True)
    row = max(i for i, ln in enumerate(lines) if ln.startswith(f"#bnlint-cell:{number}\n")) + 1
    new_text = "".join(lines[:row] + ["import this_is_new  # é\n"] + lines[row:])
    data = src.encode(new_text)
    before, after = raw.decode("utf-8"), data.decode("utf-8")
    b_start, b_end = _source_spans(before)[number]
    a_start, a_end = _source_spans(after)[number]
    assert (before[:b_start], before[b_end:]) == (after[:a_start], after[a_end:])
    nb, was = json.loads(after), json.loads(before)["cells"][number - 1]["source"]
    assert "".join(nb["cells"][number - 1]["source"]) == "import this_is_new  # é\n" + "".join(was)
    assert old.startswith("".join(was))
    nbformat.validate(nbformat.reads(after, as_version=nbformat.NO_CONVERT))


@pytest.mark.parametrize("as_string, ascii_only", [(True, False), (False, True)], ids=["string-sources", "ascii-escapes"])
def test_fix_keeps_other_writers_layouts(nbdir, capsys, as_string, ascii_only):
    from bn_snippets import STEP_BUG

    code = "# café\n" + STEP_BUG.rstrip("\n")
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "Ünïcode"},
             {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": code if as_string else code.splitlines(keepends=True)}]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    raw = json.dumps(nb, indent=4, ensure_ascii=ascii_only).encode("utf-8")
    (nbdir / "other.ipynb").write_bytes(raw)
    code_, _, err = run(["other.ipynb", "--fix"], capsys)
    assert "Fixed 1 finding" in err, err
    after = (nbdir / "other.ipynb").read_bytes()
    assert _outside(after, 2) == _outside(raw, 2)
    text = after.decode()
    start, end = _source_spans(text)[2]
    value = text[start:end]
    assert value.startswith('"') == as_string
    assert ("\\u00e9" in value) == ascii_only and ("é" in value) == (not ascii_only)
    assert "tf.control_dependencies" in "".join(json.loads(text)["cells"][1]["source"])
