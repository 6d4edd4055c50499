"""`tf.distribute` strategies by name, for the scripts' `--strategy` flag.

`none` trains in one process; `mirrored` on every local GPU (or CPU) of one
machine; `multi_worker` runs one process per machine with
`tf.distribute.MultiWorkerMirroredStrategy`, which reads the cluster from the
`TF_CONFIG` environment variable, as TensorFlow documents. Two workers on one
machine (ports are examples):

    TF_CONFIG='{"cluster": {"worker": ["localhost:12345", "localhost:12346"]},
                "task": {"type": "worker", "index": 0}}' python -m scripts.X --strategy=multi_worker &
    TF_CONFIG='{"cluster": {"worker": ["localhost:12345", "localhost:12346"]},
                "task": {"type": "worker", "index": 1}}' python -m scripts.X --strategy=multi_worker

On a cluster each machine runs the same command with the cluster's host:port
list and its own `task.index` (a scheduler such as Slurm or Kubernetes sets
`TF_CONFIG` per task). Worker 0 is the chief: it writes results and backups.
"""

import contextlib
import json
import os

import tensorflow as tf

STRATEGIES = ("none", "mirrored", "multi_worker")
TF_CONFIG_EXAMPLE = ('TF_CONFIG=\'{"cluster": {"worker": ["host0:12345", "host1:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}\'')


def _check_tf_config():
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ValueError(
            "--strategy=multi_worker reads the cluster from the TF_CONFIG environment "
            f"variable, which is not set. Set it in every worker, e.g. {TF_CONFIG_EXAMPLE} "
            "(index 1 on the second worker).")
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        task = config["task"]
        task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError):
        raise ValueError(
            f"TF_CONFIG is not valid: {text!r}. It needs a cluster with a worker list and "
            f"this process's task type and index, e.g. {TF_CONFIG_EXAMPLE}.") from None
    if not workers:
        raise ValueError("TF_CONFIG's cluster lists no workers.")


def make_strategy(name):
    """The strategy called `name`.

    Args:
        name: one of `STRATEGIES`.

    Returns:
        None for `none`, else a `tf.distribute.Strategy`.

    Example:

    >>> strategy = make_strategy("mirrored")
    >>> with strategy_scope(strategy):
    ...     model = build_and_compile()
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}.")
    if name == "none":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    _check_tf_config()
    return tf.distribute.MultiWorkerMirroredStrategy()


def strategy_scope(strategy):
    """`strategy.scope()`, or a context that does nothing for None."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def is_chief(strategy):
    """Whether this process writes results and backups.

    True without a strategy, in one process (`mirrored`), and on a
    multi-worker cluster's chief: task type `chief`, or worker 0 when the
    cluster has no chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and int(resolver.task_id) == 0 and not has_chief


def worker_count(strategy):
    """Processes training together (1 without a multi-worker strategy)."""
    extended = getattr(strategy, "extended", None)
    return int(getattr(extended, "_num_workers", 1) or 1) if extended is not None else 1
