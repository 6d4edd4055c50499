"""umn.label_spreading: distributions, the held-out posterior, UMN's default label_issues."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.test_umn_model import make_umn
from tests.test_umn_model import toy_data
from tests.test_umn_model import toy_stream
from tests.test_umn_noise_rate import C
from tests.test_umn_noise_rate import clustered_set
from umn import label_spreading
from umn.label_spreading import held_out_label_posterior
from umn.label_spreading import label_spreading_distributions


def test_distributions_are_rows_over_all_classes_with_absent_classes_at_zero():
    points, labels = clustered_set(0.0, seed=0)
    labels = np.where(labels == 3, -1, labels)   # class 3 has no label left
    features = label_spreading.principal_components(points, 10, seed=0)
    distributions = label_spreading_distributions(features, labels, 7, C)
    assert distributions.shape == (len(points), C)
    np.testing.assert_allclose(distributions.sum(axis=1), 1.0)
    assert np.all(distributions >= 0.0)
    # Class 3's cluster is a kNN island holding no label: uniform rows.
    uniform = np.all(np.isclose(distributions, 1.0 / C), axis=1)
    assert uniform.sum() == 70
    assert np.all(distributions[~uniform, 3] == 0.0)


def test_a_component_without_labels_gets_the_uniform_distribution():
    far = np.r_[np.zeros((5, 2)), np.full((5, 2), 1e3)]       # two 4-NN islands
    labels = np.r_[[0, 1, -1, -1, -1], np.full(5, -1)]
    distributions = label_spreading_distributions(far, labels, 4, 3)
    np.testing.assert_allclose(distributions[5:], 1.0 / 3.0)
    assert np.all(distributions[:5, 2] == 0.0)


def test_a_rows_posterior_never_depends_on_its_own_label(monkeypatch):
    points, labels = clustered_set(0.0, seed=1)
    labelled = np.flatnonzero(labels >= 0)
    fixed_parts = np.arange(len(labelled)) % 5
    # The folds are dealt by class; fix them so that only the label changes.
    monkeypatch.setattr(label_spreading, "balanced_parts", lambda observed, n, rng: fixed_parts)
    before = held_out_label_posterior(points, labels, C, num_components=10)
    changed = labels.copy()
    row = 7
    changed[labelled[row]] = (labels[labelled[row]] + 1) % C
    after = held_out_label_posterior(points, changed, C, num_components=10)
    np.testing.assert_array_equal(before[row], after[row])
    others = np.flatnonzero(fixed_parts != fixed_parts[row])
    assert not np.array_equal(before[others], after[others])   # the label is used for them


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_held_out_posterior_doubts_the_wrong_labels_on_separable_clusters(noise):
    points, labels = clustered_set(noise, seed=0)
    truth = np.repeat(np.arange(C), 70)
    labelled = np.flatnonzero(labels >= 0)
    posterior = held_out_label_posterior(points, labels, C, num_components=10, seed=0)
    assert posterior.shape == (len(labelled), C)
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0)
    on_given = posterior[np.arange(len(labelled)), labels[labelled]]
    if noise == 0.0:   # every label is believed and every class right
        assert np.all(on_given > 0.5)
        np.testing.assert_array_equal(np.argmax(posterior, axis=1), truth[labelled])
    else:   # the wrong labels are ranked first (a wrong neighbour can still mislead)
        wrong = labels[labelled] != truth[labelled]
        assert roc_auc_score(wrong, 1.0 - on_given) > 0.95


def test_held_out_posterior_is_deterministic_and_takes_images():
    points, labels = clustered_set(0.2, seed=3)
    first = held_out_label_posterior(points.reshape(-1, 4, 5, 1), labels, C, seed=2)
    second = held_out_label_posterior(points, labels, C, seed=2)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("labels,kwargs,message", [
    (np.r_[[1, 2, 3], np.full(37, -1)], {}, "at least folds=5 labelled rows"),
    (np.r_[[1, 2, 3], np.full(37, -1)], {"folds": 1}, "folds must be at least 2"),
    (np.r_[[1, 12, 3], np.full(37, -1)], {}, r"\[0, 10\)"),
    (np.full(40, -1), {}, "no labelled"),
])
def test_held_out_posterior_rejects_bad_inputs(labels, kwargs, message):
    points = np.random.default_rng(0).normal(size=(len(labels), 5))
    with pytest.raises(ValueError, match=message):
        held_out_label_posterior(points, labels, C, **kwargs)


def test_held_out_posterior_rejects_images_that_do_not_match_the_labels():
    points = np.random.default_rng(0).normal(size=(10, 5))
    with pytest.raises(ValueError, match="same number of examples"):
        held_out_label_posterior(points, np.r_[np.arange(5), np.full(6, -1)], C)


@pytest.mark.parametrize("seed", range(6))
def test_classes_smaller_than_the_folds_still_fill_every_fold(seed):
    # Two labels of different classes and two folds: dealt class by class
    # from random parts, both can land in one part; each must be read off
    # the other's label instead of left uniform.
    # Points along a line: the 7-NN graph is connected.
    points = np.c_[np.linspace(0.0, 1.0, 20), np.random.default_rng(seed).normal(size=20) * 1e-3]
    labels = np.full(20, -1)
    labels[[0, 10]] = [0, 1]
    posterior = held_out_label_posterior(points, labels, 2, folds=2, num_components=2,
                                         seed=seed)
    # Each row sees only the other class's label: all its mass goes there.
    np.testing.assert_allclose(posterior, [[0.0, 1.0], [1.0, 0.0]])
    parts = label_spreading.balanced_parts(np.array([0, 0, 1, 2, 2, 2, 3]), 3,
                                           np.random.default_rng(seed), in_one_run=True)
    assert sorted(np.bincount(parts, minlength=3)) == [2, 2, 3]


def test_held_out_posterior_depends_on_its_seed():
    points, labels = clustered_set(0.3, seed=0)
    first = held_out_label_posterior(points, labels, C, num_components=10, seed=0)
    assert not np.array_equal(first, held_out_label_posterior(points, labels, C,
                                                              num_components=10, seed=1))


def test_umn_label_issues_default_is_the_mean_of_guider_and_held_out_posteriors():
    model = make_umn()
    images, labels = toy_data()
    model.fit(toy_stream(images, labels), epochs=1, steps_per_epoch=3, verbose=0)
    issues = model.label_issues(images, labels, batch_size=8, seed=4)
    assert issues.score_name == "wrong_label_probability"
    labelled = np.flatnonzero(labels >= 0)
    guider = np.array(model.predict(images[labelled], verbose=0), dtype=np.float64)
    held_out = held_out_label_posterior(images, labels, 10, seed=4)
    mean = 0.5 * (guider + held_out)
    assert set(issues.indices) == set(labelled)      # positions in x, labelled rows only
    rows = np.searchsorted(labelled, issues.indices)
    np.testing.assert_allclose(issues.scores, 1.0 - mean[rows, labels[issues.indices]],
                               atol=1e-6)
    np.testing.assert_array_equal(issues.suggested_labels, mean.argmax(axis=1)[rows])
    assert np.all(np.diff(issues.scores) <= 0)
    # Fewer labelled rows than folds: one fold per row; a single label cannot be held out.
    few = np.full(len(labels), -1)
    few[labelled[:3]] = labels[labelled[:3]]
    three = model.label_issues(images, few)
    np.testing.assert_allclose(np.sort(three.scores), np.sort(
        1.0 - 0.5 * (guider[:3] + held_out_label_posterior(images, few, 10, folds=3))
        [np.arange(3), labels[labelled[:3]]]), atol=1e-6)
    few[labelled[1:3]] = -1
    with pytest.raises(ValueError, match="at least 2 labelled rows"):
        model.label_issues(images, few)
