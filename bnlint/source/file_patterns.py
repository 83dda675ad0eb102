"""Which files a folder walk lints: ``include``/``extend-include`` patterns, as ruff's.

A pattern matches a file when it matches the file's name (``*.ipynb``, ``*.pyw``) or its path
relative to the project root, the folder of the ``pyproject.toml`` bnlint reads (else the
current folder): ``notebooks/**/*.ipynb``, ``scripts/*.pyw``. In paths ``*`` and ``?`` stay inside
one folder name, ``**`` spans folders (``a/**/b`` also matches ``a/b``), ``[abc]`` is a class.
Files named on the command line are linted whatever the patterns say (as ruff does); exclude
patterns (``exclude``/``extend-exclude``) still apply to them with ``--force-exclude``.
"""

from __future__ import annotations

import os
import re
from typing import List, Sequence

DEFAULT_INCLUDE = ["*.py", "*.ipynb"]


def glob_regex(pattern: str) -> str:
    """The regex (without anchors) of a path glob: ``/`` separates folders; ``**`` spans them."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("!", "]") else i + 1)
            if j < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1:j]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


class Includer:
    """``included(name, rel)``: whether a file called ``name``, at ``rel`` below the project root
    (``/``-separated, or None outside it), is matched by one of the patterns."""

    def __init__(self, patterns: Sequence[str]):
        joined = "|".join(f"(?:{glob_regex(_normal(p))})" for p in patterns)
        self._match = re.compile(f"(?:{joined})\\Z").match if patterns else None

    def __call__(self, name: str, rel) -> bool:
        m = self._match
        return m is not None and (m(name) is not None or (rel is not None and m(rel) is not None))


def _normal(pattern: str) -> str:
    pattern = pattern.replace(os.sep, "/")
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern


def include_patterns(settings) -> List[str]:
    base = DEFAULT_INCLUDE if settings.include is None else settings.include
    return list(base) + list(settings.extend_include)


def root_relative(folder: str, root: str):
    """``folder`` relative to ``root`` with ``/`` separators and a trailing ``/`` ('' for the root
    itself), or None when it is not below ``root``."""
    rel = os.path.relpath(os.path.abspath(folder), os.path.abspath(root))
    if rel == ".":
        return ""
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/") + "/"
