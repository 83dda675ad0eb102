"""What bnlint knows about TensorFlow's names, independent of how a module imports them.

Every dotted name is reduced to a canonical form: ``tensorflow.compat.v1.layers.batch_normalization``
and ``tf.compat.v1.layers.batch_normalization`` both become ``tf.layers.batch_normalization``;
``tensorflow.contrib.slim``/``tf_slim`` become ``slim``; ``tensorflow.keras``/``tf_keras``/``keras``
become ``keras``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


def canonical(dotted: str) -> str:
    parts = dotted.split(".")
    head = parts[0]
    if head == "tensorflow":
        parts[0] = head = "tf"
    if head == "tf":
        # tf.compat.v1.X / tf.compat.v2.X are X for our purposes.
        while parts[1:3] in (["compat", "v1"], ["compat", "v2"]):
            del parts[1:3]
        if parts[1:4] == ["python", "framework", "ops"]:
            del parts[1:4]  # ops.GraphKeys.UPDATE_OPS
        elif parts[1:3] == ["python", "training"]:
            parts[1:3] = ["train"]
        elif parts[1:2] == ["python"] and len(parts) > 3:
            del parts[1:3]  # tf.python.ops.nn -> tf.nn
        if parts[1:3] == ["contrib", "slim"]:
            parts = ["slim"] + parts[3:]
        elif parts[1:3] == ["contrib", "framework"]:
            parts = ["slim"] + parts[3:]  # arg_scope lives here too
        elif parts[1:2] == ["keras"]:
            parts = ["keras"] + parts[2:]
    elif head == "tf_slim":
        parts[0] = "slim"
    elif head == "tf_keras":
        parts[0] = "keras"
    if parts[0] == "slim" and len(parts) > 2 and parts[1] in ("layers", "ops"):
        del parts[1]  # slim.layers.batch_norm == slim.batch_norm
    if parts[0] == "keras" and len(parts) > 2 and parts[1] == "src":
        del parts[1]
    if parts[0] == "keras" and parts[1:2] == ["layers"] and len(parts) > 3:
        parts = ["keras", "layers", parts[-1]]  # keras.layers.normalization.X
    return ".".join(parts)


@dataclass(frozen=True)
class BNCreator:
    """A TensorFlow callable that creates BN moving statistics."""

    name: str
    flag: Optional[str]  # keyword carrying the training flag at construction
    flag_pos: Optional[int]  # its positional index
    default_training: bool
    # 'functional': variables and updates created at this call (UPDATE_OPS based).
    # 'layer_class': TF1 layer object; variables/updates created when the object is called.
    # 'keras': Keras layer; updates never enter UPDATE_OPS.
    kind: str
    updates_pos: Optional[int] = None  # positional index of updates_collections


_CONTRIB_BN = dict(flag="is_training", flag_pos=9, default_training=True, kind="functional", updates_pos=8)

BN_CREATORS = {
    c.name: c
    for c in [
        BNCreator("tf.layers.batch_normalization", "training", 14, False, "functional"),
        BNCreator("tf.layers.BatchNormalization", None, None, False, "layer_class"),
        BNCreator("tf.contrib.layers.batch_norm", **_CONTRIB_BN),
        BNCreator("slim.batch_norm", **_CONTRIB_BN),
        BNCreator("keras.layers.BatchNormalization", None, None, False, "keras"),
        BNCreator("keras.layers.SyncBatchNormalization", None, None, False, "keras"),
        BNCreator("keras.layers.experimental.SyncBatchNormalization", None, None, False, "keras"),
    ]
}

# Layers that accept normalizer_fn=<BN> (slim / contrib.layers style).
NORMALIZER_HOSTS = {
    "slim.conv2d",
    "slim.convolution2d",
    "slim.conv2d_transpose",
    "slim.separable_conv2d",
    "slim.fully_connected",
    "slim.conv3d",
    "slim.convolution",
    "tf.contrib.layers.conv2d",
    "tf.contrib.layers.convolution2d",
    "tf.contrib.layers.conv2d_transpose",
    "tf.contrib.layers.separable_conv2d",
    "tf.contrib.layers.fully_connected",
}

ARG_SCOPE = {"slim.arg_scope"}
UPDATE_OPS_KEYS = {"tf.GraphKeys.UPDATE_OPS"}
GET_COLLECTION = {"tf.get_collection", "tf.get_collection_ref"}
CONTROL_DEPS = {"tf.control_dependencies"}
GROUP = {"tf.group", "tf.tuple"}
VARIABLE_SCOPE = {"tf.variable_scope", "tf.variable_op_scope"}
GET_VARIABLE_SCOPE = {"tf.get_variable_scope"}
DEVICE = {"tf.device"}
MAKE_TEMPLATE = {"tf.make_template"}
AUTO_REUSE = {"tf.AUTO_REUSE"}
# Helpers that add UPDATE_OPS to the step themselves.
CREATE_TRAIN_OP = {
    "slim.learning.create_train_op",
    "tf.contrib.training.create_train_op",
    "slim.create_train_op",
    "slim.learning.train",
}
# Optimizer methods that make a training step.
STEP_METHODS = {"minimize", "apply_gradients"}
GRADIENT_METHODS = {"compute_gradients"}
GRADIENT_FUNCS = {"tf.gradients"}
