"""The runtime inspector's codes: name and summary of each. Lives outside bnlint.runtime so docs and
config can read it without TensorFlow installed."""

from __future__ import annotations

from typing import Dict, NamedTuple


class RuntimeCode(NamedTuple):
    name: str
    severity: str  # the usual severity; some findings are downgraded (see summary)
    summary: str


RUNTIME_CODES: Dict[str, RuntimeCode] = {
    "BNL101": RuntimeCode(
        "bn-updates-not-run", "error",
        "BN moving statistics (moving_mean/moving_variance of fused, unfused, Keras 2 or Keras 3 BN) that no train "
        "op updates: none of the ops assigning them is a data or control dependency of a train op. Names the "
        "layers and the towers whose update ops are dropped. Judged per moving variable: towers sharing "
        "variables whose tower-0 updates run are fine (an info-level BNL103 note)."),
    "BNL102": RuntimeCode(
        "bn-untrained-copy", "error",
        "BN moving statistics that serve inference but no train op updates, paired with the trained layer they "
        "duplicate (e.g. batch_normalization_3 vs batch_normalization, eval/bn1 vs bn1): a missing variable "
        "reuse. Without a trained twin it is a warning (a frozen layer restored from a checkpoint looks alike)."),
    "BNL103": RuntimeCode(
        "bn-update-collection", "warning",
        "The UPDATE_OPS collection misses BN update ops that exist in the graph (Keras BN layers, Keras 3 "
        "orphan assign ops) or holds those of only some towers; info when the train op runs them anyway, or "
        "when shared variables are updated from tower 0 only."),
    "BNL104": RuntimeCode(
        "bn-training-mode-inference", "error",
        "An inference/eval fetch reaches BN ops hard-wired to training mode (training=True constant), so "
        "inference normalizes with batch statistics. Without eval fetches: training-mode BN no train op uses "
        "(warning). TF2/Keras: a BN layer ran in training mode during evaluate/predict/fit validation or a custom "
        "eval step (training=True, K.set_learning_phase(1)), with how far its statistics drifted."),
    "BNL105": RuntimeCode(
        "towers-not-sharing", "warning",
        "Towers meant to share weights read their own copies of the variables (matched by name and shape)."),
    "BNL106": RuntimeCode(
        "bn-small-device-batch", "warning",
        "Training BN layers compute unsynchronised statistics over a static per-device batch below the "
        "threshold (default 16): use synchronized BN or GroupNorm. TF2/Keras: measured per replica under a "
        "strategy, with the noise of the replicas' batch means (std units)."),
    "BNL107": RuntimeCode(
        "bn-statistics-stuck", "error",
        "After K training steps a training BN layer's moving mean/variance stayed at their initial values "
        "(error), or moved away from the batch statistics of the layer's input (warning); numbers in data. TF2/Keras: "
        "a custom GradientTape train step called the model without training=True (static counterpart BNL017)."),
    "BNL108": RuntimeCode(
        "frozen-bn-statistics-moved", "error",
        "TF2/Keras: a BN layer with trainable=False ran in training mode in a training step (fit or a GradientTape "
        "step) and its moving statistics moved from their frozen values, e.g. because `trainable` changed "
        "after compile() while fit's train function was already traced (static counterpart BNL018)."),
    "BNL109": RuntimeCode(
        "finetune-bn-overwrites-statistics", "warning",
        "TF2/Keras: a BN layer frozen in an earlier training phase, then unfrozen for fine-tuning, runs in "
        "training mode and overwrites the pre-trained moving statistics (how far they moved, batch size, calls). "
        "The backbone was called without training=False (static counterpart BNL018)."),
    "BNL110": RuntimeCode(
        "bn-created-per-call", "error",
        "TF2/Keras: one line of the script created several BN layers, some after training had started (inside "
        "the train step or a layer's call()): each call gets new variables and the moving statistics never "
        "accumulate (static counterpart BNL021)."),
    "BNL111": RuntimeCode(
        "replica-statistics-differ", "warning",
        "TF2/Keras under a distribution strategy: the replicas of a BN layer hold different moving statistics "
        "(largest replica mean distance from their average above 0.05 std), as each averaged only its own "
        "per-replica batches; synchronized=True keeps them equal (static counterpart BNL019)."),
}
