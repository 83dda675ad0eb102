"""Re-parsing an edited buffer statement by statement (the language server's hot path).

libcst parses a whole module at a time, and that parse is most of a re-lint. An edit usually
touches one top-level statement, so the buffer is cut at the top-level statement boundaries that
CPython's AST gives (cheap), each piece is parsed by libcst on its own and cached by its text, and
the module is put back together from the pieces. Each piece prints back to its text (checked once
per piece), and a module prints as its header, statements and footer in order, so the assembled
module prints back to the buffer as long as the pieces agree on the module-wide defaults (the
indentation unit and the newline); when they do not, or anything is odd, the caller parses whole.
"""

from __future__ import annotations

import ast
from typing import Dict, List, Optional, Tuple

from bnlint.analysis.module_info import ModuleInfo

_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While,
             ast.With, ast.AsyncWith, ast.Try) + ((ast.Match,) if hasattr(ast, "Match") else ()) + \
            ((ast.TryStar,) if hasattr(ast, "TryStar") else ())
MAX_PIECES = 4096  # cached pieces kept per buffer (old ones are dropped when it grows past this)


def _pieces(text: str, tree: ast.Module) -> Optional[List[Tuple[str, bool]]]:
    """(text, is compound) of each top-level piece: the lines up to and including a statement's
    last line; statements sharing a line stay in one piece, trailing lines join the last one."""
    lines = text.splitlines(keepends=True)
    ends: List[Tuple[int, bool]] = []
    for node in tree.body:
        end = getattr(node, "end_lineno", None)
        if end is None:
            return None
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])
        if ends and start <= ends[-1][0]:  # `a = 1; b = 2`: one piece
            ends[-1] = (max(end, ends[-1][0]), ends[-1][1] or isinstance(node, _COMPOUND))
        else:
            ends.append((end, isinstance(node, _COMPOUND)))
    out, pos = [], 0
    for k, (end, compound) in enumerate(ends):
        stop = len(lines) if k == len(ends) - 1 else end
        out.append(("".join(lines[pos:stop]), compound))
        pos = stop
    return out


class StatementCache:
    """libcst trees (and, once asked for, node positions) of one buffer's top-level pieces, by text."""

    def __init__(self) -> None:
        from bnlint.core.node_memo import NodeMemo

        self._trees: Dict[str, object] = {}
        self._positions: Dict[str, object] = {}
        self.memo = NodeMemo()  # answers about the pieces' nodes, from one lint to the next (node_memo)

    def _piece(self, text: str):
        tree = self._trees.get(text)
        if tree is None:
            from bnlint.source.reading import _libcst_parse

            tree = _libcst_parse(text)
            if tree.code != text:
                raise ValueError("libcst does not print this piece back")
            self._trees[text] = tree
        return tree

    def positions(self, text: str):
        """PositionProvider's map for the piece ``text`` (lines counted from the piece's start)."""
        found = self._positions.get(text)
        if found is None:
            from libcst.metadata import MetadataWrapper, PositionProvider

            wrapper = MetadataWrapper(self._trees[text], unsafe_skip_copy=True)
            found = self._positions[text] = wrapper.resolve(PositionProvider)
        return found

    def info(self, text: str, tree: ast.Module, path: str, modname: str):
        """The ModuleInfo of ``text`` (which CPython compiled to ``tree``) built from its pieces, or
        None: parse it whole."""
        if "\r" in text or "\f" in text or not tree.body:
            return None
        pieces = _pieces(text, tree)
        if pieces is None:
            return None
        try:
            import libcst as cst

            parsed = [(self._piece(t), compound) for t, compound in pieces]
            indents = {m.default_indent for m, compound in parsed if compound}
            if len(indents) > 1 or not all(m.default_newline == "\n" for m, _ in parsed):
                return None
            body, header, replaced = [], list(parsed[0][0].header), {}
            for k, (m, _) in enumerate(parsed):
                stmts = list(m.body)
                if not stmts or (m.footer and k < len(parsed) - 1):
                    return None
                if k:  # the piece's own header lines lead its first statement in the whole module
                    first = stmts[0].with_changes(leading_lines=[*m.header, *stmts[0].leading_lines])
                    replaced[first] = stmts[0]
                    stmts[0] = first
                body.extend(stmts)
            last = parsed[-1][0]
            module = cst.Module(body=body, header=header, footer=last.footer, encoding=last.encoding,
                                default_indent=indents.pop() if indents else "    ", default_newline="\n",
                                has_trailing_newline=last.has_trailing_newline)
        except Exception:  # libcst's ParserSyntaxError on a piece, or anything unexpected
            return None
        if len(self._trees) > MAX_PIECES:
            keep = {t for t, _ in pieces}
            self._trees = {t: m for t, m in self._trees.items() if t in keep}
            self._positions = {t: m for t, m in self._positions.items() if t in keep}
        offsets, line = [], 0
        for t, _ in pieces:
            offsets.append((t, line))
            line += t.count("\n")
        return PieceModuleInfo(module, path, modname, text, self, offsets, replaced)


class PieceModuleInfo(ModuleInfo):
    """A ModuleInfo whose positions come from its pieces' cached maps (shifted to the buffer's
    lines), so a finding does not cost a position pass over the whole module after each edit."""

    def __init__(self, module, path: str, modname: str, text: str, cache: StatementCache,
                 offsets: List[Tuple[str, int]], replaced: dict):
        super().__init__(module, path, modname)
        self._text, self._cache, self._offsets, self._replaced = text, cache, offsets, replaced

    def position(self, node):
        from libcst.metadata import CodePosition, CodeRange

        node = self._replaced.get(node, node)
        for text, offset in self._offsets:
            found = self._cache.positions(text).get(node)
            if found is not None:
                return CodeRange(CodePosition(found.start.line + offset, found.start.column),
                                 CodePosition(found.end.line + offset, found.end.column))
        raise KeyError(node)

    def code(self) -> str:
        return self._text  # what the module prints as, without printing it
