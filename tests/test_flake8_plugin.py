"""The flake8 plugin, through real `flake8` processes on real files."""

import os
import subprocess
import sys
import textwrap

import pytest

from bn_snippets import EARLY_UPDATES, EVAL, MODELS, ONE_TOWER, STEP, STEP_BUG, SYNTAX_ERROR, TRAIN

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(textwrap.dedent(text))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("flake8proj")
    write(root / "setup.cfg", "[flake8]\nmax-line-length = 200\n")
    write(root / "step.py", STEP_BUG)
    write(root / "noqa_code.py", STEP_BUG.replace(STEP, STEP + "  # noqa: BNL003"))
    write(root / "noqa_plain.py", STEP_BUG.replace(STEP, STEP + "  # noqa"))
    write(root / "noqa_other.py", STEP_BUG.replace(STEP, STEP + "  # noqa: BNL001"))
    write(root / "syntax_error.py", SYNTAX_ERROR)
    write(root / "early.py", EARLY_UPDATES)
    write(root / "one_tower.py", ONE_TOWER)
    write(root / "pkg" / "__init__.py", "")
    write(root / "pkg" / "models.py", MODELS)
    write(root / "pkg" / "evaluate.py", EVAL)
    write(root / "train.py", TRAIN)
    return root


def flake8(root, *args, env=None, stdin=None):
    proc = subprocess.run([sys.executable, "-m", "flake8", *args], cwd=root, capture_output=True, text=True,
                          env=None if env is None else {**os.environ, **env}, input=stdin)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    found = set()
    for line in proc.stdout.splitlines():
        path, row, col, rest = line.split(":", 3)
        found.add((os.path.normpath(path), int(row), int(col), rest.split()[0]))
    return proc, found


def bnlint_cli(root, *args):
    proc = subprocess.run([sys.executable, "-m", "bnlint", *args], cwd=root, capture_output=True, text=True)
    found = set()
    for line in proc.stdout.splitlines():
        path, row, col, rest = line.split(":", 3)
        found.add((os.path.normpath(path), int(row), int(col), rest.split()[0]))
    return found


def test_select_bnl_noqa_syntax_error_and_cross_module(project):
    proc, found = flake8(project, "--select", "BNL,E999", ".")
    assert proc.returncode == 1
    expected = {
        ("step.py", 3, 12, "BNL003"),
        ("noqa_other.py", 3, 12, "BNL003"),  # a noqa for another code does not silence BNL003
        ("syntax_error.py", 2, 8, "E999"),  # flake8's own report; the plugin is not even called
        (os.path.join("pkg", "evaluate.py"), 6, 16, "BNL001"),  # facts from pkg/models.py (relative import)
        ("train.py", 7, 12, "BNL003"),  # facts from pkg/models.py (absolute import)
        ("early.py", 2, 14, "BNL002"),
        ("one_tower.py", 8, 26, "BNL004"),  # opt-in, but `--select BNL` names every BNL code
    }
    assert found == expected, proc.stdout
    # The plugin reports the same findings, at the same positions, as the bnlint command.
    assert {f for f in found if f[3] != "E999"} == {f for f in bnlint_cli(project, ".", "--select", "BNL")
                                                    if f[3] != "BNL900"}


def test_per_file_ignores_and_opt_in_rules(project):
    # BNL004 is opt-in: absent by default, shown with --extend-select, like `bnlint --extend-select`.
    proc, found = flake8(project, "--extend-select", "BNL004", "--per-file-ignores", "step.py:BNL003 train.py:BNL",
                         "step.py", "train.py", "one_tower.py", "noqa_other.py")
    assert found == {("one_tower.py", 8, 26, "BNL004"), ("noqa_other.py", 3, 12, "BNL003")}, proc.stdout
    _, default = flake8(project, "one_tower.py", "step.py")
    assert found and {f[3] for f in default if f[3].startswith("BNL")} == {"BNL003"}
    _, select_all = flake8(project, "--select", "BNL", "one_tower.py")
    assert select_all == {("one_tower.py", 8, 26, "BNL004")}  # an explicit --select BNL selects every BNL rule


def test_bnlint_config_applies_inside_flake8(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.bnlint]\nignore = ['BNL003']\n")
    write(tmp_path / "step.py", STEP_BUG)
    write(tmp_path / "models.py", MODELS)
    write(tmp_path / "evaluate.py", EVAL.replace("from .models", "from models"))
    _, found = flake8(tmp_path, "--select", "BNL", ".")
    assert found == {("evaluate.py", 6, 16, "BNL001")}
    write(tmp_path / "pyproject.toml", "[tool.bnlint]\nignore = 'BNL003'\n")
    proc, found = flake8(tmp_path, "--select", "BNL", "step.py")
    assert found == {("step.py", 1, 1, "BNL900")}
    assert "pyproject.toml: tool.bnlint.ignore: expected a list" in proc.stdout


def test_stdin_buffer_is_linted_with_the_facts_of_its_imports(project):
    # An editor sends the unsaved buffer on stdin: that text is linted, not the file on disk, and
    # the local module it imports (pkg/models.py, on disk) still tells what small_cnn builds.
    name = os.path.join("pkg", "evaluate.py")
    edited = (project / "pkg" / "evaluate.py").read_text()
    proc, found = flake8(project, "--select", "BNL", "--stdin-display-name", name, "-", stdin=edited)
    assert found == {(name, 6, 16, "BNL001")}, proc.stdout
    fixed = edited.replace("    val_loss = small_cnn(val_x, False)\n", "    val_loss = loss\n")
    assert fixed != edited
    proc, found = flake8(project, "--select", "BNL", "--stdin-display-name", name, "-", stdin=fixed)
    assert found == set(), proc.stdout


def test_flake8_exclude_and_select_without_bnl_codes(project):
    proc, found = flake8(project, "--select", "BNL", "-j", "2", "--exclude", "early.py,pkg", ".")
    assert {f[0] for f in found} == {"step.py", "noqa_other.py", "train.py", "one_tower.py"}, proc.stdout
    proc, found = flake8(project, "--select", "E9", ".")  # no BNL code selected: no BNL finding, no error
    assert {f[3] for f in found} == {"E999"}, proc.stdout
