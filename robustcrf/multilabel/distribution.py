"""Replica helpers for `tf.distribute` strategies (identity without one)."""

import tensorflow as tf


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
    """Sum of `value` over the replicas in sync."""
    context = replica_context()
    return value if context is None else context.all_reduce("sum", value)
