"""Patrini's corrections against hand-computed values; the anchor-point estimator."""

import keras
import numpy as np
import pytest
from keras import ops

import tf_data
from robustcrf import losses
from robustcrf.losses import BackwardCorrectedCrossEntropy
from robustcrf.losses import CrossEntropy
from robustcrf.losses import ForwardCorrectedCrossEntropy
from robustcrf.transition_estimation import estimate_transition_matrix

T2 = np.array([[0.8, 0.2], [0.3, 0.7]])
LOGITS = np.array([[np.log(0.6), np.log(0.4)], [0.0, np.log(3.0)]])  # p = (.6,.4), (.25,.75)
LABELS = np.array([1, 0])


def test_forward_correction_by_hand():
    # p(noisy=1 | x0) = .6*.2 + .4*.7 = .40; p(noisy=0 | x1) = .25*.8 + .75*.3 = .425
    values = ops.convert_to_numpy(losses.forward_corrected_cross_entropy(LABELS, LOGITS, T2))
    np.testing.assert_allclose(values, [-np.log(0.40), -np.log(0.425)], rtol=1e-6)


def test_backward_correction_by_hand():
    inverse = np.linalg.inv(T2)  # [[1.4, -.4], [-.6, 1.6]]
    np.testing.assert_allclose(inverse, [[1.4, -0.4], [-0.6, 1.6]], atol=1e-12)
    ell0, ell1 = -np.log([0.6, 0.4]), -np.log([0.25, 0.75])
    expected = [-0.6 * ell0[0] + 1.6 * ell0[1], 1.4 * ell1[0] - 0.4 * ell1[1]]
    values = ops.convert_to_numpy(BackwardCorrectedCrossEntropy(T2, reduction=None)(
        LABELS, LOGITS))
    np.testing.assert_allclose(values, expected, rtol=1e-6)


def test_identity_transition_reduces_to_cross_entropy():
    plain = CrossEntropy()(LABELS, LOGITS)
    for loss in (ForwardCorrectedCrossEntropy(np.eye(2)), BackwardCorrectedCrossEntropy(np.eye(2))):
        np.testing.assert_allclose(float(loss(LABELS, LOGITS)), float(plain), rtol=1e-6)


def test_backward_rejects_singular_transition():
    singular = tf_data.transition_matrix("mnist", 10, 0.5)  # 5<->6 rows equal
    with pytest.raises(ValueError, match="forward"):
        BackwardCorrectedCrossEntropy(singular)
    with pytest.raises(ValueError, match="ill-conditioned"):
        BackwardCorrectedCrossEntropy(np.array([[0.5 + 1e-8, 0.5 - 1e-8], [0.5, 0.5]]))
    ForwardCorrectedCrossEntropy(singular)  # The forward loss is fine.


def test_losses_reject_invalid_transition():
    with pytest.raises(ValueError, match="row"):
        ForwardCorrectedCrossEntropy(np.array([[0.9, 0.2], [0.0, 1.0]]))


def test_model_with_corrected_loss_reloads_without_custom_objects(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss=ForwardCorrectedCrossEntropy(T2))
    model.fit(np.ones((4, 3)), np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    path = str(tmp_path / "forward.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.loss, ForwardCorrectedCrossEntropy)
    np.testing.assert_allclose(restored.loss.transition, T2)
    backward = BackwardCorrectedCrossEntropy(T2)
    clone = keras.losses.deserialize(keras.losses.serialize(backward))
    np.testing.assert_allclose(float(clone(LABELS, LOGITS)), float(backward(LABELS, LOGITS)))


def test_estimator_recovers_known_transition_from_near_perfect_probabilities():
    rng = np.random.default_rng(0)
    transition = tf_data.transition_matrix("mnist", 10, 0.3)
    clean = rng.integers(0, 10, size=5000)
    confidence = rng.uniform(0.99, 0.9999, size=(5000, 1))  # Near-perfect, not tied.
    clean_probabilities = np.eye(10)[clean] * confidence + (1 - confidence) / 10
    mixtures = rng.dirichlet(np.full(10, 0.3), size=300)  # Non-anchor examples.
    noisy_probabilities = np.concatenate([clean_probabilities, mixtures]) @ transition
    estimate = estimate_transition_matrix(noisy_probabilities)
    np.testing.assert_allclose(estimate, transition, atol=5e-3)
    unfiltered = estimate_transition_matrix(noisy_probabilities, filter_outliers=False)
    np.testing.assert_allclose(unfiltered.sum(axis=1), 1.0)


def test_estimator_rejects_bad_input():
    with pytest.raises(ValueError, match="softmax"):
        estimate_transition_matrix(np.array([[2.0, 3.0]]))
    with pytest.raises(ValueError, match="empty"):
        estimate_transition_matrix(np.zeros((0, 3)))
