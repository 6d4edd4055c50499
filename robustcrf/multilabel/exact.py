"""Exact inference in the CRF by enumerating the noisy labels (small N only).

Summing out `y_hat` and `h` is analytic (they are independent given `y`),
so `p(y | x)`, `log Z(x)` and every marginal need only the `2^N`
configurations of `y`. These functions are the reference the tests check
samplers and PCD gradients against, and give the exact log-likelihood of
an auxiliary RBM on small vocabularies.
"""

import itertools

import numpy as np
from keras import ops

MAX_ENUMERATED_NOISY = 16


def all_binary_vectors(size):
    """`(2^size, size)` float32 array of every {0, 1} vector, in binary order."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=size)), dtype=np.float32)


def _enumerated_noisy(energy):
    if energy.num_noisy > MAX_ENUMERATED_NOISY:
        raise ValueError(
            f"Exact inference enumerates 2^N noisy configurations; N={energy.num_noisy} "
            f"exceeds {MAX_ENUMERATED_NOISY}. Use Gibbs sampling instead."
        )
    return ops.convert_to_tensor(all_binary_vectors(energy.num_noisy))


def noisy_log_weights(energy, a, b):
    """Unnormalised `log p(y | x)` for every `y`: `(B, 2^N)`.

    `log sum_{y_hat, h} exp(-E) = b^T y + sum_i softplus(a_i + W_i y)
    + sum_j softplus(c_j + W'_j y)` (Eq. 1-2 with `y_hat`, `h` summed out).
    """
    ys = _enumerated_noisy(energy)
    a = a[:, None, :]
    weights = ops.sum(b[:, None, :] * ys, axis=-1)
    weights = weights + ops.sum(ops.softplus(energy.clean_logits(a, ys)), axis=-1)
    return weights + ops.sum(ops.softplus(energy.hidden_logits(ys)), axis=-1)


def log_partition(energy, a, b):
    """`log Z(x)` of Eq. 1, `(B,)`."""
    return ops.logsumexp(noisy_log_weights(energy, a, b), axis=-1)


def free_energy(energy, a, b, y, y_hat):
    """`-log sum_h exp(-E(y, y_hat, h, x))`, `(B,)`."""
    hidden = ops.sum(ops.softplus(energy.hidden_logits(y)), axis=-1)
    return energy(a, b, y, y_hat) - hidden


def log_likelihood(energy, a, b, y, y_hat):
    """`log p(y, y_hat | x)`: the clean-set term of Eq. 3, `(B,)`."""
    return -free_energy(energy, a, b, y, y_hat) - log_partition(energy, a, b)


def noisy_log_likelihood(energy, a, b, y):
    """`log p(y | x)`: the noisy-set term of Eq. 3, `(B,)`."""
    weights = ops.sum(b * y, axis=-1) + ops.sum(ops.softplus(energy.clean_logits(a, y)), -1)
    weights = weights + ops.sum(ops.softplus(energy.hidden_logits(y)), axis=-1)
    return weights - log_partition(energy, a, b)


def exact_marginals(energy, a, b):
    """Exact `p(y_hat = 1 | x)`, `p(y = 1 | x)`, `p(h = 1 | x)`.

    Returns:
        A dict with `"clean"` `(B, C)`, `"noisy"` `(B, N)`, `"hidden"` `(B, H)`.
    """
    ys = _enumerated_noisy(energy)
    weights = ops.softmax(noisy_log_weights(energy, a, b), axis=-1)[..., None]
    clean = ops.sigmoid(energy.clean_logits(a[:, None, :], ys))
    hidden = ops.sigmoid(energy.hidden_logits(ys)) + ops.zeros_like(weights)
    return {
        "clean": ops.sum(weights * clean, axis=1),
        "noisy": ops.sum(weights * ys, axis=1),
        "hidden": ops.sum(weights * hidden, axis=1),
    }
