"""The prefilter decides which files get parsed with libcst at all: the text test (``prefilter``)
and, on CPython's AST, BN words used in code (``uses_bn``). It must keep every file a rule can
report on (each rule's INVALID examples), and drop TF internals that merely name BN ops."""

import ast
import textwrap

import pytest

from bnlint.source.discover import prefilter, uses_bn


def relevant(source: str) -> bool:
    return prefilter(source.encode()) and uses_bn(ast.parse(source))
from bnlint.lint.registry import all_rules
from bnlint.rulekit.rule import Invalid

EXAMPLES = [
    (code, i, ex.code if isinstance(ex, Invalid) else ex)
    for code, rule in all_rules().items()
    for i, ex in enumerate(rule.INVALID)
]


@pytest.mark.parametrize("code,i,source", EXAMPLES, ids=[f"{c}-{i}" for c, i, _ in EXAMPLES])
def test_every_invalid_example_passes_the_prefilter(code, i, source):
    # A rule whose own examples are filtered out would never report on real files: add the word
    # its findings need to discover._BN_LITERALS / _BN_CODE_NAME (or a conjunction like _HAND_ROLLED).
    assert relevant(textwrap.dedent(source))


@pytest.mark.parametrize("source", [
    "y = tf.compat.v1.layers.batch_normalization(x, training=True)",
    "net = slim.conv2d(x, 8, 3, normalizer_fn=slim.batch_norm)",
    "from tensorflow.contrib.layers import batch_norm as bn",
    "layer = tf.keras.layers.BatchNormalization()",
    "layer = tf.keras.layers.experimental.SyncBatchNormalization()",
    "tf.keras.backend.set_learning_phase(1)",
    "base = tf.keras.applications.MobileNetV2(include_top=False)",
    "from tensorflow.keras.applications import resnet50\nbase = resnet50.ResNet50()",
    "m, v = tf.nn.moments(x, [0])\nema = tf.train.ExponentialMovingAverage(0.99)",
])
def test_files_that_can_matter_pass(source):
    assert relevant(source)


@pytest.mark.parametrize("source", [
    "y, m, v = tf.nn.fused_batch_norm(x, scale, offset)",  # an op, no BN layer/variables
    "return gen_nn_ops.fused_batch_norm_v3(x)",
    "ops.RegisterGradient('FusedBatchNormV3')",
    "import tensorflow as tf\nopt = tf.train.AdamOptimizer().minimize(loss)",
    "from keras.applications import imagenet_utils",
    "mean, var = tf.nn.moments(x, [0])",
    # BN named, never used in code: re-export modules, docs, strings.
    "from tensorflow.python.keras.layers.normalization import BatchNormalization\n__all__ = ['BatchNormalization']",
    '"""Use tf.layers.batch_normalization(x, training=True) here."""\nx = 1',
    "# see tf.keras.layers.BatchNormalization\nx = 1",
])
def test_files_that_only_name_bn_do_not(source):
    assert not relevant(source)


def test_importers_of_matches_on_dotted_suffixes():
    from bnlint.source.discover import importers_of

    pending = {
        "train.py": ["pkg.models", "numpy"],
        "eval.py": ["models"],  # a suffix of the module
        "deep.py": ["app.pkg.models.small_cnn"],  # the module is a suffix of it
        "other.py": ["mymodels", "pkg.models_v2", "models.extra"],  # names that only share characters
        "none.py": [],
    }
    assert importers_of({"pkg.models"}, pending) == ["train.py", "eval.py"]
    assert importers_of({"models.small_cnn"}, pending) == ["deep.py"]
    assert importers_of({"models"}, pending) == ["train.py", "eval.py"]
    assert importers_of(set(), pending) == []


def test_imported_among_answers_as_importers_of_module_by_module():
    # The tree run asks "which of these helper modules does any analysed file import?" in one pass;
    # the answer must be the one importers_of gives for each module alone (dotted-suffix matches).
    import random

    from bnlint.source.discover import imported_among, importers_of

    rng = random.Random(7)
    parts = ["pkg", "models", "layers", "utils", "optim", "nets", "train"]
    def name():
        return ".".join(rng.choice(parts) for _ in range(rng.randint(1, 3)))
    for _ in range(200):
        modules = {name() for _ in range(rng.randint(1, 6))}
        importers = {f"f{i}.py": [name() for _ in range(rng.randint(0, 4))] for i in range(rng.randint(0, 5))}
        expected = [m for m in sorted(modules) if importers_of({m}, importers)]
        assert imported_among(sorted(modules), importers) == expected
    assert imported_among(["pkg.optim"], {"t.py": ["optim"]}) == ["pkg.optim"]
    assert imported_among(["optim"], {"t.py": ["pkg.utils"]}) == []
