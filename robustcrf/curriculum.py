"""MentorNet's predefined curriculum (Jiang et al. 2018), as pure functions.

MentorNet weights every example of a batch from its loss. The predefined
curriculum is self-paced learning with a threshold that follows the
losses: `lambda_t`, an exponential moving average (decay 0.9) of the p-th
percentile of each batch's losses (the authors' `loss_moving_avg`):

* `"self_paced"` (hard): `v_i = 1` when `l_i <= lambda`, else 0;
* `"linear"` (linear self-paced, Jiang et al. 2015): `v_i = max(1 - l_i /
  lambda, 0)`: the easier the example, the more weight.

Both are the closed-form minimisers, over the weights, of the
self-paced regulariser. Defaults: decay 0.9, the authors'; percentile 75,
our choice: the percentile is roughly the share of labels one believes
correct, so lower it for noisier data.
"""

import numpy as np
from keras import ops

CURRICULA = ("self_paced", "linear")
DEFAULT_PERCENTILE = 75.0
DEFAULT_DECAY = 0.9


def check_percentile(percentile):
    """`percentile` as a float in (0, 100), or a ValueError saying what to give."""
    value = float(percentile)
    if not 0.0 < value < 100.0:
        raise ValueError(
            f"percentile must lie strictly between 0 and 100 (the share of each batch's "
            f"losses the curriculum keeps, e.g. 75), got {percentile!r}.")
    return value


def batch_percentile(losses, percentile):
    """The `percentile`-th percentile of a batch of losses (linear interpolation).

    Args:
        losses: `(B,)` per-example losses.
        percentile: in (0, 100).

    Returns:
        A scalar, as `numpy.percentile(losses, percentile)`.
    """
    losses = ops.sort(ops.reshape(ops.cast(losses, "float32"), (-1,)))
    position = (percentile / 100.0) * ops.cast(ops.shape(losses)[0] - 1, "float32")
    below = ops.cast(ops.floor(position), "int32")
    above = ops.minimum(below + 1, ops.shape(losses)[0] - 1)
    fraction = position - ops.cast(below, "float32")
    return ops.take(losses, below) * (1.0 - fraction) + ops.take(losses, above) * fraction


def moving_threshold(previous, losses, percentile, decay=DEFAULT_DECAY, first=False):
    """`lambda_t = decay * lambda_{t-1} + (1 - decay) * percentile(losses)` (the first step
    takes the batch percentile itself)."""
    current = batch_percentile(losses, percentile)
    return ops.where(first, current, decay * previous + (1.0 - decay) * current)


def curriculum_weights(losses, threshold, curriculum="self_paced"):
    """MentorNet's predefined weights of a batch, `(B,)` in [0, 1].

    Args:
        losses: `(B,)` per-example losses.
        threshold: `lambda`, a scalar > 0.
        curriculum: `"self_paced"` (`1[l <= lambda]`) or `"linear"`
            (`max(1 - l / lambda, 0)`).
    """
    losses = ops.cast(losses, "float32")
    if curriculum == "self_paced":
        return ops.cast(losses <= threshold, "float32")
    if curriculum == "linear":
        return ops.maximum(1.0 - losses / ops.maximum(threshold, 1e-12), 0.0)
    raise ValueError(f"curriculum must be one of {CURRICULA}, got {curriculum!r}.")


def given_label_losses(probabilities, labels):
    """`-log p(given | x)` per example, from NumPy probabilities (floored at 1e-12)."""
    probabilities = np.asarray(probabilities)
    return -np.log(np.maximum(probabilities[np.arange(len(labels)), labels], 1e-12))
