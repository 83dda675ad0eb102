"""The single place that imports TensorFlow (after the env switches it reads at import)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

try:
    import tensorflow as tf  # noqa: E402
except ImportError as exc:  # pragma: no cover - covered by the package-level check
    raise ImportError(
        "bnlint.runtime needs TensorFlow: install bnlint[runtime] (pip install 'bnlint[runtime]')"
    ) from exc

v1 = tf.compat.v1

__all__ = ["tf", "v1"]
