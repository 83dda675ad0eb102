"""``from layers import *`` is followed like named imports: the whole-tree run, one file with its
imports found on demand (the CLI on a single file, flake8), and ``__all__`` decides what it binds.
tests/programs/star_imports and tests/programs/named_imports are the same program both ways."""

import os
import shutil
import subprocess
import sys

from bnlint.run.paths import lint_paths
from bnlint.core.settings import Settings

PROGRAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
TWINS = ("star_imports", "named_imports")


def _key(diags):
    return sorted((os.path.basename(d.filename), d.location.row, d.code) for d in diags)


def test_whole_tree_and_single_file_find_the_same_as_named_imports():
    found = {}
    for twin in TWINS:
        whole = lint_paths([os.path.join(PROGRAMS, twin)], Settings()).diagnostics
        alone = lint_paths([os.path.join(PROGRAMS, twin, "train.py")], Settings()).diagnostics
        assert _key(whole) == _key(alone)
        found[twin] = _key(whole)
    assert found["star_imports"] == found["named_imports"] == [("train.py", 17, "BNL001"), ("train.py", 18, "BNL003")]


def test_flake8_follows_star_imports(tmp_path):
    out = {}
    for twin in TWINS:
        root = tmp_path / twin
        shutil.copytree(os.path.join(PROGRAMS, twin), root)
        proc = subprocess.run([sys.executable, "-m", "flake8", "--select", "BNL", "train.py"], cwd=root,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1, proc.stderr
        out[twin] = sorted(line.split(" ")[0] + line.split(" ")[1] for line in proc.stdout.splitlines())
    assert out["star_imports"] == out["named_imports"] and len(out["star_imports"]) == 2


def test_all_decides_what_a_star_import_binds(tmp_path):
    for twin in ("whole", "alone"):
        root = tmp_path / twin
        shutil.copytree(os.path.join(PROGRAMS, "star_imports"), root)
        layers = root / "layers.py"
        # ``__all__`` without the BN helpers: the star import does not bind them (a NameError in
        # Python); bnlint must not take `cnn` for a BN builder through them.
        layers.write_text(layers.read_text().replace('__all__ = ["conv_bn", "dense_bn", "train_step"]',
                                                     '__all__ = ["train_step"]'))
        target = root if twin == "whole" else root / "train.py"
        codes = _key(lint_paths([str(target)], Settings()).diagnostics)
        assert ("train.py", 17, "BNL001") not in codes, codes
