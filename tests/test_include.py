"""Which files a folder walk lints: `include`/`extend-include`/`extend-exclude` (flags and
[tool.bnlint] keys), `--no-notebooks` as a shorthand; the real CLI on a temporary tree."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from bn_snippets import STEP_BUG
from bnlint.source.file_patterns import Includer

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def tree(tmp_path):
    """proj/ with a buggy script in several guises: train.py, tools/launch.pyw, a notebook in
    notebooks/, one in notebooks/old/, and scripts/run (no suffix)."""
    root = tmp_path / "proj"
    for sub in ("tools", "notebooks/old", "scripts"):
        (root / sub).mkdir(parents=True)
    (root / "train.py").write_text(STEP_BUG)
    (root / "tools" / "launch.pyw").write_text(STEP_BUG)
    (root / "scripts" / "run").write_text(STEP_BUG)
    shutil.copy(os.path.join(HERE, "notebooks", "magics.ipynb"), root / "notebooks" / "explore.ipynb")
    shutil.copy(os.path.join(HERE, "notebooks", "magics.ipynb"), root / "notebooks" / "old" / "v1.ipynb")
    return root


def linted(root, *args, config=None, cwd=None):
    """The files with findings (relative to ``root``, '/'-separated) and the exit code."""
    if config is not None:
        (root / "pyproject.toml").write_text("[tool.bnlint]\n" + config)
    proc = subprocess.run([sys.executable, "-m", "bnlint", "--no-cache", "--format", "json", *args],
                          cwd=cwd or root, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    names = {os.path.relpath(os.path.join(cwd or root, d["filename"]), root).replace(os.sep, "/")
             for d in json.loads(proc.stdout)}
    return sorted(names)


def test_default_is_python_files_and_notebooks(tree):
    assert linted(tree, ".") == ["notebooks/explore.ipynb", "notebooks/old/v1.ipynb", "train.py"]


def test_extend_include_adds_patterns_flag_and_key(tree):
    assert linted(tree, ".", "--extend-include", "*.pyw") == [
        "notebooks/explore.ipynb", "notebooks/old/v1.ipynb", "tools/launch.pyw", "train.py"]
    assert linted(tree, ".", config='extend-include = ["*.pyw", "scripts/*"]\n') == [
        "notebooks/explore.ipynb", "notebooks/old/v1.ipynb", "scripts/run", "tools/launch.pyw", "train.py"]


def test_include_replaces_the_default(tree):
    assert linted(tree, ".", "--include", "*.py") == ["train.py"]  # ruff before notebooks were on by default
    # path patterns are relative to the project root (pyproject.toml's folder); ** spans folders
    assert linted(tree, ".", config='include = ["*.py", "notebooks/*.ipynb"]\n') == ["notebooks/explore.ipynb",
                                                                                     "train.py"]
    assert linted(tree, ".", config='include = ["notebooks/**/*.ipynb"]\n') == ["notebooks/explore.ipynb",
                                                                               "notebooks/old/v1.ipynb"]
    # walking a sub-folder: still relative to the project root, not to the walked folder
    assert linted(tree, "old", cwd=tree / "notebooks") == ["notebooks/old/v1.ipynb"]
    # the command line's --include replaces the configured one (and its extend-include)
    (tree / "pyproject.toml").write_text('[tool.bnlint]\ninclude = ["*.pyw"]\nextend-include = ["*.py"]\n')
    assert linted(tree, ".") == ["tools/launch.pyw", "train.py"]
    assert linted(tree, ".", "--include", "*.ipynb") == ["notebooks/explore.ipynb", "notebooks/old/v1.ipynb"]


def test_named_files_are_linted_whatever_the_includes_say(tree):
    assert linted(tree, "tools/launch.pyw", "scripts/run", "notebooks/explore.ipynb",
                  config='include = ["*.py"]\n') == ["notebooks/explore.ipynb", "scripts/run", "tools/launch.pyw"]


def test_extend_exclude_and_the_no_notebooks_shorthand(tree):
    assert linted(tree, ".", "--extend-exclude", "*.ipynb") == ["train.py"]
    assert linted(tree, ".", config='extend-exclude = ["old"]\n') == ["notebooks/explore.ipynb", "train.py"]
    # --no-notebooks leaves every notebook out, whatever the includes say, named ones too (pre-commit)
    (tree / "pyproject.toml").write_text('[tool.bnlint]\nextend-include = ["*.ipynb", "*.pyw"]\n')
    assert linted(tree, ".", "--no-notebooks") == ["tools/launch.pyw", "train.py"]
    assert linted(tree, "notebooks/explore.ipynb", "--no-notebooks") == []
    assert linted(tree, ".", config="notebooks = false\n") == ["train.py"]
    assert linted(tree, ".", "--notebooks", config="notebooks = false\n") == [
        "notebooks/explore.ipynb", "notebooks/old/v1.ipynb", "train.py"]


def test_a_wrong_include_key_is_a_configuration_error(tree):
    (tree / "pyproject.toml").write_text('[tool.bnlint]\nextend-include = "*.pyw"\n')
    proc = subprocess.run([sys.executable, "-m", "bnlint", "--no-cache", "."], cwd=tree, capture_output=True, text=True)
    assert proc.returncode == 2 and "tool.bnlint.extend-include: expected a list of strings" in proc.stderr


@pytest.mark.parametrize("pattern, yes, no", [
    ("*.ipynb", ["a.ipynb", "x/y/a.ipynb"], ["a.py", "a.ipynb.bak"]),
    ("src/*.py", ["src/a.py"], ["src/x/a.py", "a.py", "lib/src/a.py"]),
    ("src/**/*.py", ["src/a.py", "src/x/y/a.py"], ["lib/a.py"]),
    ("**/gen_*.py", ["gen_a.py", "x/gen_b.py"], ["x/agen_b.py"]),
    ("./scripts/[!_]*", ["scripts/run"], ["scripts/_private", "run"]),
    ("data?.py", ["data1.py"], ["data12.py", "data/.py"]),
])
def test_patterns_match_the_name_or_the_path_below_the_root(pattern, yes, no):
    included = Includer([pattern])
    for rel in yes:
        assert included(rel.rsplit("/", 1)[-1], rel), (pattern, rel)
    for rel in no:
        assert not included(rel.rsplit("/", 1)[-1], rel), (pattern, rel)
