"""Corruption of a small labelled set "uniformly within each class" (paper 4.2.2).

`tf_data.corrupt_labels(..., exact=True)` rounds the count of every
(clean, noisy) pair, which on 5 labels per class and 10% noise rounds every
pair to zero flips. Here the *total* number of flips is exact,
`round(rate * n)`, spread over the classes as evenly as possible (each
class gets floor or ceil of `rate * n_c`, the classes that get the extra
flip chosen at random), and each flipped label moves to one of the other
C - 1 classes uniformly (the symmetric kind). This is a generic addition to
the data layer; it returns tf_data's own `NoisyLabels`.
"""

import numpy as np

from tf_data import noise
from tf_data import validation


def corrupt_within_classes(labels, rate, num_classes, seed):
    """Flips exactly `round(rate * n)` labels, spread evenly over classes.

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
    transition = noise.transition_matrix("symmetric", num_classes, rate)
    prior = np.bincount(clean, minlength=num_classes) / len(clean)
    return noise.NoisyLabels(
        labels=noisy, clean_labels=clean, transition=transition,
        realised_matrix=noise.realised_transition(clean, noisy, num_classes),
        realised_rate=float(np.mean(noisy != clean)),
        nominal_rate=noise.expected_noise_rate(transition, prior),
    )
