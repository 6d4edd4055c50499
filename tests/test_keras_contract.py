"""The Keras contract of the robust CRF models: user metrics, evaluate, validation data,
label issues, export; and `LabelIssues` itself."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

import tf_data
from robustcrf import AuxiliaryPosterior
from robustcrf import RobustCRFModel
from robustcrf.multilabel import data as multilabel_data
from robustcrf.multilabel.cross_entropy import CrossEntropyMultilabel
from robustcrf.multilabel.model import RobustMultilabelCRF
from tf_data.label_issues import issues_from_probabilities
from tf_data.label_issues import suggest_for_most_suspicious
from tf_data.label_issues import wrong_label_probabilities
from tf_data.label_issues import rank_label_issues
from tf_data.multilabel_dataset import MultilabelSplit

C = 3
PLANTED = 5  # the example whose label is made wrong


def separable_classes(n=90, seed=0):
    """Three well separated Gaussian blobs in 4-d; example PLANTED gets a wrong label."""
    rng = np.random.default_rng(seed)
    clean = np.arange(n) % C
    x = (rng.normal(0, 0.3, (n, 4)) + 3.0 * np.eye(4)[clean]).astype("float32")
    given = clean.copy()
    given[PLANTED] = (clean[PLANTED] + 1) % C
    return x, given, clean


def dense_head(outputs=C):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(outputs)])


def test_label_issues_rank_sort_flag_and_write_csv(tmp_path):
    issues = rank_label_issues([0, 1, 2, 1], [0, 2, 2, 0], [0.1, 0.9, 0.2, 0.5],
                               indices=[10, 11, 12, 13], score_name="p_wrong")
    assert issues.indices.tolist() == [11, 13, 12, 10] and len(issues) == 4
    assert issues.flagged().indices.tolist() == [11, 13]
    assert issues.top(1).indices.tolist() == [11]
    path = issues.flagged().to_csv(str(tmp_path / "s.csv"))
    rows = list(csv.reader(open(path)))
    assert rows == [["index", "given_label", "suggested_label", "p_wrong"],
                    ["11", "1", "2", "0.900000"], ["13", "1", "0", "0.500000"]]
    multi = issues_from_probabilities([[0.9, 0.2], [0.1, 0.8]], [[1, 0], [1, 1]])
    assert multi.indices.tolist() == [1, 0]
    np.testing.assert_allclose(multi.scores, [0.9, 0.2])
    assert multi.suggested_labels.tolist() == [[0, 1], [1, 0]]
    assert multi.to_csv(str(tmp_path / "m.csv"))
    assert list(csv.reader(open(tmp_path / "m.csv")))[1] == ["1", "0;1", "1", "0.900000"]
    with pytest.raises(ValueError, match="NaN"):
        rank_label_issues([0, 1], [0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="same shape"):
        rank_label_issues([0, 1], [0], [0.1, 0.2])


def test_wrong_label_probabilities_are_one_minus_the_given_entry():
    posterior = np.array([[0.9, 0.1, 0.0], [0.3, 0.5, 0.2]])
    np.testing.assert_allclose(wrong_label_probabilities(posterior, [0, 2]), [0.1, 0.8])
    with pytest.raises(ValueError, match="same number"):
        wrong_label_probabilities(posterior, [0])
    with pytest.raises(ValueError, match=r"posterior must be \(n, classes\)"):
        wrong_label_probabilities(posterior[0], [0])


def test_suggest_for_most_suspicious_flags_the_count_lowest_given_probabilities():
    posterior = np.array([[0.4, 0.35, 0.25],   # given 0: score 0.6, flagged -> 1
                          [0.6, 0.4, 0.0],     # given 0: score 0.4, kept
                          [0.1, 0.2, 0.7],     # given 1: score 0.8, flagged -> 2
                          [0.5, 0.5, 0.0]])    # given 1: score 0.5, kept at count 2
    assert suggest_for_most_suspicious(posterior, [0, 0, 1, 1], 2).tolist() == [1, 0, 2, 1]
    assert suggest_for_most_suspicious(posterior, [0, 0, 1, 1], 0).tolist() == [0, 0, 1, 1]
    # Against the closed form on random posteriors.
    rng = np.random.default_rng(0)
    posterior = rng.dirichlet(np.ones(4), size=200)
    given = rng.integers(0, 4, 200)
    suggested = suggest_for_most_suspicious(posterior, given, 30)
    own = posterior[np.arange(200), given]
    flagged = suggested != given
    assert flagged.sum() == 30 and own[flagged].max() < own[~flagged].min()
    masked = np.where(np.eye(4, dtype=bool)[given], -1.0, posterior)
    np.testing.assert_array_equal(suggested[flagged], masked.argmax(axis=1)[flagged])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        suggest_for_most_suspicious(np.full((2, 3), 1 / 3), [0, 3], 1)
    with pytest.raises(ValueError, match="same number"):
        suggest_for_most_suspicious(np.full((2, 3), 1 / 3), [0], 1)
    with pytest.raises(ValueError, match=r"count must be an integer in \[0, 2\]"):
        suggest_for_most_suspicious(np.full((2, 3), 1 / 3), [0, 1], 3)


def test_multiclass_crf_honours_user_metrics_validation_label_issues_and_export(tmp_path):
    keras.utils.set_random_seed(0)
    x, given, _ = separable_classes()
    transition = tf_data.transition_matrix("symmetric", C, 0.1)
    model = RobustCRFModel(dense_head(), AuxiliaryPosterior.from_transition_matrix(
        transition, np.full(C, 1 / C)), alpha=0.5)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="user_acc")])
    history = model.fit(x, given, batch_size=30, epochs=15, verbose=0,
                        validation_data=(x[:30], given[:30]))
    for name in ("loss", "noisy_nll", "accuracy", "user_acc", "val_loss", "val_user_acc",
                 "min_class_share_ratio"):
        assert name in history.history, name
    assert history.history["user_acc"][-1] > 0.9
    results = model.evaluate(x, given, verbose=0, return_dict=True)
    assert results["user_acc"] == pytest.approx(results["accuracy"], abs=1e-6)
    issues = model.label_issues(x, given)
    assert issues.indices[0] == PLANTED
    model.export(str(tmp_path / "crf"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "crf"))  # keep it referenced while serving
    served = reloaded.serve(x)
    np.testing.assert_allclose(served, model.predict(x, verbose=0), atol=1e-5)


def test_plain_keras_baseline_label_issues_from_probabilities():
    keras.utils.set_random_seed(0)
    x, given, _ = separable_classes()
    model = dense_head()
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, given, batch_size=30, epochs=15, verbose=0)
    issues = issues_from_probabilities(tf.nn.softmax(model.predict(x, verbose=0)), given)
    assert issues.indices[0] == PLANTED


def multilabel_split(n=48, seed=0):
    """Two independent separable labels (same vocabulary); example PLANTED has label 0 flipped."""
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, 2, (n, 2)).astype(np.uint8)
    x = (rng.normal(0, 0.2, (n, 4)) + np.concatenate([clean, 1 - clean], 1) * 2.0
         ).astype("float32")
    noisy = clean.copy()
    noisy[PLANTED, 0] = 1 - noisy[PLANTED, 0]
    return MultilabelSplit(clean, noisy, images=x)


def feature_backbone():
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(8, activation="relu")(inputs))


@pytest.mark.parametrize("kind", ["crf", "cross_entropy"])
def test_multilabel_models_honour_user_metrics_evaluate_label_issues_and_export(kind,
                                                                                 tmp_path):
    keras.utils.set_random_seed(0)
    split = multilabel_split()
    clean_rows = np.arange(12)
    if kind == "crf":
        model = RobustMultilabelCRF(feature_backbone(), 2, 2, num_examples=len(split),
                                    num_hidden=0, num_chains=2, num_sweeps=2, predict_chains=4,
                                    predict_burn_in=4, predict_samples=8, seed=0)
        batches = multilabel_data.mixed_training_batches(split, clean_rows, 12, 4, 0,
                                                         num_clean=2, num_noisy=2)
        steps = 4
    else:
        model = CrossEntropyMultilabel(feature_backbone(), 2)
        batches = multilabel_data.supervised_batches(split, split.noisy_labels, 12, 0)
        steps = 4
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  metrics=[keras.metrics.BinaryAccuracy(name="user_acc")])
    validation = (split.images, split.clean_labels.astype("float32"))
    history = model.fit(batches, epochs=12, steps_per_epoch=steps, verbose=0,
                        validation_data=validation)
    for name in ("loss", "user_acc", "val_loss", "val_map", "val_user_acc"):
        assert name in history.history, name
    results = model.evaluate(*validation, verbose=0, return_dict=True)
    assert results["map"] > 0.95 and results["user_acc"] > 0.8
    issues = model.label_issues(split.images, split.noisy_labels)
    assert issues.indices[0] == PLANTED
    assert issues.suggested_labels[0].tolist() == split.clean_labels[PLANTED].tolist()
    model.export(str(tmp_path / kind), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / kind))
    served = reloaded.serve(split.images)
    assert served.shape == (len(split), 2)
    if kind == "cross_entropy":  # the CRF's marginals are Gibbs samples: compare ranks only
        np.testing.assert_allclose(served, model.predict(split.images, verbose=0), atol=1e-5)
