"""One bug, one finding: fold findings that a rule reports again inside the functions a reported
call runs into that call's finding, as its related locations.

A rule that reports a call because of what the called code builds (BNL001: the model is built again
without reuse) may also fire inside that code when the helper repeats the pattern itself. The
finding at the outermost call is the one to act on; the inner ones become its ``related`` entries
(SARIF ``relatedLocations``, JSON ``related``, "see also" in text). A rule opts in by giving its
findings a ``cause``: (key of the function holding the finding, keys of the functions its call runs),
plus ``INNER`` when the innermost place is the one to act on (BNL006: the literal ``True`` written in
the eval helper, not every call of that helper).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, List, Sequence

from bnlint.core.diagnostics import Diagnostic, Related

INNER = "inner"


def reached_bodies(project, ev, depth: int = 6) -> frozenset:
    """Keys of the project functions a call runs, transitively (bounded)."""
    seen = set()
    todo = [project.target(ev)]
    while todo and depth >= 0:
        nxt = []
        for body in todo:
            if body is None or body.key in seen:
                continue
            seen.add(body.key)
            nxt.extend(project.target(e) for e in body.events)
        todo = nxt
        depth -= 1
    return frozenset(seen)


def fold_related(diags: Sequence[Diagnostic]) -> List[Diagnostic]:
    """Findings with the same code whose place lies inside the code another one's call runs are
    folded into that one (the outermost wins, or the innermost for ``INNER`` causes; chains fold
    to their end)."""
    by_code: Dict[str, List[Diagnostic]] = {}
    for d in diags:
        if d.cause is not None:
            by_code.setdefault(d.code, []).append(d)
    if not by_code:
        return list(diags)
    owner: Dict[int, Diagnostic] = {}
    for group in by_code.values():
        for inner in group:
            outers = [o for o in group if o is not inner and inner.cause[0] in o.cause[1]
                      and not (o.cause[0] in inner.cause[1])]  # mutual recursion: keep both
            if not outers:
                continue
            if inner.cause[2:] == (INNER,):  # the cause is written inside (a literal flag): it wins
                for o in outers:
                    owner.setdefault(id(o), inner)
            else:
                owner[id(inner)] = min(outers, key=Diagnostic.sort_key)

    def root(d: Diagnostic) -> Diagnostic:
        seen = set()
        while id(d) in owner and id(d) not in seen:
            seen.add(id(d))
            d = owner[id(d)]
        return d

    related: Dict[int, List[Diagnostic]] = {}
    for d in diags:
        if id(d) in owner:
            related.setdefault(id(root(d)), []).append(d)
    out = []
    for d in diags:
        if id(d) in owner:
            continue
        extra = related.get(id(d))
        if extra:
            d = replace(d, related=d.related + tuple(
                Related(o.filename, o.location, o.message) for o in sorted(extra, key=Diagnostic.sort_key)))
        out.append(d)
    return out
