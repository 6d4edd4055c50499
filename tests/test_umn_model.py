"""UncertaintyMiningNet, StackedVae and Guider: maths, EMA, modes, saving, export."""

import numpy as np
import pytest

import keras
from keras import ops

from umn import label_spreading
from umn import losses
from umn import streams
from umn.guider import Guider
from umn.model import DEFAULT_UNCERTAINTY
from umn.model import LABEL_SPREADING_VIEW
from umn.model import UncertaintyMiningNet
from umn.model import WITH_HELD_OUT
from umn.model import guider_stream_seed
from umn.noise_rate import estimate_noise_rate
from umn.vae import StackedVae

import tensorflow as tf

SHAPE = (8, 8, 1)
SMALL = dict(hidden_units=16, latent_dim=4, class_latent_dim=3)


def toy_data(n=40, labelled=10, shape=SHAPE, num_classes=10, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(size=(n,) + shape).astype("float32")
    labels = np.full(n, -1, np.int64)
    labels[:labelled] = rng.integers(0, num_classes, labelled)
    return images, labels


def toy_stream(images, labels, num_classes=10, seed=0):
    stream, _ = streams.semi_supervised_stream(images, labels, num_classes, 5, 15, seed)
    return stream


def make_umn(seed=0, **overrides):
    """A small compiled UMN; under the default eps with label spreading's view unless
    `held_out_view` is given (None: the model's default, the cross-fitted view, whose
    fold models `fit` on arrays trains first: tests/test_umn_cross_fitted.py)."""
    keras.utils.set_random_seed(seed)
    kwargs = dict(SMALL, seed=seed, max_shift=1)
    if overrides.get("uncertainty", DEFAULT_UNCERTAINTY) == WITH_HELD_OUT:
        kwargs["held_out_view"] = LABEL_SPREADING_VIEW
    kwargs.update(overrides)
    model = UncertaintyMiningNet(kwargs.pop("image_shape", SHAPE), kwargs.pop("num_classes", 10),
                                 **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.9, beta_2=0.99))
    return model


def weights_of(networks):
    return [ops.convert_to_numpy(w) for name in sorted(networks) for w in networks[name].weights]


def test_unlabelled_elbo_equals_explicit_sum_over_classes():
    keras.utils.set_random_seed(1)
    vae = StackedVae(SHAPE, 10, **SMALL)
    images, _ = toy_data(6, labelled=3)
    encoded = vae.classify(images)
    probs = ops.softmax(encoded["logits"], axis=-1)
    za = encoded["za"]
    explicit = np.zeros(6)
    for y in range(10):
        one_hot = np.tile(np.eye(10, dtype="float32")[y], (6, 1))
        explicit += np.array(probs)[:, y] * np.array(vae.class_conditional_elbo(za, one_hot))
    p = np.array(probs)
    explicit -= np.sum(p * np.log(p * 10), axis=-1)
    vectorised = losses.unlabelled_elbo(probs, vae.all_class_conditional_elbo(za))
    np.testing.assert_allclose(np.array(vectorised), explicit, rtol=1e-4, atol=1e-4)
    terms = vae.elbo(images, encoded, probs)
    entropy = np.array(losses.gaussian_entropy(encoded["za_log_var"]))
    np.testing.assert_allclose(np.array(terms["elbo"]),
                               np.array(terms["reconstruction"]) + entropy + explicit,
                               rtol=1e-4, atol=1e-3)


def test_eps_is_zero_when_guider_equals_learner():
    model = make_umn(uncertainty="guider")
    images, labels = toy_data()
    eps = model.label_uncertainty(images[:10], labels[:10])
    np.testing.assert_array_equal(eps, np.zeros(10, "float32"))
    terms = model.compute_terms(images, labels, training=False)
    np.testing.assert_array_equal(np.array(terms["eps"]), np.zeros(40, "float32"))


@pytest.mark.parametrize("warmup", [True, False])
def test_ema_update_is_exact_after_one_and_two_steps(warmup):
    model = make_umn(ema_decay=0.9, ema_warmup=warmup)
    stream = toy_stream(*toy_data())
    learner_0 = weights_of(model.vae.classifier_networks)
    guider_0 = weights_of(model.guider.networks)
    for a, b in zip(learner_0, guider_0):
        np.testing.assert_array_equal(a, b)
    model.fit(stream, epochs=1, steps_per_epoch=1, verbose=0)
    learner_1 = weights_of(model.vae.classifier_networks)
    guider_1 = weights_of(model.guider.networks)
    decay = 0.0 if warmup else 0.9  # warm-up: min(0.9, 1 - 1/(0 + 1)) = 0
    assert any(not np.allclose(a, b) for a, b in zip(learner_0, learner_1))
    for g0, w1, g1 in zip(guider_0, learner_1, guider_1):
        np.testing.assert_allclose(g1, decay * g0 + (1 - decay) * w1, rtol=1e-6, atol=1e-7)
    model.fit(stream, epochs=1, steps_per_epoch=1, verbose=0)
    decay = 0.5 if warmup else 0.9  # step 1: min(0.9, 1 - 1/2)
    for g1, w2, g2 in zip(guider_1, weights_of(model.vae.classifier_networks),
                          weights_of(model.guider.networks)):
        np.testing.assert_allclose(g2, decay * g1 + (1 - decay) * w2, rtol=1e-6, atol=1e-7)


def test_guider_is_not_trained_by_gradients():
    model = make_umn()
    guider_ids = {id(v) for v in model.guider.weights}
    assert guider_ids and not guider_ids & {id(v) for v in model.trainable_variables}
    assert all(not v.trainable for v in model.guider.weights)


def test_eager_and_compiled_fit_agree():
    # Graph-compiled (tf.function) against eager training, random draws included.
    # XLA is compared on the deterministic objective below: its stateless RNG
    # kernels draw different numbers from the same seed than TF's own.
    images, labels = toy_data()
    results = []
    for mode in ({"run_eagerly": True}, {"jit_compile": False}):
        model = make_umn(seed=3, ema_decay=0.9)
        model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.9, beta_2=0.99), **mode)
        history = model.fit(toy_stream(images, labels, seed=5), epochs=1, steps_per_epoch=2,
                            verbose=0)
        results.append((history.history["loss"], weights_of(model.guider.networks),
                        model.predict(images, verbose=0)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-4)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(results[0][2], results[1][2], atol=1e-5)


@pytest.mark.parametrize("uncertainty", ["disbelief", "with_held_out", "guider"])
def test_eps_modes_share_the_learners_random_draws(uncertainty):
    # Common random numbers: the guider's eta' draws from its own stream, so a
    # model whose eps reads the guider trains its learner on the same draws
    # as the eps = 0 ablation built with the same seed. With the uncertainty
    # warm-up covering the run (every label weighted f(low)), the two train
    # alike step for step; only the guider's stream moves in one of them.
    images, labels = toy_data()
    trained = {}
    for mode in ("zero", uncertainty):
        model = make_umn(seed=4, ema_decay=0.9, uncertainty=mode, uncertainty_warmup=0.99,
                         m1_warmup=0.0)
        guider_state = ops.convert_to_numpy(model.guider_seed_generator.state)
        model.fit(toy_stream(images, labels, seed=2), epochs=1, steps_per_epoch=3, verbose=0)
        # eps = 0 has no warm-up to run; the other starts eps after the run.
        assert int(model.uncertainty_start_step.numpy()) == (0 if mode == "zero" else 3)
        moved = ops.convert_to_numpy(model.guider_seed_generator.state) != guider_state
        assert moved.any() == (mode != "zero")
        trained[mode] = weights_of({"vae": model.vae})
    for a, b in zip(trained["zero"], trained[uncertainty]):
        np.testing.assert_array_equal(a, b)


def test_guider_stream_seed_is_apart_from_the_learners_and_fixed_by_the_seed():
    assert guider_stream_seed(None) is None
    seeds = [guider_stream_seed(seed) for seed in range(5)]
    assert seeds == [guider_stream_seed(seed) for seed in range(5)]
    assert len(set(seeds) | set(range(5))) == 10
    assert all(isinstance(seed, int) and 0 <= seed < 2**31 for seed in seeds)
    # Negative and numpy seeds are taken as the int they are.
    assert guider_stream_seed(-1) not in seeds and 0 <= guider_stream_seed(-1) < 2**31
    assert guider_stream_seed(np.int64(3)) == seeds[3]
    model = make_umn(seed=7)
    np.testing.assert_array_equal(ops.convert_to_numpy(model.guider_seed_generator.state),
                                  [guider_stream_seed(7), 0])


def test_compute_terms_eager_equals_xla():
    model = make_umn(uncertainty="fixed", fixed_uncertainty=0.2)
    images, labels = toy_data()
    eager = model.compute_terms(images, labels)
    compiled = tf.function(lambda x, y: model.compute_terms(x, y), jit_compile=True)(
        images, labels)
    for key in ("loss", "elbo_loss", "label_loss"):
        np.testing.assert_allclose(np.array(eager[key]), np.array(compiled[key]), rtol=1e-5)
    np.testing.assert_allclose(np.array(eager["eps"]), np.full(40, 0.2), rtol=1e-6)


@pytest.mark.parametrize("uncertainty, expected_eps", [("zero", 0.0), ("fixed", 0.3)])
def test_baseline_modes_use_constant_eps(uncertainty, expected_eps):
    model = make_umn(uncertainty=uncertainty, fixed_uncertainty=0.3)
    images, labels = toy_data()
    np.testing.assert_allclose(model.label_uncertainty(images[:10], labels[:10]),
                               np.full(10, expected_eps), atol=1e-7)


def test_default_eps_averages_the_guiders_and_a_held_out_disbelief():
    model = make_umn()
    assert model.uncertainty == "with_held_out" and model.eps_from_guider
    images, labels = toy_data()
    rows = np.flatnonzero(labels >= 0)[:10]
    guider = np.array(model.predict(images[rows], verbose=0))
    # Without the training set's values, the held-out view is fitted on the given rows.
    held_out = label_spreading.held_out_disbelief(images[rows], labels[rows], 10, seed=0)
    np.testing.assert_allclose(
        model.label_uncertainty(images[rows], labels[rows]),
        0.5 * (1.0 - guider[np.arange(len(rows)), labels[rows]] + held_out), atol=1e-6)


def test_disbelief_mode_weights_labels_by_the_guiders_disbelief():
    model = make_umn(uncertainty="disbelief", uncertainty_warmup=0.0)
    images, labels = toy_data()
    model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=3, verbose=0)
    labelled = labels >= 0
    rows = np.flatnonzero(labelled)
    eps = 1.0 - np.array(model.predict(images, verbose=0))[rows, labels[rows]]
    np.testing.assert_allclose(model.label_uncertainty(images[rows], labels[rows], batch_size=4),
                               eps, atol=1e-6)
    # The labelled term of Eq. 7 with that eps (deterministic terms, eager and compiled).
    low, high = model.uncertainty_clip
    learner = np.array(model.learner_probabilities(images))
    weight = np.log(9.0 * (1.0 - np.clip(eps, low, high)) / np.clip(eps, low, high))
    expected = -np.sum(weight * learner[rows, labels[rows]]) / labelled.sum()
    compiled = tf.function(lambda x, y: model.compute_terms(x, y))
    for terms in (model.compute_terms(images, labels), compiled(images, labels)):
        np.testing.assert_allclose(float(terms["label_loss"]), expected, rtol=1e-4)
    restored = UncertaintyMiningNet.from_config(model.get_config())
    assert restored.uncertainty == "disbelief" and restored.eps_from_guider


def in_index_order(issues):
    scores = np.empty(len(issues))
    scores[issues.indices] = issues.scores
    return scores


def test_label_issues_disbelief_reads_the_guider_and_eps_both_models():
    model = make_umn(uncertainty="guider")
    images, labels = toy_data()
    model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=3, verbose=0)
    given = labels[:10]
    guider = np.array(model.predict(images[:10], verbose=0))
    disbelief = model.label_issues(images[:10], given, score="disbelief", batch_size=4)
    assert disbelief.score_name == "wrong_label_probability"
    np.testing.assert_allclose(in_index_order(disbelief), 1.0 - guider[np.arange(10), given],
                               atol=1e-6)
    np.testing.assert_array_equal(disbelief.suggested_labels,
                                  guider.argmax(-1)[disbelief.indices])
    learner = np.array(model.learner_probabilities(images[:10]))
    eps = np.abs(guider - learner)[np.arange(10), given]
    np.testing.assert_allclose(model.label_uncertainty(images[:10], given, batch_size=4), eps,
                               atol=1e-6)
    by_eps = model.label_issues(images[:10], given, score="eps", batch_size=4)
    assert by_eps.score_name == "eps" and np.all(np.diff(by_eps.scores) <= 0)
    np.testing.assert_allclose(in_index_order(by_eps), eps, atol=1e-6)
    with pytest.raises(ValueError, match="score must be one of"):
        model.label_issues(images[:10], given, score="loss")
    # Without a guider, disbelief is the learner's (what predict returns).
    plain = make_umn(uncertainty="zero", ema_decay=None)
    learner = np.array(plain.learner_probabilities(images[:10]))
    np.testing.assert_allclose(in_index_order(plain.label_issues(images[:10], given,
                                                                score="disbelief")),
                               1.0 - learner[np.arange(10), given], atol=1e-6)


def test_keras_round_trip_keeps_the_guider(tmp_path):
    model = make_umn(ema_decay=0.5, ema_warmup=False, label_term="log")
    images, labels = toy_data()
    model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=3, verbose=0)
    guider = weights_of(model.guider.networks)
    assert any(not np.allclose(a, b) for a, b in
               zip(guider, weights_of(model.vae.classifier_networks)))
    path = str(tmp_path / "umn.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored, UncertaintyMiningNet)
    assert restored.get_config() == model.get_config()
    for a, b in zip(guider, weights_of(restored.guider.networks)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(restored.predict(images, verbose=0),
                               model.predict(images, verbose=0), atol=1e-6)
    np.testing.assert_allclose(restored.label_uncertainty(images[:10], labels[:10]),
                               model.label_uncertainty(images[:10], labels[:10]), atol=1e-6)


def test_get_config_round_trips():
    model = make_umn(uncertainty="fixed", fixed_uncertainty=0.2, uncertainty_clip=(0.05, 0.5))
    clone = UncertaintyMiningNet.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    vae = StackedVae(SHAPE, 10, **SMALL)
    assert StackedVae.from_config(vae.get_config()).get_config() == vae.get_config()
    guider = Guider.from_networks(vae.classifier_networks, True)
    assert Guider.from_config(guider.get_config()).get_config() == guider.get_config()


def test_savedmodel_export_round_trip(tmp_path):
    model = make_umn(ema_decay=0.5, ema_warmup=False)
    images, labels = toy_data()
    model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=2, verbose=0)
    path = str(tmp_path / "guider")
    model.export(path, verbose=False)
    loaded = tf.saved_model.load(path)  # keep a reference: it owns the variables
    served = loaded.serve(tf.constant(images[:7]))
    np.testing.assert_allclose(served.numpy(), model.predict(images[:7], verbose=0), atol=1e-6)
    np.testing.assert_allclose(served.numpy().sum(-1), np.ones(7), atol=1e-5)
    # Without a guider the model serves the learner, as predict does.
    plain = make_umn(uncertainty="zero", ema_decay=None)
    plain.export(str(tmp_path / "plain"), verbose=False)
    loaded_plain = tf.saved_model.load(str(tmp_path / "plain"))
    np.testing.assert_allclose(loaded_plain.serve(tf.constant(images[:3])).numpy(),
                               plain.predict(images[:3], verbose=0), atol=1e-6)


def test_conv13_architecture_trains_with_gaussian_likelihood():
    model = make_umn(image_shape=(12, 12, 3), architecture="conv13", conv_width=4,
                     consistency_weight=1.0)
    assert model.vae.pixel_likelihood == "gaussian"
    images, labels = toy_data(shape=(12, 12, 3))
    history = model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(images[:3], verbose=0).shape == (3, 10)


@pytest.mark.parametrize("kwargs, message", [
    (dict(ema_decay=1.0), r"\[0, 1\)"),
    (dict(ema_decay=-0.1), r"\[0, 1\)"),
    (dict(uncertainty_clip=(0.0, 0.5)), "infinite"),
    (dict(uncertainty_clip=(0.01, 0.95)), "<= 0"),
    (dict(uncertainty="guider", ema_decay=None), "needs a guider"),
    (dict(uncertainty="disbelief", ema_decay=None), "'disbelief' needs a guider"),
    (dict(uncertainty="fixed"), "fixed_uncertainty"),
    (dict(uncertainty="posterior"), "uncertainty must be"),
    (dict(label_term="square"), "label_term"),
    (dict(num_classes=1), "num_classes"),
    (dict(image_shape=(8, 8, 3), architecture="conv13"), "multiples of 4"),
    (dict(image_shape=(8, 8)), "three positive sizes"),
    (dict(architecture="vgg"), "Unknown architecture"),
    (dict(noise_rate="guess"), "noise_rate must be 'estimate', None or a rate"),
    (dict(noise_rate=1.0), "below 1"),
    (dict(noise_rate=True), "noise_rate must be 'estimate'"),
    (dict(noise_rate=-0.1), r"\[0, 1\]"),
    (dict(uncertainty="fixed", fixed_uncertainty=0.2, noise_rate=0.2), "fixed_uncertainty"),
])
def test_bad_arguments_raise_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_umn(**kwargs)


def test_images_of_the_wrong_shape_raise_value_errors():
    model = make_umn()
    images, labels = toy_data(shape=(10, 10, 1))
    with pytest.raises(ValueError, match=r"built for images of shape \(8, 8, 1\)"):
        model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=1, verbose=0)


def test_bad_labels_raise_value_errors():
    images, labels = toy_data()
    with pytest.raises(ValueError, match="no labelled examples"):
        streams.semi_supervised_stream(images, np.full(40, -1), 10, 5, 15, 0)
    bad = labels.copy()
    bad[0] = 10
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        streams.semi_supervised_stream(images, bad, 10, 5, 15, 0)
    with pytest.raises(ValueError, match="labelled"):
        streams.semi_supervised_stream(images, np.zeros(40, np.int64), 10, 5, 15, 0)
    model = make_umn()
    with pytest.raises(ValueError, match="must lie in"):
        model.label_uncertainty(images[:2], np.array([0, 12]))


def test_fit_on_arrays_estimates_the_noise_rate_once():
    model = make_umn(noise_rate="estimate")
    images, labels = toy_data()
    assert model.needs_noise_rate()
    model.fit(images, labels, batch_size=10, epochs=1, verbose=0)
    expected = estimate_noise_rate(images, labels, 10, seed=0).rate
    assert float(ops.convert_to_numpy(model.label_noise_rate)) == pytest.approx(expected)
    assert not model.needs_noise_rate()


def test_fit_on_a_stream_asks_for_the_noise_rate_first():
    model = make_umn(noise_rate="estimate")
    images, labels = toy_data()
    with pytest.raises(ValueError, match=r"model.estimate_noise_rate\(images, labels\)"):
        model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=1, verbose=0)
    estimate = model.estimate_noise_rate(images, labels)
    assert 0.0 <= estimate.rate <= 0.9
    model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError,
                       match="reads no estimated rate; build it with noise_rate=.estimate."):
        make_umn(noise_rate=0.3).estimate_noise_rate(images, labels)


@pytest.mark.parametrize("noise_rate", [None, 0.0, 0.3])
def test_known_noise_rate_scales_the_labelled_term(noise_rate):
    model = make_umn(noise_rate=noise_rate, label_weight=0.7)
    images, labels = toy_data()
    terms = model.compute_terms(images, labels, training=False)
    f = lambda eps: np.log(9 * (1 - eps) / eps)  # noqa: E731
    scale = 1.0 if noise_rate is None else f(max(noise_rate, 0.01)) / f(0.01)
    expected = (ops.convert_to_numpy(terms["elbo_loss"])
                + 0.7 * scale * ops.convert_to_numpy(terms["label_loss"]))
    np.testing.assert_allclose(ops.convert_to_numpy(terms["loss"]), expected, rtol=1e-5)


def test_m_vae_is_not_rescaled_and_needs_no_estimate():
    model = make_umn(uncertainty="fixed", fixed_uncertainty=0.3, noise_rate="estimate")
    assert not model.needs_noise_rate() and model.label_noise_rate is None
    assert float(ops.convert_to_numpy(model.label_term_scale())) == 1.0
    images, labels = toy_data()
    with pytest.raises(ValueError, match="fixed_uncertainty"):
        model.estimate_noise_rate(images, labels)


def test_default_model_has_no_rate_variable_and_fit_takes_a_labelled_dict():
    assert make_umn().label_noise_rate is None  # saved files of the default model as before
    model = make_umn(noise_rate="estimate")
    images, labels = toy_data()
    model.fit({"image": images, "label": labels}, batch_size=10, epochs=1, verbose=0)
    assert not model.needs_noise_rate()


def labelled_term_scale(model, images, labels):
    """The factor on `label_loss` in the model's loss, read off `compute_terms`.

    Use a model with `uncertainty="guider"`: its eps is 0 before training, so
    every label has the full weight f(low), the labelled term is large
    against the bound, and the ratio is exact to float32 rounding.
    """
    terms = model.compute_terms(images, labels, training=False)
    loss, elbo, label = (float(ops.convert_to_numpy(terms[key]))
                         for key in ("loss", "elbo_loss", "label_loss"))
    return (loss - elbo) / label


def test_fit_on_arrays_counts_the_labelled_share():
    model = make_umn(labelled_share="count", label_weight=2.0, uncertainty="guider")
    images, labels = toy_data()  # 10 labelled of 40
    assert model.needs_labelled_share()
    model.fit(images, labels, batch_size=10, epochs=1, verbose=0)
    assert not model.needs_labelled_share()
    assert float(ops.convert_to_numpy(model.training_labelled_share)) == pytest.approx(0.25)
    assert labelled_term_scale(model, images, labels) == pytest.approx(2.0 * 0.25, rel=1e-4)


def test_fit_on_a_stream_asks_for_the_labelled_share_first():
    model = make_umn(labelled_share="count", noise_rate="estimate")
    images, labels = toy_data()
    with pytest.raises(ValueError, match=r"model.count_labelled_share\(labels\).*"
                                         r"model.estimate_noise_rate"):
        model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=1, verbose=0)
    assert model.count_labelled_share(labels) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="estimate_noise_rate") as error:
        model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=1, verbose=0)
    assert "count_labelled_share" not in str(error.value)
    model.estimate_noise_rate(images, labels)
    model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="build it with labelled_share='count'"):
        make_umn(labelled_share=0.5).count_labelled_share(labels)


def test_labelled_share_multiplies_the_rate_scale():
    images, labels = toy_data()
    f = lambda eps: np.log(9 * (1 - eps) / eps)  # noqa: E731
    model = make_umn(labelled_share=0.1, noise_rate=0.3, label_weight=0.7, uncertainty="guider")
    assert labelled_term_scale(model, images, labels) == pytest.approx(
        0.7 * 0.1 * f(0.3) / f(0.01), rel=1e-4)
    # Uncounted, the share leaves the term as it is (a hand-written loop).
    uncounted = make_umn(labelled_share="count", label_weight=0.7, uncertainty="guider")
    assert labelled_term_scale(uncounted, images, labels) == pytest.approx(0.7, rel=1e-4)


@pytest.mark.parametrize("share", [0.0, -0.5, 1.5, "half", True, float("nan")])
def test_bad_labelled_shares_raise_value_errors(share):
    with pytest.raises(ValueError, match="labelled_share must be 'count', None or"):
        make_umn(labelled_share=share)


@pytest.mark.parametrize("labels, message", [
    (np.full(5, -1), "no labelled row"), (np.zeros((0,), np.int64), "non-empty 1-D"),
    (np.zeros((2, 2), np.int64), "non-empty 1-D")])
def test_counting_a_share_needs_labelled_rows(labels, message):
    with pytest.raises(ValueError, match=message):
        make_umn(labelled_share="count").count_labelled_share(labels)


def test_counted_labelled_share_is_saved_and_restored(tmp_path):
    assert make_umn().training_labelled_share is None  # the default model's files as before
    model = make_umn(labelled_share="count")
    model.count_labelled_share(toy_data()[1])
    path = str(tmp_path / "umn.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert restored.get_config()["labelled_share"] == "count"
    assert float(ops.convert_to_numpy(restored.training_labelled_share)) == pytest.approx(0.25)
    assert not restored.needs_labelled_share()


def test_estimated_noise_rate_is_saved_and_restored(tmp_path):
    model = make_umn(noise_rate="estimate")
    images, labels = toy_data()
    rate = model.estimate_noise_rate(images, labels).rate
    path = str(tmp_path / "umn.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert restored.get_config()["noise_rate"] == "estimate"
    assert float(ops.convert_to_numpy(restored.label_noise_rate)) == pytest.approx(rate)
    assert not restored.needs_noise_rate()
