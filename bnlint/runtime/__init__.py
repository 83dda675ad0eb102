"""Runtime graph inspector: checks a built TensorFlow graph (and a few training steps) for
batch-normalization misuse (codes BNL101..BNL107).

This is the only part of bnlint that imports TensorFlow. Importing the package only checks
that TensorFlow is installed; TensorFlow itself is imported on first use of a checker, so
``import bnlint.runtime`` stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.util
import os

# the user's own switch, before ours: TF2 scripts run in a child process with it (tf2_script)
USER_LEGACY_KERAS = os.environ.get("TF_USE_LEGACY_KERAS")
# tf.compat.v1.layers needs Keras 2 (tf-keras); the switch is read when TensorFlow is imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

if importlib.util.find_spec("tensorflow") is None:
    raise ImportError(
        "bnlint.runtime needs TensorFlow: install bnlint[runtime] (pip install 'bnlint[runtime]')"
    )

# public name -> submodule that defines it (loaded on first access)
_EXPORTS = {
    "inspect_graph": "checks",
    "GraphIndex": "graph_index",
    "check_moving_stats": "moving_stats",
    "measure_moving_stats": "moving_stats",
    "MovingStatsProbe": "moving_stats",
    "LayerStats": "moving_stats",
    "BNLintHook": "hook",
    "run_script": "script",
    "RunReport": "script",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
