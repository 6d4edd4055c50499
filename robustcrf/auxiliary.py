"""The auxiliary distribution `p_aux(y_hat | y)` for the multiclass CRF.

Section 4.3 of the robust CRF paper uses "a simple linear multinomial logistic
regression representing the conditional p_aux(y_hat | y) with no hidden
variables", trained so that its outputs match the noise transition matrix:

    p_aux(y_hat = i | y = j) = softmax_i(a_aux[i] + W_aux[i, j]).

Because the input `y` is one-hot, this regression is *saturated*: every
column of `W_aux` is free, so it can represent any conditional table exactly
and its maximum-likelihood fit has a closed form. Both constructors use it.

* `from_transition_matrix(T, prior)`: the target is the Bayes posterior
  `P(clean=i | noisy=j) ∝ prior_i T[i, j]`, matched exactly by
  `a_aux = log prior`, `W_aux[i, j] = log max(T[i, j], floor)`. The floor
  (default 1e-6, i.e. a logit of -13.8) stands in for log 0 of impossible
  (clean, noisy) pairs so every quantity stays finite; it changes each
  posterior probability by at most ~C * floor / min_nonzero.
* `from_clean_subset(clean, noisy)`: maximum likelihood of the saturated
  regression is the table of empirical frequencies `n_ij / n_j`; we add
  Laplace (add-`smoothing`) counts, the MAP estimate under a symmetric
  Dirichlet prior, so a pair unseen in a small clean set keeps a small
  non-zero probability instead of a -inf logit. This equals what a few
  hundred steps of Adam on the cross-entropy would converge to (without
  the smoothing), with no optimiser settings to tune.
"""

import keras
import numpy as np
from keras import ops

from tf_data import validation
from tf_data.classification import one_hot_labels

TRANSITION_FLOOR = 1e-6


def bayes_posterior_logits(transition, class_prior, floor=TRANSITION_FLOOR):
    """`(a_aux, W_aux)` with `softmax_i(a_aux + W_aux[:, j]) ∝ prior_i T[i, j]`.

    Args:
        transition: row-stochastic `T[i, j] = P(noisy=j | clean=i)`.
        class_prior: `(C,)` clean-class probabilities, positive, summing to 1.
        floor: smallest transition probability used inside the log.

    Returns:
        `(clean_bias (C,), pairwise (C, C))` float64 arrays.
    """
    transition = validation.check_transition_matrix(transition)
    num_classes = transition.shape[0]
    prior = np.asarray(class_prior, dtype=np.float64)
    if prior.shape != (num_classes,) or not np.all(np.isfinite(prior)) or np.any(prior <= 0):
        raise ValueError(
            f"class_prior must be {num_classes} positive finite probabilities, got "
            f"{class_prior!r}. Use the noisy-label frequencies (np.bincount(y) / len(y)); "
            "every class needs at least one example."
        )
    if not 0.0 < floor < 1.0:
        raise ValueError(f"floor must lie in (0, 1), got {floor!r}.")
    prior = prior / prior.sum()
    return np.log(prior), np.log(np.maximum(transition, floor))


def estimate_clean_prior(noisy_labels, transition, minimum=1e-3):
    """Clean-class prior `pi` implied by the noisy-label frequencies and `T`.

    The noisy frequencies are `rho = pi @ T`; we solve it by least squares
    (`T^T pi = rho`, the minimum-norm solution when `T` is singular), clip
    at `minimum` so every class stays possible, and renormalise. Under
    asymmetric noise this corrects the bias of using `rho` itself (e.g. 7->1
    flips make 1 look more frequent than it is).

    Args:
        noisy_labels: `(n,)` integer noisy labels.
        transition: row-stochastic `T[i, j] = P(noisy=j | clean=i)`.
        minimum: smallest prior probability kept, in (0, 1/C).

    Returns:
        `(C,)` float64 probabilities.
    """
    transition = validation.check_transition_matrix(transition)
    num_classes = transition.shape[0]
    labels = validation.check_labels(noisy_labels, num_classes, "noisy_labels")
    noisy_frequencies = np.bincount(labels, minlength=num_classes) / len(labels)
    prior = np.linalg.lstsq(transition.T, noisy_frequencies, rcond=None)[0]
    prior = np.maximum(prior, minimum)
    return prior / prior.sum()


def smoothed_count_logits(clean_labels, noisy_labels, num_classes, smoothing=1.0):
    """`(a_aux, W_aux)` fitted to clean/noisy label pairs (saturated MLE + Laplace).

    `p_aux(i | j) = (n_ij + smoothing) / (n_j + C * smoothing)`; `a_aux = 0`.
    """
    num_classes = validation.check_num_classes(num_classes)
    clean = validation.check_labels(clean_labels, num_classes, "clean_labels")
    noisy = validation.check_labels(noisy_labels, num_classes, "noisy_labels")
    validation.check_same_length(clean_labels=clean, noisy_labels=noisy)
    if not (np.isfinite(smoothing) and smoothing > 0):
        raise ValueError(f"smoothing must be a positive pseudo-count, got {smoothing!r}.")
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (clean, noisy), 1.0)
    conditional = (counts + smoothing) / (counts.sum(axis=0, keepdims=True)
                                          + num_classes * smoothing)
    return np.zeros(num_classes), np.log(conditional)


@keras.saving.register_keras_serializable(package="robustcrf")
class AuxiliaryPosterior(keras.layers.Layer):
    """`p_aux(y_hat | y)`: the auxiliary distribution of Section 3.2 / 4.3.

    The conditional of Eq. 6-7 without hidden units, whose logits enter the
    regularised posterior of Eq. 10 multiplied by alpha.

    A multinomial logistic regression of the clean label on the one-hot
    noisy label with no hidden units, `softmax(a_aux + W_aux[:, y])`; its
    parameters are fixed (non-trainable) while the CRF trains, as in the
    paper. Build it with `from_transition_matrix` or `from_clean_subset`.

    Args:
        clean_bias: `a_aux`, C numbers.
        pairwise: `W_aux`, `(C, C)` numbers, `[i, j]` for clean i, noisy j.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        noisy_labels: `(B,)` integer labels or `(B, C)` one-hot.

    Returns:
        The auxiliary logits `a_aux + W_aux[:, y]`, `(B, C)`; their softmax is
        `p_aux(y_hat | y)` (see `posterior`).

    Example:

    >>> T = tf_data.transition_matrix("mnist", 10, 0.3)
    >>> aux = AuxiliaryPosterior.from_transition_matrix(T, np.full(10, 0.1))
    >>> aux.posterior(np.array([1]))   # P(clean | noisy = 1): mass on 1 and 7
    """

    def __init__(self, clean_bias, pairwise, **kwargs):
        super().__init__(**kwargs)
        clean_bias = np.asarray(clean_bias, dtype=np.float64)
        pairwise = np.asarray(pairwise, dtype=np.float64)
        if (pairwise.ndim != 2 or pairwise.shape[0] != pairwise.shape[1]
                or pairwise.shape[0] < 2 or clean_bias.shape != pairwise.shape[:1]):
            raise ValueError(
                "AuxiliaryPosterior needs clean_bias of shape (C,) and pairwise of shape "
                f"(C, C) with C >= 2, got {clean_bias.shape} and {pairwise.shape}."
            )
        if not (np.all(np.isfinite(clean_bias)) and np.all(np.isfinite(pairwise))):
            raise ValueError(
                "AuxiliaryPosterior parameters must be finite; floor zero probabilities "
                "before taking logs (see from_transition_matrix)."
            )
        self.clean_bias = clean_bias.tolist()
        self.pairwise = pairwise.tolist()
        self.num_classes = int(pairwise.shape[0])
        self.clean_bias_weight = self.add_weight(
            shape=clean_bias.shape, name="clean_bias", trainable=False,
            initializer=keras.initializers.Constant(clean_bias))
        self.pairwise_weight = self.add_weight(
            shape=pairwise.shape, name="pairwise", trainable=False,
            initializer=keras.initializers.Constant(pairwise))
        self.built = True

    @classmethod
    def from_transition_matrix(cls, transition, class_prior, floor=TRANSITION_FLOOR, **kwargs):
        """Exact Bayes fit: `p_aux(i | j) ∝ prior_i T[i, j]` (see module docstring)."""
        clean_bias, pairwise = bayes_posterior_logits(transition, class_prior, floor)
        return cls(clean_bias, pairwise, **kwargs)

    @classmethod
    def from_clean_subset(cls, clean_labels, noisy_labels, num_classes, smoothing=1.0,
                          **kwargs):
        """Fit on a clean subset: smoothed frequencies `(n_ij + s) / (n_j + C s)`."""
        clean_bias, pairwise = smoothed_count_logits(
            clean_labels, noisy_labels, num_classes, smoothing)
        return cls(clean_bias, pairwise, **kwargs)

    def call(self, noisy_labels):
        onehot = one_hot_labels(noisy_labels, self.num_classes, self.compute_dtype)
        return self.clean_bias_weight + ops.matmul(onehot, ops.transpose(self.pairwise_weight))

    def posterior(self, noisy_labels):
        """`p_aux(y_hat | y)`, `(B, C)`."""
        return ops.softmax(self(noisy_labels), axis=-1)

    def compute_output_shape(self, noisy_labels_shape):
        return (noisy_labels_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update({"clean_bias": self.clean_bias, "pairwise": self.pairwise})
        return config
