"""Clean/noisy and labelled/unlabelled splits."""

import numpy as np
import pytest

from tf_data import splits


def test_labelled_split_is_balanced_disjoint_and_seeded():
    labels = np.repeat(np.arange(10), 30)
    labelled, unlabelled = splits.labelled_unlabelled_split(labels, 5, 10, seed=0)
    np.testing.assert_array_equal(np.bincount(labels[labelled], minlength=10), 5)
    assert len(np.intersect1d(labelled, unlabelled)) == 0
    assert len(labelled) + len(unlabelled) == len(labels)
    again, _ = splits.labelled_unlabelled_split(labels, 5, 10, seed=0)
    other, _ = splits.labelled_unlabelled_split(labels, 5, 10, seed=1)
    np.testing.assert_array_equal(labelled, again)
    assert np.any(labelled != other)


def test_labelled_split_k_too_large_names_the_class():
    labels = np.array([0] * 10 + [1] * 3)
    with pytest.raises(ValueError, match="class 1 holds only 3"):
        splits.labelled_unlabelled_split(labels, 4, 2, seed=0)
    with pytest.raises(ValueError, match="positive integer"):
        splits.labelled_unlabelled_split(labels, 0, 2, seed=0)


def test_clean_noisy_split_stratified_fraction():
    labels = np.repeat(np.arange(4), 50)
    clean, noisy = splits.clean_noisy_split(labels, 0.2, seed=0, num_classes=4)
    np.testing.assert_array_equal(np.bincount(labels[clean]), 10)
    assert len(np.intersect1d(clean, noisy)) == 0 and len(clean) + len(noisy) == 200
    clean_n, _ = splits.clean_noisy_split(1000, 0.2, seed=0)
    assert len(clean_n) == 200


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5, 2.0])
def test_clean_noisy_split_bad_fraction(fraction):
    with pytest.raises(ValueError, match="clean_fraction"):
        splits.clean_noisy_split(100, fraction, seed=0)


def test_clean_noisy_split_fraction_too_small_for_set():
    with pytest.raises(ValueError, match="empty"):
        splits.clean_noisy_split(3, 0.1, seed=0)
