"""``bnlint server``: a language server over stdio (pygls/lsprotocol, the ``lsp`` extra).

Diagnostics on open, save and change (changes debounced); an unsaved buffer is linted as its text
with the facts of the local modules it imports, read from disk (``bnlint.run.single_file``, as the
flake8 plugin does), re-parsing only the top-level statements an edit touched (``bnlint.analysis.reparse``)
and keeping what is known of the unchanged ones (``bnlint.core.node_memo``). Garbage is collected by the
work's rhythm, not in the middle of a re-lint (``gc_pause.IdleCollector``).
Code actions: each finding's fix (``quickfix``; unsafe fixes say so in the title and are never
preferred), ``# noqa`` for the line, and ``source.fixAll.bnlint`` (every safe fix of the file, to
fixpoint, through the CLI's fixer). Hover on a finding shows its rule's page.
Settings come from the ``[tool.bnlint]`` nearest to the file (as the CLI reads them), else from
the workspace root's. Notebooks arrive as LSP notebook documents; their code cells are linted as
one program (``bnlint.source.notebook``) and each finding is published on its cell.

Positions: bnlint's rows/columns (1-based, code points) become the LSP positions of the
encoding pygls negotiated with the client (UTF-16 unless the client offers another).
"""

from __future__ import annotations

import asyncio
import difflib
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from bnlint import __version__
from bnlint.core.diagnostics import Diagnostic, Edit, Location
from bnlint.core.gc_pause import IdleCollector, gc_paused
from bnlint.source.notebook import CellMap, NotebookSource, cell_refs, cell_text, changed_cells
from bnlint.analysis.reparse import StatementCache
from bnlint.core.settings import Settings

# Seconds after the last change before linting (initializationOptions.debounce, in ms). It only has to
# merge the changes an editor sends together (a paste, a multi-cursor edit, an undo, format-on-type:
# a few ms apart); keystrokes come 60 ms or more apart, and a re-lint that a keystroke makes stale
# costs some 30 ms of CPU (benchmarks/lsp_latency.py), so a longer wait would only delay the answer.
DEBOUNCE = 0.03
FIX_ALL = "source.fixAll.bnlint"
_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning,
             "info": lsp.DiagnosticSeverity.Information}
_CELL_LANGUAGES = ("python", "markdown", "raw")  # markdown/raw too, so cells are numbered as in the file


@dataclass
class Linted:
    """The last analysis of a document (a text document, or a notebook with its cells)."""

    uri: str
    path: str
    text: str  # the analysed text (a notebook's cell text)
    version: Optional[int]
    diagnostics: List[Diagnostic] = field(default_factory=list)  # rows/columns of ``text``
    lint: object = None  # single_file.FileLint
    settings: Optional[Settings] = None
    cells: Dict[int, str] = field(default_factory=dict)  # notebook: cell number -> cell uri
    cmap: Optional[CellMap] = None

    @property
    def lines(self) -> List[str]:
        return self.text.splitlines(keepends=True)


class BnlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "bnlint", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
            notebook_document_sync=lsp.NotebookDocumentSyncOptions(notebook_selector=[
                lsp.NotebookDocumentFilterWithCells(
                    notebook="jupyter-notebook",
                    cells=[lsp.NotebookCellLanguage(language=lang) for lang in _CELL_LANGUAGES])
            ], save=True))
        self.debounce = DEBOUNCE
        self.log_timing = False  # initializationOptions.logTiming: a window/logMessage per lint
        self.linted: Dict[str, Linted] = {}  # document or notebook uri -> last analysis
        self.cell_owner: Dict[str, str] = {}  # cell uri -> notebook uri
        self.pending: Dict[str, asyncio.TimerHandle] = {}
        self.pieces: Dict[str, StatementCache] = {}  # document uri -> its parsed top-level statements
        self.collector = IdleCollector()  # garbage collected when idle (``main`` turns automatic collection off)
        self.collector.on_collect = self._collected

    # -- settings ------------------------------------------------------------------------------------------
    def settings_for(self, path: str):
        """Settings of ``[tool.bnlint]`` nearest to ``path`` (else the workspace root's), or the
        configuration error's message."""
        from bnlint.run.config import find_config, load_settings

        try:
            root = self.workspace.root_path
            start = path if os.path.isabs(path) else (root or os.getcwd())
            if find_config([start]) is None and root:
                start = root
            return load_settings([start])
        except ValueError as exc:
            return str(exc)

    # -- linting -------------------------------------------------------------------------------------------
    def schedule(self, uri: str, delay: Optional[float] = None) -> None:
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        delay = self.debounce if delay is None else delay
        if delay <= 0:
            self.lint(uri)
            return
        if self.linted.pop(uri, None) is not None:  # stale now (requests lint first): free it while young
            self.collector.stale()
        self.pending[uri] = asyncio.get_running_loop().call_later(delay, self.lint, uri)

    def flush(self, uri: str) -> None:
        """Lint now if a debounced lint of ``uri`` is waiting (code actions need current findings)."""
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
            self.lint(uri)

    def lint(self, uri: str) -> None:
        self.pending.pop(uri, None)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            notebook = self.workspace.get_notebook_document(notebook_uri=uri)
            with gc_paused():  # (in-process use; ``bnlint server`` collects when idle: IdleCollector)
                state = self._lint_notebook(uri, notebook) if notebook is not None else self._lint_document(uri)
        except Exception as exc:  # a bug must not kill the server: say it in the editor's log
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Error, f"bnlint: internal error on {uri}: "
                                                         f"{type(exc).__name__}: {exc}"))
            return
        if state is not None:
            self.publish(state)
            if self.log_timing:
                self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Log, (
                    f"bnlint: linted {uri} version {state.version}: {(time.perf_counter() - wall) * 1000:.1f} ms, "
                    f"cpu {(time.process_time() - cpu) * 1000:.1f} ms")))
        self.collector.after_work(asyncio.get_running_loop())

    def _collected(self, generation: int, found: int, cpu: float) -> None:
        if self.log_timing:
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Log, (
                f"bnlint: collected garbage (generation {generation}): {found} objects, cpu {cpu * 1000:.1f} ms")))

    def _lint_document(self, uri: str) -> Optional[Linted]:
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            return None
        path = to_fs_path(uri) or uri
        if not (path.endswith((".py", ".pyi")) or doc.language_id == "python"):
            return None
        return self._analyse(Linted(uri=uri, path=path, text=doc.source, version=doc.version), None)

    def _lint_notebook(self, uri: str, notebook: lsp.NotebookDocument) -> Optional[Linted]:
        path = to_fs_path(uri) or uri
        cells, sources = {}, []
        for number, cell in enumerate(notebook.cells, 1):
            cells[number] = cell.document
            doc = self.workspace.text_documents.get(cell.document)
            if cell.kind == lsp.NotebookCellKind.Code and doc is not None and doc.language_id == "python":
                sources.append((number, doc.source))
        for cell_uri in cells.values():
            self.cell_owner[cell_uri] = uri
        text = cell_text(sources)
        state = Linted(uri=uri, path=path, text=text, version=notebook.version, cells=cells, cmap=CellMap.of(text))
        src = NotebookSource(path=path, raw=b"", text=text, encoding="utf-8", bom=False)
        return self._analyse(state, src)

    def _analyse(self, state: Linted, source) -> Linted:
        from bnlint.source.discover import DEFAULT_EXCLUDE, is_excluded
        from bnlint.run.single_file import lint_text, problem

        settings = self.settings_for(state.path)
        if isinstance(settings, str):
            state.diagnostics = [problem(state.path, f"bnlint configuration error: {settings}")]
            self.linted[state.uri] = state
            return state
        state.settings = settings
        patterns = list(settings.exclude or DEFAULT_EXCLUDE) + list(settings.extend_exclude)
        excluded = os.path.isabs(state.path) and is_excluded(
            os.path.relpath(state.path, os.path.abspath(settings.root)), patterns)
        if not excluded and (state.cmap is None or settings.notebooks):
            pieces = self.pieces.setdefault(state.uri, StatementCache())
            state.lint = lint_text(state.path, state.text, settings, source=source, pieces=pieces)
            state.diagnostics = state.lint.diagnostics
        self.linted[state.uri] = state
        return state

    # -- positions -----------------------------------------------------------------------------------------
    def _units(self, text: str) -> int:
        return self.workspace.position_codec.client_num_units(text)

    def _position(self, lines: List[str], loc: Location, first_row: int = 0) -> lsp.Position:
        row = loc.row - 1
        line = lines[row] if 0 <= row < len(lines) else ""
        return lsp.Position(line=max(row - first_row, 0), character=self._units(line.rstrip("\r\n")[: loc.column - 1]))

    def _where(self, state: Linted, loc: Location) -> Tuple[str, int]:
        """(document uri, first row of that document in ``state.text``, 0-based) for ``loc``."""
        if state.cmap is None:
            return state.uri, 0
        cell, _ = state.cmap.position(loc.row)
        return state.cells.get(cell, state.uri), state.cmap.start(cell)

    def _range(self, state: Linted, start: Location, end: Location, lines=None) -> Tuple[str, lsp.Range]:
        lines = state.lines if lines is None else lines
        uri, first = self._where(state, start)
        return uri, lsp.Range(self._position(lines, start, first), self._position(lines, end, first))

    def to_lsp(self, state: Linted, d: Diagnostic, lines=None) -> Tuple[str, lsp.Diagnostic]:
        uri, rng = self._range(state, d.location, d.end_location or d.location, lines)
        fixable = d.fix is not None and bool(d.fix.edits)
        message = d.message if state.cmap is None else cell_refs(d.message, state.cmap)
        return uri, lsp.Diagnostic(
            range=rng, message=message, severity=_SEVERITY.get(d.severity, lsp.DiagnosticSeverity.Error),
            code=d.code, code_description=lsp.CodeDescription(href=d.url), source="bnlint",
            data={"fix": d.fix.applicability if fixable else None})

    def publish(self, state: Linted) -> None:
        lines = state.lines
        by_uri: Dict[str, List[lsp.Diagnostic]] = {uri: [] for uri in state.cells.values()} or {state.uri: []}
        for d in state.diagnostics:
            uri, diag = self.to_lsp(state, d, lines)
            by_uri.setdefault(uri, []).append(diag)
        for uri, diags in by_uri.items():
            version = None if state.cells else state.version
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diags, version=version))

    def clear(self, uri: str) -> None:
        state = self.linted.pop(uri, None)
        self.pieces.pop(uri, None)
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        cells = [cell for cell, owner in self.cell_owner.items() if owner == uri]  # (state may be dropped: stale)
        if state is not None and state.cells:
            cells = list(dict.fromkeys([*state.cells.values(), *cells]))
        for target in cells or [uri]:
            self.cell_owner.pop(target, None)
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=target, diagnostics=[]))

    # -- requests ------------------------------------------------------------------------------------------
    def state_of(self, uri: str) -> Optional[Linted]:
        owner = self.cell_owner.get(uri, uri)
        self.flush(owner)
        state = self.linted.get(owner)
        if state is None and (owner in self.workspace.text_documents
                              or self.workspace.get_notebook_document(notebook_uri=owner) is not None):
            self.lint(owner)
            state = self.linted.get(owner)
        return state

    def _findings_at(self, state: Linted, uri: str, rng: lsp.Range) -> List[Tuple[Diagnostic, lsp.Diagnostic]]:
        lines = state.lines
        out = []
        for d in state.diagnostics:
            d_uri, diag = self.to_lsp(state, d, lines)
            if d_uri != uri:
                continue
            r = diag.range
            if (r.start.line, r.start.character) <= (rng.end.line, rng.end.character) and \
                    (rng.start.line, rng.start.character) <= (r.end.line, r.end.character):
                out.append((d, diag))
        return out

    def _text_edits(self, state: Linted, edits, lines) -> Optional[Dict[str, List[lsp.TextEdit]]]:
        changes: Dict[str, List[lsp.TextEdit]] = {}
        for e in edits:
            uri, rng = self._range(state, e.location, e.end_location, lines)
            if state.cmap is not None and self._where(state, e.end_location)[0] != uri:
                return None  # an edit across cells cannot be one cell's edit
            changes.setdefault(uri, []).append(lsp.TextEdit(range=rng, new_text=e.content))
        return changes

    def code_actions(self, params: lsp.CodeActionParams) -> List[lsp.CodeAction]:
        uri = params.text_document.uri
        state = self.state_of(uri)
        if state is None or state.lint is None:
            return []
        only = params.context.only
        wanted = lambda kind: not only or any(kind == k or kind.startswith(k + ".") for k in only)  # noqa: E731
        actions: List[lsp.CodeAction] = []
        lines = state.lines
        if wanted(lsp.CodeActionKind.QuickFix):
            from bnlint.commands.noqa import uncommentable_rows, with_directive

            blocked = None
            for d, diag in self._findings_at(state, uri, params.range):
                if d.fix is not None and d.fix.edits:
                    changes = self._text_edits(state, d.fix.edits, lines)
                    if changes is not None:
                        safe = d.fix.applicability == "safe"
                        actions.append(lsp.CodeAction(
                            title=f"{d.fix.message} ({d.code})" + ("" if safe else " [unsafe: review the change]"),
                            kind=lsp.CodeActionKind.QuickFix, diagnostics=[diag], is_preferred=safe,
                            edit=lsp.WorkspaceEdit(changes=changes)))
                blocked = uncommentable_rows(state.text) if blocked is None else blocked
                row = d.location.row
                if row not in blocked and 0 < row <= len(lines):
                    body = lines[row - 1].rstrip("\r\n")
                    new = with_directive(body, [d.code])
                    if new != body:
                        edit = Edit(new, Location(row, 1), Location(row, len(body) + 1))
                        actions.append(lsp.CodeAction(
                            title=f"Add `# noqa: {d.code}` for this line", kind=lsp.CodeActionKind.QuickFix,
                            diagnostics=[diag], edit=lsp.WorkspaceEdit(changes=self._text_edits(state, [edit], lines))))
        if wanted(FIX_ALL):
            fix_all = self.fix_all(state)
            if fix_all is not None:
                actions.append(lsp.CodeAction(title="Fix all safe bnlint findings", kind=FIX_ALL,
                                              edit=lsp.WorkspaceEdit(changes=fix_all)))
        return actions

    def fix_all(self, state: Linted) -> Optional[Dict[str, List[lsp.TextEdit]]]:
        """Every safe fix of the document to fixpoint (the CLI's fixer and its checks), as edits."""
        from bnlint.run.fixer import FixError, Relinter, applicable, fix_text

        lint = state.lint
        if lint is None or lint.info is None or not applicable(state.diagnostics, False):
            return None
        relint = Relinter(lint.source, lint.info.modname, lint.dependencies, state.settings)
        try:
            fixed = fix_text(lint.source, state.diagnostics, relint, unsafe=False)
        except FixError as exc:
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Warning, f"bnlint: fixes not applied: {exc}"))
            return None
        if fixed.text == state.text:
            return None
        if state.cmap is None:
            return {state.uri: self._line_edits(state.text, fixed.text)}
        changes = {}
        for number, old, new in changed_cells(state.text, fixed.text):
            uri = state.cells.get(number)
            if uri is not None:
                changes[uri] = self._line_edits(old, new)
        return changes

    def _line_edits(self, old: str, new: str) -> List[lsp.TextEdit]:
        """The changed line ranges of ``old`` -> ``new`` as text edits."""
        a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
        edits = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            start = lsp.Position(line=i1, character=0)
            if i2 == len(a) and a and not a[-1].endswith(("\n", "\r")):
                end = lsp.Position(line=i2 - 1, character=self._units(a[-1]))
            else:
                end = lsp.Position(line=i2, character=0)
            edits.append(lsp.TextEdit(range=lsp.Range(start, end), new_text="".join(b[j1:j2])))
        return edits

    def hover(self, params: lsp.HoverParams) -> Optional[lsp.Hover]:
        from bnlint.lint.registry import all_rules

        uri = params.text_document.uri
        state = self.state_of(uri)
        if state is None:
            return None
        pos = params.position
        rules = all_rules()
        for d, diag in self._findings_at(state, uri, lsp.Range(pos, pos)):
            rule = rules.get(d.code)
            page = rule.page() if rule is not None else f"**{d.code}**: {d.message}"
            return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=page), range=diag.range)
        return None


def build_server() -> BnlintServer:
    server = BnlintServer()

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: BnlintServer, params: lsp.InitializeParams) -> None:
        options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
        if isinstance(options.get("debounce"), (int, float)):
            ls.debounce = max(float(options["debounce"]), 0.0) / 1000.0
        ls.log_timing = options.get("logTiming") is True

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: BnlintServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: BnlintServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE, lsp.SaveOptions(include_text=False))
    def did_save(ls: BnlintServer, params: lsp.DidSaveTextDocumentParams) -> None:
        from bnlint.analysis.local_imports import forget_layout

        forget_layout()  # the save may have created a module others import
        uri = ls.cell_owner.get(params.text_document.uri, params.text_document.uri)
        ls.schedule(uri, 0)
        for other in list(ls.linted):  # a saved module (or pyproject.toml) can change what others import
            if other != uri:
                ls.schedule(other)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: BnlintServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.clear(params.text_document.uri)

    def lint_notebook(delay: Optional[float]):
        def handler(ls: BnlintServer, params) -> None:  # DidOpen/DidChange/DidSaveNotebookDocumentParams
            ls.schedule(params.notebook_document.uri, delay)
        return handler

    for method, delay in ((lsp.NOTEBOOK_DOCUMENT_DID_OPEN, 0), (lsp.NOTEBOOK_DOCUMENT_DID_CHANGE, None),
                          (lsp.NOTEBOOK_DOCUMENT_DID_SAVE, 0)):
        server.feature(method)(lint_notebook(delay))

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: BnlintServer, params: lsp.DidCloseNotebookDocumentParams) -> None:
        ls.clear(params.notebook_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, FIX_ALL]))
    def code_action(ls: BnlintServer, params: lsp.CodeActionParams):
        found = ls.code_actions(params)
        ls.collector.after_work(asyncio.get_running_loop())
        return found

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: BnlintServer, params: lsp.HoverParams):
        return ls.hover(params)

    return server


def main(argv: Optional[List[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="bnlint server", description="bnlint's language server (LSP over stdio).")
    parser.add_argument("--stdio", action="store_true",
                        help="talk LSP over stdin/stdout (the default and only transport)")
    parser.parse_args(argv)
    import bnlint.analysis.local_imports  # noqa: F401  (libcst, the engine and the rules, before the first document)
    from bnlint.lint.registry import all_rules

    all_rules()
    import gc

    gc.freeze()  # the modules just imported live as long as the server: keep them out of collections
    server = build_server()
    server.collector.start()
    server.start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
