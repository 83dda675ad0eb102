"""BNL015 where BN is built only under a condition: the fix keeps the bias where BN is off."""

import os

from bnlint.run.paths import lint_paths
from bnlint.core.settings import Settings

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fix_programs", "optional_bn_layers.py")


def test_fix_follows_the_condition_bn_is_built_under():
    result = lint_paths([PATH], Settings(select=["BNL015"]))
    with open(PATH, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    fixes = {}
    for d in result.diagnostics:
        func = next(l for l in reversed(lines[: d.location.row]) if l.startswith("def ")).split("(")[0][4:]
        fixes[func] = d.fix.edits[0].content if d.fix else None
        assert d.fix is None or d.fix.applicability == "unsafe"
    assert fixes == {
        "conv_block": ", use_bias=not bnorm",
        "conv_else": ", use_bias=bool(plain)",
        "dense_ifexp": ", use_bias=not (cfg.use_bn and cfg.depth > 2)",
        "dense_call": None,  # opts.get("bn") is a call: not re-evaluated at the layer
        "rebound": None,  # use_bn changes between the layer and the BN
        "always": ", use_bias=False",
        "make_model": ", use_bias=not use_bn",
    }


def test_not_in_test_modules(tmp_path):
    code = ("from tensorflow import keras\n"
            "model = keras.Sequential([keras.layers.Dense(8, input_shape=(4,)), keras.layers.BatchNormalization()])\n")
    for name, found in (("model.py", 1), ("model_test.py", 0), ("test_model.py", 0)):
        (tmp_path / name).write_text(code)
        diags = lint_paths([str(tmp_path / name)], Settings(select=["BNL015"])).diagnostics
        assert len(diags) == found, name
