"""UMN's uncertainty warm-up: label weights f(low) before the switch step, f(eps) after."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras import ops

from scripts.harness import umn_tables
from scripts.harness.presets import override
from scripts.harness.umn_settings import PRESETS
from tf_data.batch_keys import HELD_OUT_DISBELIEF_KEY
from tf_data.batch_keys import IMAGE_KEY
from umn import losses
from umn.model import UncertaintyMiningNet
from umn.m1_warmup import M1Warmup
from umn.uncertainty_warmup import UncertaintyWarmup

from test_umn_model import make_umn
from test_umn_model import toy_data
from test_umn_model import toy_stream


def f_weight(eps, num_classes=10):
    """Eq. 9's weight f(eps) = log[(C - 1)(1 - eps) / eps]."""
    return np.log((num_classes - 1) * (1 - eps) / eps)


def moved_guider_model(uncertainty="disbelief"):
    """A UMN whose learner has moved away from its guider (eps well above the clip's low)."""
    model = make_umn(ema_decay=0.5, uncertainty=uncertainty)
    rng = np.random.default_rng(0)
    for network in model.vae.classifier_networks.values():
        for weight in network.trainable_weights:
            weight.assign(weight + rng.normal(0, 0.3, weight.shape).astype("float32"))
    images, labels = toy_data()
    return model, images, labels


def expected_label_loss(model, images, labels, during_warmup):
    """-mean over labelled rows of f(eps) * q(y_obs | z_a), by hand in NumPy.

    eps is the guider's disbelief `1 - q'(y_obs)` (the default) or the paper's
    `|q'(y_obs) - q(y_obs)|` (Eq. 11, `uncertainty="guider"`).
    """
    labelled = labels >= 0
    x, y = images[labelled], labels[labelled]
    learner = ops.convert_to_numpy(model.learner_probabilities(x)).astype(np.float64)
    guider = ops.convert_to_numpy(model.guider(x)).astype(np.float64)
    rows = np.arange(len(y))
    low, high = model.uncertainty_clip
    raw = {"disbelief": 1.0 - guider[rows, y],
           "guider": np.abs(guider[rows, y] - learner[rows, y])}[model.uncertainty]
    eps = np.clip(raw, low, high)
    if during_warmup:
        eps = np.full_like(eps, low)
    return -np.mean(f_weight(eps) * learner[rows, y])


@pytest.mark.parametrize("uncertainty", ["disbelief", "guider"])
@pytest.mark.parametrize("compiled", [False, True])
def test_label_term_weights_by_low_before_the_start_step_and_by_eps_after(compiled, uncertainty):
    model, images, labels = moved_guider_model(uncertainty)
    eps = model.label_uncertainty(images[labels >= 0], labels[labels >= 0])
    assert eps.max() > 0.01  # the guider lags: the two weightings differ
    terms = model.compute_terms
    if compiled:
        terms = tf.function(lambda x, y: model.compute_terms(x, y), jit_compile=True)
    iterations = int(ops.convert_to_numpy(model.optimizer.iterations))
    for start, during_warmup in ((iterations + 1, True), (iterations, False)):
        model.uncertainty_start_step.assign(start)
        got = float(ops.convert_to_numpy(terms(images, labels)["label_loss"]))
        np.testing.assert_allclose(
            got, expected_label_loss(model, images, labels, during_warmup), rtol=1e-4)
    # The reported eps is the raw estimate either way (it is what Table 3 reads).
    model.uncertainty_start_step.assign(10**6)
    raw = ops.convert_to_numpy(model.compute_terms(images, labels)["eps"])[labels >= 0]
    np.testing.assert_allclose(raw, eps, atol=1e-6)


@pytest.mark.parametrize("overrides, callbacks, expected", [
    ({}, [], 2),  # default share 1/3 of 3 epochs x 2 steps
    ({"uncertainty_warmup": 0.5}, [], 3),
    ({"uncertainty_warmup": 0.0}, [], 0),  # the paper's schedule
    ({}, [UncertaintyWarmup(share=0.5, total_steps=10)], 5),  # the user's callback wins
    ({"uncertainty": "fixed", "fixed_uncertainty": 0.2}, [], 0),  # M-VAE has no eps to hold
])
def test_fit_sets_the_start_step_from_the_runs_length(overrides, callbacks, expected):
    model = make_umn(**overrides)
    images, labels = toy_data()
    model.fit(toy_stream(images, labels), epochs=3, steps_per_epoch=2, verbose=0,
              callbacks=list(callbacks))
    assert int(ops.convert_to_numpy(model.uncertainty_start_step)) == expected


def test_fit_over_a_dataset_of_unknown_length_says_how_to_fix_it():
    model = make_umn(m1_warmup=0.4)
    images, labels = toy_data()
    stream = toy_stream(images, labels).take(4).filter(lambda batch: True)
    with pytest.raises(ValueError, match="steps_per_epoch.*total_steps"):
        model.fit(stream, epochs=1, verbose=0)
    model.fit(stream, epochs=1, verbose=0, callbacks=[UncertaintyWarmup(total_steps=9)])
    assert int(ops.convert_to_numpy(model.uncertainty_start_step)) == 3
    # The M1 warm-up the model adds takes the same run length.
    assert int(ops.convert_to_numpy(model.m1_end_step)) == 4  # round(0.4 * 9)


def test_the_start_step_is_saved_with_the_model(tmp_path):
    model = make_umn(uncertainty_warmup=0.25)
    images, labels = toy_data()
    model.fit(toy_stream(images, labels), epochs=2, steps_per_epoch=4, verbose=0)
    path = str(tmp_path / "umn.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored, UncertaintyMiningNet)
    assert restored.uncertainty_warmup == 0.25
    assert int(ops.convert_to_numpy(restored.uncertainty_start_step)) == 2


# Both switch-step callbacks: (model argument, callback class, model variable).
SWITCHES = [("uncertainty_warmup", UncertaintyWarmup, "uncertainty_start_step"),
            ("m1_warmup", M1Warmup, "m1_end_step")]


@pytest.mark.parametrize("argument, callback, variable", SWITCHES)
@pytest.mark.parametrize("share", [1.0, -0.1, "a third"])
def test_bad_warmup_shares_raise_value_errors(share, argument, callback, variable):
    with pytest.raises(ValueError, match=argument):
        make_umn(**{argument: share})
    with pytest.raises(ValueError, match=argument):
        callback(share=share)


@pytest.mark.parametrize("argument, callback, variable", SWITCHES)
def test_the_callback_refuses_a_model_without_the_switch_step(argument, callback, variable):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match=variable):
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0,
                  callbacks=[callback(share=0.5)])


def switch_step(model, variable):
    return int(ops.convert_to_numpy(getattr(model, variable)))


@pytest.mark.parametrize("argument, callback, variable", SWITCHES)
def test_a_second_fit_continues_without_a_new_warm_up_and_a_resume_keeps_the_switch(
        argument, callback, variable):
    model = make_umn(**{argument: 0.5})
    images, labels = toy_data()
    model.fit(toy_stream(images, labels), epochs=2, steps_per_epoch=2, verbose=0)
    assert switch_step(model, variable) == 2  # round(0.5 * 4)
    # A longer second call on the same optimiser: the warm-up is not rerun.
    model.fit(toy_stream(images, labels), epochs=10, steps_per_epoch=2, verbose=0)
    assert switch_step(model, variable) == 2
    # Resuming a 6-epoch run at epoch 2 (optimiser at step 4): the whole run's switch.
    resumed = make_umn(**{argument: 0.5})
    resumed.fit(toy_stream(images, labels), epochs=2, steps_per_epoch=2, verbose=0)
    resumed.fit(toy_stream(images, labels), epochs=6, initial_epoch=2, steps_per_epoch=2,
                verbose=0)
    assert switch_step(resumed, variable) == 6  # round(0.5 * 12)
    # A fresh optimiser starts its own warm-up.
    resumed.compile(optimizer=keras.optimizers.Adam(1e-3))
    resumed.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=2, verbose=0)
    assert switch_step(resumed, variable) == 1


def held_out_warmup_model():
    """A UMN with the default eps whose warm-up weights each label by its held-out view."""
    model = make_umn(uncertainty="with_held_out", warmup_weights="held_out", ema_decay=0.5)
    images, labels = toy_data()
    rows = np.flatnonzero(labels >= 0)
    # Below the clip, inside it and above it, so every branch of the clip is read.
    held_out = np.zeros(len(labels), np.float32)
    held_out[rows] = np.linspace(0.0, 1.0, len(rows))
    return model, images, labels, held_out


@pytest.mark.parametrize("compiled", [False, True])
def test_held_out_warmup_weights_each_label_by_its_clipped_held_out_disbelief(compiled):
    model, images, labels, held_out = held_out_warmup_model()
    rows = np.flatnonzero(labels >= 0)
    low, high = model.uncertainty_clip
    learner = ops.convert_to_numpy(model.learner_probabilities(images)).astype(np.float64)
    guider = ops.convert_to_numpy(model.guider(images)).astype(np.float64)
    on_label = learner[rows, labels[rows]]
    warm_eps = np.clip(held_out[rows], low, high)
    after_eps = np.clip(0.5 * ((1.0 - guider[rows, labels[rows]]) + held_out[rows]), low, high)
    terms = model.compute_terms
    if compiled:
        terms = tf.function(
            lambda x, y, d: model.compute_terms(x, y, held_out_disbelief=d), jit_compile=True)
    iterations = int(ops.convert_to_numpy(model.optimizer.iterations))
    for start, eps in ((iterations + 1, warm_eps), (iterations, after_eps)):
        model.uncertainty_start_step.assign(start)
        got = terms(images, labels, held_out) if compiled else terms(
            images, labels, held_out_disbelief=held_out)
        np.testing.assert_allclose(float(ops.convert_to_numpy(got["label_loss"])),
                                   -np.mean(f_weight(eps) * on_label), rtol=1e-4)
    # Without a held-out view (test labels) the warm-up trusts every label, as by default.
    model.uncertainty_start_step.assign(iterations + 1)
    got = float(ops.convert_to_numpy(model.compute_terms(images, labels)["label_loss"]))
    np.testing.assert_allclose(got, -np.mean(f_weight(low) * on_label), rtol=1e-4)


def test_evaluate_weights_a_dict_batch_by_its_held_out_view_during_the_warm_up():
    model, images, labels, held_out = held_out_warmup_model()
    rows = np.flatnonzero(labels >= 0)
    low, high = model.uncertainty_clip
    learner = ops.convert_to_numpy(model.learner_probabilities(images)).astype(np.float64)
    expected = -np.mean(f_weight(np.clip(held_out[rows], low, high))
                        * learner[rows, labels[rows]])
    model.uncertainty_start_step.assign(10**6)   # inside the warm-up
    result = model.evaluate({IMAGE_KEY: images, HELD_OUT_DISBELIEF_KEY: held_out}, labels,
                            batch_size=len(labels), verbose=0, return_dict=True)
    np.testing.assert_allclose(result["label_loss"], expected, rtol=1e-4)


def test_held_out_warmup_trains_round_trips_its_config_and_saves(tmp_path):
    model, images, labels, _ = held_out_warmup_model()
    model.fit(images, labels, batch_size=10, epochs=1, verbose=0)  # fit adds the view
    assert int(ops.convert_to_numpy(model.uncertainty_start_step)) == 1  # 1/3 of 4 steps
    config = model.get_config()
    assert config["warmup_weights"] == "held_out"
    assert UncertaintyMiningNet.from_config(config).warmup_weights == "held_out"
    path = str(tmp_path / "umn.keras")
    model.save(path)
    assert keras.models.load_model(path).warmup_weights == "held_out"
    assert make_umn(held_out_view=None).warmup_weights == "noise_corrected"  # the default


@pytest.mark.parametrize("overrides, match", [
    ({"warmup_weights": "view"}, "warmup_weights must be one of"),
    *[({"warmup_weights": weights, "uncertainty": "disbelief"}, "uncertainty='with_held_out'")
      for weights in ("held_out", "noise_corrected")],
    *[({"warmup_weights": weights, "uncertainty_warmup": 0.0}, "uncertainty_warmup > 0")
      for weights in ("held_out", "noise_corrected")],
])
def test_bad_warmup_weights_say_how_to_fix_them(overrides, match):
    with pytest.raises(ValueError, match=match):
        make_umn(**overrides)


@pytest.mark.parametrize("weights", ["held_out", "noise_corrected"])
def test_the_harness_gives_view_warmup_weights_to_umn_alone(weights):
    settings = override(PRESETS["smoke"], warmup_weights=weights)
    for method, expected in (("umn", weights), ("umn_semi", "uniform"),
                             ("clean_labels", "uniform"), ("m_vae", "uniform")):
        model = umn_tables.build_model(method, (8, 8, 1), 10, settings, 0, 0.3)
        assert model.warmup_weights == expected
    with pytest.raises(ValueError, match="uncertainty='with_held_out'"):
        override(PRESETS["default"], warmup_weights=weights, uncertainty_estimate="disbelief")
    with pytest.raises(ValueError, match="uncertainty_warmup > 0"):
        override(PRESETS["default"], warmup_weights=weights, uncertainty_warmup=0.0)


def numpy_wrong_label_chance(disbelief, rate, num_classes):
    """P(label wrong | view's q(y_obs), symmetric noise at `rate`), by Bayes' rule in NumPy."""
    belief = 1.0 - np.asarray(disbelief, np.float64)
    flip = rate / (num_classes - 1)
    true_class = np.clip((belief - flip) / (1.0 - rate - flip), 0.0, 1.0)
    return np.clip(flip * (1.0 - true_class) / np.maximum(belief, 1e-6), 0.0, 1.0)


@pytest.mark.parametrize("rate, num_classes", [(0.0, 10), (0.1, 10), (0.4, 10), (0.3, 3)])
def test_wrong_label_chance_is_bayes_rule_under_symmetric_noise(rate, num_classes):
    disbelief = np.linspace(0.0, 1.0, 41)
    got = ops.convert_to_numpy(losses.wrong_label_chance(disbelief, rate, num_classes))
    np.testing.assert_allclose(got, numpy_wrong_label_chance(disbelief, rate, num_classes),
                               atol=1e-5)
    # By enumeration over the true class: a view that is the noisy-label
    # distribution of a clean posterior p on the given class.
    flip = rate / (num_classes - 1)
    for p in (0.0, 0.3, 0.9):
        q = (1.0 - rate) * p + flip * (1.0 - p)
        # q = 0 only without noise (flip = 0), where no label is wrong.
        exact = flip * (1.0 - p) / q if q > 0 else 0.0
        chance = float(ops.convert_to_numpy(losses.wrong_label_chance(
            np.array([1.0 - q]), rate, num_classes))[0])
        np.testing.assert_allclose(chance, min(exact, 1.0), atol=1e-5)
    if rate == 0.0:
        assert np.all(got == 0.0)   # without noise no label is wrong
    assert np.all(np.diff(got) >= -1e-7)   # more doubt, more chance of a wrong label


def noise_corrected_model(rate=0.3):
    """`held_out_warmup_model`'s model and view under `warmup_weights="noise_corrected"`."""
    model = make_umn(uncertainty="with_held_out", warmup_weights="noise_corrected",
                     ema_decay=0.5)
    model.warmup_noise_rate.assign(rate)
    _, images, labels, held_out = held_out_warmup_model()
    return model, images, labels, held_out


@pytest.mark.parametrize("compiled", [False, True])
def test_noise_corrected_warmup_weights_each_label_by_its_chance_of_being_wrong(compiled):
    model, images, labels, held_out = noise_corrected_model(rate=0.3)
    rows = np.flatnonzero(labels >= 0)
    low, high = model.uncertainty_clip
    learner = ops.convert_to_numpy(model.learner_probabilities(images)).astype(np.float64)
    on_label = learner[rows, labels[rows]]
    warm_eps = np.clip(numpy_wrong_label_chance(held_out[rows], 0.3, 10), low, high)
    terms = model.compute_terms
    if compiled:
        terms = tf.function(
            lambda x, y, d: model.compute_terms(x, y, held_out_disbelief=d), jit_compile=True)
    model.uncertainty_start_step.assign(int(ops.convert_to_numpy(model.optimizer.iterations))
                                        + 1)
    got = terms(images, labels, held_out) if compiled else terms(
        images, labels, held_out_disbelief=held_out)
    np.testing.assert_allclose(float(ops.convert_to_numpy(got["label_loss"])),
                               -np.mean(f_weight(warm_eps) * on_label), rtol=1e-4)


def test_noise_corrected_warmup_estimates_its_rate_and_saves_it(tmp_path):
    model = make_umn(uncertainty="with_held_out", warmup_weights="noise_corrected")
    assert model.needs_noise_rate()
    assert float(ops.convert_to_numpy(model.warmup_noise_rate)) < 0   # unknown until fit
    assert model.label_noise_rate is None   # the labelled term stays unscaled
    images, labels = toy_data()
    with pytest.raises(ValueError, match="warmup_weights='noise_corrected'.*estimate_noise_rate"):
        model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=2, verbose=0)
    model.fit(images, labels, batch_size=10, epochs=1, verbose=0)   # estimates it itself
    rate = float(ops.convert_to_numpy(model.warmup_noise_rate))
    assert 0.0 <= rate <= 0.9 and not model.needs_noise_rate()
    assert model.get_config()["warmup_weights"] == "noise_corrected"
    path = str(tmp_path / "umn.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.warmup_weights == "noise_corrected"
    assert float(ops.convert_to_numpy(loaded.warmup_noise_rate)) == rate
    # A model that reads no estimated rate says how to build one that does.
    with pytest.raises(ValueError, match="warmup_weights='noise_corrected'"):
        make_umn().estimate_noise_rate(images, labels)


def test_the_warm_up_rate_is_a_given_rate_or_estimated_only_where_unknown():
    images, labels = toy_data()
    # A rate given as a number is the warm-up's too: nothing to estimate.
    given = make_umn(uncertainty="with_held_out", warmup_weights="noise_corrected",
                     noise_rate=0.2)
    assert not given.needs_noise_rate()
    assert float(ops.convert_to_numpy(given.warmup_noise_rate)) == pytest.approx(0.2)
    # Estimated alongside the labelled term's rate: one estimate fills both.
    both = make_umn(uncertainty="with_held_out", warmup_weights="noise_corrected",
                    noise_rate="estimate")
    both.measure_training_set(images, labels)
    assert (float(ops.convert_to_numpy(both.warmup_noise_rate))
            == float(ops.convert_to_numpy(both.label_noise_rate)) >= 0.0)
    # A rate assigned by hand survives fit, which estimates only the unknown one.
    kept = make_umn(uncertainty="with_held_out", warmup_weights="noise_corrected",
                    noise_rate="estimate")
    kept.warmup_noise_rate.assign(0.05)
    kept.fit(images, labels, batch_size=10, epochs=1, verbose=0)
    assert float(ops.convert_to_numpy(kept.warmup_noise_rate)) == pytest.approx(0.05)
    assert float(ops.convert_to_numpy(kept.label_noise_rate)) >= 0.0
    # On a stream: measure_training_set first, then fit.
    streamed = make_umn(uncertainty="with_held_out", warmup_weights="noise_corrected")
    streamed.measure_training_set(images, labels)
    streamed.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=2, verbose=0)
    assert int(ops.convert_to_numpy(streamed.optimizer.iterations)) == 2
