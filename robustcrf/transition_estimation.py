"""Patrini et al.'s (2017) anchor-point estimator of the noise transition matrix.

Train a network on the noisy labels with cross-entropy; its softmax then
approximates `p(y | x) = sum_i T[i, y] p(y_hat = i | x)`. An "anchor point"
of clean class i is an x with `p(y_hat = i | x) = 1`, where `p(y | x)` is
row i of T. The estimator takes, for every class i, the example with the
largest `p(y = i | x)` as class i's anchor and reads off `T[i, :]`. With the
outlier filter (Patrini's default), examples at or above the 97th percentile
of `p(y = i | x)` are ignored first, because the very top scores are often
over-confident memorised noise.
"""

import numpy as np

ANCHOR_PERCENTILE = 97.0


def estimate_transition_matrix(noisy_probabilities, filter_outliers=True,
                               percentile=ANCHOR_PERCENTILE):
    """Estimates `T[i, j] = P(noisy=j | clean=i)` from noisy-class probabilities.

    Args:
        noisy_probabilities: `(n, C)` softmax outputs of a network trained on
            the noisy labels (rows summing to 1).
        filter_outliers: drop examples at or above the `percentile`-th
            percentile of each class's score before picking the anchor
            (Patrini's `filter_outlier=True`; percentile taken with
            `method="higher"` as in their code).
        percentile: the percentile, in (0, 100].

    Returns:
        `(C, C)` float64 row-stochastic estimate of T.

    Example:

    >>> probabilities = keras.ops.softmax(cross_entropy_model.predict(x_train))
    >>> T_hat = estimate_transition_matrix(probabilities)
    """
    probabilities = np.asarray(noisy_probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        raise ValueError(
            f"noisy_probabilities must be (n, C) with C >= 2, got shape {probabilities.shape}."
        )
    if probabilities.shape[0] == 0:
        raise ValueError("noisy_probabilities is empty: pass the network's outputs on the "
                         "training set.")
    if (not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0)
            or np.any(np.abs(probabilities.sum(axis=1) - 1.0) > 1e-3)):
        raise ValueError(
            "noisy_probabilities must be finite, non-negative rows summing to 1; apply softmax "
            "to logits first."
        )
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile must lie in (0, 100], got {percentile!r}.")
    num_classes = probabilities.shape[1]
    estimate = np.empty((num_classes, num_classes))
    for clean in range(num_classes):
        scores = probabilities[:, clean].copy()
        if filter_outliers:
            threshold = np.percentile(scores, percentile, method="higher")
            below = scores < threshold
            if np.any(below):  # All-equal scores leave nothing below; keep them.
                scores[~below] = -np.inf
        estimate[clean] = probabilities[int(np.argmax(scores))]
    return estimate / estimate.sum(axis=1, keepdims=True)
