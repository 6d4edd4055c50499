"""`tf.data` pipelines for multilabel training, joined on the example index.

Images come from `MultilabelSplit.image_dataset` (in memory or streamed)
as `{"image", "index"}`; labels are gathered from in-memory tables by
`index`, so shuffled or streamed images always meet their own labels.
Batch keys follow `tf_data.pipelines`: `image`, `index`, `label` (the
noisy `y`), `verified_label` (the clean `y_hat`, zero outside the clean
set so no model can read a noisy example's clean labels), `is_clean`
(uint8 1/0: `tf.distribute` cannot split bool batches).
"""

import tensorflow as tf
import numpy as np

from robustcrf.multilabel.energy import check_size
from tf_data import validation
from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import INDEX_KEY
from tf_data.batch_keys import IS_CLEAN_KEY
from tf_data.batch_keys import LABEL_KEY
from tf_data.batch_keys import VERIFIED_LABEL_KEY


STREAMED_SHUFFLE_BUFFER = 2048


def clean_membership(num_examples, clean_indices):
    """`(n,)` bool: True for rows of the clean set; checks the indices."""
    clean_indices = np.asarray(clean_indices, dtype=np.int64)
    if clean_indices.ndim != 1:
        raise ValueError("clean_indices must be a 1-D array of example indices.")
    if clean_indices.size and (clean_indices.min() < 0 or clean_indices.max() >= num_examples):
        raise ValueError(f"clean_indices must lie in [0, {num_examples}).")
    membership = np.zeros(num_examples, bool)
    membership[clean_indices] = True
    return membership


def _prepared(image, channels):
    if channels is not None and image.shape[-1] != channels:
        if image.shape[-1] != 1:
            raise ValueError(f"Cannot turn {image.shape[-1]}-channel images into {channels}.")
        image = tf.repeat(image, channels, axis=-1)
    return image


def _labelled(split, membership, image_size, channels):
    noisy = tf.constant(split.noisy_labels)
    verified = tf.constant(split.clean_labels * membership[:, None].astype(np.uint8))
    flags = tf.constant(membership)

    def attach(element):
        index = element[INDEX_KEY]
        return {IMAGE_KEY: _prepared(element[IMAGE_KEY], channels), INDEX_KEY: index,
                LABEL_KEY: tf.gather(noisy, index), VERIFIED_LABEL_KEY: tf.gather(verified, index),
                IS_CLEAN_KEY: tf.cast(tf.gather(flags, index), tf.uint8)}

    return split.image_dataset(image_size), attach, flags


def _shuffle_buffer(split, size):
    return size if split.images is not None else min(size, STREAMED_SHUFFLE_BUFFER)


def proportional_clean_per_batch(batch_size, num_clean, num_noisy):
    """Clean rows per batch in the proportion of `D_C` to `D_N`, in [1, batch_size - 1].

    With this composition `clean_weighting="per_example"` weighs every
    training example alike in expectation (each clean row is drawn
    `clean_per_batch / |D_C|` times per step, each noisy row
    `(batch_size - clean_per_batch) / |D_N|`).

    Example:

    >>> proportional_clean_per_batch(50, 300, 1200)   # a 20% clean set
    10
    """
    batch_size = check_size(batch_size, "batch_size", 2)
    share = check_size(num_clean, "num_clean") / (num_clean + check_size(num_noisy, "num_noisy"))
    return int(min(max(round(batch_size * share), 1), batch_size - 1))


def mixed_training_batches(split, clean_indices, batch_size, clean_per_batch, seed,
                           image_size=None, channels=None, num_clean=None, num_noisy=None,
                           num_examples=None):
    """Endless batches with `clean_per_batch` clean and the rest noisy examples.

    Algorithm 1's minibatches: each set is shuffled, repeated and batched
    on its own, then the two parts are concatenated (clean first).

    Args:
        split: the training `MultilabelSplit`.
        clean_indices: rows of the clean set `D_C`; the rest is `D_N`.
        batch_size: examples per batch.
        clean_per_batch: clean examples per batch, in [1, batch_size - 1].
        seed: int seed.
        image_size: `(H, W)` to resize to, or None.
        channels: channels the backbone wants (grey images are repeated).
        num_clean, num_noisy: vocabulary sizes of the model, checked.
        num_examples: rows of the model's chain bank, checked to cover the split.

    Returns:
        A `tf.data.Dataset` of dict batches (pass `steps_per_epoch` to fit).
    """
    batch_size = check_size(batch_size, "batch_size", 2)
    clean_per_batch = check_size(clean_per_batch, "clean_per_batch")
    if clean_per_batch >= batch_size:
        raise ValueError(
            f"clean_per_batch={clean_per_batch} leaves no noisy example in batches of "
            f"{batch_size}; use fewer.")
    check_vocabularies(split, num_clean, num_noisy)
    if num_examples is not None and len(split) > num_examples:
        raise ValueError(
            f"The split has {len(split)} examples but the chain bank holds {num_examples}; "
            "example indices would fall outside it. Build the model with num_examples="
            f"{len(split)}.")
    membership = clean_membership(len(split), clean_indices)
    sizes = {True: int(membership.sum()), False: int((~membership).sum())}
    if sizes[True] == 0:
        raise ValueError("The clean set is empty; the robust CRF needs clean examples (D_C).")
    if sizes[False] == 0:
        raise ValueError("The noisy set is empty; every training example is in the clean set.")
    for clean, per_batch in ((True, clean_per_batch), (False, batch_size - clean_per_batch)):
        if per_batch > sizes[clean]:
            which = "clean" if clean else "noisy"
            raise ValueError(
                f"Batches take {per_batch} {which} examples but the {which} set holds "
                f"{sizes[clean]}, so an example would appear twice in one batch (and its "
                "chains be written twice). Use a smaller batch_size or clean_per_batch; "
                "proportional_clean_per_batch gives the split's own proportion.")
    base, attach, flags = _labelled(split, membership, image_size, channels)
    streams = []
    for offset, (clean, per_batch) in enumerate(
            ((True, clean_per_batch), (False, batch_size - clean_per_batch))):
        stream = base.filter(lambda e, clean=clean: tf.equal(tf.gather(flags, e[INDEX_KEY]), clean))
        stream = (stream.map(attach, num_parallel_calls=tf.data.AUTOTUNE)
                  .shuffle(_shuffle_buffer(split, sizes[clean]), seed=seed + offset,
                           reshuffle_each_iteration=True)
                  .repeat().batch(per_batch, drop_remainder=True))
        streams.append(stream)

    def concatenate(first, second):
        return {key: tf.concat([first[key], second[key]], axis=0) for key in first}

    return tf.data.Dataset.zip(tuple(streams)).map(concatenate).prefetch(tf.data.AUTOTUNE)


def supervised_batches(split, labels, batch_size, seed, image_size=None, channels=None,
                       indices=None):
    """Endless shuffled batches with `label` = rows of `labels`, for cross-entropy.

    Args:
        split: the training `MultilabelSplit` (its inputs).
        labels: `(n, K)` {0, 1} targets, one row per example of the split
            (clean labels, noisy labels, or noisy labels with the clean
            set's clean labels in their rows).
        batch_size: examples per batch.
        seed: int seed.
        image_size, channels: as in `mixed_training_batches`.
        indices: optional rows to train on (e.g. the clean set only).

    Returns:
        A `tf.data.Dataset` of dict batches; each pass is a fresh
        permutation (pass `steps_per_epoch` to `fit`).
    """
    batch_size = check_size(batch_size, "batch_size")
    labels = validation.check_binary_labels(labels, name="labels")
    validation.check_same_length(labels=labels, split=split.clean_labels)
    table = tf.constant(labels)
    dataset = split.image_dataset(image_size)
    size = len(split)
    if indices is not None:
        membership = clean_membership(len(split), indices)
        keep = tf.constant(membership)
        dataset = dataset.filter(lambda e: tf.gather(keep, e[INDEX_KEY]))
        size = int(np.sum(membership))
    if size < batch_size:
        raise ValueError(f"{size} training examples are fewer than one batch of "
                         f"{batch_size}; lower batch_size.")

    def attach(element):
        return {IMAGE_KEY: _prepared(element[IMAGE_KEY], channels), INDEX_KEY: element[INDEX_KEY],
                LABEL_KEY: tf.gather(table, element[INDEX_KEY])}

    return (dataset.map(attach, num_parallel_calls=tf.data.AUTOTUNE)
            .shuffle(_shuffle_buffer(split, size), seed=seed, reshuffle_each_iteration=True)
            .repeat().batch(batch_size, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE))


def ordered_batches(split, batch_size, image_size=None, channels=None, indices=None):
    """Batches in row order of `{"image", "index", "label"}` (noisy labels).

    Args:
        indices: optional rows to keep (e.g. the noisy set); the batches
            hold them in ascending row order, whatever order they are given
            in, so pair them with labels of `np.sort(indices)`.
    """
    batch_size = check_size(batch_size, "batch_size")
    noisy = tf.constant(split.noisy_labels)
    dataset = split.image_dataset(image_size)
    if indices is not None:
        membership = clean_membership(len(split), indices)
        keep = tf.constant(membership)
        # A filter hides the size; stating it lets `predict` know its steps
        # (instead of running into the end of the data and warning).
        dataset = dataset.filter(lambda e: tf.gather(keep, e[INDEX_KEY])).apply(
            tf.data.experimental.assert_cardinality(int(membership.sum())))

    def attach(element):
        return {IMAGE_KEY: _prepared(element[IMAGE_KEY], channels), INDEX_KEY: element[INDEX_KEY],
                LABEL_KEY: tf.gather(noisy, element[INDEX_KEY])}

    return dataset.map(attach, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(
        tf.data.AUTOTUNE)


def images_only(batches):
    """Maps dict batches to their images (for `predict`)."""
    return batches.map(lambda batch: batch[IMAGE_KEY])


def check_vocabularies(split, num_clean=None, num_noisy=None):
    """Raises ValueError when a split's label widths differ from a model's."""
    if num_clean is not None:
        validation.check_binary_labels(split.clean_labels, num_clean, "clean labels")
    if num_noisy is not None:
        validation.check_binary_labels(split.noisy_labels, num_noisy, "noisy labels")
