"""BNL008: Keras BN in a TF1 graph whose step depends on UPDATE_OPS (Keras never puts its updates there)."""

from __future__ import annotations

import libcst as cst

from bnlint.analysis.module_info import kwarg
from bnlint.facts.training import graph_mode
from bnlint.facts.keras_models import is_keras_app_with_bn, module_index
from bnlint.rulekit.rule import Invalid, Rule, RuleContext
from bnlint.facts.project_bn import calls_own_function, imported_modules, per_module, site_text, unit_test_module
from bnlint.facts.updates import YES, covered, is_step, is_update_collection_call


def _training_args(info):
    """Literal or dynamic values passed as ``training=`` anywhere in the module."""
    out = []
    for ev in info.all_events():
        v = kwarg(ev.node, "training")
        if v is not None:
            out.append(v)
    return out


class KerasBNNotInUpdateOps(Rule):
    """Finds `tf.get_collection(tf.GraphKeys.UPDATE_OPS)` feeding an optimizer step in a module whose
    BN layers are Keras layers (`tf.keras.layers.BatchNormalization`, `tf_keras`, keras.applications
    models, `Sequential`s or functions that build them) and which never reads `model.updates` /
    `layer.updates`. Silent when every Keras BN is called with `training=False`. Without any
    UPDATE_OPS read, the step itself is reported (an Estimator `model_fn` or Session trainer calling
    `optimizer.minimize`), also when the Keras model comes from an imported module
    (`net = blocks.Net(); net(x, training=True)`).
    """

    code = "BNL008"
    name = "keras-bn-not-in-update-ops"
    summary = "Keras BN in a TF1 graph: its moving-average updates are not in UPDATE_OPS"
    why = """
    Keras layers keep their update ops on the layer (`layer.updates`, `model.updates`); unlike
    `tf.layers.batch_normalization` they never add them to `tf.GraphKeys.UPDATE_OPS`. In a TF1
    Session/Estimator trainer the usual `with tf.control_dependencies(update_ops)` therefore
    depends on an empty list: the moving mean/variance keep their initial values and inference
    (training=False) is wrong. `bnlint inspect` reports the same on a built graph (BNL103).
    """
    example = """
    net = tf.keras.layers.BatchNormalization()(net, training=is_training)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)   # BNL008: empty
    with tf.control_dependencies(update_ops):
        train_op = optimizer.minimize(loss)
    """
    fix_doc = """
    Depend on the Keras updates: `update_ops = model.updates` (or `bn_layer.updates`, or
    `model.get_updates_for(inputs)`), or build the graph with `tf.compat.v1.layers`. No automatic
    fix: which object holds the layers is a design choice.
    """
    VALID = [
        """
import tensorflow as tf
x = tf.placeholder(tf.float32, [None, 4])
model = tf.keras.Sequential([tf.keras.layers.Dense(8), tf.keras.layers.BatchNormalization()])
loss = tf.reduce_sum(model(x, training=True))
with tf.control_dependencies(model.updates):
    train_op = tf.train.AdamOptimizer().minimize(loss)
""",
        """
import tensorflow as tf
x = tf.placeholder(tf.float32, [None, 4])
h = tf.layers.batch_normalization(x, training=True)
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer().minimize(tf.reduce_sum(h))
""",
        """
import tensorflow as tf
# A frozen Keras backbone (training=False) has no updates to run.
x = tf.placeholder(tf.float32, [None, 224, 224, 3])
base = tf.keras.applications.ResNet50(include_top=False)
feats = base(x, training=False)
loss = tf.reduce_sum(tf.layers.dense(tf.reduce_mean(feats, [1, 2]), 2))
with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.AdamOptimizer().minimize(loss)
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def model_fn(features, labels, mode):
    is_training = mode == tf.estimator.ModeKeys.TRAIN
    net = tf.keras.layers.Dense(64)(features)
    net = tf.keras.layers.BatchNormalization()(net, training=is_training)
    loss = tf.losses.mean_squared_error(labels, tf.keras.layers.Dense(1)(net))
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        train_op = tf.train.AdamOptimizer().minimize(loss, tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
""",
            lines=[7],
        ),
        Invalid(
            """
import tensorflow as tf
from tensorflow.keras.layers import BatchNormalization, Dense
def model_fn(features, labels, mode):
    net = BatchNormalization(axis=-1)(Dense(64)(features), training=mode == tf.estimator.ModeKeys.TRAIN)
    loss = tf.losses.mean_squared_error(labels, Dense(1)(net))
    train_op = tf.train.AdamOptimizer().minimize(loss, tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
""",
            lines=[6],
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info = ctx.info
        project = ctx.project
        keras = [ev for ev in info.all_events() if _keras_bn(ev)]
        modules = [info]
        if not keras:
            # A graph-mode builder in another module (``net = models.Net(); net(x)``).
            if not graph_mode(info) or not any(is_step(ev) for ev in info.all_events()):
                return
            modules += [m for m in imported_modules(project, info) if per_module(project, m, _has_keras_bn)]
            if len(modules) == 1:
                modules += _keras_beside(project, info)
            if len(modules) == 1 or any(per_module(project, m, project.module_trains_bn) for m in modules):
                return  # no Keras BN, or UPDATE_OPS-based BN as well: the collection is not empty
            keras = [ev for m in modules[1:] for ev in m.all_events() if _keras_bn(ev)]
        steps = [ev for ev in info.all_events() if is_step(ev)]
        if not steps or not graph_mode(info):
            return
        if any(module_index(m).attributes & {"updates", "get_updates_for", "_updates"} for m in modules):
            return
        flags = [v for m in modules for v in _training_args(m)]
        if flags and all(isinstance(v, cst.Name) and v.value == "False" for v in flags):
            return
        # Where the layers are built: a direct construction or another module's builder, not a
        # call of this module's own functions (``main()``).
        first = next((e for e in keras if not calls_own_function(project, e)), keras[0])
        keras_line = (f"line {ctx.line_of(first.node)}" if first.body.module is info
                      else site_text(first))
        extra = "" if flags else (
            "; the Keras BN calls also pass no `training=`, so in a TF1 graph they follow "
            "K.learning_phase() (0 unless fed) and run in inference mode"
        )
        reads = [ev for ev in info.all_events() if is_update_collection_call(info, ev.node)]
        for ev in reads:
            ctx.report(
                ev.node,
                f"the BN layers here are Keras layers ({keras_line}), whose updates never enter "
                "UPDATE_OPS: this list is empty (or misses them), so their moving mean/variance never "
                f"update; depend on `model.updates` / `layer.updates` instead{extra}",
            )
        if reads:
            return
        for ev in steps:
            if covered(ev, project) == YES:
                continue
            ctx.report(
                ev.node,
                f"`{ev.method}` never runs the updates of the Keras BN layers ({keras_line}): Keras keeps "
                "them in `layer.updates` / `model.updates`, not in UPDATE_OPS, so in this TF1 graph the "
                "moving mean/variance never move and inference (training=False) normalises with their "
                f"initial values; run the step under tf.control_dependencies(model.updates){extra}",
            )


def _keras_beside(project, info):
    """For a step helper without a model (``estimator/utils.py`` holding the train_op function):
    the graph-mode modules importing it (up to two levels up) and the BN modules they import, when
    one of those builds Keras BN (``models/dcn.py`` -> ``layers/core.py``). Empty otherwise."""
    seen = {info.modname}
    level, out = [info], []
    for _ in range(2):
        nxt = []
        for low in level:
            for m in project.importers(low):
                if m.modname not in seen and not unit_test_module(m):
                    seen.add(m.modname)
                    nxt.append(m)
        for m in nxt:
            if not graph_mode(m):
                continue
            near = [m] + [k for k in imported_modules(project, m) if k.modname not in seen]
            if any(per_module(project, k, _has_keras_bn) for k in near):
                out.extend(k for k in near if k not in out)
        level = nxt
    return out


def _has_keras_bn(info) -> bool:
    return any(_keras_bn(ev) for ev in info.all_events())


def _keras_bn(ev) -> bool:
    return any(s.kind == "keras" for s in ev.sites) or is_keras_app_with_bn(ev.callee)
