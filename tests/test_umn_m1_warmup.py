"""UMN's M1 warm-up: M1's bound alone before the switch step, the whole objective after."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras import ops

from umn import losses
from umn.m1_warmup import M1Warmup
from umn.model import UncertaintyMiningNet

from test_umn_model import make_umn
from test_umn_model import toy_data
from test_umn_model import toy_stream

M1_NETWORKS = ("trunk", "latent_head", "decoder")
NOT_M1_NETWORKS = ("classifier", "zb_encoder", "za_decoder")


def test_m1_elbo_matches_numpy_and_its_expectation_is_reconstruction_minus_kl():
    rng = np.random.default_rng(0)
    reconstruction = rng.normal(size=4)
    mean, log_var = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    za = mean + np.exp(0.5 * log_var) * rng.normal(size=(4, 3))
    got = ops.convert_to_numpy(losses.m1_elbo(reconstruction, za, log_var))
    log_prior = -0.5 * np.sum(np.log(2 * np.pi) + za ** 2, axis=-1)
    entropy = 0.5 * np.sum(np.log(2 * np.pi * np.e) + log_var, axis=-1)
    np.testing.assert_allclose(got, reconstruction + log_prior + entropy, rtol=1e-5)
    # E_q[log N(z; 0, I)] + H(q) = -KL(q || N(0, I)): the bound is unbiased.
    draws = mean[0] + np.exp(0.5 * log_var[0]) * rng.normal(size=(200_000, 3))
    sampled = ops.convert_to_numpy(losses.m1_elbo(
        np.zeros(len(draws)), draws, np.broadcast_to(log_var[0], draws.shape)))
    kl = 0.5 * np.sum(np.exp(log_var[0]) + mean[0] ** 2 - 1.0 - log_var[0])
    np.testing.assert_allclose(sampled.mean(), -kl, atol=0.02)


def gradient_norms(model, images, labels, compiled):
    variables = {name: network.trainable_weights
                 for name, network in model.vae.networks.items()}

    def norms(x, y):
        with tf.GradientTape() as tape:
            # The default eps reads each label's held-out disbelief in training.
            loss = model.compute_terms(x, y, training=True,
                                       held_out_disbelief=tf.zeros(tf.shape(y)))["loss"]
        grads = tape.gradient(loss, variables)
        return {name: tf.linalg.global_norm([g if g is not None else tf.zeros_like(v)
                                             for g, v in zip(grads[name], variables[name])])
                for name in variables}

    if compiled:
        norms = tf.function(norms)
    return {name: float(value) for name, value in norms(images, labels).items()}


@pytest.mark.parametrize("compiled", [False, True])
def test_during_the_warm_up_only_m1_gets_gradients(compiled):
    model = make_umn()
    images, labels = toy_data()
    model.m1_end_step.assign(5)  # the optimiser is at step 0: inside the warm-up
    during = gradient_norms(model, images, labels, compiled)
    assert all(during[name] > 0 for name in M1_NETWORKS)
    assert all(during[name] == 0 for name in NOT_M1_NETWORKS)
    model.m1_end_step.assign(0)
    after = gradient_norms(model, images, labels, compiled)
    assert all(after[name] > 0 for name in M1_NETWORKS + NOT_M1_NETWORKS)


def test_evaluation_and_a_model_without_warm_up_use_the_whole_objective():
    model = make_umn()
    images, labels = toy_data()
    model.m1_end_step.assign(5)
    terms = model.compute_terms(images, labels, training=False)
    expected = terms["elbo_loss"] + model.label_weight * terms["label_loss"]
    np.testing.assert_allclose(float(terms["loss"]), float(expected), rtol=1e-6)
    assert not bool(ops.convert_to_numpy(make_umn().in_m1_warmup()))


def trainable_values(model, names):
    return [ops.convert_to_numpy(w) for name in names
            for w in model.vae.networks[name].trainable_weights]


def test_fit_inside_the_warm_up_moves_m1_and_leaves_the_classifier_and_m2():
    model = make_umn(m1_warmup=0.9)
    images, labels = toy_data()
    before_m1 = trainable_values(model, M1_NETWORKS)
    before_rest = trainable_values(model, NOT_M1_NETWORKS)
    model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=2, verbose=0)
    assert int(ops.convert_to_numpy(model.m1_end_step)) == 2
    for old, new in zip(before_rest, trainable_values(model, NOT_M1_NETWORKS)):
        np.testing.assert_array_equal(old, new)
    assert any(not np.array_equal(old, new)
               for old, new in zip(before_m1, trainable_values(model, M1_NETWORKS)))


@pytest.mark.parametrize("overrides, callbacks, expected", [
    ({}, [], 0),  # default 0.05 of 6 steps rounds to 0
    ({"m1_warmup": 0.0}, [], 0),  # the paper's schedule: no warm-up
    ({"m1_warmup": 0.5}, [], 3),
    ({"m1_warmup": 0.2, "uncertainty": "fixed", "fixed_uncertainty": 0.2}, [], 1),  # M-VAE too
    ({"m1_warmup": 0.2, "uncertainty": "zero"}, [], 1),  # the eps = 0 ablation too
    ({}, [M1Warmup(share=0.5, total_steps=10)], 5),  # the user's callback wins
])
def test_fit_sets_the_end_step_from_the_runs_length(overrides, callbacks, expected):
    model = make_umn(**overrides)
    images, labels = toy_data()
    model.fit(toy_stream(images, labels), epochs=3, steps_per_epoch=2, verbose=0,
              callbacks=list(callbacks))
    assert int(ops.convert_to_numpy(model.m1_end_step)) == expected


def test_the_end_step_and_share_are_saved_with_the_model(tmp_path):
    model = make_umn(m1_warmup=0.25)
    images, labels = toy_data()
    model.fit(toy_stream(images, labels), epochs=2, steps_per_epoch=4, verbose=0)
    path = str(tmp_path / "umn.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored, UncertaintyMiningNet)
    assert restored.m1_warmup == 0.25
    assert int(ops.convert_to_numpy(restored.m1_end_step)) == 2
    assert M1Warmup.from_config(M1Warmup(0.1, 7).get_config()).total_steps == 7

