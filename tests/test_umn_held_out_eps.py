"""UMN's eps with a held-out view: 1 - mean(guider, held-out label spreading)(y_obs)."""

import types

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import tensorflow as tf

import tf_data

from scripts.harness import umn_tables
from scripts.harness.eps_history import EpsHistory
from scripts.harness.presets import override
from scripts.harness.umn_settings import PRESETS
from tf_data.batch_keys import HELD_OUT_DISBELIEF_KEY
from tf_data.batch_keys import INDEX_KEY
from tf_data.batch_keys import LABEL_KEY
from umn import label_spreading
from umn import losses
from umn import streams
from umn.model import MISSING_HELD_OUT_MESSAGE
from umn.model import UncertaintyMiningNet

from test_umn_model import in_index_order
from test_umn_model import make_umn
from test_umn_model import toy_data


def test_disbelief_with_held_out_is_the_mean_of_the_two_disbeliefs():
    guider = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]], np.float32)
    labels = np.array([1, 1, 0])
    held_out = np.array([0.5, 0.0, 1.0], np.float32)
    expected = 0.5 * ((1.0 - guider[np.arange(3), labels]) + held_out)
    np.testing.assert_allclose(losses.disbelief_with_held_out(guider, labels, held_out),
                               expected, atol=1e-7)
    np.testing.assert_allclose(expected, [0.7, 0.1, 0.75], atol=1e-7)


def test_held_out_disbelief_reads_the_held_out_posterior_at_each_label():
    images, labels = toy_data(n=60, labelled=20, num_classes=3)
    disbelief = label_spreading.held_out_disbelief(images, labels, 3, seed=4)
    rows = np.flatnonzero(labels >= 0)
    posterior = label_spreading.held_out_posterior_of_labels(images, labels, 3, seed=4)
    assert disbelief.dtype == np.float32 and disbelief.shape == (60,)
    np.testing.assert_allclose(disbelief[rows], 1.0 - posterior[np.arange(20), labels[rows]],
                               atol=1e-6)
    np.testing.assert_array_equal(disbelief[labels < 0], 0.0)
    assert np.all((disbelief >= 0.0) & (disbelief <= 1.0))
    one = np.full(60, -1)
    one[0] = 2
    with pytest.raises(ValueError, match="at least 2 labelled rows"):
        label_spreading.held_out_disbelief(images, one, 3)


def first_batch(stream):
    return {key: value.numpy() for key, value in next(iter(stream)).items()}


def test_the_stream_carries_each_rows_held_out_disbelief():
    images, labels = toy_data()
    expected = label_spreading.held_out_disbelief(images, labels, 10, seed=3)
    stream, _ = streams.semi_supervised_stream(images, labels, 10, 5, 15, seed=3)
    batch = first_batch(stream)
    np.testing.assert_allclose(batch[HELD_OUT_DISBELIEF_KEY], expected[batch[INDEX_KEY]])
    given = np.linspace(0.0, 1.0, len(labels)).astype(np.float32)
    stream, _ = streams.semi_supervised_stream(images, labels, 10, 5, 15, seed=3,
                                               held_out_disbelief=given)
    batch = first_batch(stream)
    np.testing.assert_allclose(batch[HELD_OUT_DISBELIEF_KEY], given[batch[INDEX_KEY]])
    stream, _ = streams.semi_supervised_stream(images, labels, 10, 5, 15, seed=3,
                                               held_out_disbelief=False)
    assert HELD_OUT_DISBELIEF_KEY not in first_batch(stream)


@pytest.mark.parametrize("values, message", [
    (np.zeros(3), "one value per image"),
    (np.full(40, 1.5), r"lie in \[0, 1\]"),
    (np.full(40, np.nan), r"lie in \[0, 1\]"),
])
def test_bad_held_out_disbeliefs_raise_value_errors(values, message):
    images, labels = toy_data()
    with pytest.raises(ValueError, match=message):
        streams.semi_supervised_stream(images, labels, 10, 5, 15, seed=0,
                                       held_out_disbelief=values)


def test_with_held_out_weights_each_label_by_the_mean_disbelief():
    model = make_umn(uncertainty="with_held_out", uncertainty_warmup=0.0)
    images, labels = toy_data()
    model.fit(streams.semi_supervised_stream(images, labels, 10, 5, 15, seed=0)[0], epochs=1,
              steps_per_epoch=3, verbose=0)
    labelled = labels >= 0
    rows = np.flatnonzero(labelled)
    held_out = np.linspace(0.1, 0.9, len(labels)).astype(np.float32)
    guider = np.array(model.predict(images, verbose=0))
    eps = 0.5 * ((1.0 - guider[rows, labels[rows]]) + held_out[rows])
    np.testing.assert_allclose(
        model.label_uncertainty(images[rows], labels[rows], batch_size=4,
                                held_out_disbelief=held_out[rows]), eps, atol=1e-6)
    # The labelled term of Eq. 7 with that eps (deterministic terms, eager and compiled).
    low, high = model.uncertainty_clip
    clipped = np.clip(eps, low, high)
    learner = np.array(model.learner_probabilities(images))
    weight = np.log(9.0 * (1.0 - clipped) / clipped)
    expected = -np.sum(weight * learner[rows, labels[rows]]) / labelled.sum()
    compiled = tf.function(lambda x, y, d: model.compute_terms(x, y, held_out_disbelief=d))
    for terms in (model.compute_terms(images, labels, held_out_disbelief=held_out),
                  compiled(images, labels, held_out)):
        np.testing.assert_allclose(float(terms["label_loss"]), expected, rtol=1e-4)
    # Without the held-out values an evaluation reads the guider's disbelief alone.
    alone = model.compute_terms(images, labels)["eps"].numpy()[rows]
    np.testing.assert_allclose(alone, 1.0 - guider[rows, labels[rows]], atol=1e-6)
    restored = UncertaintyMiningNet.from_config(model.get_config())
    assert restored.uncertainty == "with_held_out" and restored.eps_from_guider


def test_training_without_the_held_out_disbelief_says_how_to_add_it():
    model = make_umn(uncertainty="with_held_out")
    images, labels = toy_data()
    stream, _ = streams.semi_supervised_stream(images, labels, 10, 5, 15, seed=0,
                                               held_out_disbelief=False)
    with pytest.raises(ValueError, match="held_out_disbelief"):
        model.fit(stream, epochs=1, steps_per_epoch=2, verbose=0)
    assert "fit(x, y) on arrays adds it" in MISSING_HELD_OUT_MESSAGE
    # Evaluation needs none (test labels have no held-out view).
    model.evaluate(images, labels, verbose=0)


def test_fit_on_arrays_adds_the_held_out_disbelief_of_every_label():
    model = make_umn(uncertainty="with_held_out", seed=5)
    images, labels = toy_data()
    x, y = model._with_held_out_disbelief(images, labels)
    assert y is labels and set(x) == {"image", HELD_OUT_DISBELIEF_KEY}
    np.testing.assert_allclose(x[HELD_OUT_DISBELIEF_KEY],
                               label_spreading.held_out_disbelief(images, labels, 10, seed=5))
    labelled_dict, none = model._with_held_out_disbelief({"image": images, LABEL_KEY: labels},
                                                         None)
    assert none is None and HELD_OUT_DISBELIEF_KEY in labelled_dict
    history = model.fit(images, labels, batch_size=10, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    model.fit({"image": images, "label": labels}, batch_size=10, epochs=1, verbose=0)
    # Another eps leaves the data as it is.
    other = make_umn(uncertainty="disbelief")
    assert other._with_held_out_disbelief(images, labels)[0] is images


def test_label_issues_eps_is_the_with_held_out_score_under_that_eps():
    model = make_umn(uncertainty="with_held_out")
    images, labels = toy_data()
    by_eps = model.label_issues(images, labels, score="eps", seed=2)
    default = model.label_issues(images, labels, seed=2)
    assert by_eps.score_name == "eps"
    np.testing.assert_allclose(in_index_order(by_eps), in_index_order(default), atol=1e-12)
    rows = np.flatnonzero(labels >= 0)
    held_out = label_spreading.held_out_disbelief(images, labels, 10, seed=2)[rows]
    # toy_data labels the first rows, so positions in x are positions among the labels.
    np.testing.assert_allclose(
        in_index_order(by_eps),
        model.label_uncertainty(images[rows], labels[rows], held_out_disbelief=held_out),
        atol=1e-6)


def test_table3_reads_eps_with_the_held_out_disbelief():
    settings = override(PRESETS["smoke"], uncertainty_estimate="with_held_out")
    assert umn_tables.reads_held_out_disbelief("umn", settings)
    assert not umn_tables.reads_held_out_disbelief("m_vae", settings)
    assert not umn_tables.reads_held_out_disbelief(
        "umn", override(settings, uncertainty_estimate="disbelief"))
    images, labels = toy_data()
    history = EpsHistory(images[:10], labels[:10], held_out_disbelief=np.full(10, 0.4))
    model = make_umn(uncertainty="with_held_out")
    history.set_model(model)
    history.on_epoch_end(0)
    guider = np.array(model.predict(images[:10], verbose=0))
    np.testing.assert_allclose(history.eps_per_epoch[0],
                               0.5 * (1.0 - guider[np.arange(10), labels[:10]] + 0.4), atol=1e-6)


def test_table3_cuts_a_probability_eps_at_one_half_and_the_papers_at_otsu():
    assert umn_tables.table3_threshold("auto", "with_held_out") == 0.5
    assert umn_tables.table3_threshold("auto", "disbelief") == 0.5
    assert umn_tables.table3_threshold("AUTO", "guider") == "otsu"
    assert umn_tables.table3_threshold("0.2", "with_held_out") == "0.2"
    assert umn_tables.table3_threshold("otsu", "with_held_out") == "otsu"


def test_fit_under_the_default_eps_still_refuses_sample_weights_and_takes_float_labels():
    model = make_umn()
    images, labels = toy_data()
    with pytest.raises(ValueError, match="sample weights"):
        model.fit(images, labels, sample_weight=np.ones(len(labels)), batch_size=10,
                  epochs=1, verbose=0)
    # Whole-number floats (a pandas column with missing values) are labels too. (A fresh
    # model: Keras keeps the half-traced step of a fit that failed.)
    model = make_umn()
    history = model.fit(images, labels.astype(np.float64), batch_size=10, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    x, _ = model._with_held_out_disbelief(images, labels)
    bad = dict(x, **{HELD_OUT_DISBELIEF_KEY: np.full(len(labels), np.nan)})
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        model.fit(bad, labels, batch_size=10, epochs=1, verbose=0)


def test_label_issues_eps_reproduces_the_training_eps_of_a_seeded_model():
    model = make_umn(seed=5)
    images, labels = toy_data()
    x, _ = model._with_held_out_disbelief(images, labels)
    rows = np.flatnonzero(labels >= 0)
    trained_with = model.label_uncertainty(images[rows], labels[rows],
                                           held_out_disbelief=x[HELD_OUT_DISBELIEF_KEY][rows])
    by_eps = model.label_issues(images, labels, score="eps")   # seed None: the model's
    np.testing.assert_allclose(in_index_order(by_eps), trained_with, atol=1e-6)


def test_table3_reads_the_held_out_disbelief_the_stream_carries():
    images, labels = toy_data()
    rows = np.flatnonzero(labels >= 0)
    data = types.SimpleNamespace(x_train=images, num_classes=10)
    split = types.SimpleNamespace(labels=labels, labelled_indices=rows)
    settings = override(PRESETS["smoke"], uncertainty_estimate="with_held_out",
                        held_out_view="label_spreading")
    read, posterior = umn_tables.held_out_view(data, split, settings, 7, 0.3)
    # The posterior label_issues(seed=7) fits on the same images and labels.
    np.testing.assert_allclose(
        posterior, label_spreading.held_out_posterior_of_labels(images, labels, 10, seed=7))
    stream, _ = streams.semi_supervised_stream(images, labels, 10, 5, 15, seed=7)
    batch = first_batch(stream)
    carried = dict(zip(batch[INDEX_KEY].tolist(), batch[HELD_OUT_DISBELIEF_KEY].tolist()))
    assert carried and all(read[row] == pytest.approx(value, abs=1e-7)
                           for row, value in carried.items())


def test_train_method_carries_a_given_held_out_view_only_where_it_is_read(monkeypatch):
    data = tf_data.load_dataset("digits")
    split = umn_tables.make_noisy_split(data, 50, 0.3, seed=1)
    settings = override(PRESETS["smoke"], uncertainty_estimate="with_held_out",
                        held_out_view="label_spreading")
    given = np.linspace(0.0, 1.0, len(data.x_train)).astype(np.float32)

    class Stop(Exception):
        """Raised by the stream spy to end `train_method` before it trains."""

    seen = {}

    def spy(images, labels, *args, held_out_disbelief=True, **kwargs):
        seen["held_out_disbelief"] = held_out_disbelief
        raise Stop

    monkeypatch.setattr(umn_tables.streams, "semi_supervised_stream", spy)
    with pytest.raises(Stop):
        umn_tables.train_method("umn", data, split, settings, 1, 0.3, held_out_disbelief=given)
    assert seen["held_out_disbelief"] is given
    with pytest.raises(Stop):
        umn_tables.train_method("umn", data, split, settings, 1, 0.3)
    assert seen["held_out_disbelief"] is True
    with pytest.raises(ValueError, match="does not read it"):
        umn_tables.train_method("m_vae", data, split, settings, 1, 0.3,
                                held_out_disbelief=given)


def test_the_shuffled_view_is_a_held_out_disbelief_that_knows_nothing():
    data = tf_data.load_dataset("digits")
    split = umn_tables.make_noisy_split(data, 50, 0.3, seed=2)
    settings = override(PRESETS["smoke"], held_out_view="shuffled")
    shuffled, posterior = umn_tables.held_out_view(data, split, settings, 2, 0.3)
    assert posterior.shape == (len(split.labelled_indices), 10)   # what issues_* read
    assert shuffled.shape == (len(data.x_train),) and shuffled.dtype == np.float32
    assert np.all((shuffled >= 0.0) & (shuffled <= 1.0))
    assert np.all(shuffled[split.labels < 0] == 0.0)
    rows = split.labelled_indices
    real = label_spreading.held_out_disbelief(data.x_train, split.labels, 10, seed=2)
    # The real view ranks the wrong labels (ROC AUC 0.98 here); the shuffled one is at
    # chance (0.50 here).
    assert roc_auc_score(split.is_corrupted, real[rows]) > 0.9
    assert roc_auc_score(split.is_corrupted, shuffled[rows]) < 0.7
