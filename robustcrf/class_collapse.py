"""Detecting collapsed clean classes: classes a trained model no longer predicts.

A noise model (the CRF's learned `W`, or the `T` of forward correction) can
explain a class's noisy labels through another clean class, and the model
then merges the two: one clean class receives almost no predictions. These
helpers find such classes so that training can warn about them.
"""

import warnings

import keras
import numpy as np
from keras import ops


# A class is "collapsed" when it receives less than this share of the
# predictions it should receive (its expected clean-class share).
COLLAPSE_RATIO = 0.1


def collapsed_classes(predicted_shares, expected_shares, ratio=COLLAPSE_RATIO):
    """Classes predicted less than `ratio` times their expected share.

    Args:
        predicted_shares: `(C,)` share of examples predicted as each class.
        expected_shares: `(C,)` share each class should have (e.g. the
            clean-class prior, or the mean of `p_aux(y_hat | y)` over the
            training labels).
        ratio: the threshold, in (0, 1).

    Returns:
        A sorted list of int class indices (empty when none collapsed).

    Example:

    >>> collapsed_classes([0.5, 0.5, 0.0], [0.4, 0.3, 0.3])
    [2]
    """
    predicted = np.asarray(predicted_shares, dtype=np.float64)
    expected = np.asarray(expected_shares, dtype=np.float64)
    if predicted.shape != expected.shape or predicted.ndim != 1:
        raise ValueError(f"predicted_shares and expected_shares must be (C,) arrays of the "
                         f"same length, got {predicted.shape} and {expected.shape}.")
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio must lie in (0, 1), got {ratio!r}.")
    predicted = predicted / max(predicted.sum(), 1e-12)
    expected = expected / max(expected.sum(), 1e-12)
    return [int(c) for c in np.flatnonzero(predicted < ratio * expected)]


def collapse_message(classes, class_names=None, where="training"):
    """The warning text naming collapsed classes."""
    names = [str(class_names[c]) if class_names is not None else str(c) for c in classes]
    return (f"Collapsed clean class(es) after {where}: {', '.join(names)} received less than "
            f"{COLLAPSE_RATIO:.0%} of their expected share of predictions on the training "
            "set; the model has merged them into other classes. Train longer at a high alpha, "
            "keep class_balance > 0, or check the transition matrix.")


def warn_if_collapsed(predicted_shares, expected_shares, class_names=None, where="training"):
    """Issues a `UserWarning` naming collapsed classes; returns them."""
    classes = collapsed_classes(predicted_shares, expected_shares)
    if classes:
        warnings.warn(collapse_message(classes, class_names, where), UserWarning, stacklevel=2)
    return classes


@keras.saving.register_keras_serializable(package="robustcrf")
class ClassShareTracker(keras.metrics.Metric):
    """Accumulates predicted and expected clean-class shares over an epoch.

    Its result is the smallest ratio `predicted share / expected share`
    over classes: about 1 for a balanced model, near 0 when a class has
    collapsed. `shares()` returns both vectors for `collapsed_classes`.

    Args:
        num_classes: C.
        name: metric name.
        **kwargs: `keras.metrics.Metric` arguments.

    Example:

    >>> tracker = ClassShareTracker(10)
    >>> tracker.update_state(model_probabilities, auxiliary_probabilities)
    >>> float(tracker.result())   # min over classes of predicted / expected share
    """

    def __init__(self, num_classes, name="min_class_share_ratio", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.predicted = self.add_variable(shape=(self.num_classes,), initializer="zeros",
                                           name="predicted")
        self.expected = self.add_variable(shape=(self.num_classes,), initializer="zeros",
                                          name="expected")

    def update_state(self, predicted_probabilities, expected_probabilities, sample_weight=None):
        """Adds a batch: the argmax of `predicted_probabilities` and the mean of the expected."""
        predicted = ops.one_hot(ops.argmax(predicted_probabilities, axis=-1), self.num_classes,
                                dtype=self.dtype)
        expected = ops.cast(expected_probabilities, self.dtype)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, self.dtype), (-1, 1))
            predicted, expected = predicted * weight, expected * weight
        self.predicted.assign_add(ops.sum(predicted, axis=0))
        self.expected.assign_add(ops.sum(expected, axis=0))

    def result(self):
        predicted = self.predicted / ops.maximum(ops.sum(self.predicted), 1.0)
        expected = self.expected / ops.maximum(ops.sum(self.expected), 1e-12)
        return ops.min(predicted / ops.maximum(expected, 1e-12))

    def shares(self):
        """`(predicted, expected)` NumPy share vectors accumulated so far."""
        return (ops.convert_to_numpy(self.predicted), ops.convert_to_numpy(self.expected))

    def reset_state(self):
        self.predicted.assign(ops.zeros_like(self.predicted))
        self.expected.assign(ops.zeros_like(self.expected))

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes)
        return config
