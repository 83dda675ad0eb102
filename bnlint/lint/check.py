"""Running the rules on parsed modules: one ``Project`` over the modules given, every enabled
rule on each module, root causes folded, ``# noqa`` applied. ``lint_source`` lints one text.
"""

from __future__ import annotations

import os
import re
from typing import Dict, Iterable, List, Optional, Sequence

from bnlint.core.diagnostics import Diagnostic
from bnlint.rulekit.root_causes import fold_related
from bnlint.lint.registry import all_rules
from bnlint.core.settings import Settings
from bnlint.source.reading import SourceError, SourceFile
from bnlint.analysis.parse import parse
from bnlint.source.discover import _error, module_name


def run_rules(infos, settings: Settings, codes: Optional[Iterable[str]] = None, only=None) -> List[Diagnostic]:
    """Findings of every module (or of the modules in ``only``), with ``infos`` as the project."""
    from bnlint.analysis.project import Project

    project = Project(infos)
    rules = [cls() for code, cls in all_rules().items() if codes is None or code in codes]
    out: List[Diagnostic] = []
    for info in infos if only is None else only:
        out.extend(check_module(info, project, settings, rules))
    return fold_related(out)


def check_module(info, project, settings: Settings, rules: Optional[list] = None) -> List[Diagnostic]:
    """Findings of the enabled rules on one module; ``project`` answers cross-module questions."""
    from bnlint.rulekit.rule import RuleContext

    if rules is None:
        rules = [cls() for cls in all_rules().values()]
    out: List[Diagnostic] = []
    for rule in rules:
        if not settings.enabled(rule.code, rule.default_enabled, info.path):
            continue
        ctx = RuleContext(info=info, project=project, settings=settings, rule=rule)
        rule.check(ctx)
        out.extend(ctx.diagnostics)
    return out


_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.I)


def noqa_filter(diags: List[Diagnostic], sources: Dict[str, SourceFile]) -> List[Diagnostic]:
    lines_cache: Dict[str, List[str]] = {}
    kept = []
    for d in diags:
        src = sources.get(d.filename)
        if src is None:
            kept.append(d)
            continue
        lines = lines_cache.setdefault(d.filename, src.text.splitlines())
        line = lines[d.location.row - 1] if 0 < d.location.row <= len(lines) else ""
        m = _NOQA.search(line)
        if m is None:
            kept.append(d)
            continue
        codes = m.group("codes")
        if codes and d.code not in re.split(r"[,\s]+", codes.upper()):
            kept.append(d)
    return kept


def lint_source(text: str, path: str = "<string>", settings: Optional[Settings] = None,
                extra_modules: Sequence = ()) -> List[Diagnostic]:
    """Lint one in-memory module (tests, flake8, editors). ``extra_modules``: other ModuleInfos."""
    settings = settings or Settings()
    src = SourceFile(path=path, raw=text.encode("utf-8"), text=text, encoding="utf-8", bom=False)
    try:
        info = parse(src, module_name(path, os.path.dirname(path) or "."))
    except SourceError as exc:
        return [_error(path, str(exc), getattr(exc, "row", 1), getattr(exc, "col", 1))]
    diags = run_rules([info, *extra_modules], settings)
    diags = [d for d in diags if d.filename == path]
    return sorted(noqa_filter(diags, {path: src}), key=Diagnostic.sort_key)
