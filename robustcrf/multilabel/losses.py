"""PCD for the CRF and the auxiliary RBM: negative phase, weights, surrogate loss (Eq. 12-13)."""

from keras import ops


CLEAN_WEIGHTINGS = ("per_set", "per_example")


def check_clean_weighting(clean_weighting):
    """Returns `clean_weighting` if it names a weighting, else raises a ValueError."""
    if clean_weighting not in CLEAN_WEIGHTINGS:
        raise ValueError(
            f"clean_weighting must be one of {CLEAN_WEIGHTINGS}, got {clean_weighting!r}: "
            "'per_set' averages D_C and D_N separately (Eq. 3, 8), 'per_example' weighs "
            "every training example alike.")
    return clean_weighting


def set_weights(is_clean, num_clean, num_noisy, clean_weighting="per_set"):
    """Per-example weights of the two sets in a minibatch (Algorithm 1, Eq. 8).

    `"per_set"` (the paper's Eq. 3 and 8): `1 / m_c` for clean and `1 / m_n`
    for noisy examples, so `D_C` and `D_N` weigh the same in total and a
    clean example weighs `m_n / m_c` times a noisy one (4x with a 20% clean
    set); a set with no example in the batch gets weight 0.
    `"per_example"`: `1 / (m_c + m_n)` for every example, the log-likelihood
    of the pooled training set (Eq. 3 without the two normalisers) when
    batches hold the sets in proportion to their sizes
    (`data.proportional_clean_per_batch`); otherwise the set drawn more
    often than its share weighs more.

    `num_clean`, `num_noisy` are the counts over the whole (global) batch.

    Example:

    >>> set_weights(np.array([1, 0, 0, 0]), 1.0, 3.0)
    [1.0, 0.333, 0.333, 0.333]
    >>> set_weights(np.array([1, 0, 0, 0]), 1.0, 3.0, "per_example")
    [0.25, 0.25, 0.25, 0.25]
    """
    check_clean_weighting(clean_weighting)
    is_clean = ops.cast(is_clean, "float32")
    if clean_weighting == "per_example":
        return ops.ones_like(is_clean) / ops.maximum(num_clean + num_noisy, 1.0)
    clean_weight = ops.where(num_clean > 0, 1.0 / ops.maximum(num_clean, 1.0), 0.0)
    noisy_weight = ops.where(num_noisy > 0, 1.0 / ops.maximum(num_noisy, 1.0), 0.0)
    return is_clean * clean_weight + (1.0 - is_clean) * noisy_weight


def pcd_surrogate_loss(positive_energy, negative_energy, weights):
    """Loss whose gradient is minus the PCD gradient of Eq. 12-13.

    `positive_energy` is `E(y, E_q[y_hat], E_q[h], x)` (equal to
    `E_q[E]` since the energy is linear in `y_hat` and in `h`) and
    `negative_energy` the mean energy of model samples, both with their
    states held constant (stop-gradient); the gradient of
    `sum_i w_i (E_pos_i - E_neg_i)` is
    `E_q[dE/dtheta] - E_p[dE/dtheta]`, the negative of Eq. 12.

    Args:
        positive_energy: `(B,)`.
        negative_energy: `(B,)`.
        weights: `(B,)` from `set_weights`.

    Returns:
        A scalar.
    """
    return ops.sum(weights * (positive_energy - negative_energy))


def negative_phase(energy, sampler, chains, a, b, indices, num_sweeps):
    """Advances persistent chains and returns the negative-phase statistics (Eq. 12-13).

    The chains of `indices` take `num_sweeps` block-Gibbs sweeps under the
    unaries `a`, `b` and are written back (PCD, Tieleman 2008). The latent
    units are returned as their exact conditional means given each chain's
    noisy state `y` (Rao-Blackwellised), which the energy's linearity in
    `y_hat` and `h` makes equivalent to sampling them.

    Args:
        energy: the `CRFEnergy`.
        sampler: a `BlockGibbsSampler` of that energy.
        chains: the `ChainBank` holding the chains.
        a: `(B, C)` clean unaries (the CRF's `a(x)`, or the RBM's `(1, C)` `a_aux`).
        b: `(B, N)` noisy unaries.
        indices: `(B,)` rows of `chains` to advance.
        num_sweeps: Gibbs sweeps.

    Returns:
        `y` `(B, K, N)`, `E[y_hat | y]` `(B, K, C)` and `E[h | y]` `(B, K, H)`.
    """
    state, y = sampler(a[:, None], b[:, None], chains.read(indices), num_sweeps=num_sweeps)
    chains.write(indices, state)
    return (y, ops.sigmoid(energy.clean_logits(a[:, None], y)),
            ops.sigmoid(energy.hidden_logits(y)))


def mean_chain_energy(energy, a, b, y, y_hat, h):
    """`(1 / K) sum_k E(y_k, y_hat_k, h_k, x)`, the negative-phase energy, `(B,)`.

    Args:
        energy: the `CRFEnergy`.
        a, b: `(B, C)`, `(B, N)` unaries.
        y, y_hat, h: `(B, K, ...)` chain statistics from `negative_phase`.
    """
    return ops.mean(energy(a[:, None], b[:, None], y, y_hat, h), axis=1)
