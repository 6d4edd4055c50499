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
