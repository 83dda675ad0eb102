"""Source text of libcst nodes and the edit that replaces one."""

from __future__ import annotations

import libcst as cst

from bnlint.analysis.module_info import ModuleInfo
from bnlint.core.diagnostics import Edit, Location


# --- edits ----------------------------------------------------------------------------------------


def replace_node(info: ModuleInfo, node: cst.CSTNode, text: str) -> Edit:
    pos = info.position(node)
    return Edit(text, Location(pos.start.line, pos.start.column + 1), Location(pos.end.line, pos.end.column + 1))


def code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
