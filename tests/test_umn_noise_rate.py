"""umn.noise_rate: the closed form, the estimator on clustered data, its input checks."""

import numpy as np
import pytest

from keras import ops

from tf_data.noise import corrupt_within_classes
from umn import losses
from umn.noise_rate import estimate_noise_rate
from umn.noise_rate import rate_from_agreements

C = 10


def simulated_agreements(rate, accuracy, n, rng):
    """d and m of two classifiers with independent, evenly spread errors (Monte Carlo)."""
    truth = rng.integers(0, C, n)

    def noisy_copy(keep):
        wrong = (truth + rng.integers(1, C, n)) % C
        return np.where(rng.uniform(size=n) < keep, truth, wrong)

    label = noisy_copy(1.0 - rate)
    first, second = noisy_copy(accuracy), noisy_copy(accuracy)
    return np.mean(first != label), np.mean(first == second)


@pytest.mark.parametrize("rate,accuracy", [(0.0, 0.9), (0.2, 0.7), (0.4, 0.55), (0.5, 0.8)])
def test_rate_from_agreements_inverts_the_symmetric_noise_model(rate, accuracy):
    held_out, cross = simulated_agreements(rate, accuracy, 400_000, np.random.default_rng(1))
    estimated, implied_accuracy = rate_from_agreements(held_out, cross, C)
    assert abs(estimated - rate) < 0.01
    assert abs(implied_accuracy - accuracy) < 0.01


def test_rate_from_agreements_closed_form_and_limits():
    # a = 0.82, u = 0.8: m = 0.1 + (10/9) 0.72^2, d = 1 - 0.1 - 0.8 * 0.72.
    rate, accuracy = rate_from_agreements(1 - 0.1 - 0.8 * 0.72, 0.1 + 0.72**2 / 0.9, C)
    assert rate == pytest.approx(0.9 * 0.2) and accuracy == pytest.approx(0.82)
    # Classifiers at chance carry no information: the estimate is "all labels random".
    assert rate_from_agreements(0.5, 0.1, C)[0] == pytest.approx(0.9)
    # Labels agreeing better than the classifier's own accuracy allows: no noise.
    assert rate_from_agreements(0.0, 0.9, C)[0] == 0.0


def clustered_set(noise, seed, labelled_per_class=10, unlabelled_per_class=60):
    """Ten well-separated Gaussian clusters in 20-d; labelled rows corrupted at `noise`."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6.0, size=(C, 20))
    per_class = labelled_per_class + unlabelled_per_class
    truth = np.repeat(np.arange(C), per_class)
    points = centres[truth] + rng.normal(size=(len(truth), 20))
    labels = np.full(len(truth), -1)
    labelled = np.concatenate([np.arange(c * per_class, c * per_class + labelled_per_class)
                               for c in range(C)])
    labels[labelled] = corrupt_within_classes(truth[labelled], noise, C, seed).labels
    return points.astype("float32"), labels


@pytest.mark.parametrize("noise", [0.0, 0.3, 0.5])
def test_estimate_noise_rate_finds_the_rate_on_separable_clusters(noise):
    points, labels = clustered_set(noise, seed=0)
    estimate = estimate_noise_rate(points, labels, C, num_components=10, seed=0)
    assert abs(estimate.rate - noise) < 0.08
    if noise == 0.0:  # with noise the halves' classifiers learn some wrong labels
        assert estimate.classifier_accuracy > 0.9
    assert 0.0 <= estimate.held_out_disagreement <= 1.0


def test_estimate_noise_rate_takes_images_and_is_deterministic():
    points, labels = clustered_set(0.2, seed=3)
    images = points.reshape(-1, 4, 5, 1)
    first = estimate_noise_rate(images, labels, C, num_components=10, seed=5)
    second = estimate_noise_rate(points, labels, C, num_components=10, seed=5)
    assert first == second


def test_estimate_noise_rate_without_unlabelled_rows_holds_out_a_third():
    points, labels = clustered_set(0.3, seed=1, labelled_per_class=30, unlabelled_per_class=0)
    estimate = estimate_noise_rate(points, labels, C, num_components=10)
    assert abs(estimate.rate - 0.3) < 0.1


def test_estimate_noise_rate_subsamples_the_unlabelled_rows():
    points, labels = clustered_set(0.3, seed=0)
    estimate = estimate_noise_rate(points, labels, C, num_components=10, max_unlabelled=200)
    assert abs(estimate.rate - 0.3) < 0.1


@pytest.mark.parametrize("labels,message", [
    (np.r_[[3, 4], np.full(0, -1)], "at least 3 labelled rows when no row is unlabelled"),
    (np.r_[[3], np.full(39, -1)], "at least 2 labelled"),
    (np.r_[[10], np.full(39, -1)], r"\[0, 10\)"),
    (np.full(39, -1), "no labelled"),
])
def test_estimate_noise_rate_rejects_bad_labels(labels, message):
    points = np.random.default_rng(0).normal(size=(len(labels), 5))
    with pytest.raises(ValueError, match=message):
        estimate_noise_rate(points, labels, C)


def test_estimate_noise_rate_rejects_a_split_with_an_empty_part():
    # Three labelled rows of three classes, none unlabelled: some deal leaves a part empty.
    points = np.random.default_rng(0).normal(size=(3, 5))
    with pytest.raises(ValueError, match="came out empty"):
        for seed in range(20):
            estimate_noise_rate(points, np.array([0, 1, 2]), C, seed=seed)


def test_estimate_noise_rate_rejects_mismatched_lengths_and_bad_sizes():
    points, labels = clustered_set(0.1, seed=0)
    with pytest.raises(ValueError, match="same number of examples"):
        estimate_noise_rate(points[:-1], labels, C)
    with pytest.raises(ValueError, match="repeats must be a positive integer"):
        estimate_noise_rate(points, labels, C, repeats=0)
    with pytest.raises(ValueError, match="NaN"):
        estimate_noise_rate(np.where(np.arange(len(points))[:, None] == 3, np.nan, points),
                            labels, C)


def test_rate_scaled_label_weight_is_the_m_vae_weight_relative_to_a_trusted_label():
    def f(eps):
        return np.log((C - 1) * (1 - eps) / eps)

    clip = (0.01, 0.8)
    for rate in (0.0, 0.005, 0.1, 0.3, 0.5, 0.95):
        expected = f(min(max(rate, clip[0]), clip[1])) / f(clip[0])
        value = float(ops.convert_to_numpy(losses.rate_scaled_label_weight(rate, C, clip)))
        assert value == pytest.approx(expected, rel=1e-5)
    unknown = losses.rate_scaled_label_weight(-1.0, C, clip)
    assert float(ops.convert_to_numpy(unknown)) == 1.0


@pytest.mark.parametrize("case, expected", [
    ("clusters 30%", (0.322927348380756, 0.45768218825991935, 0.62875, 0.7898369372540152)),
    ("clusters 50%", (0.6323366852950012, 0.7779647916859052, 0.28708333333333336,
                      0.5103352288068866)),
    # Few labels and a kNN island without any: rows left without mass.
    ("island", (0.6666666666666667, 0.5416666666666666, 0.17647058823529413,
                0.3333333333333333)),
])
def test_estimate_noise_rate_keeps_its_values(case, expected):
    # Golden values of the estimator before its label spreading moved to
    # umn.label_spreading: the move must not change a single estimate.
    if case == "island":
        rng = np.random.default_rng(0)
        points = np.r_[rng.normal(size=(30, 3)), rng.normal(size=(10, 3)) + 100]
        labels = np.full(40, -1)
        labels[:6] = [0, 1, 1, 2, 2, 1]
        estimate = estimate_noise_rate(points, labels, 3, num_components=3, seed=0)
    else:
        noise, seed = (0.3, 0) if case == "clusters 30%" else (0.5, 2)
        points, labels = clustered_set(noise, seed=seed)
        estimate = estimate_noise_rate(points, labels, C, num_components=10, seed=seed)
    np.testing.assert_allclose(
        (estimate.rate, estimate.held_out_disagreement, estimate.cross_agreement,
         estimate.classifier_accuracy), expected, rtol=1e-12)
