"""Noise transition matrices and label corruption against closed forms."""

import numpy as np
import pytest

from tf_data import noise

NUM = 100_000


@pytest.mark.parametrize("kind", noise.NOISE_KINDS)
@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5, 1.0])
def test_builtin_matrices_are_row_stochastic(kind, rate):
    matrix = noise.transition_matrix(kind, 10, rate)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(matrix >= 0)


def test_symmetric_never_flips_to_self():
    matrix = noise.transition_matrix("symmetric", 4, 0.6)
    np.testing.assert_allclose(np.diag(matrix), 0.4)
    np.testing.assert_allclose(matrix[0, 1:], 0.2)


def test_uniform_includes_the_true_class():
    matrix = noise.transition_matrix("uniform", 4, 0.6)
    np.testing.assert_allclose(np.diag(matrix), 0.4 + 0.6 / 4)
    np.testing.assert_allclose(matrix[0, 1:], 0.15)


def test_pairflip_and_patrini_mappings():
    np.testing.assert_allclose(noise.transition_matrix("pairflip", 3, 0.3)[2], [0.3, 0.0, 0.7])
    cifar = noise.transition_matrix("cifar10", 10, 0.4)
    for clean, noisy in {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}.items():
        assert cifar[clean, noisy] == pytest.approx(0.4)
        assert cifar[clean, clean] == pytest.approx(0.6)
    for untouched in (0, 1, 6, 7, 8):
        assert cifar[untouched, untouched] == 1.0
    mnist = noise.transition_matrix("mnist", 10, 0.3)
    for clean, noisy in {7: 1, 2: 7, 5: 6, 6: 5, 3: 8}.items():
        assert mnist[clean, noisy] == pytest.approx(0.3)
    for untouched in (0, 1, 4, 8, 9):
        assert mnist[untouched, untouched] == 1.0


@pytest.mark.parametrize("kind", noise.NOISE_KINDS)
def test_realised_flip_rates_within_four_binomial_sd(kind):
    rng = np.random.default_rng(1)
    clean = rng.integers(0, 10, NUM)
    matrix = noise.transition_matrix(kind, 10, 0.3)
    result = noise.corrupt_labels(clean, matrix, seed=5)
    counts = np.bincount(clean, minlength=10)
    for i in range(10):
        for j in range(10):
            p = matrix[i, j]
            sd = np.sqrt(counts[i] * p * (1 - p))
            observed = np.sum((clean == i) & (result.labels == j))
            assert abs(observed - counts[i] * p) <= 4 * sd + 1e-9, (i, j)
    # Overall flip rate against its own binomial sd.
    p = result.nominal_rate
    assert abs(result.realised_rate - p) <= 4 * np.sqrt(p * (1 - p) / NUM) + 1e-12


def test_uniform_nominal_rate_is_rate_times_c_minus_one_over_c():
    clean = np.arange(1000) % 10
    result = noise.corrupt_labels(clean, noise.transition_matrix("uniform", 10, 0.5), seed=0)
    assert result.nominal_rate == pytest.approx(0.45)


@pytest.mark.parametrize("kind", ["symmetric", "pairflip", "mnist", "uniform"])
def test_exact_hits_rounded_pair_counts(kind):
    rng = np.random.default_rng(2)
    clean = rng.integers(0, 10, 2_345)
    matrix = noise.transition_matrix(kind, 10, 0.37)
    result = noise.corrupt_labels(clean, matrix, seed=3, exact=True)
    counts = np.bincount(clean, minlength=10)
    realised = np.zeros((10, 10), int)
    np.add.at(realised, (clean, result.labels), 1)
    expected = np.rint(matrix * counts[:, None]).astype(int)
    off_diagonal = ~np.eye(10, dtype=bool)
    np.testing.assert_array_equal(realised[off_diagonal], expected[off_diagonal])
    np.testing.assert_array_equal(realised.sum(axis=1), counts)
    np.testing.assert_allclose(result.realised_matrix, realised / counts[:, None])


def test_exact_row_with_tiny_diagonal_keeps_class_count():
    matrix = np.array([[0.0, 0.5, 0.5], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    clean = np.array([0] * 3 + [1, 2])
    result = noise.corrupt_labels(clean, matrix, seed=0, exact=True)
    assert np.all(result.labels[:3] != 0)
    assert sorted(np.bincount(result.labels[:3], minlength=3)[1:]) == [1, 2]


def test_same_seed_same_labels_other_seed_other_labels():
    clean = np.arange(5_000) % 10
    matrix = noise.transition_matrix("symmetric", 10, 0.4)
    for exact in (False, True):
        a = noise.corrupt_labels(clean, matrix, seed=7, exact=exact).labels
        b = noise.corrupt_labels(clean, matrix, seed=7, exact=exact).labels
        c = noise.corrupt_labels(clean, matrix, seed=8, exact=exact).labels
        np.testing.assert_array_equal(a, b)
        assert np.any(a != c)


def test_user_matrix_accepted_and_is_corrupted_mask():
    matrix = [[0.9, 0.1], [0.2, 0.8]]
    np.testing.assert_allclose(noise.transition_matrix(matrix, 2), matrix)
    result = noise.corrupt_labels(np.array([0, 1] * 500), matrix, seed=0)
    np.testing.assert_array_equal(result.is_corrupted, result.labels != result.clean_labels)


@pytest.mark.parametrize(
    "matrix, message",
    [
        (np.ones((2, 3)) / 3, "square"),
        ([[0.5, 0.6], [0.5, 0.5]], "sum to 1"),
        ([[1.2, -0.2], [0.0, 1.0]], "negative"),
        ([[np.nan, 1.0], [0.0, 1.0]], "NaN"),
        (np.eye(3), "3x3 but the data has 2"),
    ],
)
def test_invalid_transition_matrices(matrix, message):
    with pytest.raises(ValueError, match=message):
        noise.transition_matrix(matrix, 2)
    if np.shape(matrix) == (2, 2):
        with pytest.raises(ValueError, match=message):
            noise.corrupt_labels(np.array([0, 1]), matrix, seed=0)


@pytest.mark.parametrize("rate", [-0.1, 1.5, 20, float("nan"), "high"])
def test_invalid_rates(rate):
    with pytest.raises(ValueError, match="rate"):
        noise.transition_matrix("symmetric", 10, rate)


def test_unknown_kind_and_wrong_class_count():
    with pytest.raises(ValueError, match="Unknown noise kind"):
        noise.transition_matrix("gaussian", 10, 0.1)
    with pytest.raises(ValueError, match="10 classes"):
        noise.transition_matrix("cifar10", 5, 0.1)
    with pytest.raises(ValueError, match="num_classes"):
        noise.transition_matrix("symmetric", 1, 0.1)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0, 1, 10]), r"\[0, 10\)"),
        (np.array([-1, 2]), r"\[0, 10\)"),
        (np.array([]), "empty"),
        (np.zeros((3, 2), int), "1-D"),
        (np.array([0.5, 1.0]), "integer"),
        (np.array([np.nan, 1.0]), "NaN"),
    ],
)
def test_invalid_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        noise.corrupt_labels(labels, noise.transition_matrix("symmetric", 10, 0.1), seed=0)


def test_multilabel_flip_rates_and_reproducibility():
    rng = np.random.default_rng(0)
    clean = (rng.random((NUM // 4, 4)) < 0.3).astype(np.uint8)
    flip_on, flip_off = np.array([0.0, 0.05, 0.1, 0.2]), 0.4
    result = noise.corrupt_multilabels(clean, flip_on, flip_off, seed=1)
    for k in range(4):
        present, absent = clean[:, k] == 1, clean[:, k] == 0
        for mask, p, realised in ((absent, flip_on[k], result.realised_flip_on[k]),
                                  (present, flip_off, result.realised_flip_off[k])):
            observed = np.mean(result.labels[mask, k] != clean[mask, k])
            assert observed == pytest.approx(realised)
            assert abs(observed - p) <= 4 * np.sqrt(p * (1 - p) / mask.sum()) + 1e-12
    again = noise.corrupt_multilabels(clean, flip_on, flip_off, seed=1)
    np.testing.assert_array_equal(result.labels, again.labels)


def test_multilabel_bad_inputs():
    with pytest.raises(ValueError, match="only 0 and 1"):
        noise.corrupt_multilabels(np.array([[0, 2]]), 0.1, 0.1, seed=0)
    with pytest.raises(ValueError, match="flip_on"):
        noise.corrupt_multilabels(np.array([[0, 1]]), 1.5, 0.1, seed=0)
    with pytest.raises(ValueError, match="empty"):
        noise.corrupt_multilabels(np.zeros((0, 3)), 0.1, 0.1, seed=0)
