"""MentorNet's predefined curriculum and the StudentNet trained under it."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from robustcrf import curriculum
from robustcrf.mentor_data import MentorDataRecorder
from robustcrf.mentor_net import MentorNet
from robustcrf.mentored_model import MentoredModel

LOSSES = np.array([0.1, 2.0, 0.5, 1.0, 3.0, 0.2, 0.7, 1.5], np.float32)


@pytest.mark.parametrize("percentile", [10.0, 50.0, 75.0, 99.0])
def test_batch_percentile_is_numpys(percentile):
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(curriculum.batch_percentile(LOSSES, percentile)),
        np.percentile(LOSSES, percentile), rtol=1e-6)


def test_moving_threshold_is_the_ema_of_percentiles():
    first = curriculum.moving_threshold(0.0, LOSSES, 75.0, first=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(first), np.percentile(LOSSES, 75))
    second = curriculum.moving_threshold(first, LOSSES * 2, 75.0, decay=0.9)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(second),
                               0.9 * np.percentile(LOSSES, 75)
                               + 0.1 * np.percentile(LOSSES * 2, 75), rtol=1e-6)


def test_curriculum_weights_closed_forms():
    threshold = 1.0
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(curriculum.curriculum_weights(LOSSES, threshold)),
        (LOSSES <= threshold).astype(np.float32))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(curriculum.curriculum_weights(LOSSES, threshold, "linear")),
        np.maximum(1.0 - LOSSES / threshold, 0.0), rtol=1e-6)
    with pytest.raises(ValueError, match="curriculum must be one of"):
        curriculum.curriculum_weights(LOSSES, threshold, "hard")


def _data(seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), 20)
    images = (np.eye(3, 4)[labels] * 3 + rng.normal(scale=0.5, size=(60, 4)))
    labels = labels.copy()
    labels[:6] = (labels[:6] + 1) % 3  # six wrong labels, all in class 0
    return images.reshape(60, 2, 2, 1).astype(np.float32), labels


def backbone():
    return keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(3)])


def test_one_step_weights_the_loss_by_the_curriculum():
    images, labels = _data()
    model = MentoredModel(backbone(), percentile=50.0)
    model.compile(optimizer=keras.optimizers.SGD(0.0))  # no update: read the step's numbers
    logits = keras.ops.convert_to_numpy(model.backbone(images[:16]))
    shifted = logits - logits.max(axis=1, keepdims=True)
    losses = -(shifted[np.arange(16), labels[:16]] - np.log(np.exp(shifted).sum(axis=1)))
    threshold = np.percentile(losses, 50.0)
    logs = model.train_on_batch(images[:16], labels[:16], return_dict=True)
    np.testing.assert_allclose(float(model.loss_threshold.numpy()), threshold, rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], np.mean((losses <= threshold) * losses),
                               rtol=1e-5)
    np.testing.assert_allclose(logs["mean_weight"], np.mean(losses <= threshold))


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_burn_in_then_curriculum_and_wrong_labels_rank_first(run_eagerly):
    images, labels = _data()
    model = MentoredModel(backbone(), percentile=70.0, burn_in_epochs=2)
    model.compile(optimizer=keras.optimizers.SGD(0.3), run_eagerly=run_eagerly)
    history = model.fit(images, labels, batch_size=20, epochs=6, verbose=0, shuffle=False)
    assert history.history["mean_weight"][:2] == [1.0, 1.0]
    assert history.history["mean_weight"][-1] < 1.0
    issues = model.label_issues(images, labels)
    assert set(issues.indices[:6]) == set(range(6))
    assert issues.score_name == "loss_minus_threshold"


def test_keras_file_and_saved_model_round_trips(tmp_path):
    images, labels = _data()
    model = MentoredModel(backbone(), curriculum="linear", percentile=60.0, burn_in_epochs=1)
    model.compile(optimizer=keras.optimizers.SGD(0.3))
    model.fit(images, labels, batch_size=20, epochs=2, verbose=0)
    path = os.path.join(tmp_path, "mentored.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert restored.curriculum == "linear" and restored.burn_in_epochs == 1
    np.testing.assert_allclose(restored.loss_threshold.numpy(), model.loss_threshold.numpy())
    expected = model.predict(images[:4], verbose=0)
    np.testing.assert_allclose(restored.predict(images[:4], verbose=0), expected, atol=1e-6)
    model.export(str(tmp_path / "served"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "served"))
    np.testing.assert_allclose(served.serve(images[:4]).numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"percentile": 0.0}, "strictly between 0 and 100"),
    ({"percentile": 100.0}, "strictly between 0 and 100"),
    ({"curriculum": "hard"}, "curriculum must be one of"),
    ({"decay": 1.0}, r"decay must lie in \[0, 1\)"),
    ({"burn_in_epochs": -1}, "burn_in_epochs must be an integer >= 0"),
])
def test_bad_settings_say_what_to_give(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MentoredModel(backbone(), **kwargs)


# ---------------------------------------------------------------- data-driven MentorNet
def _mentor_features(size, seed):
    """Synthetic StudentNet statistics: clean labels have small losses, corrupted large."""
    rng = np.random.default_rng(seed)
    corrupted = rng.uniform(size=size) < 0.3
    losses = np.where(corrupted, rng.normal(2.0, 0.5, size), np.abs(rng.normal(0.2, 0.2, size)))
    features = {"loss": losses.astype(np.float32),
                "loss_diff": (losses - 0.8).astype(np.float32),
                "label": rng.integers(0, 3, size),
                "epoch_fraction": rng.uniform(size=size).astype(np.float32)}
    return features, (~corrupted).astype(np.float32), corrupted


def _trained_mentor():
    features, correct, _ = _mentor_features(2000, seed=0)
    mentor = MentorNet(num_classes=3)
    mentor.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    mentor.fit(features, correct, batch_size=100, epochs=10, verbose=0)
    return mentor


def test_mentornet_learns_to_separate_clean_from_corrupted_losses():
    from sklearn.metrics import roc_auc_score

    mentor = _trained_mentor()
    features, _, corrupted = _mentor_features(1000, seed=1)
    weights = keras.ops.convert_to_numpy(mentor(features))
    assert roc_auc_score(~corrupted, weights) > 0.97
    assert weights[~corrupted].mean() > 0.8 and weights[corrupted].mean() < 0.2


def test_student_under_a_mentor_trains_and_round_trips(tmp_path):
    images, labels = _data()
    mentor = _trained_mentor()
    mentor_weights = [w.copy() for w in mentor.get_weights()]
    model = MentoredModel(backbone(), mentor=mentor, burn_in_epochs=1)
    model.compile(optimizer=keras.optimizers.SGD(0.3))
    history = model.fit(images, labels, batch_size=20, epochs=3, verbose=0)
    assert history.history["mean_weight"][0] == 1.0 and history.history["mean_weight"][-1] < 1.0
    for before, after in zip(mentor_weights, mentor.get_weights()):
        np.testing.assert_array_equal(before, after)  # the mentor is frozen
    path = os.path.join(tmp_path, "student.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored.mentor, MentorNet)
    features, _, _ = _mentor_features(8, seed=2)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored.mentor(features)),
                               keras.ops.convert_to_numpy(mentor(features)), atol=1e-6)


def test_mentor_input_is_checked():
    with pytest.raises(ValueError, match="missing"):
        MentorNet(num_classes=3)({"loss": np.zeros(2, np.float32)})
    with pytest.raises(ValueError, match="mentor must be a trained robustcrf.MentorNet"):
        MentoredModel(backbone(), mentor=backbone())


def test_recorder_builds_a_mentor_that_spots_the_planted_labels():
    from sklearn.metrics import roc_auc_score

    images, labels = _data()
    clean = np.repeat(np.arange(3), 20)
    recorder = MentorDataRecorder(images, labels, labels == clean, percentile=70.0)
    student = MentoredModel(backbone(), burn_in_epochs=10)  # plain cross-entropy
    student.compile(optimizer=keras.optimizers.SGD(0.3))
    student.fit(images, labels, batch_size=20, epochs=6, verbose=0, callbacks=[recorder])
    features, targets = recorder.dataset()
    assert len(targets) == 6 * 60 and set(features) == {"loss", "loss_diff", "label",
                                                         "epoch_fraction"}
    np.testing.assert_allclose(np.unique(features["epoch_fraction"]), np.arange(6) / 6)
    mentor = MentorNet(num_classes=3)
    mentor.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    mentor.fit(features, targets, batch_size=60, epochs=30, verbose=0)
    last = {key: value[-60:] for key, value in features.items()}
    assert roc_auc_score(targets[-60:], keras.ops.convert_to_numpy(mentor(last))) > 0.9
    with pytest.raises(ValueError, match="Nothing recorded"):
        MentorDataRecorder(images, labels, labels == clean).dataset()
