"""Save and restore TensorFlow's process-wide v1/v2 switches around an in-process script run.

Training scripts call ``tf.compat.v1.disable_v2_behavior()`` (or ``disable_eager_execution``);
left as they are, those switches would change every later graph built in the process (ref
variables, Switch/Merge control flow, no eager), e.g. the second script ``bnlint verify`` runs.
TensorFlow offers no public way back once a graph exists, so this restores its module flags.
"""

from __future__ import annotations

from typing import Callable

from bnlint.runtime._tf import v1  # noqa: F401  (imports TensorFlow with the env switches set)

from tensorflow.python import tf2  # noqa: E402
from tensorflow.python.compat import v2_compat  # noqa: E402
from tensorflow.python.eager import context  # noqa: E402
from tensorflow.python.framework import tensor, tensor_shape  # noqa: E402
from tensorflow.python.ops import control_flow_util, resource_variables_toggle  # noqa: E402


def save_tf_switches() -> Callable[[], None]:
    """Snapshot the switches; calling the returned function puts them back."""
    ctx = context.context()
    saved = {
        "tf2": tf2.enabled(),
        "mode": context.default_execution_mode,
        "is_eager": ctx._thread_local_data.is_eager,
        "shape": tensor_shape._TENSORSHAPE_V2_OVERRIDE,
        "resource": resource_variables_toggle._DEFAULT_USE_RESOURCE,
        "equality": tensor.Tensor._USE_EQUALITY,
        "control_flow": control_flow_util.ENABLE_CONTROL_FLOW_V2,
    }

    def restore() -> None:
        if tf2.enabled() != saved["tf2"]:
            (tf2.enable if saved["tf2"] else tf2.disable)()
            registry = v2_compat._DATA_V2_CALLBACKS  # tf.data v1/v2 symbol mapping follows tf2
            for name in registry.list():
                registry.lookup(name)()
        context.default_execution_mode = saved["mode"]
        ctx._thread_local_data.is_eager = saved["is_eager"]
        tensor_shape._TENSORSHAPE_V2_OVERRIDE = saved["shape"]
        resource_variables_toggle._DEFAULT_USE_RESOURCE = saved["resource"]
        tensor.Tensor._USE_EQUALITY = saved["equality"]
        control_flow_util.ENABLE_CONTROL_FLOW_V2 = saved["control_flow"]

    return restore
