"""Energy, conditionals, marginals and log-partition against full enumeration."""

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from robustcrf.multilabel import exact
from robustcrf.multilabel.conditionals import FactorialConditionals
from robustcrf.multilabel.energy import CRFEnergy
import test_multilabel_reference as ref

C, N, H, B = 2, 3, 2, 2
SIZES = [(C, N, H, True), (C, N, 0, True), (C, N, 0, False)]


def _layer(num_hidden, pairwise, seed=0):
    return ref.random_energy(C, N, num_hidden, B, seed, pairwise=pairwise)


@pytest.mark.parametrize("num_clean,num_noisy,num_hidden,pairwise", SIZES)
def test_energy_matches_enumeration(num_clean, num_noisy, num_hidden, pairwise):
    energy, params = _layer(num_hidden, pairwise)
    y, y_hat, h = ref.configurations(C, N, num_hidden)
    for example in range(B):
        expected = ref.energies(params, example, y, y_hat, h)
        a = np.repeat(params["a"][example:example + 1], len(y), 0)
        b = np.repeat(params["b"][example:example + 1], len(y), 0)
        got = energy(a, b, y.astype("float32"), y_hat.astype("float32"), h.astype("float32"))
        np.testing.assert_allclose(ops.convert_to_numpy(got), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("num_clean,num_noisy,num_hidden,pairwise", SIZES)
def test_conditionals_match_enumeration(num_clean, num_noisy, num_hidden, pairwise):
    energy, params = _layer(num_hidden, pairwise)
    conditionals = FactorialConditionals(energy)
    for example in range(B):
        y, y_hat, h, p, _ = ref.joint(params, example, C, N, num_hidden)
        a, b = params["a"][example:example + 1], params["b"][example:example + 1]
        for noisy in np.unique(y, axis=0):
            given = np.all(y == noisy, axis=1)
            got = conditionals(a, b, y=noisy[None].astype("float32"))
            np.testing.assert_allclose(
                ops.convert_to_numpy(got["clean"])[0],
                (p[given, None] * y_hat[given]).sum(0) / p[given].sum(), atol=1e-5)
            np.testing.assert_allclose(
                ops.convert_to_numpy(got["hidden"])[0],
                (p[given, None] * h[given]).sum(0) / p[given].sum(), atol=1e-5)
        for latent in np.unique(np.concatenate([y_hat, h], 1), axis=0):
            given = np.all(np.concatenate([y_hat, h], 1) == latent, axis=1)
            got = conditionals(a, b, latent=latent[None].astype("float32"))["noisy"]
            np.testing.assert_allclose(ops.convert_to_numpy(got)[0],
                                       (p[given, None] * y[given]).sum(0) / p[given].sum(),
                                       atol=1e-5)


@pytest.mark.parametrize("num_clean,num_noisy,num_hidden,pairwise", SIZES)
def test_log_partition_marginals_and_likelihoods(num_clean, num_noisy, num_hidden, pairwise):
    energy, params = _layer(num_hidden, pairwise)
    a, b = params["a"], params["b"]
    log_z = ops.convert_to_numpy(exact.log_partition(energy, a, b))
    marginals = {k: ops.convert_to_numpy(v) for k, v in exact.exact_marginals(energy, a, b).items()}
    observed_y = np.array([[1, 0, 1], [0, 1, 1]], np.float32)
    observed_y_hat = np.array([[1, 0], [1, 1]], np.float32)
    joint_ll = ops.convert_to_numpy(exact.log_likelihood(energy, a, b, observed_y, observed_y_hat))
    noisy_ll = ops.convert_to_numpy(exact.noisy_log_likelihood(energy, a, b, observed_y))
    for example in range(B):
        y, y_hat, h, p, expected_log_z = ref.joint(params, example, C, N, num_hidden)
        np.testing.assert_allclose(log_z[example], expected_log_z, rtol=1e-5)
        np.testing.assert_allclose(marginals["clean"][example], p @ y_hat, atol=1e-5)
        np.testing.assert_allclose(marginals["noisy"][example], p @ y, atol=1e-5)
        np.testing.assert_allclose(marginals["hidden"][example], p @ h, atol=1e-5)
        match_y = np.all(y == observed_y[example], axis=1)
        match_both = match_y & np.all(y_hat == observed_y_hat[example], axis=1)
        np.testing.assert_allclose(joint_ll[example], np.log(p[match_both].sum()), atol=1e-4)
        np.testing.assert_allclose(noisy_ll[example], np.log(p[match_y].sum()), atol=1e-4)


@pytest.mark.parametrize("num_clean,num_noisy,num_hidden,pairwise", SIZES)
def test_chunked_clean_marginals_match_enumeration(num_clean, num_noisy, num_hidden, pairwise):
    energy, params = _layer(num_hidden, pairwise)
    a, b = params["a"], params["b"]
    joints = [ref.joint(params, example, C, N, num_hidden) for example in range(B)]
    expected = np.stack([p @ y_hat for _, y_hat, _, p, _ in joints])
    # Chunks that split the 2^3 configurations evenly, unevenly, one by one and not at all.
    for chunk_size in (1, 3, 4, exact.DEFAULT_CHUNK_SIZE):
        got = exact.clean_marginals(energy, a, b, chunk_size=chunk_size)
        np.testing.assert_allclose(ops.convert_to_numpy(got), expected, atol=1e-5)
    compiled = tf.function(lambda a, b: exact.clean_marginals(energy, a, b, chunk_size=3))
    np.testing.assert_allclose(ops.convert_to_numpy(compiled(a, b)), expected, atol=1e-5)
    with pytest.raises(ValueError, match="chunk_size"):
        exact.clean_marginals(energy, a, b, chunk_size=0)


def test_energy_config_round_trip_and_bad_sizes():
    energy = CRFEnergy(2, 3, 2, name="e")
    clone = CRFEnergy.from_config(energy.get_config())
    assert (clone.num_clean, clone.num_noisy, clone.num_hidden, clone.pairwise) == (2, 3, 2, True)
    conditionals = FactorialConditionals.from_config(FactorialConditionals(energy).get_config())
    assert conditionals.energy.num_hidden == 2
    with pytest.raises(ValueError, match="hidden units"):
        CRFEnergy(2, 3, 2, pairwise=False)
    with pytest.raises(ValueError, match="num_noisy"):
        CRFEnergy(2, 0)
    for inference in (exact.log_partition, exact.clean_marginals):
        with pytest.raises(ValueError, match="exceeds"):
            inference(CRFEnergy(2, 17), np.zeros((1, 2), "float32"), np.zeros((1, 17), "float32"))
