"""Reading Python files the way the interpreter would, and remembering how to write them back.

A ``SourceFile`` keeps the decoded text plus everything needed to re-encode it byte-for-byte in the
same style: encoding, BOM, dominant newline. Files bnlint cannot read, decode or parse become a
``SourceError`` whose message says why in the user's terms (reported as BNL900), never an
exception, hang or crash that stops the run.
"""

from __future__ import annotations

import ast
import codecs
import errno
import io
import os
import re
import stat
import sys
import threading
import tokenize
import warnings
from dataclasses import dataclass
from typing import Optional, Tuple

# Files larger than this are not analysed (libcst needs ~1 GB of memory per MB of dense code).
# Real training code is far smaller; bigger files are generated. BNLINT_MAX_FILE_SIZE overrides.
DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024
# libcst's native parser recurses once per nesting level and crashes the process (SIGSEGV) when it
# runs out of C stack; it parses on a thread with a stack large enough for anything CPython accepts.
_PARSE_STACK = 256 * 1024 * 1024
# libcst trees and bnlint's walks over them recurse a few Python frames per nesting level; code as
# deep as CPython accepts (~3000 levels) needs this much. Measured safe on the default 8 MB stack.
RECURSION_LIMIT = 10000
_CPYTHON_RECURSION_LIMIT = 1000


class SourceError(Exception):
    """A file that cannot be read, decoded or parsed; the message names the reason."""

    def __init__(self, message: str, row: int = 1, col: int = 1):
        super().__init__(message)
        self.row, self.col = row, col


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


# --- reading -------------------------------------------------------------------------------------


def max_file_size() -> int:
    try:
        return int(os.environ.get("BNLINT_MAX_FILE_SIZE", DEFAULT_MAX_FILE_SIZE))
    except ValueError:
        return DEFAULT_MAX_FILE_SIZE


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def path_problem(path: str) -> str:
    """Why ``path`` cannot be linted, for a path that is neither a readable file nor a folder."""
    if os.path.islink(path) and not os.path.exists(path):
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "symbolic link loop (the link points back to itself)"
        return f"broken symbolic link (its target {os.readlink(path)!r} does not exist)"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "no such file or directory"
    except OSError as exc:
        return f"cannot access: {exc.strerror or exc}"
    return f"{_kind(st.st_mode)}, not a Python file"


def _os_error(path: str, exc: OSError) -> SourceError:
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return SourceError(path_problem(path))
        return SourceError("file disappeared before it could be read (deleted while bnlint ran?)")
    if exc.errno == errno.ELOOP:
        return SourceError("symbolic link loop (the link points back to itself)")
    if exc.errno == errno.EISDIR:
        return SourceError("a directory, not a Python file")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return SourceError("permission denied: cannot read the file")
    return SourceError(f"cannot read file: {exc.strerror or exc}")


def read_bytes(path: str) -> bytes:
    """The file's bytes. Never blocks on a FIFO or device, never raises anything but SourceError."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait forever for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _os_error(path, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SourceError(f"{_kind(st.st_mode)}, not a Python file")
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise _os_error(path, exc) from None
    finally:
        os.close(fd)


_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+", re.M)  # PEP 263
_NEWLINE = re.compile(rb"\r\n|\r|\n")


def _position(raw: bytes, offset: int) -> Tuple[int, int]:
    """1-based (line, column) of byte ``offset``; lines end as Python's do (LF, CRLF or CR)."""
    row, line_start = 1, 0
    for m in _NEWLINE.finditer(raw, 0, offset):
        row, line_start = row + 1, m.end()
    return row, offset - line_start + 1


def decode_source(path: str, raw: bytes) -> SourceFile:
    limit = max_file_size()
    if len(raw) > limit:
        raise SourceError(f"not analysed: {len(raw) / 2**20:.1f} MB is over bnlint's {limit / 2**20:.1f} MB limit "
                          "for one file (generated code?); exclude it, or raise BNLINT_MAX_FILE_SIZE (bytes)")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SourceError("UTF-16 encoded: Python source must be UTF-8 or an ASCII-compatible declared encoding")
    if b"\x00" in raw:
        row, col = _position(raw, raw.index(b"\x00"))
        raise SourceError("binary file (contains NUL bytes), not Python source", row, col)
    bom = raw.startswith(codecs.BOM_UTF8)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        raise _encoding_error(raw, bom, str(exc)) from None
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    body = raw[len(codecs.BOM_UTF8):] if bom else raw
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        declared = encoding != "utf-8" or _CODING.search(b"\n".join(body.split(b"\n", 2)[:2])) is not None
        raise _undecodable(body, exc, encoding, declared) from None
    except LookupError:
        raise SourceError(f"declares an unknown encoding {encoding!r}") from None
    return SourceFile(path=path, raw=raw, text=text, encoding=encoding, bom=bom)


def _encoding_error(raw: bytes, bom: bool, reason: str) -> SourceError:
    """tokenize.detect_encoding's terse reasons, in words that say what to change."""
    m = re.search(r"unknown encoding(?: for [^:]+)?: (\S+)", reason)
    if m:
        return SourceError(f"declares an unknown encoding {m.group(1)!r}")
    if "encoding problem" in reason and bom:
        return SourceError("starts with a UTF-8 byte order mark but declares another encoding")
    body = raw[len(codecs.BOM_UTF8):] if bom else raw
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _undecodable(body, exc, "utf-8", declared=False)
    return SourceError(f"cannot determine encoding: {reason}")


def _undecodable(body: bytes, exc: UnicodeDecodeError, encoding: str, declared: bool) -> SourceError:
    row, col = _position(body, exc.start)
    what = f"not valid {encoding} (the encoding its coding line declares)" if declared else \
        "not valid UTF-8 and no `# -*- coding: ... -*-` line declares another encoding"
    return SourceError(f"{what}: byte 0x{body[exc.start]:02x} at line {row}, column {col}", row, col)


def read_source(path: str) -> SourceFile:
    return decode_source(path, read_bytes(path))


# --- parsing -------------------------------------------------------------------------------------


def cpython_ast(text: str) -> ast.Module:
    """CPython's AST of ``text``; SyntaxError when CPython rejects it, SourceError when it is too
    deeply nested for CPython (libcst would take minutes or crash on such code)."""
    # CPython's nesting limit scales with the recursion limit (3.11: 3x); judge with the default
    # so that what passes is what a stock interpreter runs (and what libcst parses in seconds).
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(_CPYTHON_RECURSION_LIMIT)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences etc. are not our business
            return compile(text, "<bnlint>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        if "too many nested parentheses" in (exc.msg or ""):
            raise SourceError("too deeply nested: more than 200 nested brackets, which Python itself "
                              "rejects", exc.lineno or 1, exc.offset or 1) from None
        raise
    except (RecursionError, MemoryError):
        raise SourceError("expression nesting too deep: Python's own parser gives up on this file") from None
    except ValueError as exc:  # e.g. NUL bytes in a str built by a caller
        raise SyntaxError(str(exc)) from None
    finally:
        sys.setrecursionlimit(limit)


def _cpython_verdict(text: str) -> Optional[SyntaxError]:
    """None when CPython compiles ``text``, else its SyntaxError (SourceError: see ``cpython_ast``)."""
    try:
        cpython_ast(text)
    except SyntaxError as exc:
        return exc
    return None


def _on_big_stack(fn, *args):
    box: dict = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc
        finally:
            done.set()

    old = threading.stack_size()
    try:
        threading.stack_size(_PARSE_STACK)
        worker = threading.Thread(target=run, name="bnlint-parse")
        worker.start()
    except (RuntimeError, ValueError, MemoryError):  # no threads or no such stack: parse right here
        threading.stack_size(old)
        return fn(*args)
    threading.stack_size(old)
    # Not ``worker.join()``: interrupted (Ctrl-C, the per-file time limit), CPython 3.11 marks a
    # still-running thread as stopped, so the interpreter would finalise under libcst and abort.
    # Interrupted here, the parse finishes in the background and the exit waits for it.
    done.wait()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _libcst_parse(text: str):
    import libcst as cst

    return _on_big_stack(cst.parse_module, text)


def parse_module(text: str, compiles: bool = False):
    """``(libcst.Module, python2)`` for ``text``, or SourceError with CPython's message and position.
    ``compiles``: the caller already had CPython compile ``text`` to an AST (skip doing it again).

    CPython's parser goes first: it is fast, its messages are the ones users know, and it rejects
    the nesting depths on which libcst would hang or crash. Python 2 files are analysed through a
    line-preserving Python 3 rendering (``python2=True``: findings, never fixes). Syntax newer than
    this interpreter (``type X = ...``) still gets a chance with libcst, which knows it.
    """
    import libcst as cst

    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
    verdict = None if compiles else _cpython_verdict(text)
    if verdict is None:
        try:
            return _libcst_parse(text), False
        except cst.ParserSyntaxError as exc:
            raise SourceError(f"bnlint's parser (libcst) cannot parse this valid Python: {_first_line(exc)}",
                              getattr(exc, "raw_line", 1), getattr(exc, "raw_column", 0) + 1) from None
        except RecursionError:
            raise SourceError("expression nesting too deep to analyse") from None
    rendered = normalise_python2(text)
    if rendered != text:
        try:
            if _cpython_verdict(rendered) is None:
                return _libcst_parse(rendered), True
        except (SourceError, cst.ParserSyntaxError, RecursionError):
            pass
    if not isinstance(verdict, (TabError, IndentationError)):
        try:
            return _libcst_parse(text), False
        except (cst.ParserSyntaxError, RecursionError):
            pass
    raise SourceError(f"syntax error: {verdict.msg or 'invalid syntax'}", verdict.lineno or 1, verdict.offset or 1)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


# --- Python 2 tolerance -------------------------------------------------------------------------
# Much TF1 training code is still Python 2. For analysis only (never for writing) we rewrite the
# handful of Python-2-only statements into Python 3 equivalents of the same line count, so line
# numbers of findings stay right.

# A print statement, alone or after the colon of a one-line compound statement (``else: print x``);
# its arguments may hold strings with ``#`` in them, the trailing comment may not.
_HEAD = r"""(\s*(?:(?:if|elif|else|while|for|try|except|finally|with)\b(?:[^#'"]|'[^']*'|"[^"]*")*?:\s*)?)"""
_ARGS = r"""((?:[^#'"]|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")*?)"""
_PRINT_STMT = re.compile(_HEAD + r"print(?!\s*\()(\s+(?:>>\s*)?)" + _ARGS + r"(\s*(#.*)?)$")
_PRINT_BARE = re.compile(_HEAD + r"print\s*(#.*)?$")
_EXCEPT_COMMA = re.compile(r"^(\s*except\s*\(?[\w.,\s]*?\)?)\s*,\s*(\w+)\s*:")
_EXEC_STMT = re.compile(r"^(\s*)exec\s+(?!\()(.*)$")
_RAISE_COMMA = re.compile(r"^(\s*raise\s+[\w.]+)\s*,\s*(.+)$")
_OCTAL = re.compile(r"(?<![\w.])0([0-7]+)[lL]?\b")
_LONG = re.compile(r"(?<![\w.])(0[xX][0-9a-fA-F]+|\d+)[lL]\b")
_UR_PREFIX = re.compile(r"(?<![\w])[uU][rR](['\"])")
_BACKTICK = re.compile(r"`([^`\n]*)`")
_TUPLE_LAMBDA = re.compile(r"\blambda\s*\(([\w\s,]*)\)\s*:")
_DEF_LINE = re.compile(r"^(\s*def\s+\w+\s*\()(.*)(\)\s*:.*)$")
_TUPLE_PARAM = re.compile(r"(^|,)(\s*)\(([\w\s,]+)\)")
_INDENT = re.compile(r"^[ \t]+")


def normalise_python2(text: str) -> str:
    lines = text.splitlines(keepends=True)
    # Python 2 counts a tab as up to 8 columns; Python 3 rejects indentation mixing tabs and spaces.
    indents = {m.group(0)[0] for m in map(_INDENT.match, lines) if m}
    mixed = len(indents) > 1 or any("\t" in m.group(0) and " " in m.group(0) for m in map(_INDENT.match, lines) if m)
    out = []
    for line in lines:
        body = line.rstrip("\r\n")
        end = line[len(body):]
        if mixed:
            m = _INDENT.match(body)
            if m:
                body = m.group(0).expandtabs(8) + body[m.end():]
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
        body = _TUPLE_LAMBDA.sub(r"lambda \1:", body)
        m = _DEF_LINE.match(body)
        if m and "(" in m.group(2):
            body = m.group(1) + _TUPLE_PARAM.sub(r"\1\2\3", m.group(2)) + m.group(3)
        out.append(body + end)
    return "".join(out)
