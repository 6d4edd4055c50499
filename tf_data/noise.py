"""Synthetic label noise, exactly as the papers inject it.

Convention (settled once for the whole project): a transition matrix is
row-stochastic, `T[i, j] = P(noisy = j | clean = i)`. Every row sums to 1.

Kinds of `transition_matrix`:

* `symmetric`: keep the label with probability `1 - rate`, otherwise move it
  to one of the *other* C - 1 classes uniformly (Patrini et al. 2017,
  Co-teaching). A label never "flips" to itself, so the realised flip rate
  equals `rate`.
* `uniform`: with probability `rate` draw a new label uniformly over *all* C
  classes, the true one included (DivideMix, Learning-to-Reweight), so the
  expected flip rate is `rate * (C - 1) / C`.
* `pairflip`: class i goes to class (i + 1) mod C with probability `rate`.
* `cifar10`: Patrini's asymmetric CIFAR-10 flips, each with probability
  `rate`: truck->automobile (9->1), bird->airplane (2->0), deer->horse (4->7),
  cat<->dog (3<->5). Other classes are untouched.
* `mnist`: Patrini's asymmetric MNIST flips: 7->1, 2->7, 5<->6, 3->8.
"""

import dataclasses

import numpy as np

from tf_data import validation

NOISE_KINDS = ("symmetric", "uniform", "pairflip", "cifar10", "mnist")

# Patrini et al. 2017 (Section 5): clean class -> noisy class.
CIFAR10_FLIPS = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
MNIST_FLIPS = {7: 1, 2: 7, 5: 6, 6: 5, 3: 8}


def transition_matrix(kind, num_classes, rate=0.0):
    """Builds a row-stochastic noise transition matrix.

    Args:
        kind: one of `NOISE_KINDS`, or a user `(C, C)` matrix, which is
            validated (square, finite, non-negative, rows sum to 1) and
            returned as float64.
        num_classes: number of classes C.
        rate: noise rate in [0, 1]; ignored for a user matrix.

    Returns:
        A `(C, C)` float64 array with `T[i, j] = P(noisy=j | clean=i)`.

    Example:

    >>> transition_matrix("pairflip", 3, 0.2).round(2)
    array([[0.8, 0.2, 0. ],
           [0. , 0.8, 0.2],
           [0.2, 0. , 0.8]])
    """
    num_classes = validation.check_num_classes(num_classes)
    if not isinstance(kind, str):
        return validation.check_transition_matrix(kind, num_classes)
    rate = validation.check_rate(rate, "noise rate")
    eye = np.eye(num_classes)
    if kind == "symmetric":
        return (1.0 - rate) * eye + rate / (num_classes - 1) * (1.0 - eye)
    if kind == "uniform":
        return (1.0 - rate) * eye + rate / num_classes
    if kind == "pairflip":
        return (1.0 - rate) * eye + rate * np.roll(eye, 1, axis=1)
    if kind in ("cifar10", "mnist"):
        if num_classes != 10:
            raise ValueError(
                f"The '{kind}' noise mapping is defined for 10 classes, got "
                f"num_classes={num_classes}. Use 'symmetric' or 'pairflip'."
            )
        flips = CIFAR10_FLIPS if kind == "cifar10" else MNIST_FLIPS
        matrix = eye.copy()
        for clean, noisy in flips.items():
            matrix[clean, clean] = 1.0 - rate
            matrix[clean, noisy] = rate
        return matrix
    raise ValueError(
        f"Unknown noise kind {kind!r}; choose one of {NOISE_KINDS} or pass a "
        "(C, C) row-stochastic matrix."
    )


def expected_noise_rate(transition, class_prior):
    """Probability that a label is changed: `sum_i prior_i (1 - T[i, i])`."""
    transition = np.asarray(transition, dtype=np.float64)
    prior = np.asarray(class_prior, dtype=np.float64)
    return float(np.sum(prior * (1.0 - np.diag(transition))))


@dataclasses.dataclass(frozen=True)
class NoisyLabels:
    """Result of `corrupt_labels`.

    Attributes:
        labels: the noisy labels, int64 `(n,)`.
        clean_labels: the labels that were corrupted, int64 `(n,)`.
        transition: the nominal matrix that was applied.
        realised_matrix: the empirical `P(noisy=j | clean=i)` of this draw;
            rows of absent classes are the identity.
        realised_rate: the fraction of labels that actually changed.
        nominal_rate: the expected fraction under `transition` and the
            empirical class prior. The two rates differ for `uniform` noise
            and by sampling error for every kind.
    """

    labels: np.ndarray
    clean_labels: np.ndarray
    transition: np.ndarray
    realised_matrix: np.ndarray
    realised_rate: float
    nominal_rate: float

    @property
    def is_corrupted(self):
        """Boolean mask of the examples whose label changed."""
        return self.labels != self.clean_labels


def realised_transition(clean_labels, noisy_labels, num_classes):
    """Empirical row-stochastic matrix of a (clean, noisy) label pair."""
    counts = np.zeros((num_classes, num_classes), dtype=np.float64)
    np.add.at(counts, (clean_labels, noisy_labels), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    empty = totals[:, 0] == 0
    counts[empty] = np.eye(num_classes)[empty]
    totals[empty] = 1.0
    return counts / totals


def exact_pair_counts(transition, class_counts):
    """Counts of (clean i, noisy j) pairs for `corrupt_labels(exact=True)`.

    Off-diagonal counts are `round(T[i, j] * n_i)` (as cleanlab's noise
    generation does); the diagonal takes what is left so every row sums to
    n_i. If rounding up the off-diagonal entries of a row would exceed n_i
    (only possible with an almost-zero diagonal), that row falls back to
    largest-remainder rounding.
    """
    transition = np.asarray(transition, dtype=np.float64)
    class_counts = np.asarray(class_counts, dtype=np.int64)
    num_classes = transition.shape[0]
    counts = np.rint(transition * class_counts[:, None]).astype(np.int64)
    for i in range(num_classes):
        off = counts[i].sum() - counts[i, i]
        if off <= class_counts[i]:
            counts[i, i] = class_counts[i] - off
            continue
        ideal = transition[i] * class_counts[i]
        row = np.floor(ideal).astype(np.int64)
        remainder = class_counts[i] - row.sum()
        order = np.argsort(-(ideal - row), kind="stable")
        row[order[:remainder]] += 1
        counts[i] = row
    return counts


def corrupt_labels(labels, transition, seed, exact=False):
    """Corrupts class labels through a transition matrix.

    Each example of clean class i gets noisy label j with probability
    `T[i, j]`, independently (`exact=False`). With `exact=True` the number of
    examples of every (clean i, noisy j) pair is fixed by `exact_pair_counts`
    and only *which* examples flip is random.

    Args:
        labels: clean int labels `(n,)` in `[0, C)`.
        transition: a `(C, C)` row-stochastic matrix, e.g. from
            `transition_matrix`.
        seed: int seed; the same seed gives the same noisy labels.
        exact: whether to hit the pair counts exactly.

    Returns:
        A `NoisyLabels` with the noisy labels and the realised noise.

    Example:

    >>> noisy = corrupt_labels(y, transition_matrix("symmetric", 10, 0.3), 0)
    >>> noisy.labels, noisy.realised_rate
    """
    transition = validation.check_transition_matrix(transition)
    num_classes = transition.shape[0]
    clean = validation.check_labels(labels, num_classes)
    rng = np.random.default_rng(seed)
    noisy = clean.copy()
    if exact:
        class_counts = np.bincount(clean, minlength=num_classes)
        pair_counts = exact_pair_counts(transition, class_counts)
        for i in range(num_classes):
            members = rng.permutation(np.flatnonzero(clean == i))
            noisy[members] = np.repeat(np.arange(num_classes), pair_counts[i])
    else:
        cumulative = np.cumsum(transition, axis=1)
        cumulative[:, -1] = 1.0  # Guard against round-off at the top end.
        draws = rng.random(len(clean))
        noisy = (draws[:, None] >= cumulative[clean]).sum(axis=1)
        noisy = noisy.astype(np.int64)
    prior = np.bincount(clean, minlength=num_classes) / len(clean)
    return NoisyLabels(
        labels=noisy,
        clean_labels=clean,
        transition=transition,
        realised_matrix=realised_transition(clean, noisy, num_classes),
        realised_rate=float(np.mean(noisy != clean)),
        nominal_rate=expected_noise_rate(transition, prior),
    )


def corrupt_within_classes(labels, rate, num_classes, seed):
    """Symmetric noise with an exact total: flips `round(rate * n)` labels.

    `corrupt_labels(..., exact=True)` rounds the count of every (clean,
    noisy) pair, which on a tiny labelled set (UMN: 5 labels per class, 10%
    noise) rounds every pair to zero flips. Here the *total* number of flips
    is exact, spread over the classes as evenly as possible (each class gets
    the floor or ceiling of `rate * n_c`; the classes that get the extra
    flip are chosen at random), and each flipped label moves to one of the
    other C - 1 classes uniformly (the `symmetric` kind). The UMN paper's
    "corrupted uniformly within each class" (Section 4.2.2).

    Args:
        labels: `(n,)` clean labels in `[0, C)`.
        rate: fraction of labels to corrupt, in [0, 1].
        num_classes: C.
        seed: int seed.

    Returns:
        A `tf_data.NoisyLabels` (`labels`, `is_corrupted`, realised rate...).

    Example:

    >>> noisy = corrupt_within_classes(np.repeat(np.arange(10), 5), 0.1, 10, 0)
    >>> int(noisy.is_corrupted.sum())
    5
    """
    clean = validation.check_labels(labels, num_classes)
    rate = validation.check_rate(rate, "noise rate")
    rng = np.random.default_rng(seed)
    members = [rng.permutation(np.flatnonzero(clean == c)) for c in range(num_classes)]
    ideal = np.array([rate * len(m) for m in members])
    counts = np.floor(ideal).astype(np.int64)
    remainder = int(round(rate * len(clean))) - int(counts.sum())
    shuffled = rng.permutation(num_classes)  # random order among equal remainders
    order = shuffled[np.argsort(-(ideal - counts)[shuffled], kind="stable")]
    counts[order[:max(remainder, 0)]] += 1
    noisy = clean.copy()
    for c, chosen in enumerate(members):
        flip = chosen[:counts[c]]
        offsets = rng.integers(1, num_classes, size=len(flip))
        noisy[flip] = (c + offsets) % num_classes
    transition = transition_matrix("symmetric", num_classes, rate)
    prior = np.bincount(clean, minlength=num_classes) / len(clean)
    return NoisyLabels(
        labels=noisy, clean_labels=clean, transition=transition,
        realised_matrix=realised_transition(clean, noisy, num_classes),
        realised_rate=float(np.mean(noisy != clean)),
        nominal_rate=expected_noise_rate(transition, prior),
    )


@dataclasses.dataclass(frozen=True)
class NoisyMultilabels:
    """Result of `corrupt_multilabels`.

    Attributes:
        labels: noisy {0, 1} matrix `(n, K)`, uint8.
        clean_labels: the input matrix.
        realised_flip_on: per label, fraction of absent labels turned on.
        realised_flip_off: per label, fraction of present labels turned off.
    """

    labels: np.ndarray
    clean_labels: np.ndarray
    realised_flip_on: np.ndarray
    realised_flip_off: np.ndarray


def _per_label_rates(rate, num_labels, name):
    rates = np.broadcast_to(np.asarray(rate, dtype=np.float64), (num_labels,))
    for value in np.unique(rates):
        validation.check_rate(value, name)
    return rates


def corrupt_multilabels(labels, flip_on, flip_off, seed):
    """Flips entries of binary label vectors independently.

    An absent label (0) is switched on with probability `flip_on[k]` (a
    spurious tag) and a present label (1) is switched off with probability
    `flip_off[k]` (an omitted tag).

    Args:
        labels: `(n, K)` {0, 1} matrix.
        flip_on: scalar or `(K,)` rates in [0, 1].
        flip_off: scalar or `(K,)` rates in [0, 1].
        seed: int seed.

    Returns:
        A `NoisyMultilabels`.
    """
    clean = validation.check_binary_labels(labels)
    num_labels = clean.shape[1]
    on = _per_label_rates(flip_on, num_labels, "flip_on")
    off = _per_label_rates(flip_off, num_labels, "flip_off")
    rng = np.random.default_rng(seed)
    draws = rng.random(clean.shape)
    flip = np.where(clean == 1, draws < off, draws < on)
    noisy = np.where(flip, 1 - clean, clean).astype(np.uint8)
    present = clean.sum(axis=0)
    absent = len(clean) - present
    with np.errstate(invalid="ignore", divide="ignore"):
        realised_on = np.where(absent > 0, (flip & (clean == 0)).sum(0) / absent, 0.0)
        realised_off = np.where(present > 0, (flip & (clean == 1)).sum(0) / present, 0.0)
    return NoisyMultilabels(noisy, clean, realised_on, realised_off)
