"""Applying text edits (positions from libcst: 1-based rows and columns) to a module's text."""

from __future__ import annotations

from typing import List, Sequence

from bnlint.core.diagnostics import Edit, Location
from bnlint.fix.edits import split_lines


class FixError(Exception):
    """A file's fixes failed a check; the file is left as it was."""


def _offsets(text: str) -> List[int]:
    starts, pos = [0], 0
    for line in split_lines(text):
        pos += len(line)
        starts.append(pos)
    return starts


def _offset(starts: List[int], text: str, loc: Location) -> int:
    if not 1 <= loc.row <= len(starts):
        raise FixError(f"edit position {loc.row}:{loc.column} is outside the file")
    off = starts[loc.row - 1] + loc.column - 1
    line_end = starts[loc.row] if loc.row < len(starts) else len(text)
    if loc.column < 1 or off > line_end:
        raise FixError(f"edit position {loc.row}:{loc.column} is outside its line")
    return off


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply non-overlapping edits (positions refer to ``text``)."""
    starts = _offsets(text)
    spans = sorted(((_offset(starts, text, e.location), _offset(starts, text, e.end_location), e.content)
                    for e in edits), key=lambda s: (s[0], s[1]))
    out, pos = [], 0
    for start, end, content in spans:
        if start < pos or end < start:
            raise FixError("overlapping edits")
        out.append(text[pos:start])
        out.append(content)
        pos = end
    out.append(text[pos:])
    return "".join(out)
