"""Clean/noisy and labelled/unlabelled splits of a training set.

All splits return sorted index arrays into the training set, so the example
index that pipelines carry stays the index into the original arrays.
"""

import numpy as np

from tf_data import validation


def clean_noisy_split(labels, clean_fraction, seed, num_classes=None):
    """Splits a training set into a small clean set and a noisy set.

    The split is stratified by class when `num_classes` is given (so the
    clean set keeps the class balance); otherwise it is a plain random split.
    The robust CRF paper keeps 20% of COCO train as the clean set `D_C`.

    Args:
        labels: `(n,)` clean class labels, or `(n, K)` binary labels, or an
            int `n` (unstratified).
        clean_fraction: fraction in (0, 1) of examples in the clean set.
        seed: int seed.
        num_classes: C for stratification of integer labels.

    Returns:
        `(clean_indices, noisy_indices)`, disjoint, sorted int64 arrays.
    """
    fraction = validation.check_rate(clean_fraction, "clean_fraction")
    if fraction in (0.0, 1.0):
        raise ValueError(
            "clean_fraction must lie strictly between 0 and 1 so both the "
            f"clean and the noisy set are non-empty, got {clean_fraction}."
        )
    rng = np.random.default_rng(seed)
    if isinstance(labels, (int, np.integer)):
        num_examples = int(labels)
        groups = [np.arange(num_examples)]
    else:
        array = np.asarray(labels)
        num_examples = len(array)
        if num_classes is not None and array.ndim == 1:
            array = validation.check_labels(array, num_classes)
            groups = [np.flatnonzero(array == c) for c in range(num_classes)]
        else:
            groups = [np.arange(num_examples)]
    if num_examples < 2:
        raise ValueError(
            f"Need at least 2 examples to split into clean and noisy sets, "
            f"got {num_examples}."
        )
    clean = []
    for group in groups:
        take = int(round(fraction * len(group)))
        clean.append(rng.permutation(group)[:take])
    clean = np.sort(np.concatenate(clean)).astype(np.int64)
    if len(clean) == 0 or len(clean) == num_examples:
        raise ValueError(
            f"clean_fraction={fraction} of {num_examples} examples leaves an "
            "empty clean or noisy set; change the fraction."
        )
    noisy = np.setdiff1d(np.arange(num_examples), clean).astype(np.int64)
    return clean, noisy


def labelled_unlabelled_split(labels, labels_per_class, num_classes, seed):
    """Keeps `labels_per_class` labels of every class; the rest is unlabelled.

    Balanced as in the UMN paper (MNIST 100 labels = 10 per class, SVHN 500,
    CIFAR-10 4,000). The class used for balancing is the label the user
    has, i.e. the possibly noisy one: a real user cannot balance on labels
    they do not know.

    Args:
        labels: `(n,)` int labels used for balancing.
        labels_per_class: k, labels kept per class.
        num_classes: C.
        seed: int seed.

    Returns:
        `(labelled_indices, unlabelled_indices)`, sorted int64 arrays.

    Raises:
        ValueError: if k < 1 or some class holds fewer than k examples.
    """
    labels = validation.check_labels(labels, num_classes)
    labels_per_class = validation.check_positive_int(labels_per_class, "labels_per_class")
    counts = np.bincount(labels, minlength=num_classes)
    short = np.flatnonzero(counts < labels_per_class)
    if len(short):
        raise ValueError(
            f"labels_per_class={labels_per_class} but class {int(short[0])} "
            f"holds only {int(counts[short[0]])} examples (smallest class: "
            f"{int(counts.min())}). Lower labels_per_class to at most "
            f"{int(counts.min())}."
        )
    rng = np.random.default_rng(seed)
    labelled = np.concatenate(
        [
            rng.permutation(np.flatnonzero(labels == c))[:labels_per_class]
            for c in range(num_classes)
        ]
    )
    labelled = np.sort(labelled).astype(np.int64)
    unlabelled = np.setdiff1d(np.arange(len(labels)), labelled).astype(np.int64)
    return labelled, unlabelled


def stratified_folds(labels, folds, num_classes, seed, class_names=None):
    """Assigns every example to one of `folds` folds, each class spread evenly.

    For out-of-fold predictions (k-fold cross-validation): fold f's
    examples are predicted by a model trained on the others. Within a class
    the examples are shuffled and dealt round-robin, so every fold holds
    `count // folds` or one more examples of each class.

    Args:
        labels: `(n,)` int labels to stratify by (the given ones).
        folds: k >= 2.
        num_classes: C.
        seed: int seed of the shuffle.
        class_names: optional C names, for the error message.

    Returns:
        `(n,)` int64 fold of every example, in `[0, folds)`.

    Raises:
        ValueError: if `folds < 2` or a class has fewer than `folds`
            examples (then some fold would train without that class).
    """
    labels = validation.check_labels(labels, num_classes)
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}.")
    counts = np.bincount(labels, minlength=num_classes)
    short = np.flatnonzero(counts < folds)
    if len(short):
        names = class_names or [str(c) for c in range(num_classes)]
        listed = ", ".join(f"{names[c]!r} ({int(counts[c])})" for c in short[:10])
        fewest = int(counts.min())
        fix = (f"or use fewer folds (at most {fewest})" if fewest >= 2 else
               "since every class needs at least 2 examples (2 folds)")
        raise ValueError(
            f"{folds} folds need at least {folds} examples of every class, but class(es) "
            f"{listed} have fewer. Add examples or drop those classes, {fix}.")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), dtype=np.int64)
    for c in range(num_classes):
        rows = rng.permutation(np.flatnonzero(labels == c))
        fold_of[rows] = np.arange(len(rows)) % folds
    return fold_of
