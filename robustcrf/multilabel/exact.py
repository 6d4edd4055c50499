"""Exact inference in the CRF by enumerating the noisy labels (small N only).

Summing out `y_hat` and `h` is analytic (they are independent given `y`),
so `p(y | x)`, `log Z(x)` and every marginal need only the `2^N`
configurations of `y`. These functions are the reference the tests check
samplers and PCD gradients against, give the exact log-likelihood of an
auxiliary RBM on small vocabularies, and `clean_marginals` gives
`RobustMultilabelCRF`'s test-time marginals when N is small
(`predict_inference`).
"""

import itertools

import numpy as np
from keras import ops

from robustcrf.multilabel.energy import check_size

MAX_ENUMERATED_NOISY = 16
# Noisy configurations per chunk of `clean_marginals`: its (B, 4096, C) float32
# blocks take 16 KB per example and clean label (57 MB for 256 examples of 14).
DEFAULT_CHUNK_SIZE = 4096


def all_binary_vectors(size):
    """`(2^size, size)` float32 array of every {0, 1} vector, in binary order."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=size)), dtype=np.float32)


def check_enumerable(num_noisy):
    """Returns `num_noisy` if its `2^N` configurations can be enumerated, else raises."""
    if num_noisy > MAX_ENUMERATED_NOISY:
        raise ValueError(
            f"Exact inference enumerates 2^N noisy configurations; N={num_noisy} "
            f"exceeds {MAX_ENUMERATED_NOISY}. Use Gibbs sampling instead."
        )
    return num_noisy


def _enumerated_noisy(energy):
    return ops.convert_to_tensor(all_binary_vectors(check_enumerable(energy.num_noisy)))


def _weights_and_clean_logits(energy, a, b, ys):
    """Unnormalised `log p(y | x)` `(B, K)` and clean logits `(B, K, C)` for `K` configurations.

    `log sum_{y_hat, h} exp(-E) = b^T y + sum_i softplus(a_i + W_i y)
    + sum_j softplus(c_j + W'_j y)` (Eq. 1-2 with `y_hat`, `h` summed out);
    `a_i + W_i y` is also the logit of `p(y_hat_i = 1 | y, x)`.
    """
    clean_logits = energy.clean_logits(a[:, None, :], ys)
    weights = ops.sum(b[:, None, :] * ys, axis=-1)
    weights = weights + ops.sum(ops.softplus(clean_logits), axis=-1)
    return weights + ops.sum(ops.softplus(energy.hidden_logits(ys)), axis=-1), clean_logits


def noisy_log_weights(energy, a, b):
    """Unnormalised `log p(y | x)` for every `y`: `(B, 2^N)`."""
    return _weights_and_clean_logits(energy, a, b, _enumerated_noisy(energy))[0]


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
    weights = _weights_and_clean_logits(energy, a, b, y[:, None, :])[0][:, 0]
    return weights - log_partition(energy, a, b)


def exact_marginals(energy, a, b):
    """Exact `p(y_hat = 1 | x)`, `p(y = 1 | x)`, `p(h = 1 | x)`.

    Returns:
        A dict with `"clean"` `(B, C)`, `"noisy"` `(B, N)`, `"hidden"` `(B, H)`.
    """
    ys = _enumerated_noisy(energy)
    log_weights, clean_logits = _weights_and_clean_logits(energy, a, b, ys)
    weights = ops.softmax(log_weights, axis=-1)[..., None]
    hidden = ops.sigmoid(energy.hidden_logits(ys)) + ops.zeros_like(weights)
    return {
        "clean": ops.sum(weights * ops.sigmoid(clean_logits), axis=1),
        "noisy": ops.sum(weights * ys, axis=1),
        "hidden": ops.sum(weights * hidden, axis=1),
    }


def clean_marginals(energy, a, b, chunk_size=DEFAULT_CHUNK_SIZE):
    """Exact `p(y_hat = 1 | x)` in chunks of noisy configurations: test-time marginals.

    The same values as `exact_marginals(...)["clean"]` (Section 3.3's
    marginals without Monte Carlo error), with memory bounded by
    `(B, chunk_size, C)` instead of `(B, 2^N, C)`: each chunk of the `2^N`
    configurations contributes its log-mass and its weighted sum of
    `p(y_hat | y, x)`, combined with one log-sum-exp at the end. The chunks
    are a static Python loop, so the function traces into one graph (a
    SavedModel's `serve`).

    Args:
        energy: a `CRFEnergy` with `num_noisy <= MAX_ENUMERATED_NOISY`.
        a: `(B, C)` clean unaries.
        b: `(B, N)` noisy unaries.
        chunk_size: noisy configurations per chunk (int >= 1).

    Returns:
        `(B, C)` marginals.
    """
    chunk_size = check_size(chunk_size, "chunk_size")
    ys = all_binary_vectors(check_enumerable(energy.num_noisy))
    peaks, masses, sums = [], [], []
    for start in range(0, len(ys), chunk_size):
        log_weights, clean_logits = _weights_and_clean_logits(
            energy, a, b, ops.convert_to_tensor(ys[start:start + chunk_size]))
        peak = ops.max(log_weights, axis=-1, keepdims=True)
        weights = ops.exp(log_weights - peak)
        peaks.append(peak)
        masses.append(ops.sum(weights, axis=-1, keepdims=True))
        sums.append(ops.einsum("bk,bkc->bc", weights, ops.sigmoid(clean_logits)))
    peaks = ops.concatenate(peaks, axis=-1)
    scales = ops.exp(peaks - ops.max(peaks, axis=-1, keepdims=True))  # (B, chunks)
    total = ops.sum(scales * ops.concatenate(masses, axis=-1), axis=-1, keepdims=True)
    return ops.einsum("bk,kbc->bc", scales, ops.stack(sums)) / total
