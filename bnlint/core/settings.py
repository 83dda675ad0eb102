"""Which codes are enabled where: select/ignore/per-file-ignores, as ruff interprets them."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence


def _matches(code: str, prefixes: Sequence[str]) -> bool:
    return any(p == "ALL" or code.startswith(p) for p in prefixes)


@dataclass
class Settings:
    select: Optional[List[str]] = None  # None: every default-enabled rule
    ignore: List[str] = field(default_factory=list)
    extend_select: List[str] = field(default_factory=list)
    per_file_ignores: Dict[str, List[str]] = field(default_factory=dict)
    exclude: List[str] = field(default_factory=list)
    extend_exclude: List[str] = field(default_factory=list)
    unsafe_fixes: bool = False
    include: Optional[List[str]] = None  # files a folder walk lints (None: file_patterns.DEFAULT_INCLUDE)
    extend_include: List[str] = field(default_factory=list)
    notebooks: bool = True  # lint Jupyter notebooks (*.ipynb) found in folders or named
    small_batch: int = 16  # per-device batch below which unsynchronised BN statistics are noise
    momentum_steps: int = 0  # known step count for momentum checks (0: unknown)
    root: str = "."
    config_path: Optional[str] = None

    def enabled(self, code: str, default_enabled: bool = True, path: Optional[str] = None) -> bool:
        if self.select is not None:
            on = _matches(code, self.select)
        else:
            on = default_enabled
        if _matches(code, self.extend_select):
            on = True
        if _matches(code, self.ignore):
            on = False
        if on and path is not None and self.per_file_ignores:
            rel = os.path.relpath(os.path.abspath(path), os.path.abspath(self.root))
            for pattern, codes in self.per_file_ignores.items():
                if (fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(os.path.basename(path), pattern)) and _matches(code, codes):
                    return False
        return on
