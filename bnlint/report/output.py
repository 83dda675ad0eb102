"""Rendering findings: text (flake8/ruff style), JSON (ruff's shape), ruff's grouped style, GitHub
workflow annotations and SARIF 2.1.0 (GitHub code scanning)."""

from __future__ import annotations

import json
import os
from typing import Callable, Dict, List, Sequence
from urllib.parse import quote
from urllib.request import pathname2url

from bnlint import __version__
from bnlint.core.diagnostics import DOCS_URL, Diagnostic

_BOLD, _RESET, _CYAN, _RED = "\033[1m", "\033[0m", "\033[36m", "\033[1;31m"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{_RESET}" if color else text


def _fix_mark(d: Diagnostic) -> str:
    return "[*] " if d.fix is not None and d.fix.applicability == "safe" else ""


def render_text(diags: Sequence[Diagnostic], color: bool = False) -> str:
    lines = []
    for d in diags:
        if color:
            sep = _paint(":", _CYAN, True)
            cell = "" if d.cell is None else f"cell {d.cell}{sep}"
            lines.append(
                f"{_paint(d.filename, _BOLD, True)}{sep}{cell}{d.location.row}{sep}{d.location.column}{sep} "
                f"{_paint(d.code, _RED, True)} {d.message}{d.see_also()}"
            )
        else:
            lines.append(d.format_text())
    return "\n".join(lines) + ("\n" if lines else "")


def render_json(diags: Sequence[Diagnostic], color: bool = False) -> str:
    return json.dumps([d.to_json() for d in diags], indent=2) + "\n"


def render_grouped(diags: Sequence[Diagnostic], color: bool = False) -> str:
    """ruff's ``grouped`` style: the file name once, then ``row:col CODE [*] message`` per finding."""
    by_file: Dict[str, List[Diagnostic]] = {}
    for d in diags:
        by_file.setdefault(d.filename, []).append(d)
    out: List[str] = []
    for filename, group in by_file.items():
        out.append(_paint(filename, _BOLD, color) + _paint(":", _CYAN, color))
        row_w = max(len(str(d.location.row)) for d in group)
        col_w = max(len(str(d.location.column)) for d in group)
        for d in group:
            pos = f"{str(d.location.row).rjust(row_w)}{_paint(':', _CYAN, color)}{str(d.location.column).ljust(col_w)}"
            if d.cell is not None:
                pos = f"cell {d.cell}{_paint(':', _CYAN, color)}{pos}"
            out.append(f"  {pos} {_paint(d.code, _RED, color)} {_fix_mark(d)}{d.message}{d.see_also()}")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


_GH_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def render_github(diags: Sequence[Diagnostic], color: bool = False) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on the pull request."""
    lines = []
    for d in diags:
        end = d.end_location or d.location
        props = [
            f"title={_gh_escape('bnlint (' + d.code + ')', True)}",
            f"file={_gh_escape(d.filename, True)}",
            f"line={d.location.row}",
            f"col={d.location.column}",
            f"endLine={end.row}",
            f"endColumn={end.column}",
        ]
        msg = d.format_text()
        lines.append(f"::{_GH_LEVEL.get(d.severity, 'error')} {','.join(props)}::{_gh_escape(msg)}")
    return "\n".join(lines) + ("\n" if lines else "")


# --- SARIF 2.1.0 --------------------------------------------------------------------------------

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _artifact(filename: str) -> dict:
    """Paths under the working directory stay relative to %SRCROOT% (what code scanning expects)."""
    absolute = os.path.abspath(filename)
    rel = os.path.relpath(absolute)
    if rel.startswith(".."):
        return {"uri": "file://" + pathname2url(absolute)}
    return {"uri": quote(rel.replace(os.sep, "/")), "uriBaseId": "%SRCROOT%"}


def _region(start, end) -> dict:
    region = {"startLine": start.row, "startColumn": start.column}
    if end is not None and (end.row, end.column) >= (start.row, start.column):
        region.update(endLine=end.row, endColumn=end.column)
    return region


def _sarif_rules() -> List[dict]:
    from bnlint.core.codes import SPECIAL_CODES
    from bnlint.lint.registry import all_rules

    rules = []
    for code, rule in all_rules().items():
        rules.append({
            "id": code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": " ".join((rule.__doc__ or rule.summary).split())},
            "help": {"text": rule.summary, "markdown": rule.page()},
            "helpUri": DOCS_URL + code.lower(),
            "defaultConfiguration": {"level": _SARIF_LEVEL.get(rule.severity, "error"), "enabled": rule.default_enabled},
            "properties": {"fixSafety": rule.fix_safety or "none", "tags": ["batch-normalization", "tensorflow"]},
        })
    for code, text in SPECIAL_CODES.items():
        rules.append({
            "id": code,
            "shortDescription": {"text": text},
            "helpUri": DOCS_URL + code.lower(),
            "defaultConfiguration": {"level": "error"},
        })
    return rules


def _sarif_fix(d: Diagnostic) -> dict:
    return {
        "description": {"text": f"{d.fix.message} ({d.fix.applicability})"},
        "artifactChanges": [{
            "artifactLocation": _artifact(d.filename),
            "replacements": [
                {"deletedRegion": _region(e.location, e.end_location), "insertedContent": {"text": e.content}}
                for e in d.fix.edits
            ],
        }],
    }


def sarif_log(diags: Sequence[Diagnostic]) -> dict:
    rules = _sarif_rules()
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for d in diags:
        result = {
            "ruleId": d.code,
            "level": _SARIF_LEVEL.get(d.severity, "error"),
            "message": {"text": d.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": _artifact(d.filename),
                "region": _region(d.location, d.end_location),
            }}],
        }
        if d.related:
            result["relatedLocations"] = [{
                "id": i,
                "message": {"text": r.message},
                "physicalLocation": {"artifactLocation": _artifact(r.filename), "region": _region(r.location, r.location)},
            } for i, r in enumerate(d.related)]
        if d.cell is not None:  # a notebook: the region's lines are lines of this cell
            result["locations"][0]["properties"] = {"cell": d.cell}
            result["locations"][0]["logicalLocations"] = [{"name": f"cell {d.cell}", "kind": "notebookCell"}]
        if d.code in index:
            result["ruleIndex"] = index[d.code]
        if d.fix is not None and d.fix.edits and d.cell is None:  # a cell's lines are not the .ipynb's
            result["fixes"] = [_sarif_fix(d)]
        results.append(result)
    cwd = pathname2url(os.path.abspath(os.getcwd()))
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "bnlint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": DOCS_URL.split("/blob/")[0],
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "file://" + cwd.rstrip("/") + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render_sarif(diags: Sequence[Diagnostic], color: bool = False) -> str:
    return json.dumps(sarif_log(diags), indent=2) + "\n"


FORMATTERS: Dict[str, Callable[..., str]] = {
    "text": render_text,
    "json": render_json,
    "grouped": render_grouped,
    "github": render_github,
    "sarif": render_sarif,
}


def render_available_fixes(diags: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """``--show-fixes`` without ``--fix``: what ``--fix`` would do, per finding."""
    fixes = [d for d in diags if d.fix is not None]
    if not fixes:
        return ""
    lines = ["Available fixes:"]
    for d in fixes:
        applies = d.fix.applicability == "safe" or unsafe_fixes
        how = "--fix" if d.fix.applicability == "safe" else "--fix --unsafe-fixes"
        mark = "[*]" if applies else "[ ]"
        lines.append(f"  {mark} {d.filename}:{d.position_text()}: {d.code} {d.fix.message}"
                     f" ({d.fix.applicability}; {how})")
    return "\n".join(lines) + "\n"


def statistics(diags: Sequence[Diagnostic]) -> str:
    from bnlint.core.codes import SPECIAL_CODES
    from bnlint.lint.registry import all_rules

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
