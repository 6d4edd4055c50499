"""A user's multilabel data from a NumPy archive: `npz:PATH` for the multilabel CRF.

Keys (arrays):

* `x_train`: `(n, D)` feature vectors or `(n, H, W[, ch])` images (float).
* `y_train`: `(n, C)` {0, 1} clean labels.
* `x_test`, `y_test`: optional held-out set (else a seeded 20% split).
* `y_noisy_train`: optional `(n, N)` {0, 1} noisy labels over their own
  vocabulary (e.g. caption words); `y_noisy_test` optional with it.
* `clean_names`, `noisy_names`: optional label names.

Without `y_noisy_train` the file holds clean labels only and noise must be
planted (`flip_on`, `flip_off`: `tf_data.corrupt_multilabels`, caption-like
when `flip_off` is large and `flip_on` small); the noisy labels then share
the clean vocabulary, so no clean-to-noisy mapping is needed.
"""

import numpy as np

from tf_data import noise
from tf_data import validation
from tf_data.multilabel_dataset import MultilabelDataset
from tf_data.multilabel_dataset import MultilabelSplit

TEST_FRACTION = 0.2


def _names(archive, key, width, prefix):
    if key not in archive:
        return tuple(f"{prefix}{k}" for k in range(width))
    names = tuple(str(name) for name in archive[key])
    if len(names) != width:
        raise ValueError(f"{key} has {len(names)} names but the labels have {width} columns.")
    return names


def _test_split(num_examples, seed):
    order = np.random.default_rng(seed).permutation(num_examples)
    size = int(round(TEST_FRACTION * num_examples))
    if size == 0 or size == num_examples:
        raise ValueError(f"{num_examples} examples are too few to hold out a "
                         f"{TEST_FRACTION:.0%} test split; add x_test and y_test to the file.")
    return np.sort(order[size:]), np.sort(order[:size])


def load_multilabel_npz(path, flip_on=None, flip_off=None, seed=0):
    """Loads `path` as a `MultilabelDataset` (no validation split).

    Args:
        path: the `.npz` file (keys in the module docstring).
        flip_on, flip_off: plant noise on the training labels (scalars or
            `(C,)`); required when the file has no `y_noisy_train`, refused
            when it has one.
        seed: seed of the planted noise and of the test split.

    Returns:
        A `MultilabelDataset` named `npz:<path>`.

    Raises:
        ValueError: missing keys, shapes that disagree, labels outside {0, 1},
            non-finite inputs, or noise rates missing / given twice.
    """
    try:
        archive = np.load(path)
    except (OSError, ValueError) as error:
        raise ValueError(f"Cannot read the multilabel archive {path!r}: {error}") from None
    with archive:
        missing = [key for key in ("x_train", "y_train") if key not in archive]
        if missing:
            raise ValueError(f"{path!r} lacks {missing}; a multilabel npz needs x_train "
                             f"(inputs) and y_train ((n, C) 0/1 labels). It has {archive.files}.")
        if ("x_test" in archive) != ("y_test" in archive):
            raise ValueError(f"{path!r} has only one of x_test / y_test; give both or neither.")
        x_train = validation.check_inputs(archive["x_train"], "x_train")
        y_train = validation.check_binary_labels(archive["y_train"], name="y_train")
        validation.check_same_length(x_train=x_train, y_train=y_train)
        num_clean = y_train.shape[1]
        if "x_test" in archive:
            x_test = validation.check_inputs(archive["x_test"], "x_test")
            y_test = validation.check_binary_labels(archive["y_test"], num_clean, "y_test")
            validation.check_same_length(x_test=x_test, y_test=y_test)
            train_rows = np.arange(len(x_train))
        else:
            train_rows, test_rows = _test_split(len(x_train), seed)
            x_test, y_test = x_train[test_rows], y_train[test_rows]
        if x_test.shape[1:] != x_train.shape[1:]:
            raise ValueError(f"x_test rows have shape {x_test.shape[1:]} but x_train rows "
                             f"{x_train.shape[1:]}.")
        clean_names = _names(archive, "clean_names", num_clean, "label_")
        if "y_noisy_train" in archive:
            if flip_on is not None or flip_off is not None:
                raise ValueError(f"{path!r} already has noisy labels (y_noisy_train); drop "
                                 "flip_on / flip_off, or remove y_noisy_train to plant noise.")
            noisy_train = validation.check_binary_labels(archive["y_noisy_train"],
                                                         name="y_noisy_train")
            validation.check_same_length(x_train=x_train, y_noisy_train=noisy_train)
            num_noisy = noisy_train.shape[1]
            noisy_test = (validation.check_binary_labels(archive["y_noisy_test"], num_noisy,
                                                         "y_noisy_test")
                          if "y_noisy_test" in archive and "x_test" in archive
                          else np.zeros((len(x_test), num_noisy), np.uint8))
            noisy_train = noisy_train[train_rows]
            if "x_test" not in archive:
                noisy_test = archive["y_noisy_train"][test_rows].astype(np.uint8)
            noisy_names = _names(archive, "noisy_names", num_noisy, "noisy_")
        else:
            if flip_on is None or flip_off is None:
                raise ValueError(
                    f"{path!r} holds clean labels only: give flip_on and flip_off to plant "
                    "noise (e.g. flip_off=0.4, flip_on=0.05, caption-like), or add "
                    "y_noisy_train to the file.")
            noisy_train = noise.corrupt_multilabels(y_train[train_rows], flip_on, flip_off,
                                                    seed).labels
            noisy_test = y_test.copy()
            noisy_names = clean_names
    train = MultilabelSplit(y_train[train_rows], noisy_train, images=x_train[train_rows])
    test = MultilabelSplit(y_test, noisy_test, images=x_test)
    return MultilabelDataset(f"npz:{path}", clean_names, noisy_names, train, None, test,
                             description=f"user multilabel archive {path}")
