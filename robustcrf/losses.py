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

from robustcrf.auxiliary import bayes_posterior_logits
from tf_data import validation
from tf_data.classification import cross_entropy_from_logits
from tf_data.classification import given_label_values
from tf_data.distribute import replica_sum

LOG_FLOOR = 1e-12
MAX_CONDITION_NUMBER = 1e6


def _flat_labels(labels):
    return ops.reshape(ops.cast(labels, "int32"), (-1,))


def forward_corrected_cross_entropy(labels, logits, transition):
    """Patrini's forward correction: `-log sum_i p(i | x) T[i, y]`, `(B,)`.

    Computed in log space, `logsumexp_i(log p(i | x) + log T[i, y])`, with
    zero entries of `T` floored at 1e-12.
    """
    log_transition = ops.log(ops.maximum(ops.cast(transition, logits.dtype), LOG_FLOOR))
    log_clean = ops.log_softmax(logits, axis=-1)
    log_noisy = ops.logsumexp(log_clean[:, :, None] + log_transition[None], axis=1)
    return -given_label_values(log_noisy, labels)


# Weight of `class_balance_penalty` in the robust CRF and forward correction.
# 1.0 removed every collapsed class in the Table 2 runs on digits and on
# real 28x28 digits (mnist5k) while keeping the recovery of symmetric noise.
DEFAULT_CLASS_BALANCE = 1.0


def check_class_balance(weight):
    """Returns the class-balance weight as a float >= 0, or raises ValueError."""
    return validation.check_non_negative(
        weight, "class_balance", "0 turns the collapse guard off and gives the paper's exact "
        "objective")


def class_balance_penalty(expected_clean, predicted_clean, weights=None):
    """`KL(mean expected || mean predicted)` of clean-class shares over a batch.

    Not in the robust CRF paper: a guard against class collapse, the
    degenerate fixed point in which a clean class stops being predicted
    because a transition (learned `W`, or the true `T` of forward
    correction) already explains its noisy labels, after which the class's
    gradient is proportional to its vanishing probability and it never
    returns. It asks the batch's mean clean prediction to match the
    clean-class shares that the noisy labels imply through the auxiliary
    posterior `p_aux(y_hat | y)` (a posterior-regularisation constraint on
    the class marginals, cf. Tanaka et al. 2018's prior term); a dead class
    then has a large gradient whatever its probability.

    Args:
        expected_clean: `(B, C)` `p_aux(y_hat | y_n)` of each example's noisy label.
        predicted_clean: `(B, C)` the model's clean marginal `p(y_hat | x_n)`.
        weights: optional `(B,)` example weights (0 drops an example).

    Under a `tf.distribute` strategy the shares are those of the global
    batch (all-reduced), so every replica computes the same penalty.

    Returns:
        A scalar >= 0.
    """
    if weights is None:
        weights = ops.ones_like(expected_clean[:, 0])
    weights = ops.cast(weights, expected_clean.dtype)[:, None]
    total = ops.maximum(replica_sum(ops.sum(weights)), 1.0)
    expected = replica_sum(ops.sum(expected_clean * weights, axis=0)) / total
    predicted = replica_sum(
        ops.sum(ops.cast(predicted_clean, expected.dtype) * weights, axis=0)) / total
    return ops.sum(expected * (ops.log(ops.maximum(expected, LOG_FLOOR))
                               - ops.log(ops.maximum(predicted, LOG_FLOOR))))


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
        return cross_entropy_from_logits(y_true, y_pred)


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

    def __init__(self, transition, class_balance=0.0, class_prior=None,
                 name="forward_corrected_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        matrix = validation.check_transition_matrix(transition)
        self.transition = matrix.tolist()
        self.class_balance = check_class_balance(class_balance)
        self.class_prior = None if class_prior is None else [float(p) for p in class_prior]
        self._expected_table = None
        if self.class_balance:
            prior = (np.full(len(matrix), 1.0 / len(matrix)) if class_prior is None
                     else np.asarray(class_prior))
            # p_aux's logits (in float64): logits[i, j] for clean i, noisy j.
            bias, pairwise = bayes_posterior_logits(matrix, prior)
            logits = bias[:, None] + pairwise
            unnormalised = np.exp(logits - logits.max(axis=0))
            # expected[j, i] = P(clean = i | noisy = j).
            self._expected_table = (unnormalised / unnormalised.sum(axis=0)).T.tolist()

    def call(self, y_true, y_pred):
        losses = forward_corrected_cross_entropy(y_true, y_pred, self.transition)
        if not self.class_balance:
            return losses
        expected = ops.take(ops.convert_to_tensor(self._expected_table, y_pred.dtype),
                            _flat_labels(y_true), axis=0)
        penalty = class_balance_penalty(expected, ops.softmax(y_pred, axis=-1))
        return losses + self.class_balance * penalty

    def get_config(self):
        config = super().get_config()
        config.update({"transition": self.transition, "class_balance": self.class_balance,
                       "class_prior": self.class_prior})
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
