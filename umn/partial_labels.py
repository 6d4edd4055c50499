"""The partial labels UMN and its baselines train on: a class, or -1 for unlabelled."""

import numpy as np

from tf_data import validation
from tf_data.batch_keys import UNLABELLED


def check_partial_labels(labels, num_classes):
    """Returns `labels` as int64 with -1 for unlabelled, or raises ValueError.

    Floats holding whole numbers (as a float array or a pandas column with
    missing values stores labels) are taken as those integers.

    Raises:
        ValueError: not 1-D, not integers, a value outside `{-1} U [0, C)`,
            or no labelled example at all.
    """
    num_classes = validation.check_num_classes(num_classes)
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(
            f"labels must be a 1-D array of class indices (-1 = unlabelled), got shape "
            f"{array.shape}."
        )
    array = validation.integer_indices(array, "labels")
    bad = (array < UNLABELLED) | (array >= num_classes)
    if np.any(bad):
        raise ValueError(
            f"labels must lie in [0, {num_classes}) or be -1 (unlabelled); "
            f"{int(bad.sum())} value(s) do not, e.g. {int(array[bad][0])} at position "
            f"{int(np.flatnonzero(bad)[0])}. Remap them to 0..C-1."
        )
    if not np.any(array >= 0):
        raise ValueError(
            "There are no labelled examples (every label is -1); UMN and every "
            "baseline need at least one labelled example per run."
        )
    return array.astype(np.int64)


def disbelief_of_labels(posterior, labels):
    """`1 - p(y_obs | x)` of every labelled row, 0 on unlabelled rows.

    Args:
        posterior: `(m, C)` class distributions of the labelled rows, in the
            order of `np.flatnonzero(labels >= 0)`.
        labels: `(n,)` labels in `[0, C)`, -1 for unlabelled rows.

    Returns:
        `(n,)` float32 in [0, 1].

    Raises:
        ValueError: labels out of range, or a posterior that is not one
            class distribution per labelled row.

    Example:

    >>> disbelief_of_labels(np.array([[0.9, 0.1], [0.3, 0.7]]), np.array([1, -1, 1]))
    array([0.9, 0. , 0.3], dtype=float32)
    """
    posterior = np.asarray(posterior)
    if posterior.ndim != 2:
        raise ValueError(f"posterior must be (labelled rows, classes), got shape "
                         f"{posterior.shape}.")
    labels = check_partial_labels(labels, posterior.shape[1])
    rows = np.flatnonzero(labels >= 0)
    posterior = validation.check_class_distributions(posterior, len(rows), posterior.shape[1])
    disbelief = np.zeros(len(labels), np.float32)
    disbelief[rows] = 1.0 - posterior[np.arange(len(rows)), labels[rows]]
    return np.clip(disbelief, 0.0, 1.0)
