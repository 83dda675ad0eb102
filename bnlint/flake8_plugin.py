"""flake8 plugin (entry point ``BNL``): bnlint findings in flake8 and every editor that runs it.

flake8 hands the plugin one file. The analysis is the CLI's (``parse.parse`` + ``check.run_rules``);
the cross-module facts the CLI gets from seeing the whole tree come from the local modules this
file imports, resolved and parsed on demand (``bnlint.analysis.local_imports``). The work runs inside
flake8's own worker processes, spread like flake8's checks, and only files that can matter are
parsed with libcst. Selection is flake8's:
``--select``/``--ignore``/``--per-file-ignores``/``# noqa`` all act on BNL codes as on any other
plugin's (rules whose codes flake8 would not show are not run), and opt-in rules (off by default
in the CLI) are in flake8's default ignore list, so ``--extend-select BNL004`` turns one on.
``[tool.bnlint]`` still applies on top: its ignore, per-file-ignores and thresholds (e.g.
small-batch) hold in flake8 too.
"""

from __future__ import annotations

import ast
import os
from dataclasses import fields
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from bnlint import __version__
from bnlint.core.diagnostics import Diagnostic
from bnlint.core.codes import PARSE_ERROR
from bnlint.lint.registry import all_rules
from bnlint.core.settings import Settings

Result = Tuple[int, int, str, type]


class _FlakeSettings(Settings):
    """Every rule counts as default-on: flake8's own default ignore list keeps opt-in rules off."""

    def enabled(self, code: str, default_enabled: bool = True, path: Optional[str] = None) -> bool:
        return super().enabled(code, True, path)


_SETTINGS: Dict[str, object] = {}  # directory -> Settings from [tool.bnlint], or the config error message
_REPORTED: Optional[List[str]] = None  # codes flake8 reports (None: not known, run every rule)


def _settings_for(filename: str):
    directory = os.path.dirname(os.path.abspath(filename))
    if directory not in _SETTINGS:
        from bnlint.run.config import load_settings

        try:
            _SETTINGS[directory] = load_settings([directory])
        except ValueError as exc:
            _SETTINGS[directory] = str(exc)
    loaded = _SETTINGS[directory]
    if isinstance(loaded, str):
        return loaded
    return _FlakeSettings(**{f.name: getattr(loaded, f.name) for f in fields(loaded) if f.init})


def opt_in_codes() -> List[str]:
    return [code for code, rule in all_rules().items() if not rule.default_enabled]


def lint_file(filename: str, lines: Sequence[str], tree: ast.AST) -> List[Diagnostic]:
    """bnlint's findings for one file as flake8 gives it (path, physical lines, ast tree)."""
    from bnlint.run.single_file import lint_text, problem

    settings = _settings_for(filename)
    if isinstance(settings, str):
        return [problem(filename, f"bnlint configuration error: {settings}")]
    if _REPORTED is not None and not _REPORTED:  # e.g. flake8 --select E: no BNL code can show
        return []
    # flake8 compiled it (``tree``) and applies ``# noqa`` itself.
    return lint_text(filename, "".join(lines), settings, tree=tree, codes=_REPORTED, noqa=False).diagnostics


class BNLintChecker:
    name = "bnlint"
    version = __version__

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]):
        self.tree = tree
        self.filename = filename
        self.lines = lines

    @classmethod
    def add_options(cls, option_manager) -> None:
        option_manager.extend_default_ignore(opt_in_codes())

    @classmethod
    def parse_options(cls, options) -> None:
        """Rules whose codes flake8 will not report (opt-in ones by default) are not run at all.
        Called in flake8's main process before it forks its workers: what they all need is
        imported here once, then frozen out of the garbage collector's way (libcst and the rules
        are hundreds of thousands of long-lived objects every full collection in flake8's own
        checks would otherwise traverse again)."""
        global _REPORTED
        try:
            from flake8.style_guide import Decision, DecisionEngine

            engine = DecisionEngine(options)
            _REPORTED = [code for code in all_rules() if engine.decision_for(code) is Decision.Selected]
        except Exception:  # another flake8 version: run every rule, flake8 still filters
            _REPORTED = None
        import gc

        import bnlint.analysis.local_imports  # noqa: F401  (with it the engine, libcst and the analysis)

        gc.freeze()

    def run(self) -> Iterator[Result]:
        from bnlint.core.gc_pause import gc_paused

        try:
            with gc_paused():
                diags = lint_file(self.filename, self.lines, self.tree)
        except Exception as exc:  # a plugin exception would abort the whole flake8 run
            yield 1, 0, f"{PARSE_ERROR} bnlint internal error ({type(exc).__name__}: {exc}); please report it", type(self)
            return
        for d in sorted(diags, key=Diagnostic.sort_key):
            yield d.location.row, max(d.location.column - 1, 0), f"{d.code} {d.message}", type(self)
