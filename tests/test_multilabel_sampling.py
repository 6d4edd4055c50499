"""Gibbs sampler, chain bank and PCD gradient against exact enumeration.

Statistical tests use fixed seeds. Tolerances: empirical marginals within
0.03 of the exact ones (about 4 standard errors for 4,000 chains x 20
correlated sweeps); PCD gradients within 0.05 (4,000 chains: the standard
error of a mean of {0,1} statistics is at most 0.5 / sqrt(4000) = 0.008,
so 0.05 is over 6 standard errors, and a wrong sign or a missing term
is off by 0.1 or more for these parameters).
"""

import keras
import numpy as np
import pytest
from keras import ops

import test_multilabel_reference as ref
from robustcrf.multilabel import exact
from robustcrf.multilabel.chain_bank import ChainBank
from robustcrf.multilabel.chain_bank import pack_bits
from robustcrf.multilabel.chain_bank import unpack_bits
from robustcrf.multilabel.conditionals import FactorialConditionals
from robustcrf.multilabel.gibbs import BlockGibbsSampler
from robustcrf.multilabel.model import RobustMultilabelCRF
import tensorflow as tf

C, N, H, B = 2, 3, 2, 2
CHAINS = 4000
MARGINAL_TOLERANCE = 0.03
GRADIENT_TOLERANCE = 0.05


@pytest.mark.parametrize("size", [5, 32, 37, 64, 273])
def test_pack_unpack_round_trip(size):
    bits = np.random.default_rng(size).integers(0, 2, (3, 4, size)).astype("float32")
    bits[0, 0, :] = 1.0  # every bit set, including bit 31 (the sign bit)
    words = pack_bits(bits, -(-size // 32))
    assert words.shape == (3, 4, -(-size // 32)) and words.dtype == "int32"
    np.testing.assert_array_equal(ops.convert_to_numpy(unpack_bits(words, size)), bits)


def test_chain_bank_read_write_visits_and_bad_input():
    bank = ChainBank(num_examples=5, num_chains=3, num_units=40)
    assert bank.nbytes == 5 * 3 * 2 * 4
    states = np.random.default_rng(0).integers(0, 2, (2, 3, 40)).astype("float32")
    bank.write(np.array([4, 1]), states)
    np.testing.assert_array_equal(ops.convert_to_numpy(bank.read(np.array([1, 4]))),
                                  states[::-1])
    np.testing.assert_array_equal(ops.convert_to_numpy(bank.read(np.array([0]))), 0.0)
    np.testing.assert_array_equal(ops.convert_to_numpy(bank.visits), [0, 1, 0, 0, 1])
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        bank.read(np.array([5]))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        bank.write(np.array([-1]), states[:1])
    with pytest.raises(ValueError, match="num_chains"):
        ChainBank(5, 0, 40)
    clone = ChainBank.from_config(bank.get_config())
    assert (clone.num_examples, clone.num_chains, clone.num_units) == (5, 3, 40)


def _sampler(stored_side, num_hidden=H, seed=0):
    energy, params = ref.random_energy(C, N, num_hidden, B, seed=seed)
    return BlockGibbsSampler(FactorialConditionals(energy), stored_side, seed=1), params


@pytest.mark.parametrize("stored_side", ["latent", "noisy"])
@pytest.mark.parametrize("compiled", [False, True])
def test_gibbs_empirical_marginals_converge_to_exact(stored_side, compiled):
    sampler, params = _sampler(stored_side)
    a, b = params["a"][:, None], params["b"][:, None]
    energy = sampler.conditionals.energy

    def run(state):
        state, _ = sampler(a, b, state, num_sweeps=30)

        def accumulate(_, carry):
            state, noisy_total, latent_total = carry
            state, y = sampler(a, b, state, num_sweeps=1)
            latent = sampler.sample_latent(a, y)
            return state, noisy_total + ops.mean(y, axis=1), latent_total + ops.mean(latent, 1)

        zeros = ops.zeros_like(state[:, 0, :1])
        carry = (state, zeros + ops.zeros((N,)), zeros + ops.zeros((C + H,)))
        _, noisy_total, latent_total = ops.fori_loop(0, 20, accumulate, carry)
        return noisy_total / 20.0, latent_total / 20.0

    run = tf.function(run, jit_compile=True) if compiled else run
    state = np.zeros((B, CHAINS, sampler.state_size), "float32")
    noisy, latent = (ops.convert_to_numpy(t) for t in run(state))
    expected = {k: ops.convert_to_numpy(v)
                for k, v in exact.exact_marginals(energy, params["a"], params["b"]).items()}
    np.testing.assert_allclose(noisy, expected["noisy"], atol=MARGINAL_TOLERANCE)
    np.testing.assert_allclose(latent[:, :C], expected["clean"], atol=MARGINAL_TOLERANCE)
    np.testing.assert_allclose(latent[:, C:], expected["hidden"], atol=MARGINAL_TOLERANCE)
    rao_blackwell = sampler.clean_marginals(params["a"], params["b"], CHAINS, 30, 10)
    np.testing.assert_allclose(ops.convert_to_numpy(rao_blackwell), expected["clean"],
                               atol=MARGINAL_TOLERANCE)


def test_sampler_rejects_zero_sweeps_and_resolves_side():
    sampler, params = _sampler("auto")
    assert sampler.stored_side == "noisy" and sampler.state_size == N  # N=3 < C+H=4
    clone = BlockGibbsSampler.from_config(sampler.get_config())
    assert (clone.stored_side, clone.seed, clone.conditionals.energy.num_hidden) == ("noisy", 1, H)
    with pytest.raises(ValueError, match="stored_side"):
        BlockGibbsSampler(sampler.conditionals, stored_side="both")
    with pytest.raises(ValueError, match="num_sweeps"):
        sampler(params["a"][:, None], params["b"][:, None], np.zeros((B, 2, N), "float32"),
                num_sweeps=0)


def _tiny_model(num_hidden=H, pairwise=True, chains=CHAINS, sweeps=40):
    backbone = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    return RobustMultilabelCRF(backbone, C, N, num_examples=B, num_hidden=num_hidden,
                               pairwise=pairwise, num_chains=chains, num_sweeps=sweeps, seed=3)


def _exact_gradient(params, num_hidden, y_obs, y_hat_obs):
    """Gradient of log p(y0, y_hat0 | x0) + log p(y1 | x1) (Eq. 3) by enumeration."""
    total = {k: np.zeros_like(params[k]) for k in ("W", "Wp", "c")}
    total["a"], total["b"] = np.zeros_like(params["a"]), np.zeros_like(params["b"])
    for example in range(B):
        y, y_hat, h, p, _ = ref.joint(params, example, C, N, num_hidden)
        stats = ref.sufficient_statistics(y, y_hat, h)
        given = np.all(y == y_obs[example], axis=1)
        if example == 0:  # clean: y_hat observed too
            given &= np.all(y_hat == y_hat_obs[example], axis=1)
        for key, s in stats.items():
            conditional = np.tensordot(p[given] / p[given].sum(), s[given], axes=1)
            grad = conditional - np.tensordot(p, s, axes=1)
            if key in ("a", "b"):
                total[key][example] += grad
            else:
                total[key] += grad
    return total


@pytest.mark.parametrize("num_hidden,pairwise", [(H, True), (0, True), (0, False)])
def test_pcd_gradient_matches_exact_log_likelihood_gradient(num_hidden, pairwise):
    model = _tiny_model(num_hidden, pairwise)
    params = ref.random_parameters(C, N, num_hidden, B, seed=5)
    if not pairwise:
        params["W"][:] = 0.0
    ref.set_energy_parameters(model.energy, params)
    y_obs = np.array([[1, 0, 1], [0, 1, 1]], "float32")
    y_hat_obs = np.array([[1, 0], [0, 0]], "float32")
    data = {"index": np.arange(B), "label": y_obs, "verified_label": y_hat_obs,
            "is_clean": np.array([True, False])}
    expected = _exact_gradient(params, num_hidden, y_obs, y_hat_obs)
    a = tf.constant(params["a"])
    b = tf.constant(params["b"])
    for visit in (1, 2):  # the second visit starts from the persisted chains
        statistics = model.phase_statistics(a, b, data)
        with tf.GradientTape() as tape:
            tape.watch([a, b])
            loss = model.surrogate_loss(a, b, y_obs, statistics)
        weights = {"a": a, "b": b}
        if pairwise:
            weights["W"] = model.energy.clean_noisy_kernel.value
        if num_hidden:
            weights["Wp"] = model.energy.hidden_noisy_kernel.value
            weights["c"] = model.energy.hidden_bias.value
        grads = tape.gradient(loss, list(weights.values()))
        tolerance = GRADIENT_TOLERANCE if pairwise else 1e-5  # no pairwise: exact
        for key, grad in zip(weights, grads):
            np.testing.assert_allclose(-ops.convert_to_numpy(grad), expected[key],
                                       atol=tolerance, err_msg=key)
        if pairwise:
            np.testing.assert_array_equal(ops.convert_to_numpy(model.chain_bank.visits),
                                          [visit, visit])
