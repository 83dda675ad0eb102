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
        "(warning)."),
    "BNL105": RuntimeCode(
        "towers-not-sharing", "warning",
        "Towers meant to share weights read their own copies of the variables (matched by name and shape)."),
    "BNL106": RuntimeCode(
        "bn-small-device-batch", "warning",
        "Training BN layers compute unsynchronised statistics over a static per-device batch below the "
        "threshold (default 16): use synchronized BN or GroupNorm."),
    "BNL107": RuntimeCode(
        "bn-statistics-stuck", "error",
        "After K training steps a training BN layer's moving mean/variance stayed at their initial values "
        "(error), or moved away from the batch statistics of the layer's input (warning); numbers in data."),
}
