"""The Keras contract of every UMN model: compiled metrics, evaluate, validation,
label issues, SavedModel export and `.keras` round trips."""

import numpy as np
import pytest

import keras
import tensorflow as tf

import tf_data
from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import INDEX_KEY
from tf_data.batch_keys import LABEL_KEY
from tf_data.batch_keys import SAMPLE_WEIGHT_KEY
from tf_data.batch_keys import UNLABELLED
from tf_data.label_issues import LabelIssues
from umn import streams
from umn.batches import unpack_batch
from umn.mean_teacher import MeanTeacher
from umn.model import UncertaintyMiningNet
from umn.supervised import SupervisedClassifier

SHAPE = (8, 8, 1)
NUM_CLASSES = 4
EPOCHS = 20
PLANTED = 3  # a class-0 image labelled 2
SMALL = dict(hidden_units=16, latent_dim=4, max_shift=0, seed=0)
BUILDERS = {
    # The contract, not the view: label spreading's takes seconds, where the
    # default cross-fitted view trains 4 fold models first (tests/test_umn_cross_fitted.py).
    "umn": lambda: UncertaintyMiningNet(SHAPE, NUM_CLASSES, class_latent_dim=3,
                                        uncertainty_clip=(0.01, 0.5), ema_decay=0.9,
                                        held_out_view="label_spreading", **SMALL),
    "supervised": lambda: SupervisedClassifier(SHAPE, NUM_CLASSES, **SMALL),
    "mean_teacher": lambda: MeanTeacher(SHAPE, NUM_CLASSES, rampup_steps=10, ema_decay=0.9,
                                        rampup_ema_decay=0.9, **SMALL),
}
OWN_TRACKERS = {"umn": ("elbo", "label_loss", "eps"), "supervised": (),
                "mean_teacher": ("consistency",)}


def separable_data(per_class=10, seed=0):
    """Class k lights quadrant k of a dark 8x8 image: trivially separable."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(NUM_CLASSES), per_class)
    images = 0.1 * rng.uniform(size=(len(labels),) + SHAPE).astype("float32")
    for row, label in enumerate(labels):
        top, left = divmod(int(label), 2)
        images[row, 4 * top:4 * top + 4, 4 * left:4 * left + 4, 0] = 0.9
    noisy = labels.copy()
    noisy[PLANTED] = 2
    return images, labels, noisy


def build(name):
    keras.utils.set_random_seed(0)
    model = BUILDERS[name]()
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="user_acc")])
    return model


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def trained(request):
    """`(name, model, history)`: trained on the noisy labels, validated on the true ones."""
    images, labels, noisy = separable_data()
    model = build(request.param)
    history = model.fit(images, noisy, epochs=EPOCHS, batch_size=10, verbose=0,
                        validation_data=(images, labels))
    return request.param, model, history.history


def test_compiled_metrics_and_trackers_appear_in_fit_history(trained):
    name, _, history = trained
    expected = {"loss", "accuracy", "user_acc", *OWN_TRACKERS[name]}
    assert set(history) == expected | {f"val_{key}" for key in expected}
    assert all(len(values) == EPOCHS for values in history.values())
    # Compiled metric and own accuracy see the same rows and probabilities.
    np.testing.assert_allclose(history["user_acc"], history["accuracy"], rtol=1e-6)
    np.testing.assert_allclose(history["val_user_acc"], history["val_accuracy"], rtol=1e-6)
    assert history["val_user_acc"][-1] == 1.0  # true labels of a separable set


def test_evaluate_scores_labelled_rows_of_predict_and_resets(trained):
    _, model, _ = trained
    images, labels, _ = separable_data()
    predicted = np.argmax(model.predict(images, verbose=0), axis=-1)
    given = (predicted + 1) % NUM_CLASSES  # every label wrong ...
    given[::3] = predicted[::3]  # ... except every third one
    given[1::3] = UNLABELLED  # and some rows unlabelled
    labelled = given != UNLABELLED
    expected = np.mean(predicted[labelled] == given[labelled])
    result = model.evaluate(images, given, batch_size=7, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["user_acc"], expected, rtol=1e-6)
    np.testing.assert_allclose(result["accuracy"], expected, rtol=1e-6)
    assert np.isfinite(result["loss"])
    # tf.data dict batches (tf_data.batch_keys) give the same; metrics restart per call.
    dataset = tf_data.evaluation_pipeline(images, labels, batch_size=9)
    assert model.evaluate(dataset, verbose=0, return_dict=True)["user_acc"] == 1.0
    result = model.evaluate(images, given, batch_size=7, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["user_acc"], expected, rtol=1e-6)


def test_label_issues_rank_the_planted_wrong_label_first(trained):
    _, model, _ = trained
    images, labels, noisy = separable_data()
    issues = model.label_issues(images, noisy)
    assert isinstance(issues, LabelIssues) and len(issues) == len(images)
    assert issues.indices[0] == PLANTED
    assert issues.given_labels[0] == 2 and issues.suggested_labels[0] == labels[PLANTED]
    assert issues.score_name == "wrong_label_probability"
    assert np.all(np.diff(issues.scores) <= 0)
    # Unlabelled rows are dropped; indices stay positions in x.
    partial = noisy.copy()
    partial[:PLANTED] = UNLABELLED
    issues = model.label_issues(images, partial, batch_size=8)
    assert len(issues) == len(images) - PLANTED and issues.indices[0] == PLANTED
    assert not set(issues.indices) & set(range(PLANTED))
    with pytest.raises(ValueError, match="labelled examples"):
        model.label_issues(images[:4], np.full(4, UNLABELLED))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        model.label_issues(images[:2], np.array([0, 7]))


def test_umn_label_issues_by_eps_are_label_uncertainty():
    model = build("umn")
    images, _, noisy = separable_data()
    model.fit(images, noisy, epochs=1, batch_size=10, verbose=0)
    issues = model.label_issues(images, noisy, score="eps")
    assert issues.score_name == "eps"
    eps = np.empty(len(images))
    eps[issues.indices] = issues.scores
    np.testing.assert_allclose(eps, model.label_uncertainty(images, noisy), atol=1e-7)
    # The default eps is the "with_held_out" score: the same ranking and suggestions.
    default = model.label_issues(images, noisy)
    np.testing.assert_array_equal(issues.indices, default.indices)
    np.testing.assert_array_equal(issues.suggested_labels, default.suggested_labels)
    with pytest.raises(ValueError, match="score must be one of"):
        build("supervised").label_issues(images, noisy, score="eps")


def test_export_serves_predict(trained, tmp_path):
    _, model, _ = trained
    images, _, _ = separable_data()
    path = str(tmp_path / "exported")
    model.export(path, verbose=False)
    loaded = tf.saved_model.load(path)  # keep a reference: it owns the variables
    np.testing.assert_allclose(loaded.serve(tf.constant(images[:9])).numpy(),
                               model.predict(images[:9], verbose=0), atol=1e-6)


def test_keras_round_trip_keeps_compiled_metrics(trained, tmp_path):
    _, model, _ = trained
    images, _, noisy = separable_data()
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored) is type(model)
    assert restored.get_config() == model.get_config()
    np.testing.assert_allclose(restored.predict(images, verbose=0),
                               model.predict(images, verbose=0), atol=1e-6)
    before = model.evaluate(images, noisy, verbose=0, return_dict=True)
    after = restored.evaluate(images, noisy, verbose=0, return_dict=True)
    assert set(after) == set(before)
    np.testing.assert_allclose(after["user_acc"], before["user_acc"], rtol=1e-6)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_fit_on_a_mixed_stream_validates_on_a_dataset(name):
    images, labels, noisy = separable_data()
    partial = noisy.copy()
    partial[1::2] = UNLABELLED
    stream, _ = streams.semi_supervised_stream(images, partial, NUM_CLASSES, 4, 6, seed=0)
    model = build(name)
    validation = tf_data.evaluation_pipeline(images, labels, batch_size=16)
    history = model.fit(stream, epochs=2, steps_per_epoch=2, verbose=0,
                        validation_data=validation).history
    assert len(history["user_acc"]) == 2 and len(history["val_user_acc"]) == 2
    # The last val_* entries are what evaluate gives on the same data, same weights.
    evaluated = model.evaluate(validation, verbose=0, return_dict=True)
    np.testing.assert_allclose(history["val_user_acc"][-1], evaluated["user_acc"], rtol=1e-6)


def test_unpack_batch_reads_batch_keys_and_rejects_sample_weights():
    images = np.zeros((2,) + SHAPE, "float32")
    labels = np.array([1, UNLABELLED])
    got_images, got_labels = unpack_batch(
        {IMAGE_KEY: images, LABEL_KEY: labels, INDEX_KEY: np.arange(2)})
    assert got_images is images and got_labels is labels
    assert unpack_batch((images, labels))[1] is labels
    with pytest.raises(ValueError, match="need labels"):
        unpack_batch({IMAGE_KEY: images})
    with pytest.raises(ValueError, match="sample weights"):
        unpack_batch((images, labels, np.ones(2)))
    with pytest.raises(ValueError, match="sample weights"):
        unpack_batch({IMAGE_KEY: images, LABEL_KEY: labels, SAMPLE_WEIGHT_KEY: np.ones(2)})
    model = build("supervised")
    with pytest.raises(ValueError, match="sample weights"):
        model.fit(images, labels, sample_weight=np.ones(2), verbose=0)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_fit_and_evaluate_refuse_bad_arrays_before_training(name):
    images, labels, _ = separable_data()
    model = build(name)
    nan_images = images.copy()
    nan_images[2, 0, 0, 0] = np.nan
    bad = [
        ((nan_images, labels), "NaN"),
        ((images, np.where(labels == 3, NUM_CLASSES, labels)), r"\[0, 4\) or be -1"),
        ((images, np.where(labels == 3, -5, labels)), r"\[0, 4\) or be -1"),
        ((images, labels + 0.5), "non-integer"),
        ((images, labels[:-1]), "same number of examples"),
        (({IMAGE_KEY: images, LABEL_KEY: np.full(len(labels), UNLABELLED)}, None),
         "no labelled examples"),
    ]
    for (x, y), message in bad:
        with pytest.raises(ValueError, match=message):
            model.fit(x, y, epochs=1, verbose=0)
        with pytest.raises(ValueError, match=message):
            model.evaluate(x, y, verbose=0)
    with pytest.raises(ValueError, match="non-integer"):
        model.fit(images, labels, epochs=1, verbose=0, validation_data=(images, labels + 0.5))
    assert model.optimizer.iterations.numpy() == 0  # refused before any step


def test_bernoulli_umn_refuses_pixels_outside_the_unit_interval():
    images, labels, _ = separable_data()
    model = build("umn")
    with pytest.raises(ValueError, match=r"x / 255"):
        model.fit(255.0 * images, labels, epochs=1, verbose=0)
    # A Gaussian likelihood and the baselines take any finite pixels.
    for other in ("supervised", "mean_teacher"):
        build(other).evaluate(255.0 * images, labels, verbose=0)
    gaussian = UncertaintyMiningNet(SHAPE, NUM_CLASSES, class_latent_dim=3, ema_decay=0.9,
                                    uncertainty_clip=(0.01, 0.5), likelihood="gaussian",
                                    **SMALL)
    gaussian.compile(optimizer="adam")
    gaussian.evaluate(255.0 * images, labels, verbose=0)


def test_whole_number_float_labels_are_taken_and_streams_need_one_label_per_image():
    np.testing.assert_array_equal(
        streams.check_partial_labels(np.array([0.0, -1.0, 2.0]), 3), [0, -1, 2])
    images, labels, _ = separable_data()
    with pytest.raises(ValueError, match="same number of examples"):
        streams.semi_supervised_stream(images[:-2], np.where(labels > 1, UNLABELLED, labels),
                                       NUM_CLASSES, 4, 6, seed=0)
    with pytest.raises(ValueError, match="same number of examples"):
        streams.labelled_stream(images, labels[:-1], NUM_CLASSES, 8, seed=0)
    with pytest.raises(ValueError, match="integer >= 0"):
        MeanTeacher(SHAPE, NUM_CLASSES, rampup_steps=-1)
