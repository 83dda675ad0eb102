"""Runtime inspector tests: real TensorFlow, graphs built in-process (tf.Graph().as_default())."""

import os

# read by TensorFlow at import: tf.compat.v1.layers needs Keras 2 (tf-keras)
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

pytest.importorskip("tensorflow")

SCRIPTS = os.path.join(os.path.dirname(__file__), "scripts")
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "examples")


@pytest.fixture
def trainer_script():
    return os.path.join(SCRIPTS, "trainer.py")


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            # tf.compat.v1.layers are deprecated: that is what the inspected code uses
            item.add_marker(pytest.mark.filterwarnings("ignore:`tf.layers:UserWarning"))
