"""`tf.data` pipelines that carry example indices.

Every element is a dict of tensors. Keys:

* `image`: float32 `(B, H, W, C)`.
* `index`: int64 `(B,)`, the example's row in the training arrays. The
  robust CRF gathers each example's persistent Markov chains with it.
* `label`: the observed (possibly noisy) label: int64 `(B,)` for classes,
  `(B, K)` uint8 for multilabel. Unlabelled examples carry -1.
* optional keys the caller adds, e.g. `verified_label` (labels of a trusted
  clean set that a model may train on).
* `true_label`: ground truth for *evaluation only*; pipelines add it only when
  asked (`evaluation_pipeline(..., true_labels=...)`) and no model of this
  project reads it in a loss.

Choices, and why:

* Arrays are in memory, so `from_tensor_slices` then a shuffle buffer as
  large as the set gives a true uniform permutation every epoch.
* Shuffle before repeat, so each epoch is a full pass before any example is
  seen twice; `reshuffle_each_iteration=True` with a fixed seed makes the
  sequence of epochs different from each other yet reproducible run to run.
* `drop_remainder=True` for training: every batch has the same static shape
  (one compiled graph, no retracing) and mixed batches keep their exact
  ratio. Evaluation keeps the remainder so every example is scored.
* Augmentation runs after batching (vectorised ops on a whole batch) with a
  stateless seed per batch from `tf.data.Dataset.random(seed)`: same seed,
  same perturbations.
* `prefetch(AUTOTUNE)` overlaps input work with the training step.
"""

import tensorflow as tf
import numpy as np

from tf_data import validation


from tf_data.batch_keys import CLEAN_IMAGE_KEY
from tf_data.batch_keys import CLEAN_LABEL_KEY
from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import INDEX_KEY
from tf_data.batch_keys import LABEL_KEY
from tf_data.batch_keys import TRUE_LABEL_KEY
from tf_data.batch_keys import UNLABELLED


def example_features(images, labels, indices=None, **extra):
    """Builds the validated dict of arrays that pipelines slice.

    Args:
        images: `(n, H, W, C)` images.
        labels: `(n,)` int labels (-1 = unlabelled) or `(n, K)` {0,1} labels.
        indices: `(n,)` example indices; default `arange(n)`.
        **extra: more `(n, ...)` arrays to carry, e.g. `verified_label`.

    Returns:
        A dict of NumPy arrays keyed as described in the module docstring.
    """
    images = validation.check_images(images)
    labels = np.asarray(labels)
    if labels.ndim == 1:
        if labels.dtype.kind not in "iu":
            raise ValueError(f"labels must be integers, got dtype {labels.dtype}.")
        if np.any(labels < UNLABELLED):
            raise ValueError("labels must be >= 0, or -1 for unlabelled examples.")
        labels = labels.astype(np.int64)
    else:
        labels = validation.check_binary_labels(labels)
    indices = np.arange(len(images)) if indices is None else np.asarray(indices)
    if indices.ndim != 1 or indices.dtype.kind not in "iu":
        raise ValueError("indices must be a 1-D integer array.")
    features = {IMAGE_KEY: images, INDEX_KEY: indices.astype(np.int64), LABEL_KEY: labels}
    features.update({k: np.asarray(v) for k, v in extra.items()})
    validation.check_same_length(**features)
    return features


def _slices(features):
    return tf.data.Dataset.from_tensor_slices(dict(features))


def _check_batch_size(batch_size, name="batch_size"):
    return validation.check_positive_int(batch_size, name)


def _augmented(dataset, augmentation, seed):
    if augmentation is None:
        return dataset
    seeds = tf.data.Dataset.random(seed=seed).batch(2, drop_remainder=True)

    def apply(batch, batch_seed):
        batch = dict(batch)
        batch[IMAGE_KEY] = augmentation(batch[IMAGE_KEY], batch_seed)
        return batch

    return tf.data.Dataset.zip((dataset, seeds)).map(
        apply, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )


def training_pipeline(features, batch_size, seed, augmentation=None, repeat=False):
    """Shuffled, batched training stream of one set.

    Args:
        features: dict from `example_features`.
        batch_size: examples per batch; must not exceed the set size.
        seed: int seed of the shuffle and the augmentation.
        augmentation: optional `(images, seed) -> images`, e.g. from
            `tf_data.augment.make_pipeline_augmentation`.
        repeat: repeat forever (use `steps_per_epoch` in `fit`).

    Returns:
        A `tf.data.Dataset` of dict batches.
    """
    batch_size = _check_batch_size(batch_size)
    size = len(features[IMAGE_KEY])
    if batch_size > size:
        raise ValueError(
            f"batch_size={batch_size} exceeds the {size} examples of the set; "
            "with drop_remainder no batch would be produced. Lower it."
        )
    dataset = _slices(features).shuffle(size, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return _augmented(dataset, augmentation, seed).prefetch(tf.data.AUTOTUNE)


def evaluation_pipeline(images, labels=None, batch_size=256, true_labels=None, indices=None):
    """Ordered batches for `evaluate`/`predict`, remainder kept.

    `true_labels` (ground truth, evaluation only) is added under
    `true_label` when given.
    """
    batch_size = _check_batch_size(batch_size)
    images = validation.check_images(images)
    if labels is None:
        labels = np.full(len(images), UNLABELLED, dtype=np.int64)
    extra = {} if true_labels is None else {TRUE_LABEL_KEY: np.asarray(true_labels)}
    features = example_features(images, labels, indices, **extra)
    return _slices(features).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def mixed_pipeline(
    first, second, first_per_batch, second_per_batch, seed, flag_key, augmentation=None
):
    """Batches with a fixed number of examples from each of two sets.

    UMN on MNIST: 5 labelled + 95 unlabelled per batch; the robust CRF mixes
    clean and noisy examples. Each set is shuffled, repeated forever and
    batched on its own, then the two batches are concatenated, so the ratio
    is exact in every batch; a boolean `flag_key` is True for rows of
    `first`. The stream is infinite: pass `steps_per_epoch` to `fit` (see
    `mixed_steps_per_epoch`).

    Args:
        first, second: dicts from `example_features` with the same keys.
        first_per_batch, second_per_batch: rows per batch from each set.
        seed: int seed.
        flag_key: name of the flag, `batch_keys.IS_LABELLED_KEY` or `IS_CLEAN_KEY`.
        augmentation: optional batch augmentation (see `training_pipeline`).
    """
    first_per_batch = _check_batch_size(first_per_batch, "first_per_batch")
    second_per_batch = _check_batch_size(second_per_batch, "second_per_batch")
    if set(first) != set(second):
        raise ValueError(
            f"Both sets need the same keys to be mixed, got {sorted(first)} "
            f"and {sorted(second)}."
        )
    streams = []
    for offset, (features, per_batch, flag) in enumerate(
        ((first, first_per_batch, True), (second, second_per_batch, False))
    ):
        size = len(features[IMAGE_KEY])
        features = dict(features, **{flag_key: np.full(size, flag)})
        stream = (
            _slices(features)
            .shuffle(size, seed=seed + offset, reshuffle_each_iteration=True)
            .repeat()
            .batch(per_batch, drop_remainder=True)
        )
        streams.append(stream)

    def concatenate(a, b):
        return {key: tf.concat([a[key], b[key]], axis=0) for key in a}

    dataset = tf.data.Dataset.zip(tuple(streams)).map(concatenate)
    return _augmented(dataset, augmentation, seed).prefetch(tf.data.AUTOTUNE)


def trusted_pipeline(features, clean_images, clean_labels, batch_size, clean_batch_size, seed,
                     num_classes=None, augmentation=None, repeat=False):
    """Noisy training batches, each carrying a batch of a small trusted set.

    For the methods that consult a clean set at every step (Learning to
    Reweight). The noisy set is one shuffled pass per epoch
    (`training_pipeline`); the clean set is shuffled, repeated forever and
    batched on its own (a small set is cycled many times per epoch), and
    each element is one dict: the noisy batch's keys plus
    `batch_keys.CLEAN_IMAGE_KEY` and `CLEAN_LABEL_KEY`. Augmentation, if
    any, applies to the noisy images only.

    Args:
        features: dict from `example_features` (the noisy set).
        clean_images: `(m, ...)` images of the trusted set.
        clean_labels: `(m,)` their (correct) labels.
        batch_size: noisy examples per batch.
        clean_batch_size: clean examples per batch, at most `m`.
        seed: int seed of both shuffles.
        num_classes: C; when given, every class must occur in the clean set.
        augmentation: optional batch augmentation of the noisy images.
        repeat: repeat the noisy set forever (use `steps_per_epoch` in `fit`).

    Returns:
        A `tf.data.Dataset` of dict batches: one epoch of the noisy set, or
        endless with `repeat`.
    """
    clean_images = validation.check_inputs(clean_images, "clean_images")
    clean_labels = np.asarray(clean_labels)
    if num_classes is not None:
        clean_labels = validation.check_labels(clean_labels, num_classes, "clean_labels")
        missing = np.setdiff1d(np.arange(num_classes), clean_labels)
        if len(missing):
            raise ValueError(
                f"The clean set has no example of class(es) {missing.tolist()}; its loss could "
                "not vouch for labels of those classes. Add at least one verified example of "
                "every class.")
    validation.check_same_length(clean_images=clean_images, clean_labels=clean_labels)
    clean_batch_size = _check_batch_size(clean_batch_size, "clean_batch_size")
    if clean_batch_size > len(clean_labels):
        raise ValueError(f"clean_batch_size={clean_batch_size} exceeds the {len(clean_labels)} "
                         "examples of the clean set; lower it.")
    noisy = training_pipeline(features, batch_size, seed, augmentation, repeat=repeat)
    clean = (tf.data.Dataset.from_tensor_slices({CLEAN_IMAGE_KEY: clean_images,
                                                 CLEAN_LABEL_KEY: clean_labels})
             .shuffle(len(clean_labels), seed=seed + 1, reshuffle_each_iteration=True)
             .repeat()
             .batch(clean_batch_size, drop_remainder=True))

    def merge(noisy_batch, clean_batch):
        return dict(noisy_batch, **clean_batch)

    return tf.data.Dataset.zip((noisy, clean)).map(merge).prefetch(tf.data.AUTOTUNE)


def mixed_steps_per_epoch(second_size, second_per_batch):
    """Steps for one pass over the larger (second) set of a mixed stream."""
    return max(1, int(np.ceil(second_size / second_per_batch)))
