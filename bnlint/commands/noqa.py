"""``--add-noqa``: silence every current finding with ``# noqa: CODE`` on its line, as ruff does.

Codes merge into an existing ``# noqa: X`` directive; a bare ``# noqa`` already silences everything.
A line whose end lies inside a multi-line string, or that continues with a backslash, cannot take
a comment; such findings are skipped and reported (the noqa directive must sit on the finding's line).
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, List, Sequence, Set, Tuple

from bnlint.core.diagnostics import Diagnostic
from bnlint.source.notebook import CellMap, is_notebook
from bnlint.source.notebook import read_source as read_notebook
from bnlint.source.reading import SourceError, SourceFile, read_source

_DIRECTIVE = re.compile(r"#\s*noqa(?P<colon>:\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.I)


def uncommentable_rows(text: str) -> Set[int]:
    """Rows whose end is inside a token (multi-line string) or a backslash continuation."""
    rows: Set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.start[0] < tok.end[0] and tok.type not in (tokenize.NL, tokenize.NEWLINE):
                rows.update(range(tok.start[0], tok.end[0]))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    for row, line in enumerate(text.splitlines(), 1):
        if line.endswith("\\"):
            rows.add(row)
    return rows


def with_directive(line: str, codes: Sequence[str]) -> str:
    """``line`` (without its newline) carrying ``# noqa`` for ``codes`` plus those it had."""
    m = _DIRECTIVE.search(line)
    if m is not None and not m.group("codes"):
        return line  # bare `# noqa` covers every code
    if m is not None:
        have = [c for c in re.split(r"[,\s]+", m.group("codes").upper()) if c]
        merged = have + [c for c in codes if c not in have]
        return line[: m.start()] + "# noqa: " + ", ".join(merged) + line[m.end():]
    return line.rstrip() + "  # noqa: " + ", ".join(codes)


def add_noqa(diags: Sequence[Diagnostic]) -> Tuple[int, List[str]]:
    """Edit files in place (atomically, as ``--fix`` does); returns (directives added, lines that
    could not take one, and files that could not be written: ``"<path>: not written: <why>"``)."""
    by_file: Dict[str, Dict[int, List[str]]] = {}
    for d in diags:
        codes = by_file.setdefault(d.filename, {}).setdefault(d.location.row, [])
        if d.code not in codes:
            codes.append(d.code)
    added, skipped = 0, []
    for path, rows in by_file.items():
        try:
            src: SourceFile = read_notebook(path) if is_notebook(path) else read_source(path)
        except SourceError as exc:
            skipped.append(f"{path}: {exc}")
            continue
        lines = src.text.splitlines(keepends=True)
        blocked = uncommentable_rows(src.text)
        in_file = 0
        for row, codes in sorted(rows.items()):
            if row in blocked or not 0 < row <= len(lines):
                where = f"cell {CellMap.of(src.text).position(row)[0]}:{CellMap.of(src.text).position(row)[1]}" \
                    if is_notebook(path) else str(row)
                skipped.append(f"{path}:{where}: the line ends inside a string or continues with a backslash")
                continue
            line = lines[row - 1]
            body = line.rstrip("\r\n")
            new = with_directive(body, codes)
            if new != body:
                lines[row - 1] = new + line[len(body):]
                in_file += 1
        text = "".join(lines)
        if text != src.text:
            from bnlint.run.fixer import FixError, write_atomic

            try:  # never half-written: a temporary file and a rename; read-only files are left alone
                write_atomic(path, src.encode(text), src.raw)
            except (FixError, OSError, SourceError) as exc:
                skipped.append(f"{path}: not written: {exc}")
                continue
        added += in_file
    return added, skipped
