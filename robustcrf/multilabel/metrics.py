"""Mean average precision over clean categories (Section 4.1), in NumPy."""

import numpy as np


def average_precision(labels, scores):
    """Average precision of one category: `sum_n (R_n - R_{n-1}) P_n`.

    Tied scores form one threshold (as `sklearn.metrics.average_precision_score`).

    Args:
        labels: `(n,)` {0, 1}, at least one 1.
        scores: `(n,)` real scores, higher = more likely present.

    Returns:
        A float in [0, 1].
    """
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="mergesort")
    labels, scores = labels[order], scores[order]
    last_of_ties = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(labels)[last_of_ties]
    precision = true_positives / (last_of_ties + 1.0)
    recall = true_positives / true_positives[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def mean_average_precision(labels, scores):
    """mAP over the categories that have at least one positive example.

    Args:
        labels: `(n, C)` {0, 1} clean labels.
        scores: `(n, C)` predicted `p(y_hat = 1 | x)` (or any scores).

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: shapes differ, non-finite scores, or no positive label.
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.ndim != 2 or labels.shape != scores.shape:
        raise ValueError(
            f"labels and scores must be (examples, categories) of the same shape, got "
            f"{labels.shape} and {scores.shape}.")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinite values.")
    if not np.all((labels == 0) | (labels == 1)):
        raise ValueError("labels must contain only 0 and 1.")
    present = np.flatnonzero(labels.sum(axis=0) > 0)
    if present.size == 0:
        raise ValueError("No category has a positive example; mAP is undefined.")
    return float(np.mean([average_precision(labels[:, k], scores[:, k]) for k in present]))
