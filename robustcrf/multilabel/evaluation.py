"""The Keras contract shared by the multilabel models: metrics, evaluation, label issues.

Both `RobustMultilabelCRF` and `CrossEntropyMultilabel` predict
`p(y_hat = 1 | x)` over the C clean categories. `evaluate` and
`fit(validation_data=...)` take clean labels: batches `(x, y_clean)` or
dicts with `tf_data.batch_keys.IMAGE_KEY` and `LABEL_KEY` holding clean
labels. They report `loss` (the binary cross-entropy of the predicted
marginals: the CRF's likelihood is intractable), `map` (Section 4.1's mAP,
`MeanAveragePrecision`) and the metrics given to `compile`.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tf_data import validation
from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import IS_CLEAN_KEY
from tf_data.batch_keys import LABEL_KEY
from tf_data.batch_keys import SAMPLE_WEIGHT_KEY
from tf_data.batch_keys import VERIFIED_LABEL_KEY
from tf_data.keras_contract import compiled_loss_tracker
from tf_data.keras_contract import fixed_input_shape
from tf_data.keras_contract import serving_signature
from tf_data.label_issues import issues_from_probabilities

MAP_NAME = "map"
BINARY_KEYS = (LABEL_KEY, VERIFIED_LABEL_KEY, IS_CLEAN_KEY)


def _asserted_binary(labels, name):
    """`labels` behind an assertion that every value is 0 or 1 (NaN fails too)."""
    values = tf.cast(labels, tf.float32)
    binary = tf.reduce_all(tf.logical_or(tf.equal(values, 0.0), tf.equal(values, 1.0)))
    message = f"{name} must contain only 0 and 1 (multi-hot rows); binarise the labels first."
    with tf.control_dependencies([tf.debugging.Assert(binary, [message])]):
        return tf.identity(labels)


def _checked_element(*element):
    """One `tf.data` element with its {0, 1} entries asserted: a dict batch or `(x, y[, w])`."""
    if len(element) == 1 and isinstance(element[0], dict):
        return {key: _asserted_binary(value, key) if key in BINARY_KEYS else value
                for key, value in element[0].items()}
    if len(element) >= 2:
        return (element[0], _asserted_binary(element[1], "y")) + tuple(element[2:])
    return element[0] if len(element) == 1 else element


def checked_label_input(x, y=None):
    """`fit` / `evaluate` data with its multi-hot labels checked to be 0 or 1.

    Arrays (`y`, or the `BINARY_KEYS` of a dict of arrays) are checked now
    (`tf_data.validation.check_binary_labels`); a `tf.data.Dataset` gets an
    assertion in its input pipeline, which holds even when the train step
    is XLA-compiled (XLA drops assertions). A label of 2 or NaN would
    otherwise enter the energy, or the streaming mAP, without an error.

    Returns:
        `x`, mapped through the assertion when it is a dataset.
    """
    if isinstance(x, tf.data.Dataset):
        return x.map(_checked_element)
    if isinstance(x, dict):
        for key in BINARY_KEYS:
            if isinstance(x.get(key), np.ndarray):
                values = x[key]
                validation.check_binary_labels(values.reshape(len(values), -1), name=key)
    if isinstance(y, np.ndarray):
        validation.check_binary_labels(y.reshape(len(y), -1), name="y")
    return x


class CheckedLabels:
    """Mixin: `fit` (with `validation_data`) and `evaluate` check their {0, 1} labels first.

    List it before `keras.Model` in the bases (`checked_label_input`).
    """

    def fit(self, x=None, y=None, *args, **kwargs):
        validation_data = kwargs.get("validation_data")
        if isinstance(validation_data, tf.data.Dataset):
            kwargs["validation_data"] = checked_label_input(validation_data)
        elif isinstance(validation_data, (tuple, list)) and len(validation_data) >= 2:
            checked_label_input(validation_data[0], validation_data[1])
        return super().fit(checked_label_input(x, y), y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        return super().evaluate(checked_label_input(x, y), y, *args, **kwargs)


def unpack_evaluation_batch(data):
    """`(inputs, clean_labels, sample_weight)` of an evaluation batch."""
    if isinstance(data, dict):
        return data[IMAGE_KEY], data[LABEL_KEY], data.get(SAMPLE_WEIGHT_KEY)
    inputs, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if isinstance(inputs, dict):
        return inputs[IMAGE_KEY], inputs.get(LABEL_KEY, labels), sample_weight
    return inputs, labels, sample_weight


def training_logs(model, inputs, labels, probabilities, sample_weight, loss):
    """Updates the loss and the user's compiled metrics in a train step; returns the logs.

    The streaming mAP is a validation metric: it is left out of training logs.
    """
    compiled_loss_tracker(model).update_state(loss)
    logs = model.compute_metrics(inputs, labels, probabilities, sample_weight)
    logs.pop(MAP_NAME, None)
    return logs


def evaluation_step(model, data):
    """`test_step` of a multilabel model: clean labels against `p(y_hat = 1 | x)`."""
    inputs, labels, sample_weight = unpack_evaluation_batch(data)
    if labels is None:
        raise ValueError("evaluate needs clean labels: evaluate(x, y_clean) or dict batches "
                         f"with '{IMAGE_KEY}' and '{LABEL_KEY}'.")
    labels = ops.cast(labels, "float32")
    probabilities = model(inputs, training=False)
    if labels.shape[-1] is not None and labels.shape[-1] != probabilities.shape[-1]:
        raise ValueError(
            f"Evaluation labels have {labels.shape[-1]} categories but the model predicts "
            f"{probabilities.shape[-1]} clean ones; evaluate against the clean labels.")
    weights = None if sample_weight is None else ops.reshape(
        ops.cast(sample_weight, "float32"), (-1,))
    per_example = keras.losses.binary_crossentropy(labels, probabilities)
    loss = (ops.mean(per_example) if weights is None
            else ops.divide_no_nan(ops.sum(per_example * weights), ops.sum(weights)))
    compiled_loss_tracker(model).update_state(loss)
    model.map_metric.update_state(labels, probabilities, weights)
    return model.compute_metrics(inputs, labels, probabilities, weights)


def label_issues(clean_probabilities, given_labels, num_noisy, num_clean):
    """`LabelIssues` of multi-hot given labels from `p(y_hat = 1 | ...)` over the same vocabulary."""
    if num_noisy != num_clean:
        raise ValueError(
            f"label_issues compares each given label with the inferred clean one, so the noisy "
            f"and clean vocabularies must be the same; this model has N={num_noisy} noisy and "
            f"C={num_clean} clean labels.")
    return issues_from_probabilities(np.asarray(clean_probabilities), given_labels)


def export(model, filepath, format="tf_saved_model", verbose=None, input_signature=None,
           **kwargs):
    """`keras.Model.export` with the serving signature taken from the backbone's input.

    The multilabel models build their heads when constructed, so Keras has
    no recorded call to infer `serve(x)`'s signature from.
    """
    if input_signature is None:
        shape = fixed_input_shape(model.backbone)
        if shape is None:
            raise ValueError(
                "The backbone has no fixed input shape to export with; pass "
                "input_signature=[tf.TensorSpec((None, ...), tf.float32)].")
        input_signature = serving_signature(shape[1:])
    return keras.Model.export(model, filepath, format=format, verbose=verbose,
                              input_signature=input_signature, **kwargs)
