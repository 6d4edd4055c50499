"""p_aux(y_hat | y): exact Bayes fit to T, smoothed counts, clean prior."""

import keras
import numpy as np
import pytest
from keras import ops

import tf_data
from robustcrf.auxiliary import AuxiliaryPosterior
from robustcrf.auxiliary import estimate_clean_prior


def test_from_transition_matrix_is_the_bayes_posterior():
    transition = tf_data.transition_matrix("pairflip", 4, 0.3)
    prior = np.array([0.1, 0.2, 0.3, 0.4])
    aux = AuxiliaryPosterior.from_transition_matrix(transition, prior)
    posterior = ops.convert_to_numpy(aux.posterior(np.arange(4)))
    for noisy in range(4):
        expected = prior * transition[:, noisy]
        np.testing.assert_allclose(posterior[noisy], expected / expected.sum(), atol=1e-5)
    onehot = ops.convert_to_numpy(aux.posterior(np.eye(4)))
    np.testing.assert_allclose(onehot, posterior, atol=1e-6)


def test_zero_transitions_are_floored_not_infinite():
    transition = tf_data.transition_matrix("mnist", 10, 0.3)
    aux = AuxiliaryPosterior.from_transition_matrix(transition, np.full(10, 0.1))
    posterior = ops.convert_to_numpy(aux.posterior(np.array([1])))[0]
    assert np.all(np.isfinite(ops.convert_to_numpy(aux(np.array([1])))))
    np.testing.assert_allclose(posterior[[1, 7]], np.array([1.0, 0.3]) / 1.3, atol=1e-4)
    assert posterior[[0, 2, 3, 4, 5, 6, 8, 9]].max() < 1e-5


def test_from_clean_subset_is_smoothed_frequencies():
    clean = np.array([0, 0, 0, 1, 1, 2])
    noisy = np.array([0, 0, 1, 1, 1, 2])
    aux = AuxiliaryPosterior.from_clean_subset(clean, noisy, 3, smoothing=1.0)
    posterior = ops.convert_to_numpy(aux.posterior(np.arange(3)))
    counts = np.array([[2, 1, 0], [0, 2, 0], [0, 0, 1]], float)  # [clean, noisy]
    expected = ((counts + 1) / (counts.sum(0) + 3)).T  # rows: noisy label
    np.testing.assert_allclose(posterior, expected, atol=1e-5)


def test_clean_prior_undoes_asymmetric_noise():
    transition = tf_data.transition_matrix("mnist", 10, 0.4)
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 10, size=20000)
    noisy = tf_data.corrupt_labels(clean, transition, seed=0, exact=True).labels
    prior = estimate_clean_prior(noisy, transition)
    np.testing.assert_allclose(prior, np.bincount(clean) / len(clean), atol=2e-3)


def test_config_and_serialisation_round_trip():
    aux = AuxiliaryPosterior.from_transition_matrix(
        tf_data.transition_matrix("symmetric", 3, 0.2), np.full(3, 1 / 3), name="aux")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(aux))
    np.testing.assert_allclose(ops.convert_to_numpy(clone.posterior(np.arange(3))),
                               ops.convert_to_numpy(aux.posterior(np.arange(3))), atol=1e-7)
    assert not aux.trainable_weights


@pytest.mark.parametrize("transition, prior, message", [
    (np.array([[0.5, 0.6], [0.5, 0.5]]), np.full(2, 0.5), "row"),
    (np.eye(3)[:2], np.full(2, 0.5), "square"),
    (np.eye(2), np.array([1.0, 0.0]), "class_prior"),
    (np.eye(2), np.full(3, 1 / 3), "class_prior"),
])
def test_invalid_inputs_raise(transition, prior, message):
    with pytest.raises(ValueError, match=message):
        AuxiliaryPosterior.from_transition_matrix(transition, prior)


def test_invalid_parameters_and_labels_raise():
    with pytest.raises(ValueError, match="finite"):
        AuxiliaryPosterior(np.zeros(2), np.array([[0.0, -np.inf], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="shape"):
        AuxiliaryPosterior(np.zeros(3), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        AuxiliaryPosterior.from_clean_subset([0, 5], [0, 1], 3)
