"""Validated `tf.data` training streams for UMN and its baselines.

Labels follow `tf_data.batch_keys`: observed class in `[0, C)`, or
`UNLABELLED` (-1) for an unlabelled example. These functions are the
boundary where user labels are checked, so models can assume clean input
in their compiled train steps.
"""

import numpy as np

import tf_data
from tf_data import pipelines
from tf_data import validation
from tf_data.batch_keys import IS_LABELLED_KEY
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


def semi_supervised_stream(images, labels, num_classes, labelled_per_batch,
                           unlabelled_per_batch, seed):
    """Infinite mixed batches: `labelled_per_batch` labelled + the rest unlabelled.

    Args:
        images: `(n, H, W, K)` training images.
        labels: `(n,)` observed labels, -1 = unlabelled.
        num_classes: C.
        labelled_per_batch, unlabelled_per_batch: rows per batch from each
            set (paper MNIST: 5 + 95).
        seed: int seed.

    Returns:
        `(dataset, steps_per_epoch)`: the `tf_data.mixed_pipeline` stream and
        the steps of one pass over the unlabelled set.
    """
    labels = check_partial_labels(labels, num_classes)
    validation.check_same_length(images=images, labels=labels)
    labelled = np.flatnonzero(labels >= 0)
    unlabelled = np.flatnonzero(labels < 0)
    if len(unlabelled) == 0:
        raise ValueError(
            "Semi-supervised training needs unlabelled examples (label -1); "
            "all examples are labelled. Use the supervised baseline instead."
        )
    labelled_per_batch = min(labelled_per_batch, len(labelled))
    unlabelled_per_batch = min(unlabelled_per_batch, len(unlabelled))
    first = tf_data.example_features(images[labelled], labels[labelled], labelled)
    second = tf_data.example_features(images[unlabelled], labels[unlabelled], unlabelled)
    dataset = tf_data.mixed_pipeline(first, second, labelled_per_batch,
                                     unlabelled_per_batch, seed, IS_LABELLED_KEY)
    steps = pipelines.mixed_steps_per_epoch(len(unlabelled), unlabelled_per_batch)
    return dataset, steps


def labelled_stream(images, labels, num_classes, batch_size, seed):
    """Infinite shuffled batches of the labelled examples only (supervised).

    Returns:
        `(dataset, steps_per_epoch)` with one pass over the labelled set per
        epoch.
    """
    labels = check_partial_labels(labels, num_classes)
    validation.check_same_length(images=images, labels=labels)
    labelled = np.flatnonzero(labels >= 0)
    batch_size = min(batch_size, len(labelled))
    features = tf_data.example_features(images[labelled], labels[labelled], labelled)
    dataset = tf_data.training_pipeline(features, batch_size, seed, repeat=True)
    return dataset, max(1, int(np.ceil(len(labelled) / batch_size)))
