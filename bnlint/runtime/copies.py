"""Pairing a variable (or BN layer) with the copy it duplicates, by name structure and shape.

A missing variable reuse gives names like ``batch_normalization_3`` for ``batch_normalization``,
``conv_1/kernel`` for ``conv/kernel`` or ``tower_1/conv/kernel`` for ``tower_0/conv/kernel``:
tower parts are dropped and ``_N`` suffixes stripped; among candidates of equal shape the one
sharing the longest normalized suffix wins, and ties (Keras auto-names) pair in creation order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Callable, Dict, Hashable, List, Sequence, Tuple

from bnlint.runtime.graph_index import TOWER_PART_RE

_NUMBERED = re.compile(r"_\d+$")


def normalized_parts(name: str) -> Tuple[str, ...]:
    parts = [p for p in name.split("/") if p and not TOWER_PART_RE.fullmatch(p)]
    return tuple(_NUMBERED.sub("", p) for p in parts)


def _common_suffix(a: Tuple[str, ...], b: Tuple[str, ...]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def pair_copies(
    items: Sequence[str], candidates: Sequence[str], shape_of: Callable[[str], Hashable]
) -> Dict[str, str]:
    """Map each item (in creation order) to the candidate it copies; items without one are left out."""
    cand_parts = {c: normalized_parts(c) for c in candidates}
    pools: Dict[Tuple[str, Hashable], List[str]] = defaultdict(list)
    for c in candidates:
        parts = cand_parts[c]
        pools[(parts[-1] if parts else "", shape_of(c))].append(c)
    tied_groups: Dict[Tuple[str, ...], List[str]] = defaultdict(list)
    for item in items:
        parts = normalized_parts(item)
        pool = [c for c in pools.get((parts[-1] if parts else "", shape_of(item)), []) if c != item]
        if not pool:
            continue
        scores = {c: _common_suffix(parts, cand_parts[c]) for c in pool}
        best = max(scores.values())
        tied_groups[tuple(c for c in pool if scores[c] == best)].append(item)
    result = {}
    for tied, group in tied_groups.items():
        for rank, item in enumerate(group):
            result[item] = tied[rank % len(tied)]
    return result
