"""The train/validation/test split of COCO 2014 image ids and the clean set `D_C`."""

import numpy as np

from tf_data import splits
from tf_data.validation import check_positive_int

DEFAULT_VALIDATION_SIZE = 20000
DEFAULT_TEST_SIZE = 20000
CLEAN_FRACTION = 0.2


def _check_unique_ids(image_ids, name):
    ids = np.asarray(image_ids, dtype=np.int64).reshape(-1)
    unique, counts = np.unique(ids, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(
            f"{name} repeat image id {int(unique[counts > 1][0])}; every COCO "
            "image must appear once. The prepared data is corrupt: rebuild "
            "it with `tfds build coco_captions/2014`."
        )
    return ids


def split_image_ids(
    train2014_ids, val2014_ids, seed=0,
    validation_size=DEFAULT_VALIDATION_SIZE, test_size=DEFAULT_TEST_SIZE,
):
    """Misra-style train/validation/test split of COCO 2014 image ids.

    The sorted val2014 ids are permuted with `np.random.default_rng(seed)`;
    the first `test_size` are test, the next `validation_size` validation
    and the rest join every train2014 id in train.

    Args:
        train2014_ids: ids of the train2014 images (TFDS split `train`).
        val2014_ids: ids of the val2014 images (TFDS `val`, `test`,
            `restval`).
        seed: int seed of the permutation.
        validation_size, test_size: evaluation split sizes.

    Returns:
        dict `{"train", "validation", "test"}` of sorted int64 id arrays,
        disjoint and together all ids.

    Raises:
        ValueError: empty or overlapping id sets, repeated ids, bad sizes,
            or fewer val2014 images than `validation_size + test_size`.

    Example:
        >>> parts = split_image_ids([1, 2], [3, 4, 5, 6], 0, 1, 2)
        >>> [len(parts[k]) for k in ("train", "validation", "test")]
        [3, 1, 2]
    """
    validation_size = check_positive_int(validation_size, "validation_size")
    test_size = check_positive_int(test_size, "test_size")
    train_ids = _check_unique_ids(train2014_ids, "train2014 ids")
    val_ids = _check_unique_ids(val2014_ids, "val2014 ids")
    if len(train_ids) == 0:
        raise ValueError(
            "There are no train2014 images (TFDS split 'train' is empty); "
            "rebuild the data with `tfds build coco_captions/2014`."
        )
    overlap = np.intersect1d(train_ids, val_ids)
    if len(overlap):
        raise ValueError(
            f"Image id {int(overlap[0])} is in both train2014 and val2014; "
            "the prepared data is corrupt, rebuild it."
        )
    if len(val_ids) < validation_size + test_size:
        raise ValueError(
            f"validation_size={validation_size} + test_size={test_size} "
            f"exceeds the {len(val_ids)} val2014 images they are drawn from; "
            "lower them (the defaults 20,000 + 20,000 need the full COCO "
            "2014 data)."
        )
    rng = np.random.default_rng(seed)
    permuted = rng.permutation(np.sort(val_ids))
    test = permuted[:test_size]
    valid = permuted[test_size:test_size + validation_size]
    extra_train = permuted[test_size + validation_size:]
    return {
        "train": np.sort(np.concatenate([train_ids, extra_train])),
        "validation": np.sort(valid),
        "test": np.sort(test),
    }


def coco_clean_noisy_split(num_train, seed=0, clean_fraction=CLEAN_FRACTION):
    """The paper's clean set `D_C`: a seeded 20% of the training rows.

    Args:
        num_train: number of training images (`len(dataset.train)`).
        seed: int seed.
        clean_fraction: fraction in (0, 1) kept clean (paper: 0.2).

    Returns:
        `(clean_rows, noisy_rows)`: disjoint sorted int64 row indices into
        the training split's label matrices.

    Example:
        >>> clean, noisy = coco_clean_noisy_split(10, seed=0)
        >>> len(clean), len(noisy)
        (2, 8)
    """
    num_train = check_positive_int(num_train, "num_train")
    return splits.clean_noisy_split(num_train, clean_fraction, seed)
