"""Reading Python files the way the interpreter would, and remembering how to write them back.

A ``SourceFile`` keeps the decoded text plus everything needed to re-encode it byte-for-byte in the
same style: encoding, BOM, dominant newline. Files bnlint cannot read become a ``SourceError``
(reported as BNL900), never an exception that stops the run.
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from dataclasses import dataclass
from typing import Union


class SourceError(Exception):
    """A file that cannot be read or decoded; the message names the reason."""


@dataclass
class SourceFile:
    path: str
    raw: bytes
    text: str
    encoding: str
    bom: bool

    @property
    def newline(self) -> str:
        crlf = self.text.count("\r\n")
        lf = self.text.count("\n") - crlf
        return "\r\n" if crlf > lf else "\n"

    def encode(self, text: str) -> bytes:
        data = text.encode(self.encoding)
        if self.bom and not data.startswith(codecs.BOM_UTF8):
            data = codecs.BOM_UTF8 + data
        return data


def decode_source(path: str, raw: bytes) -> SourceFile:
    if b"\x00" in raw:
        raise SourceError("binary file (contains NUL bytes), not Python source")
    bom = raw.startswith(codecs.BOM_UTF8)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        raise SourceError(f"cannot determine encoding: {exc}") from None
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    body = raw[len(codecs.BOM_UTF8):] if bom else raw
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(f"cannot decode as {encoding}: {exc}") from None
    return SourceFile(path=path, raw=raw, text=text, encoding=encoding, bom=bom)


def read_source(path: str) -> SourceFile:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}") from None
    return decode_source(path, raw)


# --- Python 2 tolerance -------------------------------------------------------------------------
# Much TF1 training code is still Python 2. For analysis only (never for writing) we rewrite the
# handful of Python-2-only statements into Python 3 equivalents of the same line count, so line
# numbers of findings stay right.

_PRINT_STMT = re.compile(r"^(\s*)print(?!\s*\()(\s+(?:>>\s*)?)(.*?)(\s*(#.*)?)$")
_PRINT_BARE = re.compile(r"^(\s*)print\s*(#.*)?$")
_EXCEPT_COMMA = re.compile(r"^(\s*except\s*\(?[\w.,\s]*?\)?)\s*,\s*(\w+)\s*:")
_EXEC_STMT = re.compile(r"^(\s*)exec\s+(?!\()(.*)$")
_RAISE_COMMA = re.compile(r"^(\s*raise\s+[\w.]+)\s*,\s*(.+)$")
_OCTAL = re.compile(r"(?<![\w.])0([0-7]+)[lL]?\b")
_LONG = re.compile(r"(?<![\w.])(\d+)[lL]\b")
_UR_PREFIX = re.compile(r"(?<![\w])[uU][rR](['\"])")
_BACKTICK = re.compile(r"`([^`\n]*)`")


def normalise_python2(text: str) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        m = _PRINT_BARE.match(body)
        if m:
            body = f"{m.group(1)}print()"
        else:
            m = _PRINT_STMT.match(body)
            if m and not m.group(3).startswith(("=", ".", "[")):
                args = m.group(3).rstrip()
                if m.group(2).strip().startswith(">>"):
                    args = args.split(",", 1)[1] if "," in args else ""
                body = f"{m.group(1)}print({args.rstrip(',')}){m.group(4) or ''}"
        body = _EXCEPT_COMMA.sub(r"\1 as \2:", body)
        body = _EXEC_STMT.sub(r"\1exec(\2)", body)
        body = _RAISE_COMMA.sub(r"\1(\2)", body)
        body = body.replace("<>", "!=")
        body = _OCTAL.sub(r"0o\1", body)
        body = _LONG.sub(r"\1", body)
        body = _UR_PREFIX.sub(r"r\1", body)
        body = _BACKTICK.sub(r"repr(\1)", body)
        out.append(body + end)
    return "".join(out)


def looks_like_python2(text: str) -> bool:
    return normalise_python2(text) != text


Source = Union[SourceFile, str]
