"""The held-out view cross-fitted from the eps = 0 model (`umn.cross_fitted`) and its harness."""

import types
import warnings

import keras
import numpy as np
import pytest

import tf_data
from tf_data.batch_keys import HELD_OUT_DISBELIEF_KEY

from scripts.harness import umn_tables
from scripts.harness.presets import override
from scripts.harness.umn_settings import PRESETS
from umn import cross_fitted
from umn import label_spreading
from umn.partial_labels import disbelief_of_labels
from umn.model import UncertaintyMiningNet

from test_umn_model import SHAPE
from test_umn_model import in_index_order
from test_umn_model import make_umn
from test_umn_model import SMALL
from test_umn_model import toy_data
from test_umn_model import toy_stream


def test_folds_deal_every_class_evenly_and_leave_unlabelled_rows_out():
    labels = np.full(60, -1)
    labels[:43] = np.r_[np.zeros(17), np.ones(14), np.full(12, 2)]
    fold = cross_fitted.cross_fitted_folds(labels, 3, folds=4, seed=3)
    assert fold.dtype == np.int64 and fold.shape == (60,)
    np.testing.assert_array_equal(fold[43:], -1)
    for label in range(3):
        counts = np.bincount(fold[labels == label], minlength=4)
        assert counts.max() - counts.min() <= 1   # dealt round-robin
    np.testing.assert_array_equal(fold, cross_fitted.cross_fitted_folds(labels, 3, 4, seed=3))
    assert not np.array_equal(fold, cross_fitted.cross_fitted_folds(labels, 3, 4, seed=4))


def test_folds_are_never_empty_when_classes_have_fewer_rows_than_folds():
    labels = np.arange(5)   # one row per class: a class-by-class deal could leave a part empty
    for seed in range(20):
        fold = cross_fitted.cross_fitted_folds(labels, 5, folds=4, seed=seed)
        assert np.all(np.bincount(fold, minlength=4) >= 1)


@pytest.mark.parametrize("labels, folds, message", [
    (np.array([0, 1, 0, 1]), 1, "at least 2"),
    (np.array([0, 1, -1, -1]), 3, "at least folds=3 labelled rows"),
    (np.array([0, 5, 1, 1]), 2, r"lie in \[0, 2\)"),
    (np.array([0, 1, 0, 1]), 0, "folds"),
])
def test_folds_refuse_what_cannot_be_cross_fitted(labels, folds, message):
    with pytest.raises(ValueError, match=message):
        cross_fitted.cross_fitted_folds(labels, 2, folds=folds)


class FoldModel:
    """A 'fitted' model whose class probabilities name its fold and depend on the image."""

    def __init__(self, num_classes, fold=0):
        self.num_classes = num_classes
        self.fold = fold

    def predict(self, images, batch_size=None, verbose=0):
        logits = np.stack([np.sum(images, axis=(1, 2, 3)) * (k + 1) % 1.0
                           for k in range(self.num_classes)], axis=1)
        logits[:, self.fold % self.num_classes] += 3.0   # peaked at the fold's class
        return np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)


def test_each_fold_model_never_sees_its_own_labels_and_is_read_at_the_given_label():
    images, labels = toy_data(n=50, labelled=24, num_classes=3, seed=1)
    seen = []

    def fit_fold(fold_labels, fold):
        seen.append((fold, fold_labels.copy()))
        return FoldModel(3, fold)

    view = cross_fitted.cross_fitted_disbelief(images, labels, 3, fit_fold, folds=3, seed=2)
    fold = cross_fitted.cross_fitted_folds(labels, 3, 3, seed=2)
    assert [k for k, _ in seen] == [0, 1, 2]
    for k, fold_labels in seen:
        np.testing.assert_array_equal(fold_labels[fold == k], -1)   # its own part: unlabelled
        others = fold != k
        np.testing.assert_array_equal(fold_labels[others], labels[others])
    assert view.dtype == np.float32 and view.shape == (50,)
    for k in range(3):   # each row read by its own fold's model
        rows = np.flatnonzero(fold == k)
        probabilities = FoldModel(3, k).predict(images[rows])
        np.testing.assert_allclose(view[rows],
                                   1.0 - probabilities[np.arange(len(rows)), labels[rows]],
                                   atol=1e-6)
    np.testing.assert_array_equal(view[labels < 0], 0.0)


def test_a_fold_model_of_the_wrong_width_is_refused():
    images, labels = toy_data(n=30, labelled=12, num_classes=3)
    with pytest.raises(ValueError, match=r"predict on its rows must be \(3, 3\)"):
        cross_fitted.cross_fitted_disbelief(images, labels, 3, lambda *_: FoldModel(4),
                                            folds=4)
    with pytest.raises(ValueError, match="class distributions"):
        cross_fitted.cross_fitted_disbelief(
            images, labels, 3, lambda *_: types.SimpleNamespace(
                predict=lambda x, **kwargs: np.full((len(x), 3), 5.0)), folds=4)


def test_fold_model_seeds_differ_by_fold_and_by_seed():
    seeds = {cross_fitted.fold_model_seed(seed, fold) for seed in range(5) for fold in range(4)}
    assert len(seeds) == 20


def test_the_eps_zero_trainer_fits_the_models_config_with_eps_zero_on_the_fold_labels():
    images, labels = toy_data(n=40, labelled=12, num_classes=3, seed=2)
    # The user's own UMN, warm-up weights from a held-out view included.
    config = UncertaintyMiningNet(SHAPE, 3, seed=9, max_shift=1, uncertainty_clip=(0.01, 0.5),
                                  warmup_weights="held_out", **SMALL).get_config()
    fit_fold = cross_fitted.eps_zero_fold_trainer(images, config, epochs=1,
                                                  labelled_per_batch=4, unlabelled_per_batch=8,
                                                  seed=9)
    fold_labels = labels.copy()
    fold_labels[:3] = -1
    model = fit_fold(fold_labels, 2)
    assert isinstance(model, UncertaintyMiningNet)
    assert model.uncertainty == "zero" and model.seed == cross_fitted.fold_model_seed(9, 2)
    assert model.warmup_weights == "uniform"
    assert model.hidden_units == SMALL["hidden_units"] and model.num_classes == 3
    assert int(model.optimizer.iterations.numpy()) > 0   # trained
    again = fit_fold(fold_labels, 2)   # the same fold model on every call
    np.testing.assert_allclose(again.predict(images, verbose=0), model.predict(images, verbose=0),
                               atol=1e-6)
    view = cross_fitted.cross_fitted_disbelief(images, labels, 3, fit_fold, folds=2, seed=0)
    assert np.all((view >= 0.0) & (view <= 1.0)) and np.all(view[labels < 0] == 0.0)
    assert np.all(view[labels >= 0] > 0.0)
    with pytest.raises(ValueError, match="no num_classes"):
        cross_fitted.eps_zero_fold_trainer(images, {"image_shape": SHAPE}, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        cross_fitted.eps_zero_fold_trainer(images, config, epochs=0)


def test_the_harness_carries_the_cross_fitted_view_into_umn_only(monkeypatch):
    data = tf_data.load_dataset("digits")
    split = umn_tables.make_noisy_split(data, 50, 0.3, seed=1)
    settings = override(PRESETS["smoke"], held_out_view="cross_fitted")
    rows = split.labelled_indices
    # Surer of the given labels than label spreading is, so the run reads it.
    posterior = np.full((len(rows), 10), 0.01)
    posterior[np.arange(len(rows)), split.labels[rows]] = 0.91
    calls = []

    def fake_posterior(data_, split_, settings_, seed, noise_rate, *args):
        calls.append((seed, noise_rate))
        return posterior

    class Stop(Exception):
        """Raised by the stream spy to end `train_method` before it trains."""

    seen = {}

    def spy(images, labels, *args, held_out_disbelief=True, **kwargs):
        seen["held_out_disbelief"] = held_out_disbelief
        raise Stop

    monkeypatch.setattr(umn_tables, "cross_fitted_posterior", fake_posterior)
    monkeypatch.setattr(umn_tables.streams, "semi_supervised_stream", spy)
    seeded = []
    monkeypatch.setattr(umn_tables.keras.utils, "set_random_seed",
                        lambda seed: seeded.append((seed, len(calls))))
    with pytest.raises(Stop):
        umn_tables.train_method("umn", data, split, settings, 1, 0.3)
    view = seen["held_out_disbelief"]
    assert calls == [(1, 0.3)] and view.shape == (len(data.x_train),)
    assert seeded == [(1, 1)]   # the run seeds itself after its fold models
    model = umn_tables.build_model("umn", data.image_shape, 10, settings, 1, 0.3)
    assert model.held_out_view == "cross_fitted"   # the config names the view it is fed
    assert umn_tables.build_model("umn_semi", data.image_shape, 10, settings, 1,
                                  0.3).held_out_view is None
    shuffled = override(PRESETS["smoke"], held_out_view="shuffled")
    assert umn_tables.build_model("umn", data.image_shape, 10, shuffled, 1,
                                  0.3).held_out_view == "label_spreading"
    np.testing.assert_allclose(view[rows], 0.09, atol=1e-6)
    np.testing.assert_array_equal(view[split.labels < 0], 0.0)
    with pytest.raises(Stop):
        umn_tables.train_method("m_vae", data, split, settings, 1, 0.3)
    assert seen["held_out_disbelief"] is False and len(calls) == 1
    again, read_posterior = umn_tables.held_out_view(data, split, settings, 1, 0.3)
    np.testing.assert_array_equal(again, view)
    assert read_posterior is posterior


def test_the_harness_cross_fits_umn_semi_runs_on_the_other_folds(monkeypatch):
    data = tf_data.load_dataset("digits")
    split = umn_tables.make_noisy_split(data, 20, 0.3, seed=2)
    settings = override(PRESETS["smoke"], held_out_view="cross_fitted", epochs=6)
    runs = []

    def fake_train_method(method, data_, fold_split, fold_settings, seed, noise_rate,
                          architecture="auto", training=None, **kwargs):
        runs.append((method, fold_split.labels.copy(), fold_settings.epochs, seed, architecture,
                     training.backup_dir))
        return FoldModel(10, len(runs) - 1)

    monkeypatch.setattr(umn_tables, "train_method", fake_train_method)
    posterior = umn_tables.cross_fitted_posterior(data, split, settings, 2, 0.3, "mlp")
    fold = cross_fitted.cross_fitted_folds(
        split.labels, 10, 4, seed=umn_tables.CROSS_FIT_DEALING_SEED_OFFSET + 2)
    assert [run[0] for run in runs] == ["umn_semi"] * 4
    assert [run[2] for run in runs] == [2] * 4   # a third of the run's epochs
    assert [run[3] for run in runs] == [cross_fitted.fold_model_seed(2, k) for k in range(4)]
    assert all(run[4] == "mlp" and run[5] is None for run in runs)   # no backups
    for k, run in enumerate(runs):
        np.testing.assert_array_equal(run[1], np.where(fold == k, -1, split.labels))
    rows = split.labelled_indices
    for k in range(4):
        held = fold[rows] == k
        np.testing.assert_allclose(posterior[held],
                                   FoldModel(10, k).predict(data.x_train[rows[held]]), atol=1e-6)


def test_the_harness_trains_real_fold_models():
    data = tf_data.load_dataset("digits")
    split = umn_tables.make_noisy_split(data, 20, 0.3, seed=0)
    settings = override(PRESETS["smoke"], held_out_view="cross_fitted", epochs=3)
    posterior = umn_tables.cross_fitted_posterior(data, split, settings, 0, 0.3)
    assert posterior.shape == (20, 10)
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("changes, message", [
    (dict(held_out_view="nearest"), "held_out_view must be one of"),
    (dict(held_out_view="cross_fitted", uncertainty_estimate="disbelief"), "reads none"),
    (dict(held_out_view="shuffled", uncertainty_estimate="guider"), "reads none"),
])
def test_settings_refuse_a_view_that_no_eps_reads(changes, message):
    with pytest.raises(ValueError, match=message):
        override(PRESETS["default"], **changes)
    # Unset, the view follows the eps: the paper's reads none, and changing the
    # default preset's eps needs no change of view.
    assert override(PRESETS["paper"]).held_out_view_in_use is None
    other_eps = override(PRESETS["default"], uncertainty_estimate="disbelief")
    assert (other_eps.held_out_view_in_use, other_eps.warmup_weights_in_use) == (None, "uniform")
    shuffled = override(PRESETS["default"], held_out_view="shuffled")
    assert (shuffled.held_out_view_in_use, shuffled.warmup_weights_in_use) == ("shuffled",
                                                                             "uniform")


def test_the_posterior_is_each_fold_models_prediction_in_labelled_row_order():
    images, labels = toy_data(n=40, labelled=16, num_classes=3, seed=4)
    labels[[2, 5]] = -1    # labelled rows not all first
    labels[30] = 1
    posterior = cross_fitted.cross_fitted_label_posterior(
        images, labels, 3, lambda labels_, fold: FoldModel(3, fold), folds=3, seed=1)
    rows = np.flatnonzero(labels >= 0)
    fold = cross_fitted.cross_fitted_folds(labels, 3, 3, seed=1)[rows]
    assert posterior.shape == (len(rows), 3) and posterior.dtype == np.float64
    for k in range(3):
        np.testing.assert_allclose(posterior[fold == k],
                                   FoldModel(3, k).predict(images[rows[fold == k]]), atol=1e-12)


def test_disbelief_of_labels_reads_the_posterior_at_each_label_and_checks_it():
    posterior = np.array([[0.9, 0.1], [0.3, 0.7]])
    np.testing.assert_allclose(disbelief_of_labels(posterior, np.array([1, -1, 1])),
                               [0.9, 0.0, 0.3], atol=1e-7)
    with pytest.raises(ValueError, match=r"must be \(3, 2\)"):
        disbelief_of_labels(posterior, np.array([1, 0, 1]))
    with pytest.raises(ValueError, match=r"lie in \[0, 2\)"):
        disbelief_of_labels(posterior, np.array([2, -1, 1]))
    with pytest.raises(ValueError, match="class distributions"):
        disbelief_of_labels(np.array([[np.nan, 1.0], [0.3, 0.7]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="class distributions"):
        disbelief_of_labels(np.array([[-0.1, 1.1], [0.3, 0.7]]), np.array([0, 1]))


def test_label_issues_take_a_given_held_out_posterior_in_place_of_label_spreading():
    model = make_umn(seed=3)
    images, labels = toy_data()
    rows = np.flatnonzero(labels >= 0)
    given = np.full((len(rows), 10), 0.02)
    given[np.arange(len(rows)), labels[rows]] = 0.82
    guider = np.asarray(model.predict(images[rows], verbose=0), np.float64)
    expected = 1.0 - 0.5 * (guider + given)[np.arange(len(rows)), labels[rows]]
    issues = model.label_issues(images, labels, held_out_posterior=given)
    np.testing.assert_allclose(in_index_order(issues)[rows], expected, atol=1e-6)
    by_eps = model.label_issues(images, labels, score="eps", held_out_posterior=given)
    np.testing.assert_allclose(in_index_order(by_eps)[rows], expected, atol=1e-6)
    with pytest.raises(ValueError, match=r"held_out_posterior must be \(10, 10\)"):
        model.label_issues(images, labels, held_out_posterior=given[:5])
    with pytest.raises(ValueError, match="class distributions"):
        model.label_issues(images, labels, held_out_posterior=given * 2.0)
    with pytest.raises(ValueError, match="score='with_held_out' only"):
        model.label_issues(images, labels, score="disbelief", held_out_posterior=given)


def test_the_model_with_the_cross_fitted_view_trains_its_folds_in_fit_once_per_training_set(
        monkeypatch, tmp_path):
    images, labels = toy_data(n=40, labelled=16, num_classes=3, seed=4)
    model = make_umn(seed=5, num_classes=3, held_out_view="cross_fitted",
                     warmup_weights="noise_corrected", noise_rate=0.2,
                     uncertainty_clip=(0.01, 0.5))
    folds, fed = [], []
    trainer = cross_fitted.eps_zero_fold_trainer
    keras_fit = keras.Model.fit

    def counting_trainer(*args, **kwargs):
        fit_fold = trainer(*args, **kwargs)

        def fit(fold_labels, fold):
            folds.append((fold, kwargs["batch_size"], args[2]))
            return fit_fold(fold_labels, fold)

        return fit

    def recording_fit(self, x=None, *args, **kwargs):
        if isinstance(x, dict):   # the main model's batches (the folds' are arrays)
            fed.append(np.array(x[HELD_OUT_DISBELIEF_KEY]))
        return keras_fit(self, x, *args, **kwargs)

    monkeypatch.setattr(cross_fitted, "eps_zero_fold_trainer", counting_trainer)
    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    model.fit(images, labels, batch_size=8, epochs=3, verbose=0)
    # 4 folds, each trained with fit's batch size for a third of its epochs.
    assert folds == [(fold, 8, 1) for fold in range(cross_fitted.DEFAULT_FOLDS)]
    rows = np.flatnonzero(labels >= 0)
    kept = model._cross_fitted_view[1]
    assert kept.shape == (len(rows), 3)
    # fit fed the main model each label's 1 - p(given) under the kept posterior.
    np.testing.assert_allclose(fed[0], disbelief_of_labels(kept, labels), atol=1e-6)
    np.testing.assert_array_equal(model.held_out_disbelief(images, labels), fed[0])
    model.fit(images, labels, batch_size=8, epochs=6, initial_epoch=3, verbose=0)
    assert len(folds) == 4   # a continued run on the same set reads the kept view
    np.testing.assert_array_equal(fed[1], fed[0])
    # label_issues on the training set reads the kept cross-fitted posterior.
    issues = model.label_issues(images, labels)
    expected = 0.5 * (np.asarray(model.predict(images[rows], verbose=0), np.float64) + kept)
    np.testing.assert_allclose(_scores_by_row(issues, rows),
                               1.0 - expected[np.arange(len(rows)), labels[rows]], atol=1e-5)
    np.testing.assert_allclose(_scores_by_row(model.label_issues(images, labels, score="eps"),
                                              rows),
                               _scores_by_row(issues, rows), atol=1e-6)
    other = labels.copy()
    other[0] = (other[0] + 1) % 3
    with pytest.raises(ValueError, match="not that set"):
        model.label_issues(images, other)
    with pytest.raises(ValueError, match="cannot judge labelled rows alone"):
        model.label_uncertainty(images[rows], labels[rows])
    eps = model.label_uncertainty(images[rows], labels[rows], held_out_disbelief=fed[0][rows])
    assert eps.shape == (len(rows),)
    model.fit(images, other, batch_size=8, epochs=3, verbose=0)   # another set: its own view
    assert len(folds) == 8 and not np.array_equal(fed[2], fed[0])
    # The kept view is not saved: a loaded model needs the posterior given.
    path = str(tmp_path / "umn.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.held_out_view == "cross_fitted"
    with pytest.raises(ValueError, match="not that set"):
        loaded.label_issues(images, other)
    loaded.label_issues(images, other, held_out_posterior=model._cross_fitted_view[1])


def test_the_cross_fitted_view_needs_compile_before_its_folds_train(monkeypatch):
    model = UncertaintyMiningNet(SHAPE, 3, held_out_view="cross_fitted", seed=0,
                                 uncertainty_clip=(0.01, 0.5), **SMALL)
    monkeypatch.setattr(cross_fitted, "eps_zero_fold_trainer", None)   # never reached
    with pytest.raises(ValueError, match="compile"):
        model.fit(*toy_data(num_classes=3), epochs=3, verbose=0)


def _scores_by_row(issues, rows):
    """The issues' scores in the order of `rows` (positions in x)."""
    by_position = dict(zip(issues.indices.tolist(), issues.scores.tolist()))
    return np.array([by_position[row] for row in rows])


def test_the_cross_fitted_view_is_a_config_setting_of_the_default_eps_only():
    model = make_umn(held_out_view="cross_fitted")
    config = model.get_config()
    assert config["held_out_view"] == "cross_fitted"
    assert UncertaintyMiningNet.from_config(config).held_out_view == "cross_fitted"
    assert make_umn(held_out_view=None).held_out_view == "cross_fitted"   # the default
    with pytest.raises(ValueError, match="held_out_view must be one of"):
        make_umn(held_out_view="pca")
    with pytest.raises(ValueError, match="reads none"):
        make_umn(held_out_view="cross_fitted", uncertainty="disbelief")
    with pytest.raises(ValueError, match="pass epochs"):
        model.held_out_disbelief(*toy_data())


@pytest.mark.parametrize("overrides, view, weights", [
    ({}, "cross_fitted", "noise_corrected"),   # the default
    ({"held_out_view": "label_spreading"}, "label_spreading", "uniform"),
    ({"uncertainty_warmup": 0.0}, "cross_fitted", "uniform"),   # no warm-up to weight
    ({"held_out_view": "label_spreading", "warmup_weights": "noise_corrected"},
     "label_spreading", "noise_corrected"),
    *[({"uncertainty": eps}, None, "uniform") for eps in ("zero", "disbelief", "guider")],
    ({"uncertainty": "fixed", "fixed_uncertainty": 0.2}, None, "uniform"),
])
def test_none_is_the_view_and_warm_up_weights_that_the_eps_reads(overrides, view, weights):
    model = make_umn(**{"held_out_view": None, **overrides})
    assert (model.held_out_view, model.warmup_weights) == (view, weights)
    config = model.get_config()   # stored resolved
    assert (config["held_out_view"], config["warmup_weights"]) == (view, weights)
    rebuilt = UncertaintyMiningNet.from_config(config)
    assert (rebuilt.held_out_view, rebuilt.warmup_weights) == (view, weights)


def test_an_eps_that_reads_no_view_refuses_one_named_for_it():
    for view in ("label_spreading", "cross_fitted"):
        with pytest.raises(ValueError, match="leave held_out_view at None"):
            make_umn(uncertainty="zero", held_out_view=view)
    # The default model's config, made eps = 0 as the fold trainer makes it, builds.
    config = make_umn(held_out_view=None).get_config()
    fold = UncertaintyMiningNet.from_config({**config, "uncertainty": "zero",
                                             "held_out_view": None, "warmup_weights": None})
    assert (fold.held_out_view, fold.warmup_weights) == (None, "uniform")


def test_the_default_model_on_a_stream_is_told_to_bring_its_view_and_rate():
    images, labels = toy_data()
    model = make_umn(held_out_view=None)
    with pytest.raises(ValueError, match=r"held_out_disbelief=model\.held_out_disbelief"):
        model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=2, verbose=0)


def _posteriors(labels, on_label, num_classes=3):
    """`(m, C)` rows giving each observed label `on_label` (a number or one per row), the
    rest spread evenly."""
    observed = labels[labels >= 0]
    on_label = np.broadcast_to(np.asarray(on_label, np.float64), observed.shape)
    posterior = np.repeat(((1.0 - on_label) / (num_classes - 1))[:, None], num_classes, axis=1)
    posterior[np.arange(len(observed)), observed] = on_label
    return posterior


def test_the_cross_fitted_view_gives_way_where_label_spreading_predicts_the_labels_better(
        monkeypatch):
    images, labels = toy_data(n=40, labelled=12, num_classes=3, seed=1)
    calls, spreading = [], {}

    def fake_spreading(images_, labels_, num_classes, seed):
        calls.append(seed)
        return spreading["posterior"]

    monkeypatch.setattr(cross_fitted, "held_out_posterior_of_labels", fake_spreading)
    # As good where the views' most likely classes are the given labels, however sure
    # (0.9 or 0.6 against 0.6), or worse by less than two standard errors of the paired
    # difference (the given label the most likely class of 11 rows of 12, against 12):
    # the cross-fitted view stays.
    one_wrong = np.where(np.arange(12) == 0, 0.2, 0.9)
    for on_label, spread in ((0.9, 0.6), (0.6, 0.6), (one_wrong, 0.6)):
        fitted, spreading["posterior"] = _posteriors(labels, on_label), _posteriors(labels, spread)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            view, posterior = cross_fitted.or_label_spreading(fitted, images, labels, 3, seed=7)
        assert view == "cross_fitted" and posterior is fitted
    spreading["posterior"] = _posteriors(labels, 0.6)
    # Class 0 for every row (the first of equals): the given label of 6 rows of 12.
    with pytest.warns(UserWarning, match=r"agrees with 50% of the labels .* spreading with 100%"):
        view, posterior = cross_fitted.or_label_spreading(np.full((12, 3), 1.0 / 3.0), images,
                                                          labels, 3, seed=7)
    assert view == "label_spreading" and posterior is spreading["posterior"]
    assert calls == [7] * 4


def test_the_model_reads_label_spreading_where_its_fold_models_learned_nothing(monkeypatch):
    # Class k lights row band k of dark images: label spreading reads the classes.
    rng = np.random.default_rng(4)
    classes = np.arange(60) % 3
    images = 0.1 * rng.uniform(size=(60,) + SHAPE).astype("float32")
    for row, band in enumerate(classes):
        images[row, 3 * band:3 * band + 2] = 0.9
    labels = np.where(np.arange(60) < 24, classes, -1)
    model = make_umn(num_classes=3, uncertainty_clip=(0.01, 0.5), held_out_view=None)

    class Uniform:
        def predict(self, rows, **kwargs):
            return np.full((len(rows), 3), 1.0 / 3.0, np.float32)

    monkeypatch.setattr(cross_fitted, "eps_zero_fold_trainer",
                        lambda *args, **kwargs: lambda fold_labels, fold: Uniform())
    with pytest.warns(UserWarning, match="learned too little"):
        view = model.held_out_disbelief(images, labels, epochs=3)
    np.testing.assert_allclose(
        view, label_spreading.held_out_disbelief(images, labels, 3, seed=0), atol=1e-6)


def test_a_config_saved_when_label_spreading_was_every_models_view_still_loads():
    for eps, extra in (("zero", {}), ("fixed", {"fixed_uncertainty": 0.2}), ("guider", {})):
        config = {**make_umn(uncertainty=eps, **extra).get_config(),
                  "held_out_view": "label_spreading"}   # as saved before session 40
        assert UncertaintyMiningNet.from_config(config).held_out_view is None
    old_default = {**make_umn(held_out_view=None).get_config(),
                   "held_out_view": "label_spreading", "warmup_weights": "uniform"}
    loaded = UncertaintyMiningNet.from_config(old_default)   # what it trained with
    assert (loaded.held_out_view, loaded.warmup_weights) == ("label_spreading", "uniform")


def test_a_stream_needs_the_cross_fitted_view_computed_or_kept_first():
    images, labels = toy_data(n=40, labelled=16, num_classes=3, seed=4)
    model = make_umn(num_classes=3, held_out_view=None, noise_rate=0.2,
                     uncertainty_clip=(0.01, 0.5))
    stream, _ = umn_tables.streams.semi_supervised_stream(images, labels, 3, 4, 12, 0)
    with pytest.raises(ValueError, match=r"keep_held_out_view.*held_out_view='label_spreading'"):
        model.fit(stream, epochs=1, steps_per_epoch=2, verbose=0)
    rows = labels >= 0
    posterior = np.full((int(rows.sum()), 3), 0.1)
    posterior[np.arange(int(rows.sum())), labels[rows]] = 0.8
    with pytest.raises(ValueError, match=r"posterior must be \(16, 3\)"):
        model.keep_held_out_view(images, labels, posterior[:3])
    model.keep_held_out_view(images, labels, posterior)
    view = disbelief_of_labels(posterior, labels)
    np.testing.assert_allclose(model.held_out_disbelief(images, labels), view)  # no folds
    stream, _ = umn_tables.streams.semi_supervised_stream(images, labels, 3, 4, 12, 0,
                                                          held_out_disbelief=view)
    model.fit(stream, epochs=1, steps_per_epoch=2, verbose=0)
    issues = model.label_issues(images, labels)   # reads the kept posterior
    assert len(issues.indices) == int(rows.sum())
    with pytest.raises(ValueError, match="reads held_out_view='label_spreading'"):
        make_umn().keep_held_out_view(images, labels, posterior)
