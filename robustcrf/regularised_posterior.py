"""The regularised posterior `q` of Eq. 10-11 as a weighted geometric mean."""


def geometric_mean_logits(model_logits, auxiliary_logits, alpha):
    """Logits of `q ∝ [p_theta * p_aux^alpha]^(1 / (alpha + 1))` (Eq. 10, 11).

    The weighted geometric mean of two distributions of the same factorial
    (or categorical) form has logits `(l_theta + alpha * l_aux) / (alpha + 1)`:
    a softmax of them is the multiclass `q(y_hat | y, x)`, a sigmoid the
    multilabel `q(y_hat | y, x)` and `q(h | y)`. `alpha = 0` gives `p_theta`,
    `alpha -> inf` gives `p_aux`.

    Args:
        model_logits: logits of the CRF's own posterior `p_theta(. | y, x)`.
        auxiliary_logits: logits of `p_aux(. | y)`, same shape.
        alpha: scalar >= 0, same dtype as the logits.

    Returns:
        The logits of `q`, same shape.

    Example:

    >>> geometric_mean_logits(np.array([2.0]), np.array([-1.0]), 2.0)
    array([0.])
    """
    return (model_logits + alpha * auxiliary_logits) / (alpha + 1.0)
