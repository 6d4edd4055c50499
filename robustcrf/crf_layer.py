"""The analytic multiclass robust CRF (robust CRF paper, Fig. 2.c, Section 4.3).

Clean label `y_hat` and noisy label `y` are one-hot over C classes. With the
backbone's clean logits `a(x)`, a noisy-side bias `b` (a constant vector, or
`b(x)` from a second head) and a pairwise matrix `W`, Eq. 1-2 without hidden
units read

    p(y_hat, y | x) = exp(a(x)[y_hat] + b[y] + W[y_hat, y]) / Z(x),

and the C x C table is small enough to sum exactly, so no sampling is needed.
The module keeps every quantity as a small pure function of
`(clean_logits, noisy_bias, pairwise)`; `MulticlassCRF` owns `W` and `b`.

Shapes: `clean_logits` `(B, C)`; `noisy_bias` `(C,)` or `(B, C)`; `pairwise`
`(C, C)` with `pairwise[i, j]` the interaction of clean class i and noisy
class j; `noisy_onehot` `(B, C)`.
"""

import keras
from keras import ops

from robustcrf.regularised_posterior import geometric_mean_logits
from tf_data.classification import one_hot_labels


NOISY_BIAS_KINDS = ("constant", "head")


def pairwise_given_noisy(pairwise, noisy_onehot):
    """`W[:, y]` for every example: `(B, C)` with `[n, i] = W[i, y_n]`."""
    return ops.matmul(noisy_onehot, ops.transpose(pairwise))


def energy(clean_logits, noisy_bias, pairwise, clean_onehot, noisy_onehot):
    """Eq. 2 without hidden units: `E = -a[y_hat] - b[y] - W[y_hat, y]`, `(B,)`."""
    return -(ops.sum(clean_logits * clean_onehot, axis=-1)
             + noisy_bias_of(noisy_bias, noisy_onehot)
             + ops.sum(clean_onehot * pairwise_given_noisy(pairwise, noisy_onehot), axis=-1))


def clean_marginal_logits(clean_logits, noisy_bias, pairwise):
    """Logits of the clean marginal: `a[i] + logsumexp_j(b[j] + W[i, j])`.

    `softmax` of these is `p(y_hat | x)`, and their `logsumexp` is `log Z(x)`.
    """
    noisy_bias = ops.expand_dims(noisy_bias, axis=-2)  # (1 or B, 1, C)
    return clean_logits + ops.logsumexp(noisy_bias + pairwise, axis=-1)


def log_partition(clean_logits, noisy_bias, pairwise):
    """`log Z(x)` of Eq. 1: logsumexp over the whole C x C table, `(B,)`."""
    return ops.logsumexp(clean_marginal_logits(clean_logits, noisy_bias, pairwise), axis=-1)


def clean_marginal(clean_logits, noisy_bias, pairwise):
    """Exact `p(y_hat | x) = sum_y p(y_hat, y | x)`, `(B, C)`."""
    return ops.softmax(clean_marginal_logits(clean_logits, noisy_bias, pairwise), axis=-1)


def noisy_bias_of(noisy_bias, noisy_onehot):
    """`b[y]` for every example, `(B,)`."""
    return ops.sum(noisy_bias * noisy_onehot, axis=-1)


def noisy_log_likelihood(clean_logits, noisy_bias, pairwise, noisy_onehot):
    """`log p(y | x) = logsumexp_i(a[i] + W[i, y]) + b[y] - log Z(x)`, `(B,)`."""
    joint_given_noisy = clean_logits + pairwise_given_noisy(pairwise, noisy_onehot)
    return (ops.logsumexp(joint_given_noisy, axis=-1) + noisy_bias_of(noisy_bias, noisy_onehot)
            - log_partition(clean_logits, noisy_bias, pairwise))


def model_posterior(clean_logits, pairwise, noisy_onehot):
    """The CRF's own `p(y_hat | y, x) = softmax(a + W[:, y])`, `(B, C)`."""
    return ops.softmax(clean_logits + pairwise_given_noisy(pairwise, noisy_onehot), axis=-1)


def regularised_posterior(clean_logits, pairwise, noisy_onehot, auxiliary_logits, alpha):
    """Eq. 10, multiclass: `q ∝ [p(y_hat | y, x) p_aux(y_hat | y)^alpha]^(1/(alpha+1))`.

    `q(y_hat | y, x) = softmax((a + W[:, y] + alpha * (a_aux + W_aux[:, y])) / (alpha + 1))`.

    Args:
        clean_logits: `a(x)`, `(B, C)`.
        pairwise: `W`, `(C, C)`.
        noisy_onehot: `(B, C)` one-hot noisy labels.
        auxiliary_logits: `a_aux + W_aux[:, y]`, `(B, C)`.
        alpha: scalar >= 0; 0 gives the model posterior, large values p_aux.

    Returns:
        `(B, C)` probabilities.
    """
    model_logits = clean_logits + pairwise_given_noisy(pairwise, noisy_onehot)
    alpha = ops.cast(alpha, model_logits.dtype)
    return ops.softmax(geometric_mean_logits(model_logits, auxiliary_logits, alpha), axis=-1)


def expected_complete_log_likelihood(clean_logits, noisy_bias, pairwise, noisy_onehot, posterior):
    """The M-step objective `E_q[log p(y, y_hat | x)]` of Eq. 12, `(B,)`.

    `sum_i q(i) (a[i] + W[i, y]) + b[y] - log Z(x)`; `posterior` is `q`, which
    the caller holds fixed (stop-gradient) in the M step.
    """
    joint_given_noisy = clean_logits + pairwise_given_noisy(pairwise, noisy_onehot)
    return (ops.sum(posterior * joint_given_noisy, axis=-1)
            + noisy_bias_of(noisy_bias, noisy_onehot)
            - log_partition(clean_logits, noisy_bias, pairwise))


def training_terms(clean_logits, noisy_bias, pairwise, noisy_onehot, posterior):
    """The M-step objective, `log p(y | x)` and `p(y_hat | x)` from one `log Z`.

    What a training step needs, sharing the C x C log-partition instead of
    computing it once per quantity.

    Returns:
        A dict: `objective` `E_q[log p(y, y_hat | x)]` `(B,)` (Eq. 12),
        `noisy_log_likelihood` `log p(y | x)` `(B,)`, `clean_marginal`
        `p(y_hat | x)` `(B, C)`.
    """
    marginal_logits = clean_marginal_logits(clean_logits, noisy_bias, pairwise)
    log_z = ops.logsumexp(marginal_logits, axis=-1)
    joint_given_noisy = clean_logits + pairwise_given_noisy(pairwise, noisy_onehot)
    noisy_bias_term = noisy_bias_of(noisy_bias, noisy_onehot)
    return {
        "objective": ops.sum(posterior * joint_given_noisy, axis=-1) + noisy_bias_term - log_z,
        "noisy_log_likelihood": (ops.logsumexp(joint_given_noisy, axis=-1) + noisy_bias_term
                                 - log_z),
        "clean_marginal": ops.softmax(marginal_logits, axis=-1),
    }


@keras.saving.register_keras_serializable(package="robustcrf")
class MulticlassCRF(keras.layers.Layer):
    """The analytic clean/noisy CRF of the paper's Fig. 2.c (Eq. 1-2, 10, 12).

    Holds the pairwise matrix `W` (`pairwise`, `(C, C)`) and, in the "no x-y
    link" form, the noisy-side bias `b` (`noisy_bias`, `(C,)`); both are
    trainable and start at zero, as in the paper. With `noisy_bias="head"`,
    `b(x)` is passed to every method instead (a second head of the network).

    Args:
        num_classes: C, the number of clean and of noisy classes.
        noisy_bias: `"constant"` (the paper's recommended "no x-y link" form:
            `b` is a trainable vector) or `"head"` (`b(x)` is an input).
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        clean_logits: `a(x)`, `(B, C)`.
        noisy_logits: `b(x)`, `(B, C)`; required with `noisy_bias="head"`,
            must be None with `"constant"`.

    Returns:
        The exact clean marginal `p(y_hat | x)`, `(B, C)`.

    Example:

    >>> crf = MulticlassCRF(10)
    >>> probabilities = crf(logits)          # p(y_hat | x)
    >>> q = crf.regularised_posterior(logits, noisy_labels, aux_logits, 8.0)
    """

    def __init__(self, num_classes, noisy_bias="constant", **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
        if noisy_bias not in NOISY_BIAS_KINDS:
            raise ValueError(
                f"noisy_bias must be one of {NOISY_BIAS_KINDS}, got {noisy_bias!r}: "
                "'constant' is the paper's 'no x-y link' form, 'head' takes b(x) as input."
            )
        self.num_classes = num_classes
        self.noisy_bias = noisy_bias
        self.pairwise = self.add_weight(
            shape=(num_classes, num_classes), initializer="zeros", name="pairwise")
        self.noisy_bias_vector = None
        if noisy_bias == "constant":
            self.noisy_bias_vector = self.add_weight(
                shape=(num_classes,), initializer="zeros", name="noisy_bias")
        self.built = True

    def _bias(self, noisy_logits):
        if self.noisy_bias == "constant":
            if noisy_logits is not None:
                raise ValueError(
                    "This CRF has a constant noisy bias (noisy_bias='constant'); do not pass "
                    "noisy_logits, or build it with noisy_bias='head'."
                )
            return ops.cast(self.noisy_bias_vector, self.compute_dtype)
        if noisy_logits is None:
            raise ValueError("noisy_bias='head' needs noisy_logits b(x) of shape (B, C).")
        return noisy_logits

    def _onehot(self, noisy_labels):
        return one_hot_labels(noisy_labels, self.num_classes, self.compute_dtype)

    def call(self, clean_logits, noisy_logits=None):
        return clean_marginal(clean_logits, self._bias(noisy_logits), self.pairwise)

    def energy(self, clean_logits, clean_labels, noisy_labels, noisy_logits=None):
        """Eq. 2's energy `E(y, y_hat, x)` of given clean and noisy labels, `(B,)`."""
        return energy(clean_logits, self._bias(noisy_logits), self.pairwise,
                      self._onehot(clean_labels), self._onehot(noisy_labels))

    def log_partition(self, clean_logits, noisy_logits=None):
        """`log Z(x)`, `(B,)`."""
        return log_partition(clean_logits, self._bias(noisy_logits), self.pairwise)

    def noisy_log_likelihood(self, clean_logits, noisy_labels, noisy_logits=None):
        """`log p(y | x)` for integer or one-hot `noisy_labels`, `(B,)`."""
        return noisy_log_likelihood(clean_logits, self._bias(noisy_logits), self.pairwise,
                                    self._onehot(noisy_labels))

    def model_posterior(self, clean_logits, noisy_labels):
        """`p(y_hat | y, x)`, `(B, C)`."""
        return model_posterior(clean_logits, self.pairwise, self._onehot(noisy_labels))

    def regularised_posterior(self, clean_logits, noisy_labels, auxiliary_logits, alpha):
        """Eq. 10's `q(y_hat | y, x)`, `(B, C)`."""
        return regularised_posterior(clean_logits, self.pairwise, self._onehot(noisy_labels),
                                     auxiliary_logits, alpha)

    def expected_complete_log_likelihood(self, clean_logits, noisy_labels, posterior,
                                         noisy_logits=None):
        """`E_q[log p(y, y_hat | x)]` (Eq. 12's objective), `(B,)`."""
        return expected_complete_log_likelihood(
            clean_logits, self._bias(noisy_logits), self.pairwise,
            self._onehot(noisy_labels), posterior)

    def training_terms(self, clean_logits, noisy_labels, posterior, noisy_logits=None):
        """`training_terms` (objective, log p(y | x), p(y_hat | x)) with one `log Z`."""
        return training_terms(clean_logits, self._bias(noisy_logits), self.pairwise,
                              self._onehot(noisy_labels), posterior)

    def compute_output_shape(self, clean_logits_shape, noisy_logits_shape=None):
        return tuple(clean_logits_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "noisy_bias": self.noisy_bias})
        return config
