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

    # free_memory=False skips clear_session's gc.collect(), which took about
    # 0.5 s per test once TensorFlow's heap is large (over half the suite's
    # time); Python's own collector still runs.
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(0)
    yield
    # A script's main() run in-process may enable op determinism
    # (--deterministic); later tests must not inherit it.
    tf_config.disable_op_determinism()


@pytest.fixture
def run_script(capsys):
    """Runs `scripts.<name>`'s main (or a dotted module's, e.g. `bench.umn_fidelity`)
    in this process with argv; returns what it printed.

    absl flags are process-global and the scripts define the same names, so
    the module is imported fresh, its flags are parsed from `args`, and
    afterwards every flag it defined is deleted and the module unloaded.
    Bad flags raise `absl.flags.Error` (as `app.run` would report them).
    """
    import importlib
    import sys

    from absl import flags

    def run(name, *args):
        values = flags.FLAGS
        defined_before = set(values)
        module_name = name if "." in name else f"scripts.{name}"
        sys.modules.pop(module_name, None)
        try:
            module = importlib.import_module(module_name)
            module.main(values([module_name, *args]))
        finally:
            for flag_name in set(values) - defined_before:
                delattr(values, flag_name)
            values.unparse_flags()
            sys.modules.pop(module_name, None)
        return capsys.readouterr().out

    return run
