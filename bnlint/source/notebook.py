"""Jupyter notebooks as Python modules: cell extraction, magic masking, positions, write-back.

A notebook is linted as one program: its code cells in order, each preceded by a boundary comment
(``#bnlint-cell:N``, N the cell's 1-based place among all cells), markdown and raw cells left out.
IPython syntax that is not Python (``%magic``, ``%%cell_magic``, ``!shell``, ``x = !cmd``,
``obj?``/``??obj``) is masked line by line into ``pass`` (or ``x = None``) carrying the original
line in a comment, so the parse works and no other line moves. This "cell text" is what the rest
of bnlint reads (prefilter, imports, cache, rules, fixes), and it carries everything needed to go
back: ``CellMap`` turns its rows into (cell, line in the cell), ``cell_sources`` splits a (fixed)
cell text back into cell sources with the magics restored.

``NotebookSource`` is the ``SourceFile`` of a notebook: ``raw`` is the notebook's JSON bytes and
``encode(cell_text)`` gives the new JSON bytes with only the changed ``source`` values replaced,
spliced into the original bytes in their original layout (so outputs, metadata, key order,
indentation, the final newline and the nbformat version stay byte for byte), checked to decode to
the old notebook with just those sources changed, and validated with ``nbformat`` when installed.
"""

from __future__ import annotations

import bisect
import json
import re
import warnings
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

from bnlint.core.diagnostics import Edit, Location
from bnlint.source.reading import SourceError, SourceFile, read_bytes

SUFFIX = ".ipynb"
_BOUNDARY = "#bnlint-cell:"
_BOUNDARY_LINE = re.compile(r"^#bnlint-cell:(\d+)$")
_MASK = "  #bnlint-magic:"  # masked line: ``<indent>pass`` + _MASK + the original line
# Cell magics whose body is Python (IPython runs it): only their first line is masked.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "memit", "mprun", "snakeviz", "pypy3"}
_HELP = re.compile(r"^\s*(?:\?{1,2}[\w.*]+|[\w.*\[\]()]+\?{1,2})\s*(?:#.*)?$")
_ASSIGN_MAGIC = re.compile(r"^(\s*[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*)=\s*[!%]")


def is_notebook(path: str) -> bool:
    return path.endswith(SUFFIX)


# --- masking ---------------------------------------------------------------------------------------


def _scan(line: str, state: List) -> None:
    """Advance ``state`` = [open triple quote or None, bracket depth] over one physical line."""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if state[0] is not None:  # inside a triple-quoted string
            if c == "\\":
                i += 2
            elif line.startswith(state[0], i):
                state[0], i = None, i + 3
            else:
                i += 1
            continue
        if c == "#":
            return
        if c in "\"'":
            if line[i:i + 3] in ('"""', "'''"):
                state[0], i = line[i:i + 3], i + 3
                continue
            i += 1
            while i < n and line[i] != c:
                i += 2 if line[i] == "\\" else 1
        elif c in "([{":
            state[1] += 1
        elif c in ")]}":
            state[1] = max(state[1] - 1, 0)
        i += 1


def _masked(line: str, indent: Optional[str] = None) -> str:
    """``line`` as ``pass`` (or ``x = None``) at its indentation, or at ``indent`` (a continuation)."""
    body = line.rstrip("\n")
    m = _ASSIGN_MAGIC.match(body) if indent is None else None
    indent = body[: len(body) - len(body.lstrip())] if indent is None else indent
    stmt = f"{m.group(1).rstrip()} = None" if m else f"{indent}pass"
    return stmt + _MASK + body + line[len(body):]


def mask_magics(source: str) -> str:
    """``source`` with IPython-only lines masked; same number of lines, other lines untouched."""
    lines = [ln for ln in re.split(r"(?<=\n)", source) if ln]
    if not lines:
        return source
    first = lines[0].lstrip()
    if first.startswith("%%"):
        name = re.match(r"%%\s*(\w*)", first).group(1)
        if name not in PYTHON_CELL_MAGICS:  # %%javascript, %%bash...: all of it, at the left margin
            return "".join(_masked(ln, "") for ln in lines)
        lines[0] = _masked(lines[0])
        start = 1
    else:
        start = 0
    state: List = [None, 0]
    continued = False  # previous line ended with a backslash
    out = lines[:start]
    masking: Optional[str] = None  # inside a magic continued with backslashes: its indentation
    for line in lines[start:]:
        body = line.rstrip("\r\n")
        at_statement = state[0] is None and state[1] == 0 and not continued
        stripped = body.lstrip()
        if masking is not None or (at_statement and (stripped.startswith(("%", "!")) or _HELP.match(body)
                                                     or _ASSIGN_MAGIC.match(body))):
            out.append(_masked(line, masking))
            if masking is None:
                masking = body[: len(body) - len(stripped)]
            if not body.endswith("\\"):
                masking = None
            continue
        out.append(line)
        _scan(body, state)
        continued = state[0] is None and body.endswith("\\")
    return "".join(out)


# --- the cell text -----------------------------------------------------------------------------------


def cell_text(cells: Sequence[Tuple[int, str]]) -> str:
    """The program of ``cells`` ((1-based cell number, source) of the code cells, in order)."""
    parts = []
    for number, source in cells:
        parts.append(f"{_BOUNDARY}{number}\n")
        masked = mask_magics(source)
        parts.append(masked if not masked or masked.endswith("\n") else masked + "\n")
    return "".join(parts)


def cell_sources(text: str) -> List[Tuple[int, str]]:
    """(cell number, cell text with magics restored) for each cell of a cell ``text``; a line
    before the first boundary belongs to the first cell (a fix inserting at the top)."""
    cells: List[Tuple[int, List[str]]] = []
    head: List[str] = []
    for line in text.splitlines(keepends=True):
        m = _BOUNDARY_LINE.match(line.rstrip("\r\n"))
        if m is not None:
            cells.append((int(m.group(1)), head))
            head = []
            continue
        if _MASK in line:
            line = line.split(_MASK, 1)[1]
        if cells:
            cells[-1][1].append(line)
        else:
            head.append(line)
    return [(n, "".join(body)) for n, body in cells]


def changed_cells(old: str, new: str) -> List[Tuple[int, str, str]]:
    """(cell number, old source, new source) of the cells that differ between two cell texts."""
    before, after = cell_sources(old), cell_sources(new)
    if [n for n, _ in before] != [n for n, _ in after]:
        raise SourceError("the fixes move code across notebook cells")
    return [(n, a, b) for (n, a), (_, b) in zip(before, after) if a != b]


@dataclass
class CellMap:
    """Rows of a cell text -> (cell number, 1-based line in the cell)."""

    starts: List[int]  # row of each boundary line
    numbers: List[int]

    @classmethod
    def of(cls, text: str) -> "CellMap":
        starts, numbers = [], []
        for row, line in enumerate(text.split("\n"), 1):
            if line.startswith(_BOUNDARY):
                m = _BOUNDARY_LINE.match(line.rstrip("\r"))
                if m is not None:
                    starts.append(row)
                    numbers.append(int(m.group(1)))
        return cls(starts, numbers)

    def position(self, row: int) -> Tuple[int, int]:
        k = bisect.bisect_right(self.starts, row) - 1
        if k < 0:
            return (self.numbers[0] if self.numbers else 1), 1
        return self.numbers[k], max(row - self.starts[k], 1)

    def start(self, cell: int) -> int:
        """The row of cell ``cell``'s boundary line: its line N is row ``start + N``."""
        return self.starts[self.numbers.index(cell)] if cell in self.numbers else 0


def _at_cell(loc: Location, cmap: CellMap) -> Location:
    _, row = cmap.position(loc.row)
    return Location(row, loc.column)


_LINE_REFS = re.compile(r"\b(lines?(?:\(s\))? )(\d+(?:(?:, | and )\d+)*)")


def cell_refs(message: str, cmap: CellMap) -> str:
    """Rules name other lines (``built at line 28``); in a notebook that is ``cell 5, line 3``."""
    def one(row: str) -> str:
        cell, line = cmap.position(int(row))
        return f"cell {cell}, line {line}"

    def refs(m) -> str:
        rows = re.split(r"(, | and )", m.group(2))
        return "".join(part if i % 2 else one(part) for i, part in enumerate(rows))
    return _LINE_REFS.sub(refs, message)


def at_cells(diags, texts: Dict[str, str]) -> list:
    """Findings with notebook positions: ``cell`` set, rows (also of fix edits and of lines the
    messages name) inside the cell."""
    maps: Dict[str, CellMap] = {}
    out = []
    for d in diags:
        text = texts.get(d.filename)
        if text is None or d.cell is not None:
            out.append(d)
            continue
        cmap = maps.get(d.filename) or maps.setdefault(d.filename, CellMap.of(text))
        if not cmap.numbers:
            out.append(d)
            continue
        cell, _ = cmap.position(d.location.row)
        fix = d.fix
        if fix is not None:
            fix = replace(fix, message=cell_refs(fix.message, cmap),
                          edits=tuple(Edit(e.content, _at_cell(e.location, cmap), _at_cell(e.end_location, cmap),
                                           cmap.position(e.location.row)[0]) for e in fix.edits))
        out.append(replace(d, cell=cell, message=cell_refs(d.message, cmap), location=_at_cell(d.location, cmap),
                           end_location=_at_cell(d.end_location, cmap), fix=fix))
    return out


# --- reading ----------------------------------------------------------------------------------------


def _decode_json(path: str, raw: bytes):
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not a Jupyter notebook: not UTF-8 JSON (byte 0x{raw[exc.start]:02x} "
                          f"at offset {exc.start})") from None
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"not a Jupyter notebook: invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                          exc.lineno, exc.colno) from None
    except RecursionError:
        raise SourceError("not a Jupyter notebook: JSON nested too deeply") from None


def _source(cell, number: int) -> str:
    src = cell.get("source", "")
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        return "".join(src)
    if isinstance(src, str):
        return src
    raise SourceError(f"not a Jupyter notebook: cell {number} has a 'source' that is neither text nor a list of lines")


def code_cells(path: str, nb) -> List[Tuple[int, str]]:
    """(cell number, source) of the code cells of a decoded notebook; SourceError if it is none."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        if isinstance(nb, dict) and "worksheets" in nb:
            raise SourceError("an nbformat 3 notebook: convert it with `jupyter nbconvert --to notebook "
                              "--nbformat 4` to lint it")
        raise SourceError("not a Jupyter notebook: the JSON has no 'cells' list")

    def table(parent, key: str) -> dict:
        value = parent.get(key) if isinstance(parent, dict) else None
        return value if isinstance(value, dict) else {}

    meta = table(nb, "metadata")
    lang = table(meta, "language_info").get("name") or table(meta, "kernelspec").get("language")
    if isinstance(lang, str) and lang.lower() not in ("python", "python3", "ipython", "ipython3"):
        return []  # an R or Julia notebook: nothing for bnlint
    out = []
    for i, cell in enumerate(nb["cells"], 1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise SourceError(f"not a Jupyter notebook: cell {i} has no 'cell_type'")
        if cell["cell_type"] == "code":
            out.append((i, _source(cell, i)))
    return out


def python_bytes(path: str, raw: bytes) -> bytes:
    """The cell text of a notebook file's bytes, UTF-8 encoded (what the analysis reads)."""
    _, nb = _decode_json(path, raw)
    return cell_text(code_cells(path, nb)).encode("utf-8", "surrogatepass")


def read_code(path: str) -> bytes:
    """What bnlint analyses of ``path``: its bytes, or for a notebook its cell text."""
    raw = read_bytes(path)
    return python_bytes(path, raw) if is_notebook(path) else raw


def read_source(path: str) -> "NotebookSource":
    return NotebookSource.of(path, read_bytes(path))


# --- writing -----------------------------------------------------------------------------------------


class NotebookSource(SourceFile):
    """A notebook as bnlint's ``SourceFile``: ``text`` is the cell text, ``raw`` the JSON bytes."""

    @classmethod
    def of(cls, path: str, raw: bytes) -> "NotebookSource":
        _, nb = _decode_json(path, raw)
        return cls(path=path, raw=raw, text=cell_text(code_cells(path, nb)), encoding="utf-8", bom=False)

    @property
    def newline(self) -> str:
        return "\n"

    def encode(self, text: str) -> bytes:
        """The notebook's JSON bytes with the cells of cell text ``text`` (SourceError when the
        result would not be the same notebook with new cell sources, or does not validate)."""
        if text == self.text:
            return self.raw
        changes = {n: new for n, _, new in changed_cells(self.text, text)}
        json_text, nb = _decode_json(self.path, self.raw)
        spans = _source_spans(json_text)
        ensure_ascii = _ascii_escapes(json_text)
        out, pos = [], 0
        for number in sorted(changes):
            if number not in spans:
                raise SourceError(f"cell {number} has no 'source' to write")
            start, end = spans[number]
            old = nb["cells"][number - 1].get("source", "")
            new = changes[number]
            if not (old if isinstance(old, str) else "".join(old)).endswith("\n") and new.endswith("\n"):
                new = new[:-1]  # Jupyter keeps no newline after a cell's last line
            out.append(json_text[pos:start])
            out.append(_render_source(json_text[start:end], new, isinstance(old, str), ensure_ascii, json_text, start))
            pos = end
            nb["cells"][number - 1]["source"] = new.splitlines(keepends=True) if isinstance(old, list) else new
        out.append(json_text[pos:])
        new_json = "".join(out)
        if json.loads(new_json) != nb:
            raise SourceError("writing the fixed cells would change more than their sources")
        _validate(new_json, json_text)
        bom = b"\xef\xbb\xbf" if self.raw.startswith(b"\xef\xbb\xbf") else b""
        return bom + new_json.encode("utf-8", "surrogatepass")


def _ascii_escapes(json_text: str) -> bool:
    """Whether the file writes non-ASCII characters as ``\\uXXXX`` (Jupyter does not; some tools do)."""
    if not json_text.isascii():
        return False
    non_ascii = r"\\u(?:00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{3})"
    return re.search(non_ascii, json_text) is not None


def _line_indent(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    line = text[start:pos]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _render_source(old: str, new: str, as_string: bool, ensure_ascii: bool, json_text: str, start: int) -> str:
    """``new`` as a JSON ``source`` value laid out like ``old`` (its text in the file at ``start``)."""
    dump = lambda s: json.dumps(s, ensure_ascii=ensure_ascii)  # noqa: E731
    if as_string:
        return dump(new)
    lines = new.splitlines(keepends=True)
    if not lines:
        return "[]"
    if "\n" not in old:  # a one-line list: ["a\n", "b"]
        sep = ", " if re.search(r",\s", old) or old.count('"') <= 2 else ","
        return "[" + sep.join(dump(s) for s in lines) + "]"
    key_indent = _line_indent(json_text, start)
    first_item = re.match(r"\[\s*\n([ \t]*)", old)
    last = re.search(r"\n([ \t]*)\]$", old)
    if first_item is not None and old.strip("[] \t\n"):
        item_indent = first_item.group(1)
    else:  # "source": [\n   ] : one step deeper than the key, the file's step being key - object
        brace = json_text.rfind("{", 0, start)
        step = len(key_indent) - len(_line_indent(json_text, brace)) or 1
        item_indent = key_indent + key_indent[:1] * step if key_indent else " " * step
    close_indent = last.group(1) if last is not None else key_indent
    return "[\n" + ",\n".join(item_indent + dump(s) for s in lines) + "\n" + close_indent + "]"


def _source_spans(text: str) -> Dict[int, Tuple[int, int]]:
    """Cell number -> (start, end) offsets of its ``source`` value in the notebook's JSON text."""
    decoder = json.JSONDecoder()
    ws = re.compile(r"[ \t\n\r]*")

    def skip(i: int) -> int:
        return ws.match(text, i).end()

    def members(i: int):
        """(key, value start, value end) of the object at ``i``; the offset after it last."""
        i = skip(i + 1)
        while text[i] != "}":
            key, i = json.decoder.scanstring(text, i + 1)
            i = skip(skip(i) + 1)  # past the colon
            end = decoder.raw_decode(text, i)[1]
            yield key, i, end
            i = skip(end)
            if text[i] == ",":
                i = skip(i + 1)

    spans: Dict[int, Tuple[int, int]] = {}
    for key, start, end in members(skip(0)):
        if key != "cells":
            continue
        spans = {}
        i, number = skip(start + 1), 0
        while text[i] != "]":
            number += 1
            cell_end = decoder.raw_decode(text, i)[1]
            if text[i] == "{":
                for k, s, e in members(i):
                    if k == "source":
                        spans[number] = (s, e)
            i = skip(cell_end)
            if text[i] == ",":
                i = skip(i + 1)
    return spans


def _validate(new_json: str, old_json: str) -> None:
    """nbformat's schema check of the new notebook (when nbformat is installed); a notebook that
    did not validate before is held to no more than that."""
    try:
        import nbformat
    except ImportError:
        return

    def check(text: str) -> None:
        with warnings.catch_warnings():  # e.g. MissingIDFieldWarning: the file's business, not the fix's
            warnings.simplefilter("ignore")
            nbformat.validate(nbformat.reads(text, as_version=nbformat.NO_CONVERT))

    try:
        check(new_json)
    except Exception as exc:  # nbformat.ValidationError, or a reader error on odd versions
        try:
            check(old_json)
        except Exception:
            return
        raise SourceError(f"the fixed notebook does not validate with nbformat: {str(exc).splitlines()[0]}") from None
