"""Rendering findings: text (flake8/ruff style) and JSON (ruff's shape)."""

from __future__ import annotations

import json
from typing import Callable, Dict, List, Sequence

from bnlint.diagnostics import Diagnostic


def render_text(diags: Sequence[Diagnostic], color: bool = False) -> str:
    lines = []
    for d in diags:
        if color:
            lines.append(
                f"\033[1m{d.filename}\033[0m\033[36m:\033[0m{d.location.row}\033[36m:\033[0m{d.location.column}"
                f"\033[36m:\033[0m \033[1;31m{d.code}\033[0m {d.message}"
            )
        else:
            lines.append(d.format_text())
    return "\n".join(lines) + ("\n" if lines else "")


def render_json(diags: Sequence[Diagnostic], color: bool = False) -> str:
    return json.dumps([d.to_json() for d in diags], indent=2) + "\n"


FORMATTERS: Dict[str, Callable[..., str]] = {"text": render_text, "json": render_json}


def statistics(diags: Sequence[Diagnostic]) -> str:
    from bnlint.registry import SPECIAL_CODES, all_rules

    counts: Dict[str, int] = {}
    fixable: Dict[str, int] = {}
    for d in diags:
        counts[d.code] = counts.get(d.code, 0) + 1
        if d.fix is not None:
            fixable[d.code] = fixable.get(d.code, 0) + 1
    rules = all_rules()
    lines: List[str] = []
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        name = rules[code].name if code in rules else SPECIAL_CODES.get(code, "")
        mark = "[*]" if fixable.get(code) else "   "
        lines.append(f"{n:>5}\t{code}\t{mark} {name}")
    return "\n".join(lines) + ("\n" if lines else "")
