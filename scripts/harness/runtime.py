"""Quiet TensorFlow start-up and deterministic ops for the table scripts and benches.

The packages never do this (importing them has no side effects); the
scripts import this module first.

TensorFlow 2.21 prints oneDNN, CUDA and absl start-up lines to the C-level
stderr before absl's logging is initialised, so `TF_CPP_MIN_LOG_LEVEL` alone
does not silence them. We redirect file descriptor 2 only while TensorFlow is
imported and its devices are listed, then restore it, so every later warning
and traceback is shown as usual. oneDNN stays on (turning it off with
`TF_ENABLE_ONEDNN_OPTS=0` made a small CNN 2.3x slower on a 2-core CPU).

Set `NOISYLABELS_VERBOSE_TF=1` to see TensorFlow's start-up output.
"""

import contextlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@contextlib.contextmanager
def _silenced_stderr_fd():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # No real fd 2 (e.g. some notebooks).
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly():
    """Imports TensorFlow with its start-up noise hidden; returns the module."""
    if "tensorflow" in sys.modules or os.environ.get("NOISYLABELS_VERBOSE_TF"):
        import tensorflow as tf

        return tf
    with _silenced_stderr_fd():
        import tensorflow as tf

        tf.config.list_physical_devices()
    return tf


def enable_determinism():
    """Makes TensorFlow ops deterministic so a seeded run repeats exactly.

    Some CPU kernels (parallel reductions, scatters) otherwise sum in a
    varying order, and a sampler amplifies those last-bit differences into
    different draws: Table 1's CRF rows moved by ~1.5 mAP points between
    identical runs. Costs little on CPU here. Every random op must then be
    seeded, which the table scripts do.
    """
    tf = import_tensorflow_quietly()
    tf.config.experimental.enable_op_determinism()


import_tensorflow_quietly()


def quiet_tensorflow_logs():
    """Hides TensorFlow's and absl's retracing warnings: every table run builds new models."""
    from absl import logging

    logging.set_verbosity(logging.ERROR)
    import_tensorflow_quietly().get_logger().setLevel("ERROR")


def define_determinism_flag():
    """Defines `--deterministic` (default on) for a script that trains seeded runs."""
    from absl import flags

    flags.DEFINE_bool("deterministic", True,
                      "Deterministic TensorFlow ops, so a seeded run repeats exactly.")


def start_run(values):
    """At the top of a training script's main: deterministic ops if `values.deterministic`,
    TensorFlow's retracing warnings hidden."""
    if values.deterministic:
        enable_determinism()
    quiet_tensorflow_logs()
