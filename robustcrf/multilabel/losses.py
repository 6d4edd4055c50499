"""The PCD surrogate loss and the variational posterior (Eq. 10-13)."""

from keras import ops


def geometric_mean_logits(model_logits, auxiliary_logits, alpha):
    """Logits of `q ∝ [p_theta * p_aux^alpha]^(1 / (alpha + 1))` (Eq. 10, 11).

    For factorial Bernoullis the weighted geometric mean is factorial with
    logits `(l_theta + alpha * l_aux) / (alpha + 1)`; `alpha = 0` gives
    `p_theta`, `alpha -> inf` gives `p_aux`.
    """
    return (model_logits + alpha * auxiliary_logits) / (1.0 + alpha)


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
