"""tf.data pipelines: shapes, indices, ratios, determinism, bad input."""

import numpy as np
import pytest

import tf_data
from tf_data import pipelines


def _features(n=40, start=0, label=None):
    rng = np.random.default_rng(start)
    images = rng.random((n, 6, 6, 1)).astype(np.float32)
    labels = np.full(n, label) if label is not None else np.arange(n) % 4
    return tf_data.example_features(images, labels, np.arange(start, start + n))


def _epoch_indices(dataset):
    return np.concatenate([b["index"].numpy() for b in dataset])


def test_training_pipeline_shapes_and_one_full_pass():
    features = _features(40)
    dataset = tf_data.training_pipeline(features, 8, seed=0)
    batches = list(dataset)
    assert len(batches) == 5
    assert batches[0]["image"].shape == (8, 6, 6, 1) and batches[0]["label"].dtype.name == "int64"
    np.testing.assert_array_equal(np.sort(_epoch_indices(dataset)), np.arange(40))


def test_labels_travel_with_their_index():
    features = _features(40)
    for batch in tf_data.training_pipeline(features, 8, seed=3):
        np.testing.assert_array_equal(batch["label"].numpy(), batch["index"].numpy() % 4)
        np.testing.assert_array_equal(batch["image"].numpy(), features["image"][batch["index"].numpy()])


def test_same_seed_same_stream_and_epochs_reshuffle():
    features = _features(40)
    augment = tf_data.make_pipeline_augmentation(max_shift=2, stddev=0.15)
    a = tf_data.training_pipeline(features, 8, seed=1, augmentation=augment, repeat=True)
    b = tf_data.training_pipeline(features, 8, seed=1, augmentation=augment, repeat=True)
    first = [x["image"].numpy() for x in a.take(10)]
    second = [x["image"].numpy() for x in b.take(10)]
    np.testing.assert_array_equal(np.stack(first), np.stack(second))
    epochs = np.concatenate([x["index"].numpy() for x in a.take(10)])
    assert np.any(epochs[:40] != epochs[40:80]), "each epoch is a new permutation"


def test_mixed_batches_have_exact_ratio_and_flags():
    labelled = _features(10, start=0)
    unlabelled = _features(95 * 3, start=10, label=-1)
    dataset = tf_data.mixed_pipeline(labelled, unlabelled, 5, 95, seed=0, flag_key="is_labelled")
    for batch in dataset.take(6):
        flags = batch["is_labelled"].numpy()
        assert flags.sum() == 5 and len(flags) == 100
        np.testing.assert_array_equal(batch["index"].numpy()[flags] < 10, True)
        np.testing.assert_array_equal(batch["label"].numpy()[~flags], -1)
    assert pipelines.mixed_steps_per_epoch(len(unlabelled["image"]), 95) == 3


def test_multilabel_features_and_evaluation_pipeline_keeps_remainder():
    images = np.zeros((10, 4, 4, 1), np.float32)
    features = tf_data.example_features(images, np.eye(10, 3, dtype=np.uint8))
    assert features["label"].shape == (10, 3)
    batches = list(tf_data.evaluation_pipeline(images, batch_size=4, true_labels=np.arange(10)))
    assert [len(b["index"]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b["true_label"] for b in batches]), np.arange(10))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda f: tf_data.training_pipeline(f, 41, seed=0), "exceeds the 40"),
        (lambda f: tf_data.training_pipeline(f, 0, seed=0), "positive integer"),
        (lambda f: tf_data.mixed_pipeline(f, {"image": f["image"]}, 1, 1, 0, "flag"), "same keys"),
    ],
)
def test_bad_pipeline_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call(_features(40))


def test_bad_features():
    images = np.zeros((3, 4, 4, 1))
    with pytest.raises(ValueError, match="same number"):
        tf_data.example_features(images, np.array([0, 1]))
    with pytest.raises(ValueError, match="-1 for unlabelled"):
        tf_data.example_features(images, np.array([0, -2, 1]))
    with pytest.raises(ValueError, match="NaN"):
        tf_data.example_features(np.full((3, 4, 4), np.nan), np.array([0, 1, 1]))
