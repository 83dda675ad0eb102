"""Building blocks for the rules' fixes: text edits computed from libcst positions.

A fix is a list of ``Edit``s on the original source, so every byte outside them stays as it was
(comments, blank lines, quoting, line endings). The helpers here answer the questions every fix
has: which TF alias to write (``tf``, ``tf1``, ``tf.compat.v1``), how a statement is indented,
which line ending it uses, which statements enclose a node, and how to wrap lines in a ``with``
block or move a statement without breaking indentation-sensitive text (multi-line strings).
"""

from __future__ import annotations

import re
import weakref
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import libcst as cst

from bnlint.analysis.module_info import ModuleInfo, dotted
from bnlint.source.cstwalk import find, iter_children, walk
from bnlint.core.diagnostics import Edit, Location

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
# API names that exist only in the v1 API: the prefix a module uses for these is the one a fix
# must use (``tf.get_collection`` is gone from TF2's ``tf`` namespace).
_V1_ONLY = {
    "layers", "get_collection", "GraphKeys", "variable_scope", "get_variable_scope", "AUTO_REUSE",
    "train", "placeholder", "placeholder_with_default", "Session", "ConfigProto", "get_variable",
    "global_variables_initializer", "variance_scaling_initializer", "set_random_seed",
    "disable_eager_execution", "disable_v2_behavior", "make_template", "losses", "summary",
    "get_collection_ref", "add_to_collection", "trainable_variables", "global_variables",
}

_cache: "weakref.WeakKeyDictionary[ModuleInfo, dict]" = weakref.WeakKeyDictionary()


def _memo(info: ModuleInfo) -> dict:
    memo = _cache.get(info)
    if memo is None:
        memo = _cache[info] = {}
    return memo


# --- lines -----------------------------------------------------------------------------------------


def lines(info: ModuleInfo) -> List[str]:
    """The module's lines with their own line endings (rows are 1-based: ``lines(info)[row - 1]``)."""
    memo = _memo(info)
    if "lines" not in memo:
        memo["lines"] = _LINE.findall(info.code())
    return memo["lines"]


def split_lines(text: str) -> List[str]:
    return _LINE.findall(text)


def body_of(line: str) -> str:
    return line.rstrip("\r\n")


def ending_of(info: ModuleInfo, line: str) -> str:
    end = line[len(body_of(line)):]
    return end or info.module.default_newline


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def rows(info: ModuleInfo, node: cst.CSTNode) -> Tuple[int, int]:
    """First and last row of a node (statements: without their leading comment lines)."""
    pos = info.position(node)
    end = pos.end.line
    if pos.end.column == 0 and end > pos.start.line:
        end -= 1
    return pos.start.line, end


def has_multiline_string(info: ModuleInfo, node: cst.CSTNode) -> bool:
    """Whether re-indenting the node's lines would change a string's value."""
    for s in find(node, (cst.SimpleString, cst.FormattedString)):
        pos = info.position(s)
        if pos.start.line != pos.end.line:
            return True
    return False


# --- the module's TF alias ---------------------------------------------------------------------------


def tf_prefix(info: ModuleInfo) -> Optional[str]:
    """How this module spells the TF1 API root: ``tf``, ``tf1``, ``tf.compat.v1``...

    The prefix the module already uses for v1-only names wins (so a TF2 module written with
    ``tf.compat.v1.layers`` gets ``tf.compat.v1.get_collection``); otherwise its most common TF
    prefix. None when the module never names TensorFlow (a fix would need a new import).
    """
    memo = _memo(info)
    if "tf_prefix" in memo:
        return memo["tf_prefix"]
    from bnlint.core.node_memo import memoised

    # The module's counts are the sums of its top-level statements' (in the walk's order: the
    # last statement first), each a function of the statement and the import names alone.
    kind = ("tf_prefix", tuple(sorted(info.aliases.items())), tuple(sorted(info.local_imports.items())))
    replaced = getattr(info, "_replaced", {})  # reparse.PieceModuleInfo: a piece's first statement as cached
    v1: Counter = Counter()
    other: Counter = Counter()
    for stmt in reversed(info.module.body):
        s_v1, s_other = memoised(kind, replaced.get(stmt, stmt), lambda node: _prefix_counts(info, node))
        v1.update(s_v1)
        other.update(s_other)
    best = v1.most_common(1) or other.most_common(1)
    memo["tf_prefix"] = best[0][0] if best else None
    return memo["tf_prefix"]


def _prefix_counts(info: ModuleInfo, root: cst.CSTNode) -> Tuple[Counter, Counter]:
    v1: Counter = Counter()
    other: Counter = Counter()
    stack: List[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        name = dotted(node) if isinstance(node, cst.Attribute) else None
        canonical = info.resolve(node) if name else None
        if not canonical or not canonical.startswith("tf."):
            stack.extend(iter_children(node))
            continue
        rest = canonical.split(".")[1:]
        parts = name.split(".")
        if len(parts) <= len(rest) or parts[len(parts) - len(rest):] != rest:
            continue
        prefix = ".".join(parts[: len(parts) - len(rest)])
        head = info.aliases.get(prefix.split(".")[0], "")
        if not head.startswith("tensorflow") and prefix.split(".")[0] != "tf":
            continue  # e.g. ``ops.GraphKeys`` from tensorflow.python.framework
        (v1 if rest[0] in _V1_ONLY else other)[prefix] += 1
    return v1, other


def update_ops_expr(prefix: str) -> str:
    return f"{prefix}.get_collection({prefix}.GraphKeys.UPDATE_OPS)"


# --- where a node sits -----------------------------------------------------------------------------------


def parents(info: ModuleInfo) -> Dict[int, cst.CSTNode]:
    memo = _memo(info)
    if "parents" not in memo:
        memo["parents"] = {id(child): node for node in walk(info.module) for child in iter_children(node)}
    return memo["parents"]


def statement_chain(info: ModuleInfo, node: cst.CSTNode, stop: Optional[cst.CSTNode] = None) -> List[cst.CSTNode]:
    """The statements enclosing ``node`` (itself included when it is one), outermost first, below
    ``stop`` (a FunctionDef or the Module)."""
    up = parents(info)
    chain = []
    cur: Optional[cst.CSTNode] = node
    while cur is not None and cur is not stop:
        if isinstance(cur, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            chain.append(cur)
        cur = up.get(id(cur))
    return list(reversed(chain))


def block_statements(info: ModuleInfo, stmt: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """The statement list ``stmt`` belongs to."""
    parent = parents(info).get(id(stmt))
    if isinstance(parent, (cst.Module, cst.IndentedBlock)):
        return parent.body
    return ()


def is_single_statement_line(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1


# --- edits -------------------------------------------------------------------------------------------------


def wrap_rows(info: ModuleInfo, first: int, last: int, header: str, indent: Optional[str] = None) -> Edit:
    """Put rows ``first..last`` inside ``<header>:`` one indentation level deeper.

    The header goes at the indentation of ``first`` (or ``indent``); blank lines keep their text.
    The last row's line ending is left out of the edit, so it is untouched.
    """
    src = lines(info)
    unit = info.module.default_indent
    head_line = src[first - 1]
    ind = indent_of(head_line) if indent is None else indent
    out = [ind + header + ":" + ending_of(info, head_line)]
    for row in range(first, last + 1):
        line = src[row - 1]
        text = body_of(line)
        end = line[len(text):] if row < last else ""
        out.append((unit + text if text.strip() else text) + end)
    return Edit("".join(out), Location(first, 1), Location(last, len(body_of(src[last - 1])) + 1))


def wrap_statement(info: ModuleInfo, stmt: cst.CSTNode, header: str) -> Optional[Edit]:
    """``with ...:`` around one statement; None when re-indenting it would change a string."""
    if has_multiline_string(info, stmt):
        return None
    first, last = rows(info, stmt)
    return wrap_rows(info, first, last, header)


def wrap_block(info: ModuleInfo, block: cst.BaseSuite, header: str) -> Optional[Edit]:
    """``with ...:`` around every statement of an indented block (a loop body)."""
    if not isinstance(block, cst.IndentedBlock) or not block.body or has_multiline_string(info, block):
        return None
    first_stmt, last_stmt = block.body[0], block.body[-1]
    first = comment_rows_above(info, first_stmt)  # its comment lines go inside too
    src = lines(info)
    last = rows(info, last_stmt)[1]
    return wrap_rows(info, first, last, header, indent=indent_of(src[rows(info, first_stmt)[0] - 1]))


def insert_keyword(info: ModuleInfo, call: cst.Call, keyword: str, value: str) -> Edit:
    """Add ``keyword=value`` as the call's last argument (right after the current last one)."""
    if call.args:
        end = info.position(call.args[-1]).end  # the Arg: a parenthesised value ends after its ")"
        text = f", {keyword}={value}"
    else:
        end = info.position(call).end
        end = type(end)(end.line, end.column - 1)  # before ")"
        text = f"{keyword}={value}"
    return Edit(text, Location(end.line, end.column + 1), Location(end.line, end.column + 1))


def comment_rows_above(info: ModuleInfo, stmt: cst.CSTNode) -> int:
    """First row of the comment lines directly above ``stmt`` (no blank line between), which belong
    with it when it moves; its own first row when there are none."""
    first = rows(info, stmt)[0]
    for line in reversed(getattr(stmt, "leading_lines", ())):
        if line.comment is None:
            break
        first -= 1
    return first


def reindent(text_lines: Sequence[str], old: str, new: str) -> List[str]:
    out = []
    for line in text_lines:
        if line.startswith(old) and body_of(line).strip():
            out.append(new + line[len(old):])
        else:
            out.append(line)
    return out


def move_rows_edits(info: ModuleInfo, first: int, last: int, before_row: int, keep: bool = False) -> List[Edit]:
    """Move rows ``first..last`` (a statement and its comments) to just above ``before_row``,
    re-indented to that row's indentation. ``keep``: copy instead of move."""
    src = lines(info)
    moved = [src[r - 1] for r in range(first, last + 1)]
    target = src[before_row - 1]
    moved = reindent(moved, indent_of(src[first - 1]), indent_of(target))
    if not moved[-1].endswith(("\n", "\r")):
        moved[-1] += ending_of(info, target)
    edits = [Edit("".join(moved), Location(before_row, 1), Location(before_row, 1))]
    if not keep:
        end_row = last + 1
        # Do not leave two blank lines where the statement was between two blank lines.
        if first > 1 and last < len(src) and not body_of(src[first - 2]).strip() and not body_of(src[last]).strip():
            end_row += 1
        if end_row > before_row:
            end_row = before_row
        edits.append(Edit("", Location(first, 1), Location(end_row, 1)))
    return sorted(edits, key=lambda e: (e.location, e.end_location))
