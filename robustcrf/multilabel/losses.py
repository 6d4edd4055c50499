"""PCD for the CRF and the auxiliary RBM: negative phase, weights, surrogate loss (Eq. 12-13)."""

from keras import ops


def set_weights(is_clean, num_clean, num_noisy):
    """Per-example weights `1 / m_c` (clean) or `1 / m_n` (noisy) (Algorithm 1).

    `num_clean`, `num_noisy` are the counts over the whole (global) batch;
    a set with no example in the batch gets weight 0.
    """
    is_clean = ops.cast(is_clean, "float32")
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
