"""Test configuration shared by the whole suite."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

from scripts.harness import runtime as environment  # noqa: E402,F401  (quiet TensorFlow import)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a test that takes more than ~15 s on 2 CPU cores")


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from a clean Keras graph/name state and fixed seeds."""
    import keras

    from tensorflow.python.framework import config as tf_config

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    yield
    # A script's main() run in-process may enable op determinism
    # (--deterministic); later tests must not inherit it.
    tf_config.disable_op_determinism()
