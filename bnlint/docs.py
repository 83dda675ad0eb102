"""Rule pages (`bnlint rule CODE`, `bnlint rule --all`) and the README rule table, from one source."""

from __future__ import annotations

import sys
from typing import List, Sequence

from bnlint.registry import SPECIAL_CODES, all_rules


def rule_table() -> str:
    """Markdown table of every rule; the README embeds exactly this (a test checks it)."""
    rows = ["| Code | Name | What goes wrong | Default | Fix |", "|---|---|---|---|---|"]
    for code, rule in all_rules().items():
        default = "on" if rule.default_enabled else f"opt-in ({rule.severity})"
        fix = rule.fix_safety or "-"
        rows.append(f"| {code} | {rule.name} | {rule.summary} | {default} | {fix} |")
    for code, text in SPECIAL_CODES.items():
        rows.append(f"| {code} | - | {text} | on | - |")
    return "\n".join(rows) + "\n"


def rule_command(argv: Sequence[str]) -> int:
    rules = all_rules()
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: bnlint rule CODE | bnlint rule --all")
        return 0 if argv else 2
    if argv[0] == "--all":
        pages: List[str] = [rule.page() for rule in rules.values()]
        print("\n\n".join(pages))
        return 0
    code = argv[0].upper()
    if code not in rules:
        print(f"bnlint: error: unknown rule {argv[0]!r} (known: {', '.join(rules)})", file=sys.stderr)
        return 2
    print(rules[code].page())
    return 0
