"""Names that say what code is for: training flags (``is_training``), evaluation functions,
scripts and data (``eval``, ``valid``, ``test``), unit tests. Conservative: an unknown name
answers False so rules stay silent on code they cannot read.
"""

from __future__ import annotations

import re
from typing import Optional

import libcst as cst

from bnlint.analysis.module_info import Body, ModuleInfo, names_in
from bnlint.facts.training import _has_tape, module_has_step


# --- names ----------------------------------------------------------------------------------------

_EVAL_FUNC = re.compile(
    r"(^|_)(val|valid|validate|validation|eval|evaluate|evaluation|test|testing|predict|prediction|"
    r"serve|serving|export|freeze)(_|$|\d)",
    re.I,
)
# Data/fetch names that say "evaluation": x_val, val_images, mnist.test, eval_loss.
_EVAL_DATA = re.compile(r"(^|_)(val|valid|validation|eval|evaluation|test|testing|dev)(_|$|\d)", re.I)
_TRAIN_FLAG = re.compile(
    r"^(is|bn)?(train|training)(flag|mode|phase|bn|pl|ph|placeholder|tensor)?$|^phasetrain$|^trainingflag$"
)
_TRAIN_FETCH = re.compile(r"(^|_)(train_?op|train_?step|train_?ops|optimi[sz]er|opt|minimize|apply_op|step_op)(_|$)", re.I)


def is_training_name(name: str) -> bool:
    """``is_training``, ``training``, ``train_flag``, ``phase_train``, ``isTraining`` ..."""
    return bool(_TRAIN_FLAG.match(name.lower().replace("_", "")))


def training_param(body: Body) -> Optional[str]:
    """The parameter of a function that carries a BN training flag, by name."""
    for p in list(body.params) + [k for k in body.defaults if k not in body.params]:
        if is_training_name(p):
            return p
    return None


def reads_name(body: Body, name: str) -> bool:
    """The function's body (not its signature) mentions ``name``."""
    node = body.node
    if not isinstance(node, cst.FunctionDef):
        return True
    return name in names_in(node.body)


_TEST_STEP = re.compile(r"^test(_(step|fn|epoch|batch|loop|one_epoch|on_batch|model|net|network|accuracy|loss))?$")


def _unit_test(name: str) -> bool:
    """pytest/unittest test functions are not evaluation code (``test_step`` of a loop is)."""
    return name.startswith("test") and not _TEST_STEP.match(name)


def eval_function_name(body: Body) -> Optional[str]:
    """The name that makes this function (or an enclosing one) an eval/test/predict/export path."""
    b: Optional[Body] = body
    while b is not None and b.is_function():
        short = b.name.split(".")[-1]
        if _EVAL_FUNC.search(short) and not _unit_test(short):
            return short
        b = b.parent
    return None


# Script names (unit-test modules, ``*_test.py`` / ``test_*.py``, are not evaluation scripts).
_EVAL_SCRIPT = re.compile(
    r"^(test|testing)$|^(eval|evaluate|evaluation|validate|validation|predict|prediction|export|freeze)(_|$|\d)|"
    r"_(eval|evaluate|evaluation|predict|prediction|export|freeze)$",
    re.I,
)


def eval_script_name(info: ModuleInfo) -> Optional[str]:
    """``test.py``, ``eval.py``, ``eval_image_classifier.py``, ``export_model.py`` that build no
    optimizer step: the file name of an evaluation/export script, else None."""
    parts = info.modname.split(".")
    if not _EVAL_SCRIPT.search(parts[-1]) or set(parts[:-1]) & {"test", "tests", "testing"} or module_has_step(info):
        return None
    if any(_has_tape(b) for b in info.bodies.values()):
        return None
    return info.path.replace("\\", "/").rsplit("/", 1)[-1]


def evalish_data_name(name: str) -> bool:
    return bool(_EVAL_DATA.search(name))
