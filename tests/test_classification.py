"""The shared per-label maths (tf_data.classification) and Eq. 10-11's geometric mean."""

import numpy as np
import pytest
from keras import ops

from robustcrf.regularised_posterior import geometric_mean_logits
from tf_data.classification import cross_entropy_from_logits
from tf_data.classification import given_label_values


def test_given_label_values_reads_each_rows_label():
    values = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]], "float32")
    np.testing.assert_array_equal(
        ops.convert_to_numpy(given_label_values(values, np.array([2, 1]))), values[[0, 1], [2, 1]])
    # (B, 1) labels, and -inf elsewhere in the row stays out of the answer.
    log_values = np.array([[-np.inf, -0.5]], "float32")
    assert ops.convert_to_numpy(given_label_values(log_values, np.array([[1]])))[0] == -0.5


def test_cross_entropy_from_logits_by_hand():
    logits = np.array([[np.log(0.6), np.log(0.4)], [0.0, np.log(3.0)]], "float32") - 3.0
    np.testing.assert_allclose(
        ops.convert_to_numpy(cross_entropy_from_logits(np.array([1, 0]), logits)),
        [-np.log(0.4), -np.log(0.25)], rtol=1e-6)
    # No probability floor: a confident wrong logit gives its exact, large loss.
    np.testing.assert_allclose(
        ops.convert_to_numpy(cross_entropy_from_logits(np.array([0]),
                                                       np.array([[0.0, 40.0]], "float32"))),
        [40.0], rtol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 3.0])
def test_geometric_mean_is_the_normalised_weighted_product(alpha):
    rng = np.random.default_rng(0)
    model_logits, auxiliary_logits = rng.normal(size=(2, 4, 5))
    # Categorical (multiclass q): softmax of the mean logits.
    p_model = np.exp(model_logits) / np.exp(model_logits).sum(-1, keepdims=True)
    p_aux = np.exp(auxiliary_logits) / np.exp(auxiliary_logits).sum(-1, keepdims=True)
    product = (p_model * p_aux ** alpha) ** (1.0 / (alpha + 1.0))
    logits = geometric_mean_logits(model_logits, auxiliary_logits, alpha)
    softmax = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(softmax, product / product.sum(-1, keepdims=True), rtol=1e-10)
    # Factorial Bernoullis (multilabel q): each unit's two states normalised.
    on = (sigmoid(model_logits) * sigmoid(auxiliary_logits) ** alpha) ** (1 / (alpha + 1))
    off = ((1 - sigmoid(model_logits)) * (1 - sigmoid(auxiliary_logits)) ** alpha) ** (
        1 / (alpha + 1))
    np.testing.assert_allclose(sigmoid(logits), on / (on + off), rtol=1e-10)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_labels_out_of_range_raise_naming_the_range_eager_and_in_graph_mode():
    import tensorflow as tf

    from tf_data.classification import one_hot_labels

    with pytest.raises(ValueError, match=r"\[0, 3\).*Got values in \[0, 3\]"):
        given_label_values(np.zeros((2, 3), "float32"), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        cross_entropy_from_logits(np.array([-1]), np.zeros((1, 2), "float32"))
    np.testing.assert_array_equal(ops.convert_to_numpy(one_hot_labels(np.array([1]), 2)), [[0, 1]])
    compiled = tf.function(lambda labels: one_hot_labels(labels, 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must lie in \[0, 3\)"):
        compiled(tf.constant([0, 7]))


def test_a_tf_data_label_out_of_range_stops_fit_of_the_robust_crf_in_graph_mode():
    import keras
    import tensorflow as tf

    import tf_data
    from robustcrf.auxiliary import AuxiliaryPosterior
    from robustcrf.robust_model import RobustCRFModel

    inputs = keras.Input((4,))
    backbone = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    auxiliary = AuxiliaryPosterior.from_transition_matrix(
        tf_data.transition_matrix("symmetric", 3, 0.2), np.full(3, 1 / 3))
    model = RobustCRFModel(backbone, auxiliary)
    model.compile(optimizer="adam")
    assert not model.run_eagerly
    batches = tf.data.Dataset.from_tensor_slices(
        {"image": np.zeros((4, 4), "float32"), "label": np.array([0, 1, 2, 5]),
         "index": np.arange(4)}).batch(4)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must lie in \[0, 3\)"):
        model.fit(batches, epochs=1, verbose=0)
