"""Mean average precision over clean categories (Section 4.1).

`average_precision_per_category` is scikit-learn's `average_precision_score`
of every category (NaN where a category has no positive example);
`mean_average_precision` is exact, their mean over the defined categories
(`mean_over_defined_categories`); `MeanAveragePrecision` is the same
quantity as a streaming Keras metric for `evaluate` and
`fit(validation_data=...)`, exact up to binning the scores into
`num_thresholds` bins.
"""

import keras
import numpy as np
from keras import ops
from sklearn import metrics as sk_metrics

DEFAULT_NUM_THRESHOLDS = 1000


def average_precision_per_category(labels, scores):
    """Average precision of every category (scikit-learn's `average_precision_score`).

    Args:
        labels: `(n, C)` {0, 1} clean labels.
        scores: `(n, C)` predicted `p(y_hat = 1 | x)` (or any scores).

    Returns:
        A `(C,)` float array; NaN for a category without a positive example
        (its AP is undefined).

    Raises:
        ValueError: shapes differ, non-finite scores, or labels not in {0, 1}.
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
    return np.array([
        sk_metrics.average_precision_score(labels[:, k], scores[:, k])
        if labels[:, k].any() else np.nan
        for k in range(labels.shape[1])])


def mean_average_precision(labels, scores):
    """mAP over the categories that have at least one positive example.

    Args:
        labels: `(n, C)` {0, 1} clean labels.
        scores: `(n, C)` predicted `p(y_hat = 1 | x)` (or any scores).

    Returns:
        A float in [0, 1]: the mean of `average_precision_per_category`
        over the categories with a positive example.

    Raises:
        ValueError: shapes differ, non-finite scores, or no positive label.
    """
    return mean_over_defined_categories(average_precision_per_category(labels, scores))


def mean_over_defined_categories(per_category):
    """mAP from per-category APs: their mean over the defined (non-NaN) ones.

    Args:
        per_category: `(C,)` APs, NaN for a category without a positive
            example (as `average_precision_per_category` returns them).

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: every category's AP is NaN (no positive label at all).
    """
    per_category = np.asarray(per_category, dtype=np.float64)
    if np.all(np.isnan(per_category)):
        raise ValueError("No category has a positive example; mAP is undefined.")
    return float(np.nanmean(per_category))


@keras.saving.register_keras_serializable(package="robustcrf")
class MeanAveragePrecision(keras.metrics.Metric):
    """Streaming mAP over categories with a positive example (Section 4.1's metric).

    Scores in [0, 1] are counted into `num_thresholds` equal bins per
    category; each bin is one threshold, so AP is `sum_k (R_k - R_{k-1}) P_k`
    over the bins from high to low scores, as scikit-learn computes it with
    the scores rounded to the bins.

    Args:
        num_categories: C.
        num_thresholds: score bins.
        name: metric name (`"map"`).

    Example:

    >>> metric = MeanAveragePrecision(3)
    >>> metric.update_state(clean_labels, probabilities)
    >>> float(metric.result())
    """

    def __init__(self, num_categories, num_thresholds=DEFAULT_NUM_THRESHOLDS, name="map",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_categories = int(num_categories)
        self.num_thresholds = int(num_thresholds)
        shape = (self.num_thresholds * self.num_categories,)
        self.positives = self.add_variable(shape=shape, initializer="zeros", name="positives")
        self.negatives = self.add_variable(shape=shape, initializer="zeros", name="negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = ops.cast(y_true, "float32")
        scores = ops.clip(ops.cast(y_pred, "float32"), 0.0, 1.0)
        weights = ops.ones_like(labels[:, :1])
        if sample_weight is not None:
            weights = ops.reshape(ops.cast(sample_weight, "float32"), (-1, 1))
        bins = ops.minimum(ops.cast(ops.floor(scores * self.num_thresholds), "int32"),
                           self.num_thresholds - 1)
        segments = ops.reshape(bins * self.num_categories
                               + ops.arange(self.num_categories, dtype="int32")[None], (-1,))
        size = self.num_thresholds * self.num_categories
        self.positives.assign_add(ops.segment_sum(
            ops.reshape(labels * weights, (-1,)), segments, num_segments=size))
        self.negatives.assign_add(ops.segment_sum(
            ops.reshape((1.0 - labels) * weights, (-1,)), segments, num_segments=size))

    def result(self):
        shape = (self.num_thresholds, self.num_categories)
        positives = ops.flip(ops.reshape(self.positives, shape), axis=0)  # high scores first
        negatives = ops.flip(ops.reshape(self.negatives, shape), axis=0)
        true_positives = ops.cumsum(positives, axis=0)
        predicted = true_positives + ops.cumsum(negatives, axis=0)
        precision = ops.divide_no_nan(true_positives, predicted)
        total = true_positives[-1]
        recall_steps = ops.divide_no_nan(positives, total[None])
        average_precision = ops.sum(recall_steps * precision, axis=0)
        present = ops.cast(total > 0, "float32")
        return ops.divide_no_nan(ops.sum(average_precision * present), ops.sum(present))

    def reset_state(self):
        for variable in (self.positives, self.negatives):
            variable.assign(ops.zeros_like(variable))

    def get_config(self):
        config = super().get_config()
        config.update(num_categories=self.num_categories, num_thresholds=self.num_thresholds)
        return config
