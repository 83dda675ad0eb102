"""The rule base class (Fixit-style): code, message, docs and VALID/INVALID examples in one class."""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar, List, Optional, Sequence, Union

import libcst as cst

from bnlint.core.diagnostics import Diagnostic, Fix, Location
from bnlint.fix.effect import FixEffect
from bnlint.fix.text_edits import FixError, apply_edits

if TYPE_CHECKING:
    from bnlint.analysis.module_info import ModuleInfo
    from bnlint.analysis.project import Project
    from bnlint.core.settings import Settings


@dataclass(frozen=True)
class Invalid:
    """An INVALID example: code, and the 1-based lines where findings must appear."""

    code: str
    lines: Sequence[int] = ()
    # With a fix: the expected source after ``--fix`` (``--unsafe-fixes`` when the fix is unsafe).
    expected_fix: Optional[str] = None


Example = Union[str, Invalid]


class Rule:
    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    severity: ClassVar[str] = "error"
    default_enabled: ClassVar[bool] = True
    fix_safety: ClassVar[Optional[str]] = None  # "safe", "unsafe", or None when no fix exists
    # Markdown sections of the rule page (ruff style).
    why: ClassVar[str] = ""
    example: ClassVar[str] = ""
    fix_doc: ClassVar[str] = ""
    VALID: ClassVar[List[str]] = []
    INVALID: ClassVar[List[Example]] = []

    def check(self, ctx: "RuleContext") -> None:  # pragma: no cover - every rule overrides
        raise NotImplementedError

    @classmethod
    def page(cls) -> str:
        """The rule's documentation page as markdown."""
        what = inspect.cleandoc(cls.__doc__ or cls.summary)
        parts = [f"# {cls.code} {cls.name}", "", f"Severity: {cls.severity}" + ("" if cls.default_enabled else " (opt-in: enable with --select/--extend-select)"), "",
                 "## What it does", what, "", "## Why is this bad?", textwrap.dedent(cls.why).strip(), ""]
        if cls.example:
            parts += ["## Example", "```python", textwrap.dedent(cls.example).strip("\n"), "```", ""]
        parts += ["## Fix", textwrap.dedent(cls.fix_doc).strip() or "No automatic fix.", ""]
        safety = {
            "safe": "The fix is safe: applied by `--fix`.",
            "unsafe": "The fix is unsafe: shown by `--diff`/`--show-fixes`, applied only with `--fix --unsafe-fixes`.",
            None: "No automatic fix is offered.",
        }[cls.fix_safety]
        parts += ["## Fix safety", safety, ""]
        return "\n".join(parts)


@dataclass
class RuleContext:
    info: "ModuleInfo"
    project: "Project"
    settings: "Settings"
    rule: Rule
    diagnostics: List[Diagnostic] = field(default_factory=list)

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        fix: Optional[Fix] = None,
        severity: Optional[str] = None,
        data: Optional[dict] = None,
    ) -> Diagnostic:
        pos = self.info.position(node)
        if fix is not None and fix.edits and not self.info.python2:
            fix = checked_fix(self.info, fix)
        diag = Diagnostic(
            code=self.rule.code,
            message=message,
            filename=self.info.path,
            location=Location(pos.start.line, pos.start.column + 1),
            end_location=Location(pos.end.line, pos.end.column + 1),
            fix=None if self.info.python2 else fix,
            severity=severity or self.rule.severity,
            data=data or {},
        )
        self.diagnostics.append(diag)
        return diag

    def line_of(self, node: cst.CSTNode) -> int:
        return self.info.position(node).start.line


def checked_fix(info: "ModuleInfo", fix: Fix) -> Optional[Fix]:
    """The fix as it may be offered: None when the fixed program is the same program (it would be
    counted as a fix and change nothing); unsafe when it changes which variables a layer creates.
    (Asked of the top-level statements the fix touches: ``fix_effect.FixEffect``.)"""
    from bnlint.fix.edits import _memo

    memo = _memo(info)
    effect = memo.get("fix_effect")
    if effect is None:
        before = info.code()
        known = memo.get("cpython_tree")  # (text, CPython's AST of it), when the linter has it
        tree = known[1] if known is not None and known[0] == before else None
        effect = memo["fix_effect"] = FixEffect(before, info.aliases, info.local_imports, tree)
    before = effect.before
    try:
        after = apply_edits(before, fix.edits)
    except FixError:
        return fix  # the fixer reports it
    if effect.same_program(after):
        return None
    if fix.applicability == "safe" and effect.changes_variables(after):
        return replace(fix, applicability="unsafe")
    return fix
