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

Replica arithmetic (used inside every model's `train_step`). Keras'
optimizer sums gradients over the replicas in sync, so a custom train step
must give each replica its share of the loss: `replica_mean_share`
normalises by the global batch's weight (`replica_sum`), so the shares add
up to the loss a single process computes on the whole global batch, however
unevenly labelled or clean rows fall on the replicas. `global_batch_draw`
makes each replica take its own rows of one draw for the global batch, so a
distributed step uses exactly the random numbers a single process would.
Without a strategy (or with one replica) every helper is the plain
single-process operation.

`enable_distributed_fit` fixes two places where Keras 3 (checked up to
3.15) breaks `Model.fit` under a strategy (it cannot run at all under
`MultiWorkerMirroredStrategy`); `make_strategy` calls it. Users who build
their own strategy call it once before `fit`. Importing this project's
packages changes nothing in Keras.
"""

import contextlib
import json
import os
import warnings

import keras
import tensorflow as tf
from keras import ops

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
        enable_distributed_fit()
        return tf.distribute.MirroredStrategy()
    _check_tf_config()
    enable_distributed_fit()
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


# ------------------------------------------------------------ replica arithmetic
def batch_normalization(**kwargs):
    """A `keras.layers.BatchNormalization` that, when built inside a strategy's
    scope, synchronises its batch statistics over the replicas, so that a
    distributed model normalises over the global batch as a single process
    does. Outside a scope it is Keras' default layer (Keras' synchronised
    moments use another, less exact variance formula even with one replica).

    Args:
        **kwargs: `keras.layers.BatchNormalization` arguments.
    """
    kwargs.setdefault("synchronized", tf.distribute.has_strategy())
    return keras.layers.BatchNormalization(**kwargs)


def replica_context():
    """The current replica context when more than one replica runs in sync, else None."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def num_replicas():
    """Replicas in sync in the current replica context (1 without a strategy)."""
    context = replica_context()
    return 1 if context is None else context.num_replicas_in_sync


def replica_sum(value):
    """Sum of `value` over the replicas in sync (differentiable: the gradient
    of an all-reduced sum is the all-reduced gradient)."""
    context = replica_context()
    return value if context is None else context.all_reduce("sum", value)


def global_value(value):
    """A per-replica share summed over the replicas, without gradient: the
    global-batch value of a loss whose shares come from `replica_mean_share`,
    identical on every replica (what the loss tracker should record)."""
    return replica_sum(ops.stop_gradient(value))


def replica_mean_share(values, weights=None):
    """This replica's share of the weighted mean of `values` over the global batch.

    `sum_local(w * v) / max(sum_global(w), 1)`: the shares of all replicas
    add up to the weighted mean a single process computes on the global
    batch, and so do their gradients, which the optimizer sums. Without a
    strategy this is the weighted mean (0 when no weight is positive).

    Args:
        values: `(B,)` per-example values.
        weights: optional `(B,)` weights or mask (1 for every row if None).

    Returns:
        A scalar.
    """
    values = ops.convert_to_tensor(values)
    if weights is None:
        if replica_context() is None:
            return ops.mean(values)
        weights = ops.ones_like(values)
    weights = ops.cast(weights, values.dtype)
    total = replica_sum(ops.sum(weights))
    return ops.sum(values * weights) / ops.maximum(total, 1.0)


def replica_share(value):
    """This replica's share of a term that every replica computes identically
    (a weight penalty, a function of all-reduced batch statistics): `value /
    R`, since the optimizer sums the replicas' gradients (and the gradient of
    an all-reduced sum is itself all-reduced)."""
    return value / num_replicas()


def global_batch_draw(draw, shape, **kwargs):
    """`draw(shape, **kwargs)` for this replica's rows of the global batch.

    Under a strategy with R replicas in sync, draws `(R * B, ...)` numbers (the
    shape a single process draws for the global batch) from the replicas'
    identical seed state and takes this replica's `B` rows, so every replica
    uses other numbers and together they use exactly a single process's.
    Costs R times the random numbers.

    Args:
        draw: a `keras.random` function taking `(shape, ..., seed=...)`.
        shape: this replica's shape `(B, ...)`.
        **kwargs: passed to `draw` (e.g. `seed`, `stddev`, `minval`).

    Returns:
        A `shape` tensor.
    """
    context = replica_context()
    if context is None:
        return draw(shape, **kwargs)
    shape = tuple(shape)
    replicas = context.num_replicas_in_sync
    draws = draw((replicas * shape[0],) + shape[1:], **kwargs)
    start = context.replica_id_in_sync_group * shape[0]
    return ops.slice(draws, (start,) + (0,) * (len(shape) - 1), shape)


# ------------------------------------------------------------ Keras multi-worker fit
_KERAS_FIXES = {}


def enable_distributed_fit():
    """Fixes Keras 3's `fit`/`evaluate` under `tf.distribute` strategies.

    Keras 3 (checked up to 3.15; keras-team/keras#20585) breaks there for
    any model, in two places, both in `keras.src.backend.tensorflow.trainer`:

    1. Before the first step, under any strategy, its symbolic build takes
       a batch from the training iterator, so training starts one batch
       late (or, for a finite dataset, on its second shuffle), and under
       `MultiWorkerMirroredStrategy` it feeds that batch, reduced across
       replicas, to the model, which raises "Attempt to convert a value
       (PerReplica...)".
    2. It reduces every scalar log with `strategy.reduce("MEAN", v,
       axis=0)`, which raises "Invalid reduction dimension 0 for input with
       0 dimensions".

    This builds from the dataset's element spec instead (no batch is
    consumed, under every strategy) and reduces scalar logs over replicas
    (`axis=None`) under `MultiWorkerMirroredStrategy`; anything else stays
    on Keras' code. Idempotent; `make_strategy` calls it.

    Returns:
        True when the fixes are in place; False (with a warning) when this
        Keras no longer has the functions involved, so nothing was changed.
    """
    if _KERAS_FIXES:
        return True
    from keras.src.backend.tensorflow import trainer as tf_trainer

    keras_reduce = getattr(tf_trainer, "reduce_per_replica", None)
    keras_build = getattr(tf_trainer.TensorFlowTrainer, "_maybe_symbolic_build", None)
    if None in (keras_reduce, keras_build,
                getattr(tf_trainer, "_collective_all_reduce_multi_worker", None)):
        warnings.warn(
            f"Keras {keras.__version__} no longer has the functions that "
            "tf_data.distribute.enable_distributed_fit replaces; nothing was changed. "
            "Check whether this Keras trains under MultiWorkerMirroredStrategy.", UserWarning)
        return False

    multi_worker = tf_trainer._collective_all_reduce_multi_worker

    def reduce_per_replica(values, strategy, reduction):
        if not multi_worker(strategy) or reduction not in ("auto", "mean"):
            return keras_reduce(values, strategy, reduction)

        def mean(value):
            local = strategy.experimental_local_results(value)[0]
            return strategy.reduce("MEAN", value, axis=0 if local.shape.rank else None)

        return tf.nest.map_structure(mean, values)

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        adapter = getattr(iterator, "data_adapter", None)
        if strategy is None or adapter is None:
            return keras_build(self, iterator=iterator, data_batch=data_batch)
        # TensorSpecs have the shape and dtype the build reads from a batch.
        with strategy.scope():
            self._symbolic_build(data_batch=adapter.get_tf_dataset().element_spec)

    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    _KERAS_FIXES.update(reduce_per_replica=keras_reduce, maybe_symbolic_build=keras_build)
    return True
