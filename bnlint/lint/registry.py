"""Finds the rules: every ``Rule`` subclass in the ``bnlint.rules`` package, ordered by code."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import TYPE_CHECKING, Dict, List, Type

if TYPE_CHECKING:
    from bnlint.rulekit.rule import Rule


@lru_cache(maxsize=None)
def all_rules() -> Dict[str, Type["Rule"]]:
    import bnlint.rules as pkg
    from bnlint.rulekit.rule import Rule  # imports libcst: only when rules are needed (not on cache hits)

    found: Dict[str, Type[Rule]] = {}
    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"bnlint.rules.{mod.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Rule) and obj is not Rule and obj.code:
                if obj.code in found and found[obj.code] is not obj:
                    raise RuntimeError(f"two rules claim {obj.code}: {found[obj.code].__name__}, {obj.__name__}")
                found[obj.code] = obj
    return dict(sorted(found.items()))


def rule_list() -> List[Type["Rule"]]:
    return list(all_rules().values())
