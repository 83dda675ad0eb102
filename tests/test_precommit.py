"""The pre-commit hooks of .pre-commit-hooks.yaml, run by real `pre-commit` from real `git commit`s.

The hooks are used as `repo: local` hooks (same id, entry arguments, types, require_serial) with
`language: system` and this interpreter's bnlint, so no network and no environment install is needed.
"""

import os
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from bn_snippets import MODELS, TRAIN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = os.path.join(ROOT, ".pre-commit-hooks.yaml")

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def manifest():
    with open(MANIFEST) as fh:
        return {hook["id"]: hook for hook in yaml.safe_load(fh)}


def test_manifest_is_valid_and_needs_no_tensorflow():
    proc = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", MANIFEST],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hooks = manifest()
    assert set(hooks) == {"bnlint", "bnlint-fix"}
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["types_or"] == ["python", "jupyter"] and "types" not in hook
        assert "additional_dependencies" not in hook
    assert "--fix" in hooks["bnlint-fix"]["entry"].split() and "--fix" not in hooks["bnlint"]["entry"].split()
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        import tomllib

        deps = tomllib.load(fh)["project"]["dependencies"]
    assert not [d for d in deps if "tensorflow" in d.lower()]  # `language: python` installs only these


def test_readme_snippets_are_valid_pre_commit_configs(tmp_path):
    with open(os.path.join(ROOT, "README.md")) as fh:
        section = fh.read().split("\n## pre-commit\n", 1)[1].split("\n## ", 1)[0]
    snippets = [block.split("```", 1)[0] for block in section.split("```yaml\n")[1:]]
    assert len(snippets) == 2
    for i, snippet in enumerate(snippets):
        path = tmp_path / f"config{i}.yaml"
        path.write_text(snippet)
        proc = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config", str(path)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        hook_ids = [h["id"] for repo in yaml.safe_load(snippet)["repos"] for h in repo["hooks"]]
        assert set(hook_ids) <= set(manifest())


def local_config(*ids):
    hooks = []
    for hook_id in ids:
        hook = manifest()[hook_id]
        program, *args = shlex.split(hook["entry"])
        assert program == "bnlint"
        hooks.append({
            "id": hook["id"], "name": hook["name"], "language": "system", "types_or": hook["types_or"],
            "require_serial": hook["require_serial"],
            "entry": " ".join(shlex.quote(a) for a in [sys.executable, "-m", "bnlint", *args]),
        })
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]})


@pytest.fixture
def repo(tmp_path):
    work = tmp_path / "repo"
    work.mkdir()
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), GIT_CONFIG_GLOBAL=os.devnull,
               GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid", NO_COLOR="1")

    def sh(*cmd, check=True):
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    sh("git", "init", "-q")
    sh(sys.executable, "-m", "pre_commit", "install")
    return work, sh


def commits(sh):
    proc = sh("git", "rev-list", "--count", "HEAD", check=False)
    return int(proc.stdout) if proc.returncode == 0 else 0


def test_commit_is_blocked_by_bnlint_then_fixed_by_bnlint_fix(repo):
    work, sh = repo
    (work / ".pre-commit-config.yaml").write_text(local_config("bnlint"))
    (work / "pkg").mkdir()
    (work / "pkg" / "__init__.py").write_text("")
    (work / "pkg" / "models.py").write_text(MODELS)
    sh("git", "add", ".")
    first = sh("git", "commit", "-q", "-m", "models")
    assert "bnlint" in first.stdout + first.stderr and commits(sh) == 1  # the hook ran and passed

    # Only train.py is staged (and passed to bnlint); what pkg/models.py builds is still known.
    (work / "train.py").write_text(TRAIN)
    sh("git", "add", "train.py")
    blocked = sh("git", "commit", "-m", "train", check=False)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0 and commits(sh) == 1
    assert "train.py:7:12: BNL003 `minimize` runs without the BN update ops" in output

    # The README's setup: bnlint-fix, then bnlint.
    (work / ".pre-commit-config.yaml").write_text(local_config("bnlint-fix", "bnlint"))
    sh("git", "add", ".pre-commit-config.yaml")
    fixing = sh("git", "commit", "-m", "train", check=False)
    output = fixing.stdout + fixing.stderr
    assert fixing.returncode != 0 and commits(sh) == 1, output  # fails: it changed files
    assert "files were modified by this hook" in output
    fixed = (work / "train.py").read_text()
    assert "with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):\n" in fixed
    sh("git", "add", "train.py")
    done = sh("git", "commit", "-m", "train")
    assert commits(sh) == 2 and "Failed" not in done.stdout + done.stderr


def test_a_staged_notebook_is_linted_and_fixed_in_its_cells(repo):
    """`types_or: [python, jupyter]`: pre-commit passes the staged .ipynb, bnlint reports at its
    cells, bnlint-fix rewrites only the fixed cell, and the notebook still is one nbformat accepts."""
    nbformat = pytest.importorskip("nbformat")
    work, sh = repo
    (work / ".pre-commit-config.yaml").write_text(local_config("bnlint"))
    shutil.copy(os.path.join(ROOT, "tests", "notebooks", "magics.ipynb"), work / "magics.ipynb")
    (work / "notes.txt").write_text("not python\n")
    sh("git", "add", ".")
    blocked = sh("git", "commit", "-m", "nb", check=False)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0 and commits(sh) == 0, output
    assert "magics.ipynb:cell 7:3:12: BNL003 `minimize` runs without the BN update ops" in output
    before = nbformat.read(str(work / "magics.ipynb"), as_version=4)
    (work / ".pre-commit-config.yaml").write_text(local_config("bnlint-fix", "bnlint"))
    sh("git", "add", ".pre-commit-config.yaml")
    fixing = sh("git", "commit", "-m", "nb", check=False)
    assert fixing.returncode != 0 and "files were modified by this hook" in fixing.stdout + fixing.stderr
    after = nbformat.read(str(work / "magics.ipynb"), as_version=4)
    nbformat.validate(after)
    changed = [k for k, (a, b) in enumerate(zip(before.cells, after.cells)) if a.source != b.source]
    assert changed == [6] and "with tf.control_dependencies(" in after.cells[6].source
    assert [c.get("outputs") for c in before.cells] == [c.get("outputs") for c in after.cells]
    sh("git", "add", "magics.ipynb")
    done = sh("git", "commit", "-m", "nb")
    assert commits(sh) == 1 and "Failed" not in done.stdout + done.stderr
