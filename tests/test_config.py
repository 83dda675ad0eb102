"""[tool.bnlint] configuration: discovery, every key, flags on top, and clear errors (exit 2)."""

import os
import subprocess
import sys
import textwrap

import pytest

from bnlint.commands.cli import main
from bnlint.run.config import KEYS, find_config, load_settings
from bn_snippets import ONE_TOWER, STEP_BUG

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(textwrap.dedent(text))
    return str(path)


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def codes_in(out):
    return sorted({line.split()[1] for line in out.splitlines() if ": BNL" in line})


def test_nearest_table_wins_and_tables_without_bnlint_are_passed_over(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.bnlint]\nignore = ['BNL003']\n")
    write(tmp_path / "proj" / "pyproject.toml", "[project]\nname = 'x'\n")  # no [tool.bnlint]
    src = write(tmp_path / "proj" / "pkg" / "train.py", STEP_BUG)
    assert find_config([src]) == str(tmp_path / "pyproject.toml")
    settings = load_settings([src])
    assert settings.ignore == ["BNL003"] and settings.root == str(tmp_path)
    write(tmp_path / "proj" / "pyproject.toml", "[tool.bnlint]\nsmall-batch = 8\n")
    assert find_config([src]) == str(tmp_path / "proj" / "pyproject.toml")
    assert load_settings([src]).small_batch == 8 and load_settings([src]).ignore == []


def test_every_documented_key_is_accepted(tmp_path):
    cfg = write(tmp_path / "pyproject.toml", """\
        [tool.bnlint]
        select = ["BNL00"]
        extend-select = ["BNL004"]
        ignore = ["BNL002"]
        extend-ignore = ["BNL001"]
        exclude = ["generated"]
        extend-exclude = ["legacy"]
        unsafe-fixes = true
        small-batch = 4
        momentum-steps = 1000
        [tool.bnlint.per-file-ignores]
        "tests/*" = ["BNL003"]
        """)
    s = load_settings([], cfg)
    assert (s.select, s.extend_select, sorted(s.ignore)) == (["BNL00"], ["BNL004"], ["BNL001", "BNL002"])
    assert (s.exclude, s.extend_exclude, s.unsafe_fixes, s.small_batch, s.momentum_steps) == (
        ["generated"], ["legacy"], True, 4, 1000)
    assert s.per_file_ignores == {"tests/*": ["BNL003"]}
    assert set(KEYS) >= {"select", "ignore", "extend-select", "per-file-ignores", "exclude", "unsafe-fixes", "small-batch"}


def test_config_drives_the_cli_and_flags_override_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "pyproject.toml", "[tool.bnlint]\nignore = ['BNL003']\nextend-select = ['BNL004']\n")
    write(tmp_path / "step.py", STEP_BUG)
    write(tmp_path / "towers.py", ONE_TOWER)
    code, out, _ = run(["."], capsys)
    assert codes_in(out) == ["BNL004"]
    assert code == 0  # BNL004 is info: shown, not failing
    # A command-line --select starts afresh (config ignore and extend-select no longer apply).
    code, out, _ = run([".", "--select", "BNL003"], capsys)
    assert (code, codes_in(out)) == (1, ["BNL003"])
    # --ignore on the command line adds to the configured ignore list.
    code, out, _ = run([".", "--ignore", "BNL004"], capsys)
    assert (code, codes_in(out)) == (0, [])
    # --isolated: no configuration at all (defaults: BNL003 on, BNL004 off).
    code, out, _ = run([".", "--isolated"], capsys)
    assert (code, codes_in(out)) == (1, ["BNL003"])
    # --config names the file explicitly.
    other = write(tmp_path / "elsewhere" / "cfg.toml", "[tool.bnlint]\nselect = ['BNL004']\n")
    code, out, _ = run([".", "--config", other], capsys)
    assert codes_in(out) == ["BNL004"]


def test_per_file_ignores_are_relative_to_the_config(tmp_path, capsys, monkeypatch):
    write(tmp_path / "pyproject.toml", "[tool.bnlint.per-file-ignores]\n\"scripts/*.py\" = [\"BNL003\"]\n")
    write(tmp_path / "scripts" / "exp.py", STEP_BUG)
    write(tmp_path / "train.py", STEP_BUG)
    monkeypatch.chdir(tmp_path / "scripts")  # run from a subfolder: patterns stay anchored at the config
    code, out, _ = run([str(tmp_path)], capsys)
    assert [os.path.basename(line.split(":")[0]) for line in out.splitlines()] == ["train.py"]
    assert code == 1


def test_exclude_and_force_exclude(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "pyproject.toml", "[tool.bnlint]\nextend-exclude = ['legacy']\n")
    write(tmp_path / "legacy" / "old.py", STEP_BUG)
    write(tmp_path / "build" / "gen.py", STEP_BUG)  # default excludes still apply with extend-exclude
    write(tmp_path / "train.py", STEP_BUG)
    code, out, _ = run(["."], capsys)
    assert [line.split(":")[0] for line in out.splitlines()] == ["./train.py"]
    # A file named on the command line is linted unless --force-exclude (what pre-commit uses).
    code, out, _ = run(["legacy/old.py"], capsys)
    assert code == 1 and "legacy/old.py" in out
    code, out, _ = run(["legacy/old.py", "train.py", "--force-exclude"], capsys)
    assert code == 1 and "legacy/old.py" not in out and "train.py" in out
    # exclude replaces the defaults.
    write(tmp_path / "pyproject.toml", "[tool.bnlint]\nexclude = ['legacy']\n")
    code, out, _ = run(["."], capsys)
    assert sorted(line.split(":")[0] for line in out.splitlines()) == ["./build/gen.py", "./train.py"]
    # The command-line flags act like the keys, on top of the file: --extend-exclude adds,
    # --exclude replaces (the file's and the defaults).
    code, out, _ = run([".", "--extend-exclude", "train.py,other"], capsys)
    assert [line.split(":")[0] for line in out.splitlines()] == ["./build/gen.py"]
    code, out, _ = run([".", "--exclude", "build"], capsys)
    assert sorted(line.split(":")[0] for line in out.splitlines()) == ["./legacy/old.py", "./train.py"]


BROKEN = [
    ("select = [\"BNL001\"\n", "invalid TOML"),
    ("selcet = [\"BNL001\"]\n", "unknown key 'selcet'"),
    ("extend_select = [\"BNL004\"]\n", "did you mean 'extend-select'"),
    ("ignore = \"BNL001\"\n", "tool.bnlint.ignore: expected a list"),
    ("small-batch = \"16\"\n", "tool.bnlint.small-batch: expected a non-negative integer"),
    ("unsafe-fixes = 1\n", "tool.bnlint.unsafe-fixes: expected true or false"),
    ("select = [\"BNL999\"]\n", "tool.bnlint.select: unknown rule code 'BNL999'"),
    ("[tool.bnlint.per-file-ignores]\n\"a.py\" = [\"E501\"]\n", "per-file-ignores.'a.py': unknown rule code 'E501'"),
]


@pytest.mark.parametrize("body,message", BROKEN, ids=[m for _, m in BROKEN])
def test_broken_config_names_key_and_file_and_exits_2(tmp_path, capsys, body, message):
    header = "" if body.startswith("[") else "[tool.bnlint]\n"
    cfg = write(tmp_path / "pyproject.toml", header + body)
    write(tmp_path / "train.py", STEP_BUG)
    with pytest.raises(ValueError) as exc:
        load_settings([str(tmp_path / "train.py")])
    assert message in str(exc.value) and cfg in str(exc.value)
    code, out, err = run([str(tmp_path / "train.py")], capsys)
    assert code == 2 and out == ""
    assert err.startswith("bnlint: error: ") and message in err and cfg in err


def test_broken_config_exit_code_of_the_real_command(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.bnlint]\nselect = 'BNL001'\n")
    write(tmp_path / "train.py", STEP_BUG)
    proc = subprocess.run([sys.executable, "-m", "bnlint", "train.py"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "pyproject.toml: tool.bnlint.select: expected a list" in proc.stderr


def test_the_readme_example_is_a_valid_configuration(tmp_path):
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")) as fh:
        section = fh.read().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = write(tmp_path / "pyproject.toml", example)
    s = load_settings([], cfg)
    assert s.extend_select == ["BNL004"] and s.per_file_ignores == {"scripts/*.py": ["BNL003"]}


def test_missing_explicit_config_is_an_error(tmp_path, capsys):
    code, _, err = run([str(tmp_path), "--config", str(tmp_path / "nope.toml")], capsys)
    assert code == 2 and "nope.toml: configuration file not found" in err
