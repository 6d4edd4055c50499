"""The analytic multiclass CRF against NumPy enumeration (Eq. 1-2, 10, 12)."""

import itertools

import keras
import numpy as np
import pytest
from keras import ops

from robustcrf import crf_layer
from robustcrf.crf_layer import MulticlassCRF
import tensorflow as tf

C = 4


def enumerate_joint(a, b, W):
    """p(y_hat, y | x) by enumerating every (y_hat, y) pair, one example."""
    scores = np.zeros((C, C))
    for i, j in itertools.product(range(C), range(C)):
        scores[i, j] = a[i] + b[j] + W[i, j]
    table = np.exp(scores)
    return table / table.sum(), np.log(table.sum())


@pytest.fixture
def parameters():
    rng = np.random.default_rng(3)
    return (rng.normal(size=(5, C)) * 2, rng.normal(size=(5, C)), rng.normal(size=(C, C)),
            rng.integers(0, C, size=5))


@pytest.mark.parametrize("bias_per_example", [False, True])
def test_partition_function_and_marginals_match_enumeration(parameters, bias_per_example):
    a, b, W, y = parameters
    bias = b if bias_per_example else b[0]
    log_z = ops.convert_to_numpy(crf_layer.log_partition(a, bias, W))
    marginal = ops.convert_to_numpy(crf_layer.clean_marginal(a, bias, W))
    onehot = np.eye(C)[y]
    log_lik = ops.convert_to_numpy(crf_layer.noisy_log_likelihood(a, bias, W, onehot))
    posterior = ops.convert_to_numpy(crf_layer.model_posterior(a, W, onehot))
    for n in range(5):
        joint, expected_log_z = enumerate_joint(a[n], b[n] if bias_per_example else b[0], W)
        np.testing.assert_allclose(log_z[n], expected_log_z, rtol=1e-5)
        np.testing.assert_allclose(marginal[n], joint.sum(axis=1), atol=1e-6)
        np.testing.assert_allclose(log_lik[n], np.log(joint[:, y[n]].sum()), atol=1e-5)
        np.testing.assert_allclose(posterior[n], joint[:, y[n]] / joint[:, y[n]].sum(),
                                   atol=1e-6)


def test_energy_and_log_partition_give_the_joint(parameters):
    a, b, W, y = parameters
    a, b = a.astype("float32"), b.astype("float32")
    layer = MulticlassCRF(C, noisy_bias="head")
    layer.pairwise.assign(W.astype("float32"))
    clean = (y + 1) % C
    energy = ops.convert_to_numpy(layer.energy(a, clean, y, noisy_logits=b))
    log_z = ops.convert_to_numpy(layer.log_partition(a, noisy_logits=b))
    for n in range(5):
        joint, _ = enumerate_joint(a[n], b[n], W)
        np.testing.assert_allclose(np.exp(-energy[n] - log_z[n]), joint[clean[n], y[n]],
                                   rtol=1e-4)


def test_zero_pairwise_and_constant_bias_give_softmax(parameters):
    a, _, _, _ = parameters
    marginal = crf_layer.clean_marginal(a, np.full(C, 0.7), np.zeros((C, C)))
    np.testing.assert_allclose(ops.convert_to_numpy(marginal),
                               ops.convert_to_numpy(ops.softmax(a)), atol=1e-6)


def test_regularised_posterior_limits(parameters):
    a, _, W, y = parameters
    onehot = np.eye(C)[y]
    aux_logits = np.random.default_rng(0).normal(size=(5, C)) * 3
    at_zero = crf_layer.regularised_posterior(a, W, onehot, aux_logits, 0.0)
    np.testing.assert_allclose(ops.convert_to_numpy(at_zero),
                               ops.convert_to_numpy(crf_layer.model_posterior(a, W, onehot)),
                               atol=1e-6)
    aux = ops.convert_to_numpy(ops.softmax(aux_logits))
    gaps = [np.abs(ops.convert_to_numpy(
        crf_layer.regularised_posterior(a, W, onehot, aux_logits, alpha)) - aux).max()
        for alpha in (1.0, 10.0, 100.0, 1e4)]
    assert all(later < earlier for earlier, later in zip(gaps, gaps[1:]))
    assert gaps[-1] < 1e-3


def test_regularised_posterior_is_weighted_geometric_mean(parameters):
    a, _, W, y = parameters
    onehot = np.eye(C)[y]
    aux_logits = np.random.default_rng(1).normal(size=(5, C))
    alpha = 2.5
    model = ops.convert_to_numpy(crf_layer.model_posterior(a, W, onehot))
    aux = ops.convert_to_numpy(ops.softmax(aux_logits))
    expected = (model * aux ** alpha) ** (1 / (alpha + 1))
    expected /= expected.sum(axis=1, keepdims=True)
    q = crf_layer.regularised_posterior(a, W, onehot, aux_logits, alpha)
    np.testing.assert_allclose(ops.convert_to_numpy(q), expected, atol=1e-6)


def test_fisher_identity_at_alpha_zero(parameters):
    """At alpha = 0, grad E_q[log p(y, y_hat|x)] (q fixed) = grad log p(y|x)."""
    a0, b0, W0, y = parameters
    onehot = np.eye(C)[y].astype("float32")
    a, b, W = (tf.Variable(v.astype("float32")) for v in (a0, b0[0], W0))
    aux_logits = np.zeros((5, C), "float32")
    with tf.GradientTape(persistent=True) as tape:
        q = ops.stop_gradient(crf_layer.regularised_posterior(a, W, onehot, aux_logits, 0.0))
        em = ops.sum(crf_layer.expected_complete_log_likelihood(a, b, W, onehot, q))
        log_lik = ops.sum(crf_layer.noisy_log_likelihood(a, b, W, onehot))
    for variable in (a, b, W):
        np.testing.assert_allclose(tape.gradient(em, variable).numpy(),
                                   tape.gradient(log_lik, variable).numpy(), atol=1e-5)
    # And numerically: central differences of log p(y|x) in W.
    eps = 1e-3
    numeric = np.zeros((C, C))
    for i, j in itertools.product(range(C), range(C)):
        step = np.zeros((C, C))
        step[i, j] = eps
        up = crf_layer.noisy_log_likelihood(a0, b0[0], W0 + step, onehot.astype(np.float64))
        down = crf_layer.noisy_log_likelihood(a0, b0[0], W0 - step, onehot.astype(np.float64))
        numeric[i, j] = (ops.sum(up) - ops.sum(down)) / (2 * eps)
    np.testing.assert_allclose(tape.gradient(em, W).numpy(), numeric, atol=1e-3)


def test_layer_weights_start_at_zero_and_methods_agree(parameters):
    a, b, _, y = parameters
    layer = MulticlassCRF(C)
    assert np.all(ops.convert_to_numpy(layer.pairwise) == 0)
    assert np.all(ops.convert_to_numpy(layer.noisy_bias_vector) == 0)
    a = a.astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(layer(a)), ops.convert_to_numpy(ops.softmax(a)),
                               atol=1e-6)
    head = MulticlassCRF(C, noisy_bias="head")
    assert len(head.trainable_weights) == 1
    log_lik = head.noisy_log_likelihood(a, y, noisy_logits=b.astype("float32"))
    assert log_lik.shape == (5,)
    with pytest.raises(ValueError, match="noisy_logits"):
        head(a)
    with pytest.raises(ValueError, match="constant"):
        layer(a, b.astype("float32"))


def test_layer_config_round_trip():
    layer = MulticlassCRF(5, noisy_bias="head", name="crf")
    clone = MulticlassCRF.from_config(layer.get_config())
    assert (clone.num_classes, clone.noisy_bias, clone.name) == (5, "head", "crf")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, MulticlassCRF)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_classes": 1}, "num_classes"),
    ({"num_classes": 3, "noisy_bias": "x"}, "noisy_bias"),
])
def test_layer_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MulticlassCRF(**kwargs)


def test_training_terms_match_the_separate_functions():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, 3)).astype("float32")
    bias = rng.normal(size=(3,)).astype("float32")
    pairwise = rng.normal(size=(3, 3)).astype("float32")
    onehot = np.eye(3, dtype="float32")[[0, 2, 1, 2]]
    posterior = rng.dirichlet(np.ones(3), size=4).astype("float32")
    terms = crf_layer.training_terms(logits, bias, pairwise, onehot, posterior)
    np.testing.assert_allclose(terms["objective"], crf_layer.expected_complete_log_likelihood(
        logits, bias, pairwise, onehot, posterior), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(terms["noisy_log_likelihood"], crf_layer.noisy_log_likelihood(
        logits, bias, pairwise, onehot), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(terms["clean_marginal"], crf_layer.clean_marginal(
        logits, bias, pairwise), rtol=1e-5, atol=1e-6)
