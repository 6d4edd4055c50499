"""Per-example maths on integer class labels, shared by `robustcrf` and `umn`.

One function per quantity: the value a row gives its label (e.g.
`q(y_obs | x)`, the observed-label probability of UMN's Eq. 7 and 11) and
the cross-entropy from logits (Table 2's baseline loss, UMN's classifier
term, the Mean Teacher and supervised baselines).
"""

from keras import ops


def given_label_values(values, labels):
    """`values[n, labels[n]]` for every row.

    Reads the entry with `take_along_axis`, so a `-inf` elsewhere in the row
    (a log-probability of 0) does not turn into NaN as a one-hot product would.

    Args:
        values: `(B, C)` per-class values (probabilities, log-probabilities).
        labels: `(B,)` or `(B, 1)` int labels in `[0, C)`.

    Returns:
        `(B,)`.

    Example:

    >>> given_label_values(np.array([[0.2, 0.8], [0.6, 0.4]]), np.array([1, 0]))
    array([0.8, 0.6])
    """
    labels = ops.reshape(ops.cast(labels, "int32"), (-1, 1))
    return ops.squeeze(ops.take_along_axis(values, labels, axis=1), axis=1)


def cross_entropy_from_logits(labels, logits):
    """`-log softmax(logits)[y]` per example, computed from the logits by Keras.

    Keras's fused sparse softmax cross-entropy: exact for confident logits
    (no probability floor) and with the gradient `softmax - onehot`.

    Args:
        labels: `(B,)` or `(B, 1)` int labels in `[0, C)`.
        logits: `(B, C)` class logits.

    Returns:
        `(B,)` cross-entropies (exact, no probability floor).

    Example:

    >>> cross_entropy_from_logits(np.array([2]), np.zeros((1, 4)))
    array([1.3862...])  # log 4
    """
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    return ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
