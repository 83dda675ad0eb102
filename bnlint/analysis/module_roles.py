"""What a module does with the model it builds, and which modules' BN layers that reaches through
the project's imports.

A layer helper (``layers.py``) rarely trains or evaluates anything itself: ``main.py`` imports
``models``, which imports ``layers``, and runs the optimizer step and the test loop. Calls do not
always show that (``model = models.Net(x)``, ``self.bn1(h)``, functions passed around), imports do:
the BN of a module is trained when a module importing it (transitively) runs an optimizer step, and
evaluated when one has an evaluation path. Per-module roles are plain data in the module summary
(``bnlint.analysis.summary``), so worker processes compute them where the module is parsed.
"""

from __future__ import annotations

import re
from typing import Tuple

from bnlint.analysis import tfnames
from bnlint.analysis.module_info import ModuleInfo

TRAINS, EVALUATES = "trains", "evaluates"

_TAPE = {"tf.GradientTape"}
# Functions whose graph or run is an evaluation: eval/test/predict/export, and a GAN's sampler.
_EVAL_FUNC = re.compile(
    r"(^|_)(val|valid|validate|validation|eval|evaluate|evaluation|test|testing|predict|prediction|infer|"
    r"inference|serve|serving|export|freeze|sample|sampler|sampling|generate_samples)(_|$|\d)",
    re.I,
)


def module_roles(info: ModuleInfo) -> Tuple[str, ...]:
    """``trains``: an optimizer step or a GradientTape; ``evaluates``: a function named as an
    evaluation path (pytest ``test_*`` functions of a test suite are not: they check code)."""
    if not info.uses_tf:
        return ()
    roles = []
    events = list(info.all_events())
    if any(ev.method in tfnames.STEP_METHODS or ev.callee in _TAPE for ev in events):
        roles.append(TRAINS)
    names = [b.name.split(".")[-1] for b in info.functions()]
    if any(_EVAL_FUNC.search(n) and not n.startswith("test_") for n in names):
        roles.append(EVALUATES)
    return tuple(roles)


def _absolute(name: str, importer: str) -> str:
    if not name.startswith("."):
        return name
    dots = len(name) - len(name.lstrip("."))
    base = importer.split(".")[:-dots]
    return ".".join(base + ([name.lstrip(".")] if name.lstrip(".") else []))


def imported_names(info: ModuleInfo) -> Tuple[str, ...]:
    """Project modules this one may import (``models``, ``pkg.ops``; relative imports made
    absolute); ``from pkg import name`` gives both ``pkg`` and ``pkg.name`` (it may be a module)."""
    out = []
    for imp in info.local_imports.values():
        if imp[0] == "module":
            out.append(imp[1])
        else:
            base = imp[1]
            out.append(base)
            out.append(f"{base}.{imp[2]}" if base.strip(".") else base + imp[2])
    return tuple(dict.fromkeys(a for a in (_absolute(n, info.modname) for n in out) if a))
