"""BNL001 says which failure a rebuilt model really has, at the call where it happens (TF 2.21).

- Named layers (a literal ``variable_scope``, ``name=``/``scope=``): the second build raises
  "Variable ... already exists" at graph construction; the finding is at that call, and it is the
  first such call (tests/programs/gan_named_scopes.py: the second ``discriminator()``, not the
  sampling ``generator()`` after it, which never runs).
- Unnamed layers: the second build succeeds with new, untrained BN variables.
"""

import os
import textwrap
import traceback

import pytest

pytestmark = [pytest.mark.tf, pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow").compat.v1

from bnlint.run.paths import lint_paths  # noqa: E402
from bnlint.core.settings import Settings  # noqa: E402

GAN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs", "gan_named_scopes.py")


def _findings(path):
    return [d for d in lint_paths([str(path)], Settings()).diagnostics if d.code == "BNL001"]


def _build(path, call="build"):
    """Run the program's graph construction; (moving means, None) or (None, line that raised)."""
    with open(path, encoding="utf-8") as fh:
        namespace = {"__name__": "program"}
        exec(compile(fh.read(), str(path), "exec"), namespace)
    with tf.Graph().as_default():
        try:
            namespace[call]()
        except ValueError as exc:
            assert "already exists" in str(exc)
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
            return None, frames[0].lineno  # the call in build() that raised (then the helper)
        return sorted(v.op.name for v in tf.global_variables() if "moving_mean" in v.name), None


def test_named_scopes_fail_at_the_reported_call():
    found = _findings(GAN)
    assert len(found) == 1 and "already exists" in found[0].message
    means, line = _build(GAN)
    assert means is None and line == found[0].location.row


UNNAMED = textwrap.dedent("""
    import tensorflow.compat.v1 as tf
    def generator(z, training):
        h = tf.layers.dense(z, 64)
        return tf.layers.batch_normalization(h, training=training)
    def build():
        fake = generator(tf.zeros([4, 8]), training=True)
        samples = generator(tf.zeros([4, 8]), training=False)
        return fake, samples
""")

NAMED = UNNAMED.replace("tf.layers.dense(z, 64)", 'tf.layers.dense(z, 64, name="fc")').replace(
    "training=training)", 'training=training, name="bn")')


def test_unnamed_layers_get_new_variables_named_ones_raise(tmp_path):
    unnamed, named = tmp_path / "unnamed.py", tmp_path / "named.py"
    unnamed.write_text(UNNAMED)
    named.write_text(NAMED)
    (a,), (b,) = _findings(unnamed), _findings(named)
    assert a.location.row == b.location.row == 8
    assert "unnamed" in a.message and "new variables" in a.message and "already exists" not in a.message
    assert "already exists" in b.message
    means, line = _build(unnamed)
    assert means == ["batch_normalization/moving_mean", "batch_normalization_1/moving_mean"] and line is None
    means, line = _build(named)
    assert means is None and line == b.location.row
