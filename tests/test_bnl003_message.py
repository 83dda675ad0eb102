"""BNL003's message follows the BN sites' effective flag: never-leaves-training vs. has an inference mode."""

import os

from bnlint.run.paths import lint_paths
from bnlint.core.settings import Settings

PROGRAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")


def _message(name):
    (d,) = [d for d in lint_paths([os.path.join(PROGRAMS, name)], Settings()).diagnostics if d.code == "BNL003"]
    return d.message


def test_bn_hard_wired_to_training_mode():
    msg = _message("always_training_no_updates.py")
    assert "never leave training mode" in msg and "statistics of its own batch" in msg
    assert "never move" in msg and "inference (training=False) uses their initial values" not in msg


def test_bn_with_an_inference_mode():
    msg = _message("estimator_model_fn.py")  # training=(mode == TRAIN): inference exists
    assert "inference (training=False) uses their initial values" in msg
    assert "never leave training mode" not in msg
