"""The finding type shared by the static linter and the runtime inspector.

Its JSON form follows ruff's ``--output-format json`` so tools that read ruff read us.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

DOCS_URL = "https://github.com/bnlint/bnlint/blob/main/docs/rules.md#"

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True, order=True)
class Location:
    """1-based row, 1-based column (ruff's convention)."""

    row: int
    column: int

    def to_json(self) -> dict:
        return {"row": self.row, "column": self.column}


@dataclass(frozen=True)
class Edit:
    """Replace the text between ``location`` and ``end_location`` with ``content``."""

    content: str
    location: Location
    end_location: Location
    cell: Optional[int] = None  # notebooks: the cell the rows are in (see Diagnostic.cell)

    def to_json(self) -> dict:
        out = {
            "content": self.content,
            "location": self.location.to_json(),
            "end_location": self.end_location.to_json(),
        }
        if self.cell is not None:
            out["cell"] = self.cell
        return out


@dataclass(frozen=True)
class Fix:
    message: str
    edits: tuple = ()
    applicability: str = "safe"  # "safe" | "unsafe" (ruff: applied only with --unsafe-fixes)

    def to_json(self) -> dict:
        return {
            "applicability": self.applicability,
            "message": self.message,
            "edits": [e.to_json() for e in self.edits],
        }


@dataclass(frozen=True)
class Related:
    """Another place of the same root cause (SARIF ``relatedLocations``)."""

    filename: str
    location: Location
    message: str

    def to_json(self) -> dict:
        return {"filename": self.filename, "location": self.location.to_json(), "message": self.message}


@dataclass
class Diagnostic:
    code: str
    message: str
    filename: str
    location: Location = Location(1, 1)
    end_location: Optional[Location] = None
    fix: Optional[Fix] = None
    severity: str = "error"
    # Extra machine-readable facts (runtime numbers, layer names); kept out of the text form.
    data: dict = field(default_factory=dict)
    # Other places of the same root cause, reported once here (``bnlint.rulekit.root_causes``).
    related: tuple = ()
    # (key of the function holding the finding, keys of the functions its call runs): a finding of
    # the same rule inside those functions is this one's consequence. Not part of the output.
    cause: Optional[tuple] = field(default=None, compare=False)
    # Notebooks: the 1-based cell number (all cells counted); rows are then lines inside the cell.
    cell: Optional[int] = None

    def __post_init__(self) -> None:
        if self.end_location is None:
            self.end_location = self.location

    @property
    def url(self) -> str:
        return DOCS_URL + self.code.lower()

    def sort_key(self):
        return (self.filename, self.location.row, self.location.column, self.code)

    def to_json(self) -> dict:
        out = {
            "code": self.code,
            "message": self.message,
            "filename": self.filename,
            "location": self.location.to_json(),
            "end_location": self.end_location.to_json(),
            "fix": self.fix.to_json() if self.fix else None,
            "url": self.url,
            "noqa_row": self.location.row,
            "severity": self.severity,
        }
        if self.cell is not None:
            out["cell"] = self.cell
        if self.data:
            out["data"] = self.data
        if self.related:
            out["related"] = [r.to_json() for r in self.related]
        return out

    def see_also(self) -> str:
        """`` (see also a.py:3:5, b.py:9:1)`` for findings with related locations, else empty."""
        if not self.related:
            return ""
        return " (see also " + ", ".join(f"{r.filename}:{r.location.row}:{r.location.column}" for r in self.related) + ")"

    def position_text(self) -> str:
        """``12:5``, or in a notebook ``cell 4:12:5``."""
        where = f"{self.location.row}:{self.location.column}"
        return where if self.cell is None else f"cell {self.cell}:{where}"

    def format_text(self) -> str:
        return f"{self.filename}:{self.position_text()}: {self.code} {self.message}{self.see_also()}"
