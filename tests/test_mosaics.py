"""digit_mosaics: shapes, vocabularies, label consistency, determinism, bad input."""

import numpy as np
import pytest

from tf_data import mosaics


@pytest.fixture(scope="module")
def dataset():
    return mosaics.load_digit_mosaics(num_train=300, num_validation=20, num_test=50, seed=3)


def test_shapes_and_vocabularies(dataset):
    assert dataset.name == "digit_mosaics"
    assert dataset.num_clean == 10 and dataset.num_noisy == 35
    assert dataset.noisy_vocabulary[:2] == ("zero", "one") and "prime" in dataset.noisy_vocabulary
    assert dataset.train.images.shape == (300, 16, 16, 1)
    assert (len(dataset.validation), len(dataset.test)) == (20, 50)
    assert dataset.train.clean_labels.sum(axis=1).min() >= 1
    assert 0.0 <= dataset.train.images.min() and dataset.train.images.max() <= 1.0


def test_clean_labels_match_the_drawn_cells(dataset):
    images = dataset.train.images[..., 0]
    cells = images.reshape(300, 2, 8, 2, 8).transpose(0, 1, 3, 2, 4).reshape(300, 4, 64)
    filled = (cells.max(axis=-1) > 0).sum(axis=1)
    # Every present digit fills at least one cell, and cells hold one digit each.
    assert np.all(dataset.train.clean_labels.sum(axis=1) <= filled)


def test_noise_is_caption_like(dataset):
    clean, noisy = dataset.train.clean_labels, dataset.train.noisy_labels
    mapped = (noisy @ dataset.clean_to_noisy.T > 0)
    recall = (mapped & (clean == 1)).sum() / clean.sum()
    precision = (mapped & (clean == 1)).sum() / mapped.sum()
    assert 0.5 < recall < 0.85  # omissions (reading-order bias)
    assert 0.6 < precision < 0.95  # look-alike confusions and spurious tags
    assert dataset.clean_to_noisy.sum() == 20
    seven = dataset.clean_to_noisy[7]
    assert {dataset.noisy_vocabulary[k] for k in np.flatnonzero(seven)} == {"seven", "7"}


def test_seeded():
    first = mosaics.load_digit_mosaics(num_train=20, num_validation=5, num_test=5, seed=1)
    again = mosaics.load_digit_mosaics(num_train=20, num_validation=5, num_test=5, seed=1)
    other = mosaics.load_digit_mosaics(num_train=20, num_validation=5, num_test=5, seed=2)
    np.testing.assert_array_equal(first.train.images, again.train.images)
    np.testing.assert_array_equal(first.train.noisy_labels, again.train.noisy_labels)
    assert not np.array_equal(first.train.noisy_labels, other.train.noisy_labels)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_train"):
        mosaics.load_digit_mosaics(num_train=0)
    with pytest.raises(ValueError, match="fill_rate"):
        mosaics.load_digit_mosaics(fill_rate=0.0)
