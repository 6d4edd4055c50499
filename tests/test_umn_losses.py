"""Closed-form checks of umn.losses, umn.detection, label noise and the PNG."""

import math

import matplotlib.image
import numpy as np
import pytest
from matplotlib.colors import to_rgb

from keras import ops

from scripts.harness import label_detection as detection
from scripts.harness import plots
from umn import losses
from tf_data.noise import corrupt_within_classes

RNG = np.random.default_rng(0)


def numpy_of(x):
    return np.asarray(ops.convert_to_numpy(x))


def test_gaussian_kl_matches_closed_form():
    mean = RNG.normal(size=(4, 3))
    log_var = RNG.normal(size=(4, 3))
    var = np.exp(log_var)
    expected = 0.5 * np.sum(var + mean**2 - 1.0 - np.log(var), axis=-1)
    np.testing.assert_allclose(
        numpy_of(losses.gaussian_kl_to_standard_normal(mean, log_var)), expected, rtol=1e-6)


def test_gaussian_kl_matches_monte_carlo():
    mean, log_var = np.array([[0.7, -0.3]]), np.array([[-0.5, 0.4]])
    std = np.exp(0.5 * log_var)
    z = mean + std * RNG.normal(size=(200000, 2))
    log_q = np.sum(-0.5 * (np.log(2 * np.pi) + log_var + (z - mean) ** 2 / std**2), axis=-1)
    log_p = np.sum(-0.5 * (np.log(2 * np.pi) + z**2), axis=-1)
    kl = float(numpy_of(losses.gaussian_kl_to_standard_normal(mean, log_var))[0])
    assert abs(kl - np.mean(log_q - log_p)) < 0.01


def test_gaussian_log_density_and_entropy():
    x, mean, log_var = RNG.normal(size=(3, 5)), RNG.normal(size=(3, 5)), RNG.normal(size=(3, 5))
    var = np.exp(log_var)
    expected = np.sum(-0.5 * np.log(2 * np.pi * var) - (x - mean) ** 2 / (2 * var), axis=-1)
    np.testing.assert_allclose(numpy_of(losses.gaussian_log_density(x, mean, log_var)),
                               expected, rtol=1e-6)
    np.testing.assert_allclose(numpy_of(losses.gaussian_entropy(log_var)),
                               np.sum(0.5 * np.log(2 * np.pi * math.e * var), axis=-1),
                               rtol=1e-6)


def test_bernoulli_log_likelihood_matches_closed_form():
    x = RNG.uniform(size=(2, 4, 4, 1)).astype("float32")
    logits = RNG.normal(size=(2, 4, 4, 1)).astype("float32")
    p = 1.0 / (1.0 + np.exp(-logits))
    expected = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2, 3))
    np.testing.assert_allclose(numpy_of(losses.bernoulli_log_likelihood(x, logits)),
                               expected, rtol=1e-5)


def test_gaussian_pixel_log_likelihood_per_channel_variance():
    x = RNG.uniform(size=(2, 2, 2, 3)).astype("float32")
    mean = RNG.uniform(size=(2, 2, 2, 3)).astype("float32")
    log_var = np.array([-1.0, 0.0, 0.5], "float32")
    var = np.exp(log_var)
    expected = np.sum(-0.5 * np.log(2 * np.pi * var) - (x - mean) ** 2 / (2 * var), axis=(1, 2, 3))
    np.testing.assert_allclose(numpy_of(losses.gaussian_pixel_log_likelihood(x, mean, log_var)),
                               expected, rtol=1e-5)


def test_categorical_kl_and_unlabelled_elbo():
    probs = np.array([[0.7, 0.2, 0.1], [1 / 3, 1 / 3, 1 / 3]], "float32")
    values = RNG.normal(size=(2, 3)).astype("float32")
    kl = np.sum(probs * np.log(probs * 3), axis=-1)
    np.testing.assert_allclose(numpy_of(losses.categorical_kl_to_uniform(probs)), kl, atol=1e-6)
    np.testing.assert_allclose(numpy_of(losses.unlabelled_elbo(probs, values)),
                               np.sum(probs * values, -1) - kl, atol=1e-5)


@pytest.mark.parametrize("num_classes", [2, 10])
def test_noisy_label_weight_finite_positive_decreasing_on_clip_interval(num_classes):
    low, high = losses.check_uncertainty_clip(1e-4, 0.99 * (num_classes - 1) / num_classes,
                                              num_classes)
    eps = np.linspace(low, high, 500).astype("float32")
    weight = numpy_of(losses.noisy_label_weight(eps, num_classes))
    assert np.all(np.isfinite(weight)) and np.all(weight > 0)
    assert np.all(np.diff(weight) < 0)
    np.testing.assert_allclose(weight, np.log((num_classes - 1) * (1 - eps) / eps), rtol=1e-5)


@pytest.mark.parametrize("clip, message", [
    ((0.0, 0.5), "infinite"), ((-0.1, 0.5), "infinite"), ((0.01, 0.9), "f\\(eps\\) <= 0"),
    ((0.01, 0.95), "f\\(eps\\) <= 0"), ((0.3, 0.2), "low < high"),
    ((0.01, float("nan")), "finite"),
])
def test_check_uncertainty_clip_rejects_bad_intervals(clip, message):
    with pytest.raises(ValueError, match=message):
        losses.check_uncertainty_clip(*clip, num_classes=10)


def test_linear_label_term_is_the_exact_elbo_term_up_to_a_constant():
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]], "float32")
    labels = np.array([0, 2])
    eps = np.array([0.1, 0.4], "float32")
    num_classes = 3
    exact = []
    for b in range(2):
        p_obs = np.where(np.arange(3) == labels[b], 1 - eps[b], eps[b] / (num_classes - 1))
        exact.append(np.sum(probs[b] * np.log(p_obs)))
    constant = np.log(eps / (num_classes - 1))
    linear = numpy_of(losses.noisy_label_log_likelihood(probs, labels, eps, num_classes, "linear"))
    np.testing.assert_allclose(linear + constant, exact, rtol=1e-5)
    log_form = numpy_of(losses.noisy_label_log_likelihood(probs, labels, eps, num_classes, "log"))
    weight = np.log((num_classes - 1) * (1 - eps) / eps)
    np.testing.assert_allclose(log_form, weight * np.log(probs[[0, 1], labels]), rtol=1e-5)
    logits = np.log(probs) + 1.5  # softmax(logits) = probs
    from_logits = numpy_of(losses.noisy_label_log_likelihood(
        probs, labels, eps, num_classes, "log", logits=logits))
    np.testing.assert_allclose(from_logits, log_form, rtol=1e-5)
    np.testing.assert_allclose(numpy_of(losses.noisy_label_log_likelihood(
        probs, labels, eps, num_classes, "linear", logits=logits)), linear, rtol=1e-6)
    with pytest.raises(ValueError, match="form"):
        losses.noisy_label_log_likelihood(probs, labels, eps, num_classes, "square")


def test_label_uncertainty_is_absolute_difference_and_zero_when_equal():
    learner = np.array([[0.6, 0.4], [0.1, 0.9]], "float32")
    guider = np.array([[0.5, 0.5], [0.3, 0.7]], "float32")
    labels = np.array([0, 1])
    np.testing.assert_allclose(numpy_of(losses.label_uncertainty(guider, learner, labels)),
                               [0.1, 0.2], atol=1e-6)
    np.testing.assert_array_equal(numpy_of(losses.label_uncertainty(learner, learner, labels)),
                                  [0.0, 0.0])


def test_guider_disbelief_is_one_minus_the_guiders_given_label_probability():
    guider = np.array([[0.5, 0.5], [0.3, 0.7], [1.0, 0.0]], "float32")
    labels = np.array([0, 1, 1])
    np.testing.assert_allclose(numpy_of(losses.guider_disbelief(guider, labels)),
                               [0.5, 0.3, 1.0], atol=1e-6)
    # Eq. 11 with the learner's prediction replaced by the label's one-hot target.
    target = np.eye(2, dtype="float32")[labels]
    np.testing.assert_allclose(numpy_of(losses.guider_disbelief(guider, labels)),
                               numpy_of(losses.label_uncertainty(guider, target, labels)),
                               atol=1e-6)


def test_ema_schedules():
    np.testing.assert_allclose(numpy_of(losses.ema_update(np.float32(2.0), np.float32(4.0), 0.75)),
                               2.5)
    decays = [float(numpy_of(losses.warmed_up_decay(t, 0.99))) for t in (0, 1, 3, 1000)]
    np.testing.assert_allclose(decays, [0.0, 0.5, 0.75, 0.99], rtol=1e-6)
    ramp = [float(numpy_of(losses.sigmoid_rampup(t, 10))) for t in (0, 5, 10, 20)]
    np.testing.assert_allclose(ramp, [math.exp(-5), math.exp(-1.25), 1.0, 1.0], rtol=1e-6)
    assert float(numpy_of(losses.sigmoid_rampup(3, 0))) == 1.0

def test_otsu_threshold_separates_two_modes():
    values = np.concatenate([RNG.normal(0.02, 0.005, 80), RNG.normal(0.3, 0.03, 20)])
    cut = detection.otsu_threshold(values)
    assert 0.1 < cut < 0.2  # the middle of the empty gap between the modes
    assert detection.otsu_threshold(np.full(5, 0.1)) == 0.1
    assert detection.resolve_threshold("otsu", values) == cut
    assert detection.resolve_threshold("0.2", values) == 0.2
    with pytest.raises(ValueError, match="otsu"):
        detection.resolve_threshold("median", values)


def test_detection_scores_against_hand_counts():
    truth = np.array([1, 1, 0, 0, 0], bool)
    eps = np.array([0.9, 0.1, 0.8, 0.05, 0.0])
    scores = detection.detection_scores(truth, eps, 0.5)
    assert scores["precision"] == 0.5 and scores["recall"] == 0.5 and scores["f1"] == 0.5
    assert scores["roc_auc"] == pytest.approx(5 / 6)
    assert scores["flagged"] == 2
    assert np.isnan(detection.detection_scores(np.zeros(3, bool), eps[:3], 0.5)["roc_auc"])


def test_roc_auc_by_epoch_against_hand_counts():
    truth = np.array([1, 1, 0, 0, 0], bool)
    later = np.array([0.9, 0.1, 0.8, 0.05, 0.0])  # 5 of 6 pairs ranked right
    aucs = detection.roc_auc_by_epoch(truth, [1.0 - later, later, np.zeros(5)])
    assert aucs[0] == pytest.approx(1 / 6) and aucs[1] == pytest.approx(5 / 6)
    assert aucs[2] == 0.5  # ties throughout: chance
    assert np.isnan(detection.roc_auc_by_epoch(np.zeros(3, bool), [later[:3]])[0])
    assert detection.log_spaced_epochs(120) == [1, 3, 11, 36, 120]
    assert detection.log_spaced_epochs(1) == [1]
    assert detection.log_spaced_epochs(3) == [1, 2, 3]


@pytest.mark.parametrize("rate, flips", [(0.0, 0), (0.1, 5), (0.3, 15), (0.5, 25)])
def test_corrupt_within_classes_exact_and_balanced(rate, flips):
    clean = np.repeat(np.arange(10), 5)
    noisy = corrupt_within_classes(clean, rate, 10, seed=3)
    assert int(noisy.is_corrupted.sum()) == flips
    per_class = np.bincount(clean[noisy.is_corrupted], minlength=10)
    assert per_class.max() - per_class.min() <= 1
    assert np.all(noisy.labels[noisy.is_corrupted] != clean[noisy.is_corrupted])
    np.testing.assert_array_equal(
        corrupt_within_classes(clean, rate, 10, seed=3).labels, noisy.labels)


def test_eps_histogram_stacks_clean_under_corrupted_per_epoch():
    eps = [np.array([0.0, 0.01, 0.5, 0.6]), np.array([0.0, 0.02, 0.7, 0.9])]
    corrupted = np.array([0, 0, 1, 1], bool)
    figure = plots.eps_histogram_figure(eps, corrupted, bins=10, value_range=(0.0, 1.0))
    axes = figure.get_axes()
    assert len(axes) == 2  # one panel per epoch
    for ax, values in zip(axes, eps):
        colours = {patch.get_facecolor()[:3] for patch in ax.patches}
        assert colours == {to_rgb(plots.CLEAN_COLOUR), to_rgb(plots.CORRUPTED_COLOUR)}
        # Stacked bars: the tops of the corrupted bars are the totals per bin.
        tops = sorted(p.get_y() + p.get_height() for p in ax.patches
                      if p.get_facecolor()[:3] == to_rgb(plots.CORRUPTED_COLOUR))
        np.testing.assert_array_equal(tops, sorted(np.histogram(values, 10, (0, 1))[0]))
    with pytest.raises(ValueError, match="same examples"):
        plots.eps_histogram_figure([np.zeros(3), np.zeros(4)])
    # At most max_rows epochs, the first and the last always drawn.
    many = plots.eps_histogram_figure([np.full(3, k / 10) for k in range(10)], max_rows=4)
    labels = [ax.get_ylabel() for ax in many.get_axes()]
    assert len(labels) == 4 and labels[0] == "epoch 1" and labels[-1] == "epoch 10"
    assert many.get_axes()[-1].get_xlabel() == "eps on the given label"
    named = plots.eps_histogram_figure(eps, eps_name="1 - q'(y_obs)")
    assert named.get_axes()[-1].get_xlabel() == "eps = 1 - q'(y_obs) on the given label"


def test_eps_histogram_png_file_decodes(tmp_path):
    path = str(tmp_path / "eps.png")
    plots.write_eps_histogram_png(path, [np.linspace(0, 1, 20)] * 3, bins=8)
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_eps_auc_figure_draws_the_mean_curve_per_rate(tmp_path):
    curves = {0.3: [[0.2, 0.5, 0.9], [0.4, 0.5, 0.7]], 0.1: [[0.6, 0.6, 0.6]]}
    figure = plots.eps_auc_figure(curves)
    (ax,) = figure.get_axes()
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()
             if not line.get_label().startswith("_")}
    np.testing.assert_allclose(lines["30% noise"], [0.3, 0.5, 0.8])
    np.testing.assert_allclose(lines["10% noise"], [0.6, 0.6, 0.6])
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="empty"):
        plots.eps_auc_figure({})
    path = str(tmp_path / "auc.png")
    plots.write_eps_auc_png(path, curves)
    assert matplotlib.image.imread(path).ndim == 3
