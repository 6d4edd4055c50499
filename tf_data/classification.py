"""Per-example maths on integer class labels, shared by `robustcrf` and `umn`.

One function per quantity: labels checked against the class range, one-hot
rows, the value a row gives its label (e.g.
`q(y_obs | x)`, the observed-label probability of UMN's Eq. 7 and 11) and
the cross-entropy from logits (Table 2's baseline loss, UMN's classifier
term, the Mean Teacher and supervised baselines).
"""

import tensorflow as tf
from keras import ops


def checked_class_labels(labels, num_classes):
    """`labels` as a flat int32 tensor, with an error naming the range when one lies outside it.

    Eager tensors are checked at once (ValueError). In a compiled `train_step`
    (graph mode) the check is a `tf.debugging` assertion that fails the step
    with the same message, so labels out of range that reach `fit` through a
    `tf.data` pipeline stop training instead of indexing past the logits
    (TensorFlow's gather on a GPU and `one_hot` return zeros silently).
    XLA drops assertions: under `jit_compile=True` validate the labels in
    the pipeline (`tf_data.validation.check_labels` for arrays).

    Args:
        labels: int labels of any shape.
        num_classes: C; every label must lie in `[0, C)`.

    Returns:
        `(N,)` int32 labels.
    """
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    message = (f"Labels must lie in [0, {num_classes}) for {num_classes} classes; a batch "
               "holds one outside that range. Check the label column of your dataset (and "
               "use -1 only where a model takes unlabelled examples).")
    if tf.executing_eagerly():
        values = ops.convert_to_numpy(labels)
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{message} Got values in [{values.min()}, {values.max()}].")
        return labels
    with tf.control_dependencies([
        tf.debugging.assert_non_negative(labels, message=message),
        tf.debugging.assert_less(labels, tf.constant(num_classes, labels.dtype),
                                 message=message),
    ]):
        return tf.identity(labels)


def one_hot_labels(labels, num_classes, dtype="float32"):
    """`(B, C)` one-hot rows of int labels (checked to lie in `[0, C)`); `(B, C)` rows pass as is.

    Args:
        labels: `(B,)` / `(B, 1)` int labels, or `(B, C)` rows already one-hot
            (or soft).
        num_classes: C.
        dtype: of the result.

    Returns:
        `(B, C)` of `dtype`.
    """
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) == 2 and labels.shape[-1] == num_classes:
        return ops.cast(labels, dtype)
    return ops.one_hot(checked_class_labels(labels, num_classes), num_classes, dtype=dtype)


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
    labels = ops.reshape(checked_class_labels(labels, values.shape[-1]), (-1, 1))
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
    labels = checked_class_labels(labels, logits.shape[-1])
    return ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
