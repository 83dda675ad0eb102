"""BNL018: transfer learning with a BN backbone: frozen base called without training=False, or
`trainable` changed after compile() without compiling again."""

from __future__ import annotations

import libcst as cst

from bnlint.core.diagnostics import Fix
from bnlint.fix.edits import insert_keyword
from bnlint.facts.keras_models import model_call, model_has_bn
from bnlint.facts.keras_training import trainable_sets, training_arg_free
from bnlint.analysis.project import call_arg
from bnlint.rulekit.rule import Invalid, Rule, RuleContext

_FIT = {"fit", "fit_generator", "train_on_batch"}


def _has_bn(project, body, text: str) -> bool:
    try:
        expr = cst.parse_expression(text)
    except Exception:  # pragma: no cover - texts come from dotted names
        return False
    return model_has_bn(project, body, expr)


def _is_base(project, ev, base: str, where) -> bool:
    """``ev`` calls ``base``, by its name or through a parameter it was passed to from ``where``."""
    target = model_call(project, ev)
    if target == base:
        return True
    if target is None or target not in ev.body.params or ev.body.assigned.get(target):
        return False
    for c in project.callers.get(ev.body.key, []):
        passed = call_arg(c, ev.body, target)
        if c.body is where and passed is not None and cst.Module([]).code_for_node(passed) == base:
            return True
    return False


class TransferLearningBN(Rule):
    """Finds two transfer-learning mistakes with a backbone that contains BatchNormalization
    (a `keras.applications` model such as ResNet50/MobileNetV2/EfficientNet, or a model built with
    BN layers in the linted code):

    * `base.trainable = False`, later unfrozen for fine-tuning (`base.trainable = True` or
      `layer.trainable = True` over `base.layers`), while the model is built with `base(x)` without
      `training=False`;
    * `model.compile(...)`, then a `trainable` change, then `model.fit(...)` with no `compile()` in
      between (in one function).
    """

    code = "BNL018"
    name = "transfer-learning-bn-mode"
    summary = "Fine-tuning a BN backbone: base(x) without training=False, or trainable changed after compile()"
    severity = "warning"
    fix_safety = "safe"
    why = """
    `trainable = False` also puts Keras BN layers in inference mode, but only while frozen. Once
    the base is unfrozen for fine-tuning, a base called without `training=False` switches its BN
    layers to batch statistics and starts overwriting the pretrained moving averages with
    small-batch statistics of the new data: accuracy drops sharply at the first fine-tuning epoch.
    Separately, Keras reads `trainable` when `compile()` builds the training function: a change
    after `compile()` has no effect until `compile()` is called again, so the "unfrozen" layers
    stay frozen (or the "frozen" ones keep training).
    """
    example = """
    base = tf.keras.applications.MobileNetV2(include_top=False, weights="imagenet")
    base.trainable = False
    x = base(inputs)                          # BNL018: pass training=False
    ...
    base.trainable = True
    model.fit(ds, epochs=5)                   # BNL018: compile() again first
    """
    fix_doc = """
    Build the model with `base(inputs, training=False)` (the fix adds it), and call
    `model.compile(...)` after every change of `trainable`. At runtime the mistakes show as BNL109
    (unfrozen backbone overwriting its statistics) and BNL108 (frozen layer still training after a
    `trainable` change without compile()); `bnlint verify` proves the fix.
    """
    VALID = [
        """
import tensorflow as tf
base = tf.keras.applications.MobileNetV2(include_top=False, weights="imagenet")
base.trainable = False
inputs = tf.keras.Input((224, 224, 3))
x = base(inputs, training=False)
model = tf.keras.Model(inputs, tf.keras.layers.Dense(2)(tf.keras.layers.GlobalAveragePooling2D()(x)))
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(tf.data.Dataset.range(1), epochs=3)
base.trainable = True
model.compile(tf.keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy")
model.fit(tf.data.Dataset.range(1), epochs=3)
""",
        """
import tensorflow as tf
# frozen for good (never unfrozen): BN stays in inference mode
base = tf.keras.applications.ResNet50(include_top=False)
base.trainable = False
inputs = tf.keras.Input((224, 224, 3))
model = tf.keras.Model(inputs, tf.keras.layers.Dense(2)(tf.keras.layers.GlobalAveragePooling2D()(base(inputs))))
model.compile("adam", "mse")
model.fit(tf.data.Dataset.range(1))
""",
    ]
    INVALID = [
        Invalid(
            """
import tensorflow as tf
def main(train_ds):
    base = tf.keras.applications.MobileNetV2(include_top=False, weights="imagenet")
    base.trainable = False
    inputs = tf.keras.Input((160, 160, 3))
    x = base(inputs)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(x))
    model.compile("adam", "binary_crossentropy")
    model.fit(train_ds, epochs=10)
    base.trainable = True
    for layer in base.layers[:100]:
        layer.trainable = False
    model.fit(train_ds, epochs=10)
""",
            lines=[6, 14],
            expected_fix="""
import tensorflow as tf
def main(train_ds):
    base = tf.keras.applications.MobileNetV2(include_top=False, weights="imagenet")
    base.trainable = False
    inputs = tf.keras.Input((160, 160, 3))
    x = base(inputs, training=False)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(x))
    model.compile("adam", "binary_crossentropy")
    model.fit(train_ds, epochs=10)
    base.trainable = True
    for layer in base.layers[:100]:
        layer.trainable = False
    model.fit(train_ds, epochs=10)
""",
        ),
    ]

    def check(self, ctx: RuleContext) -> None:
        info, project = ctx.info, ctx.project
        sets = trainable_sets(info)
        if not sets:
            return
        self._unfrozen_base(ctx, sets)
        for body in info.bodies.values():
            body_sets = [s for s in sets if s.body is body]
            if not body_sets:
                continue
            compiles = [ev for ev in body.events if ev.method == "compile"]
            for fit in (ev for ev in body.events if ev.method in _FIT):
                receiver = fit.node.func.value
                text = cst.Module([]).code_for_node(receiver)
                # Event order first: line numbers cost a position pass over the whole module.
                earlier = [c for c in compiles if c.order < fit.order
                           and cst.Module([]).code_for_node(c.node.func.value) == text]
                if not earlier or not _has_bn(project, body, text):
                    continue
                fit_line = ctx.line_of(fit.node)
                compile_line = max(ctx.line_of(c.node) for c in earlier)
                changed = [s for s in body_sets if compile_line < ctx.line_of(s.node) < fit_line]
                if changed:
                    ctx.report(
                        fit.node,
                        f"`{changed[0].target}.trainable` changes at line {ctx.line_of(changed[0].node)}, after "
                        f"`{text}.compile()` (line {compile_line}) and before this `{fit.method}` without a new "
                        "compile(): Keras reads `trainable` when compiling, so the change (and the BN mode "
                        "switch it implies) does not take effect; call compile() again",
                    )

    def _unfrozen_base(self, ctx, sets) -> None:
        info, project = ctx.info, ctx.project
        for s in sets:
            if s.value is not False or s.loop_iter is not None:
                continue
            base = s.target
            unfrozen = any(
                (o.target == base and o.value is True)
                or (o.value is True and o.loop_iter is not None and o.loop_iter.startswith(base + ".layers"))
                for o in sets
            )
            if not unfrozen or not _has_bn(project, s.body, base):
                continue
            for ev in info.all_events():
                if _is_base(project, ev, base, s.body) and training_arg_free(ev.node) and ev.node.args:
                    ctx.report(
                        ev.node,
                        f"`{base}` is frozen (line {ctx.line_of(s.node)}) and later unfrozen for fine-tuning, but "
                        "it is called without `training=False`: once unfrozen its BN layers switch to batch "
                        "statistics and overwrite the pretrained moving averages",
                        fix=Fix("Keep the base's BN in inference mode", (insert_keyword(info, ev.node, "training", "False"),)),
                    )
