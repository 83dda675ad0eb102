"""`bnlint inspect`: MetaGraph files and scripts, text/json output, exit codes."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from bnlint.runtime import cli
from conftest import SCRIPTS
from tf_graphs import build

pytestmark = pytest.mark.tf
v1 = tf.compat.v1
TRAINER = os.path.join(SCRIPTS, "trainer.py")


def _export(built, path, collect_train_op=True):
    with built.graph.as_default():
        if not collect_train_op:  # apply_gradients put it there
            built.graph.clear_collection(v1.GraphKeys.TRAIN_OP)
        v1.train.export_meta_graph(filename=str(path), graph=built.graph)
    return str(path)


def test_metagraph_text_and_json(tmp_path, capsys):
    meta = _export(build(updates="before"), tmp_path / "buggy.meta")
    assert cli.main([meta]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{meta}:1:1: BNL101 BN layer 'bn1': moving_mean/moving_variance never updated: none of its 4 update ops "
        "(towers 0, 1) is a dependency of train op 'train'",
        f"{meta}:1:1: BNL101 BN layer 'bn2': moving_mean/moving_variance never updated: none of its 4 update ops "
        "(towers 0, 1) is a dependency of train op 'train'",
    ]
    assert cli.main(["inspect", meta, "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert [(d["code"], d["data"]["layer"], d["severity"]) for d in payload] == [
        ("BNL101", "bn1", "error"), ("BNL101", "bn2", "error")]
    assert payload[0]["filename"] == meta and payload[0]["location"] == {"row": 1, "column": 1}


def test_metagraph_train_op_and_eval_fetch_by_name(tmp_path, capsys):
    built = build(eval_graph="training", flag="const")
    meta = _export(built, tmp_path / "eval.meta", collect_train_op=False)
    assert cli.main([meta]) == 2
    assert "no train op found" in capsys.readouterr().err
    assert cli.main([meta, "--train-op", "train", "--eval-fetch", "eval/eval_logits", "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert [(d["code"], d["severity"]) for d in payload] == [("BNL104", "error"), ("BNL104", "error")]


def test_metagraph_clean_and_info_only_exit_zero(tmp_path, capsys):
    assert cli.main([_export(build(), tmp_path / "ok.meta")]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main([_export(build(updates="tower0"), tmp_path / "info.meta")]) == 0
    assert "BNL103" in capsys.readouterr().out


def test_usage_errors(tmp_path, capsys):
    assert cli.main([]) == 2
    assert cli.main([str(tmp_path / "missing.meta")]) == 2
    (tmp_path / "junk.meta").write_bytes(b"not a metagraph")
    assert cli.main([str(tmp_path / "junk.meta")]) == 2
    assert cli.main(["--steps", "1", "--"]) == 2
    assert cli.main(["--bogus"]) == 2
    capsys.readouterr()


def test_script_mode_json(capsys):
    code = cli.main(["--devices", "2", "--steps", "2", "--format", "json", "--", TRAINER, "--bug", "eval_no_reuse"])
    out, err = capsys.readouterr()
    assert code == 1
    found = [(d["code"], d["data"]["layer"]) for d in json.loads(out)]
    assert found == [("BNL102", "eval/bn1"), ("BNL102", "eval/bn2")]
    assert "step 0 loss" in err  # the script's own output goes to stderr


def test_script_mode_crash_exits_2(capsys):
    assert cli.main(["--", os.path.join(SCRIPTS, "crash.py")]) == 2
    assert "data file missing" in capsys.readouterr().err


def test_bnlint_inspect_command_in_a_real_process():
    """The installed `bnlint` entry point dispatches `inspect` here; one real process end to end."""
    exe = os.path.join(os.path.dirname(sys.executable), "bnlint")
    if not os.path.exists(exe):
        pytest.skip("bnlint entry point not installed")
    proc = subprocess.run([exe, "inspect", "--steps", "2", "--", TRAINER, "--bug", "early_update_ops"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    codes = [line.split(": ", 1)[1].split()[0] for line in proc.stdout.splitlines()]
    assert codes == ["BNL101", "BNL107", "BNL101", "BNL107"]
    assert "mean changed" in proc.stderr  # the per-layer table


def test_import_without_tensorflow_says_what_to_install(monkeypatch):
    import importlib

    import bnlint

    monkeypatch.setitem(sys.modules, "tensorflow", None)
    for name in [m for m in sys.modules if m == "bnlint.runtime" or m.startswith("bnlint.runtime.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(bnlint, "runtime", raising=False)
    with pytest.raises(ImportError, match=r"install bnlint\[runtime\]"):
        importlib.import_module("bnlint.runtime")


def test_importing_the_package_and_its_codes_does_not_import_tensorflow():
    code = ("import sys, bnlint.runtime, bnlint.core.runtime_codes as c; "
            "assert 'tensorflow' not in sys.modules; print(' '.join(sorted(c.RUNTIME_CODES)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [f"BNL1{i:02d}" for i in range(1, 12)]  # BNL108..111: TF2/Keras


def test_metagraph_reads_tool_bnlint(tmp_path, capsys):
    meta = _export(build(batch=8), tmp_path / "small.meta")
    assert cli.main([meta]) == 1
    assert "BNL106" in capsys.readouterr().out
    (tmp_path / "pyproject.toml").write_text("[tool.bnlint]\nsmall-batch = 8\n")
    assert cli.main([meta]) == 0  # 8 is not below the project's threshold
    assert capsys.readouterr().out == ""
    assert cli.main([meta, "--small-batch", "16"]) == 1  # the flag wins over the file
    assert cli.main([meta, "--isolated"]) == 1
    capsys.readouterr()
    (tmp_path / "pyproject.toml").write_text("[tool.bnlint]\nignore = ['BNL106']\n")
    assert cli.main([meta]) == 0
    (tmp_path / "pyproject.toml").write_text("[tool.bnlint]\nsmall-batch = 'eight'\n")
    assert cli.main([meta]) == 2
    assert "tool.bnlint.small-batch" in capsys.readouterr().err
