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
from tf_data.batch_keys import HELD_OUT_DISBELIEF_KEY
from tf_data.batch_keys import IS_LABELLED_KEY
from umn.label_spreading import held_out_disbelief as compute_held_out_disbelief
from umn.partial_labels import check_partial_labels


def semi_supervised_stream(images, labels, num_classes, labelled_per_batch,
                           unlabelled_per_batch, seed, held_out_disbelief=True):
    """Infinite mixed batches: `labelled_per_batch` labelled + the rest unlabelled.

    Args:
        images: `(n, H, W, K)` training images.
        labels: `(n,)` observed labels, -1 = unlabelled.
        num_classes: C.
        labelled_per_batch, unlabelled_per_batch: rows per batch from each
            set (paper MNIST: 5 + 95).
        seed: int seed.
        held_out_disbelief: what the batches carry under
            `HELD_OUT_DISBELIEF_KEY`, which UMN's default eps
            (`uncertainty="with_held_out"`) reads: an `(n,)` array in
            [0, 1] is carried as given (for the default model, whose view
            is cross-fitted, `model.held_out_disbelief(images, labels,
            epochs=...)`); True (default) computes label spreading's view
            here from every image and label
            (`umn.label_spreading.held_out_disbelief`, seeded by `seed`;
            a few seconds on 4,000 images: the view of a model built with
            `held_out_view="label_spreading"`); False (or None) leaves the
            key out (the baselines and the other eps never read it).

    Returns:
        `(dataset, steps_per_epoch)`: the `tf_data.mixed_pipeline` stream and
        the steps of one pass over the unlabelled set.

    Raises:
        ValueError: bad labels, no unlabelled row, fewer than 2 labelled
            rows with `held_out_disbelief=True`, or a given
            `held_out_disbelief` of the wrong length or outside [0, 1].

    Example:

    >>> stream, steps = semi_supervised_stream(x_train, labels, 10, 5, 95, seed=0)
    >>> model.fit(stream, epochs=30, steps_per_epoch=steps)
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
    extra = {}
    if held_out_disbelief is not False and held_out_disbelief is not None:
        extra[HELD_OUT_DISBELIEF_KEY] = checked_held_out_disbelief(
            images, labels, num_classes, seed, held_out_disbelief)
    labelled_per_batch = min(labelled_per_batch, len(labelled))
    unlabelled_per_batch = min(unlabelled_per_batch, len(unlabelled))
    first = tf_data.example_features(images[labelled], labels[labelled], labelled,
                                     **{k: v[labelled] for k, v in extra.items()})
    second = tf_data.example_features(images[unlabelled], labels[unlabelled], unlabelled,
                                      **{k: v[unlabelled] for k, v in extra.items()})
    dataset = tf_data.mixed_pipeline(first, second, labelled_per_batch,
                                     unlabelled_per_batch, seed, IS_LABELLED_KEY)
    steps = pipelines.mixed_steps_per_epoch(len(unlabelled), unlabelled_per_batch)
    return dataset, steps


def checked_held_out_disbelief(images, labels, num_classes, seed, held_out_disbelief=True):
    """`held_out_disbelief` computed (True) or checked (an array): `(n,)` float32 in [0, 1].

    Raises:
        ValueError: an array that is not `(n,)`, not finite or outside [0, 1].
    """
    if held_out_disbelief is True:
        return compute_held_out_disbelief(images, labels, num_classes, seed=seed)
    values = np.asarray(held_out_disbelief, dtype=np.float32)
    if values.shape != (len(labels),):
        raise ValueError(
            f"held_out_disbelief must hold one value per image, shape ({len(labels)},), got "
            f"{values.shape}; compute it with model.held_out_disbelief(images, labels, "
            "epochs=...).")
    if not np.all(np.isfinite(values)) or np.any((values < 0.0) | (values > 1.0)):
        raise ValueError("held_out_disbelief must lie in [0, 1] (a probability that the "
                         "label is wrong); it holds NaN or values outside.")
    return values


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
