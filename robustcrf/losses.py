"""Cross-entropy and Patrini et al.'s (2017) loss corrections, as Keras losses.

Baselines of the robust CRF paper's Table 2. Every loss takes integer noisy
labels `(B,)` and logits `(B, C)` and returns per-example losses. The
transition matrix is row-stochastic, `T[i, j] = P(noisy=j | clean=i)`.

* forward: `-log (softmax(logits) @ T)[y]`, the negative log-probability of
  the noisy label under the clean prediction pushed through the noise.
* backward: `(T^-1 l)[y]` with `l_j = -log softmax(logits)[j]`, an unbiased
  estimate of the clean loss; needs an invertible, well-conditioned `T`.

They are registered classes with the matrix in `get_config`, so a saved
`.keras` model reloads without `custom_objects` (Patrini's reference code
builds the losses as closures, which fail to reload).
"""

import keras
import numpy as np
from keras import ops

from tf_data import environment  # noqa: F401
from tf_data import validation

LOG_FLOOR = 1e-12
MAX_CONDITION_NUMBER = 1e6


def _flat_labels(labels):
    return ops.reshape(ops.cast(labels, "int32"), (-1,))


def _pick(values, labels):
    """`values[n, labels[n]]` for every row."""
    onehot = ops.one_hot(_flat_labels(labels), ops.shape(values)[-1], dtype=values.dtype)
    return ops.sum(values * onehot, axis=-1)


def cross_entropy(labels, logits):
    """`-log softmax(logits)[y]`, `(B,)`."""
    return -_pick(ops.log_softmax(logits, axis=-1), labels)


def forward_corrected_cross_entropy(labels, logits, transition):
    """Patrini's forward correction: `-log sum_i p(i | x) T[i, y]`, `(B,)`.

    Computed in log space, `logsumexp_i(log p(i | x) + log T[i, y])`, with
    zero entries of `T` floored at 1e-12.
    """
    log_transition = ops.log(ops.maximum(ops.cast(transition, logits.dtype), LOG_FLOOR))
    log_clean = ops.log_softmax(logits, axis=-1)
    log_noisy = ops.logsumexp(log_clean[:, :, None] + log_transition[None], axis=1)
    return -_pick(log_noisy, labels)


def backward_corrected_cross_entropy(labels, logits, inverse_transition):
    """Patrini's backward correction: `sum_j T^-1[y, j] (-log p(j | x))`, `(B,)`."""
    losses = -ops.log_softmax(logits, axis=-1)
    rows = ops.take(ops.cast(inverse_transition, logits.dtype), _flat_labels(labels), axis=0)
    return ops.sum(rows * losses, axis=-1)


def invert_transition(transition, max_condition_number=MAX_CONDITION_NUMBER):
    """`T^-1`, or a ValueError if `T` is singular or ill-conditioned."""
    transition = validation.check_transition_matrix(transition)
    condition = np.linalg.cond(transition)
    if not np.isfinite(condition) or condition > max_condition_number:
        raise ValueError(
            f"The backward correction needs T^-1, but T is singular or ill-conditioned "
            f"(condition number {condition:.3g} > {max_condition_number:.0e}), e.g. two "
            "classes swap with probability 0.5 so their rows are equal. Use the forward "
            "correction (ForwardCorrectedCrossEntropy), which only multiplies by T."
        )
    return np.linalg.inv(transition)


@keras.saving.register_keras_serializable(package="robustcrf")
class CrossEntropy(keras.losses.Loss):
    """Plain cross-entropy on the noisy labels (Table 2's "Cross entropy loss").

    Args:
        name: loss name.
        **kwargs: `keras.losses.Loss` arguments (`reduction`).

    Call arguments:
        y_true: `(B,)` integer labels.
        y_pred: `(B, C)` logits.

    Returns:
        Per-example `-log softmax(y_pred)[y_true]`, reduced by Keras.

    Example:

    >>> model.compile(optimizer="adam", loss=CrossEntropy())
    """

    def __init__(self, name="cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return cross_entropy(y_true, y_pred)


@keras.saving.register_keras_serializable(package="robustcrf")
class ForwardCorrectedCrossEntropy(keras.losses.Loss):
    """Patrini et al.'s forward-corrected loss `-log (p(. | x)^T T)[y]`.

    Args:
        transition: `(C, C)` row-stochastic `T[i, j] = P(noisy=j | clean=i)`,
            known or estimated (`robustcrf.estimate_transition_matrix`).
        name: loss name.
        **kwargs: `keras.losses.Loss` arguments.

    Call arguments:
        y_true: `(B,)` integer noisy labels.
        y_pred: `(B, C)` logits of the clean classes.

    Returns:
        Per-example forward-corrected losses, reduced by Keras.

    Example:

    >>> T = tf_data.transition_matrix("mnist", 10, 0.3)
    >>> model.compile(optimizer="adam", loss=ForwardCorrectedCrossEntropy(T))
    """

    def __init__(self, transition, name="forward_corrected_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.transition = validation.check_transition_matrix(transition).tolist()

    def call(self, y_true, y_pred):
        return forward_corrected_cross_entropy(y_true, y_pred, self.transition)

    def get_config(self):
        config = super().get_config()
        config.update({"transition": self.transition})
        return config


@keras.saving.register_keras_serializable(package="robustcrf")
class BackwardCorrectedCrossEntropy(keras.losses.Loss):
    """Patrini et al.'s backward-corrected loss `(T^-1 l(p(. | x)))[y]`.

    Args:
        transition: `(C, C)` row-stochastic matrix; must be invertible and
            well conditioned (else a ValueError suggests the forward loss).
        name: loss name.
        **kwargs: `keras.losses.Loss` arguments.

    Call arguments:
        y_true: `(B,)` integer noisy labels.
        y_pred: `(B, C)` logits of the clean classes.

    Returns:
        Per-example backward-corrected losses (can be negative), reduced by
        Keras.

    Example:

    >>> model.compile(optimizer="adam", loss=BackwardCorrectedCrossEntropy(T))
    """

    def __init__(self, transition, name="backward_corrected_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        matrix = validation.check_transition_matrix(transition)
        self.inverse_transition = invert_transition(matrix).tolist()
        self.transition = matrix.tolist()

    def call(self, y_true, y_pred):
        return backward_corrected_cross_entropy(y_true, y_pred, self.inverse_transition)

    def get_config(self):
        config = super().get_config()
        config.update({"transition": self.transition})
        return config
