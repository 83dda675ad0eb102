"""Rule pages, `bnlint rule`, and the generated README table / docs/rules.md staying in step."""

import os
import re
import subprocess
import sys

from bnlint.commands.cli import main
from bnlint.core.diagnostics import DOCS_URL
from bnlint.report.docs import README_END, README_START, RULES_DOC_PATH, readme_with_table, rule_table, stale_files
from bnlint.core.codes import SPECIAL_CODES
from bnlint.lint.registry import all_rules
from bnlint.core.runtime_codes import RUNTIME_CODES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_table_and_rules_doc_match_the_generator():
    # On failure: python -m bnlint.report.docs --write
    assert stale_files() == []
    proc = subprocess.run([sys.executable, "-m", "bnlint.report.docs", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_readme_block_is_replaced_and_a_stale_table_is_detected():
    readme = f"# x\n\n{README_START}\n| old |\n{README_END}\n\nafter\n"
    new = readme_with_table(readme)
    assert new.startswith("# x\n\n" + README_START + "\n\n" + rule_table())
    assert new.endswith(README_END + "\n\nafter\n") and "| old |" not in new
    assert readme_with_table(new) == new


def test_table_lists_every_rule_with_its_summary():
    table = rule_table()
    for code, rule in all_rules().items():
        row = next(line for line in table.splitlines() if line.startswith(f"| [{code}]"))
        assert rule.summary in row and rule.name in row
    for code in SPECIAL_CODES:
        assert f"| {code} |" in table


def test_rules_doc_has_an_anchor_for_every_docs_url():
    with open(RULES_DOC_PATH, encoding="utf-8") as fh:
        text = fh.read()
    assert DOCS_URL.endswith("docs/rules.md#")
    for code in list(all_rules()) + list(SPECIAL_CODES):
        assert f'<a id="{code.lower()}"></a>' in text
    # Headings are demoted one level; code examples (``# comments``) are left alone.
    assert re.search(r"^## BNL001 ", text, re.M) and not re.search(r"^# BNL", text, re.M)


def test_rule_page_sections(capsys):
    assert main(["rule", "bnl002"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("# BNL002 update-ops-gathered-too-early")
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Fix", "## Fix safety"):
        assert heading in page
    assert "```python" in page and "applied by `--fix`" in page


def test_rule_all_and_unknown(capsys):
    assert main(["rule", "--all"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("# BNL")] == list(all_rules()) + list(RUNTIME_CODES)
    assert main(["rule", "BNL999"]) == 2
    assert "unknown rule 'BNL999'" in capsys.readouterr().err
    assert main(["rule", "BNL900"]) == 0 and SPECIAL_CODES["BNL900"] in capsys.readouterr().out
    assert main(["rule"]) == 2
