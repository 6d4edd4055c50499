"""Learning to Reweight (Ren et al. 2018): meta-gradients, weights, training, round trips."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import tf_data
from robustcrf.learning_to_reweight import LearningToReweight
from robustcrf.learning_to_reweight import normalised_weights
from tf_data.batch_keys import CLEAN_IMAGE_KEY
from tf_data.batch_keys import CLEAN_LABEL_KEY


def linear_backbone(features=4, classes=3):
    return keras.Sequential([keras.Input((features,)), keras.layers.Dense(classes)])


def softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def clean_loss_after_virtual_step(kernel, bias, x, y, eps, x_clean, y_clean):
    """NumPy: L_clean(theta - grad sum_i eps_i l_i(theta)) for softmax regression."""
    residual = softmax(x @ kernel + bias)
    residual[np.arange(len(y)), y] -= 1.0
    kernel_step = kernel - x.T @ (eps[:, None] * residual)
    bias_step = bias - (eps[:, None] * residual).sum(axis=0)
    probabilities = softmax(x_clean @ kernel_step + bias_step)
    return -np.mean(np.log(probabilities[np.arange(len(y_clean)), y_clean]))


def image_backbone():
    return keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(3)])


def toy_batches(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(6, 4))
    y = rng.integers(0, 3, 6)
    x_clean = rng.normal(size=(5, 4))
    y_clean = rng.integers(0, 3, 5)
    return x, y, x_clean, y_clean


@pytest.mark.parametrize("meta_gradient", ["first_order", "nested"])
def test_weights_equal_the_finite_difference_meta_gradient(meta_gradient):
    x, y, x_clean, y_clean = toy_batches()
    backbone = linear_backbone()
    model = LearningToReweight(backbone, meta_gradient=meta_gradient)
    kernel, bias = (w.astype(np.float64) for w in backbone.get_weights())
    step = 1e-4
    finite = np.array([
        (clean_loss_after_virtual_step(kernel, bias, x, y, step * np.eye(6)[i], x_clean, y_clean)
         - clean_loss_after_virtual_step(kernel, bias, x, y, -step * np.eye(6)[i], x_clean,
                                         y_clean)) / (2 * step)
        for i in range(6)])
    meta = keras.ops.convert_to_numpy(model.meta_gradients(x, y, x_clean, y_clean))
    np.testing.assert_allclose(meta, finite, atol=1e-4)
    expected = np.maximum(-finite, 0.0)
    expected = expected / expected.sum() if expected.sum() > 0 else expected
    weights = keras.ops.convert_to_numpy(model.example_weights(x, y, x_clean, y_clean))
    np.testing.assert_allclose(weights, expected, atol=1e-4)


def test_first_order_identity_equals_nested_tapes_on_a_small_cnn():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(8, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    x_clean = rng.uniform(size=(4, 6, 6, 1)).astype(np.float32)
    y_clean = np.array([0, 1, 2, 0])
    backbone = keras.Sequential([
        keras.Input((6, 6, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.BatchNormalization(), keras.layers.Flatten(), keras.layers.Dense(3)])
    first = LearningToReweight(backbone, meta_gradient="first_order")
    nested = LearningToReweight(backbone, meta_gradient="nested")
    moving_before = [v.numpy().copy() for v in backbone.non_trainable_variables]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(first.meta_gradients(x, y, x_clean, y_clean)),
        keras.ops.convert_to_numpy(nested.meta_gradients(x, y, x_clean, y_clean)),
        rtol=1e-4, atol=1e-6)
    # The meta passes leave the BatchNorm moving statistics alone.
    for before, after in zip(moving_before, backbone.non_trainable_variables):
        np.testing.assert_array_equal(before, after.numpy())


def test_a_mislabelled_example_gets_weight_zero():
    # Two clusters; the zero-initialised model predicts 50/50. The first
    # example sits in cluster 0 but is labelled 1.
    x = np.array([[3.0, 0.0], [3.1, 0.1], [0.0, 3.0], [0.1, 2.9]])
    y = np.array([1, 0, 1, 1])
    x_clean = np.array([[2.9, 0.0], [0.0, 3.1]])
    y_clean = np.array([0, 1])
    backbone = keras.Sequential([keras.Input((2,)),
                                 keras.layers.Dense(2, kernel_initializer="zeros")])
    weights = keras.ops.convert_to_numpy(
        LearningToReweight(backbone).example_weights(x, y, x_clean, y_clean))
    assert weights[0] == 0.0 and np.all(weights[1:] > 0.0)
    np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-6)


def test_label_issues_rank_the_mislabelled_example_first():
    x = np.array([[3.0, 0.0], [3.1, 0.1], [0.0, 3.0], [0.1, 2.9]])
    y = np.array([1, 0, 1, 1])
    backbone = keras.Sequential([keras.Input((2,)),
                                 keras.layers.Dense(2, kernel_initializer="zeros")])
    issues = LearningToReweight(backbone).label_issues(
        x, y, np.array([[2.9, 0.0], [0.0, 3.1]]), np.array([0, 1]), batch_size=3)
    assert issues.indices[0] == 0 and issues.scores[0] > 0 > issues.scores[1]
    assert issues.score_name == "meta_gradient" and len(issues) == 4


def test_normalised_weights_clip_normalise_and_keep_all_zero():
    np.testing.assert_allclose(keras.ops.convert_to_numpy(
        normalised_weights(np.array([-1.0, 2.0, -3.0]))), [0.25, 0.0, 0.75])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(
        normalised_weights(np.array([1.0, 0.0]))), [0.0, 0.0])


def _stream(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.eye(3, 4) * 3.0
    labels = np.repeat(np.arange(3), 20)
    images = (centres[labels] + rng.normal(scale=0.5, size=(60, 4))).astype(np.float32)
    images = images.reshape(60, 2, 2, 1)  # tiny images: the pipelines take images
    noisy = tf_data.corrupt_labels(labels, tf_data.transition_matrix("symmetric", 3, 0.3),
                                   seed=seed).labels
    clean_labels = np.array([0, 1, 2] * 3)
    clean = (centres[clean_labels] + rng.normal(scale=0.5, size=(9, 4))).astype(np.float32)
    clean = clean.reshape(9, 2, 2, 1)
    return tf_data.trusted_pipeline(tf_data.example_features(images, noisy), clean,
                                    clean_labels, batch_size=16, clean_batch_size=6, seed=seed,
                                    num_classes=3), images, labels


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_fit_learns_the_clusters_and_reports_its_metrics(run_eagerly):
    stream, images, labels = _stream()
    model = LearningToReweight(image_backbone())
    model.compile(optimizer=keras.optimizers.SGD(0.5), run_eagerly=run_eagerly,
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="given_accuracy")])
    history = model.fit(stream, epochs=8, verbose=0)
    assert {"loss", "accuracy", "kept_share", "given_accuracy"} <= set(history.history)
    assert 0.0 < history.history["kept_share"][-1] <= 1.0
    accuracy = np.mean(model.predict(images, verbose=0).argmax(axis=1) == labels)
    assert accuracy >= 0.9
    assert set(model.evaluate(images, labels, verbose=0, return_dict=True)) >= {"loss",
                                                                                "accuracy"}


def test_keras_file_and_saved_model_round_trips(tmp_path):
    stream, images, _ = _stream()
    model = LearningToReweight(image_backbone(), meta_gradient="nested")
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.fit(stream, epochs=1, verbose=0)
    expected = model.predict(images[:5], verbose=0)
    path = os.path.join(tmp_path, "l2rw.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored, LearningToReweight) and restored.meta_gradient == "nested"
    np.testing.assert_allclose(restored.predict(images[:5], verbose=0), expected, atol=1e-6)
    model.export(str(tmp_path / "served"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "served"))
    np.testing.assert_allclose(served.serve(images[:5]).numpy(), expected, atol=1e-6)
    config = model.get_config()
    assert LearningToReweight.from_config(config).get_config()["meta_gradient"] == "nested"


def test_bad_input_says_what_to_give():
    stream, images, labels = _stream()
    model = LearningToReweight(image_backbone())
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="clean .trusted. set at every step"):
        model.fit(images, labels, epochs=1, verbose=0)
    without_clean = stream.map(lambda batch: {k: v for k, v in batch.items()
                                              if k not in (CLEAN_IMAGE_KEY, CLEAN_LABEL_KEY)})
    with pytest.raises(ValueError, match="clean .trusted. set at every step"):
        model.fit(without_clean, epochs=1, verbose=0)
    features = tf_data.example_features(images, labels)
    with pytest.raises(ValueError, match="empty"):
        tf_data.trusted_pipeline(features, np.zeros((0, 2, 2, 1)), np.zeros(0, int), 8, 1, 0)
    with pytest.raises(ValueError, match=r"no example of class\(es\) \[2\]"):
        tf_data.trusted_pipeline(features, images[:4], np.array([0, 1, 0, 1]), 8, 2, 0,
                                 num_classes=3)
    with pytest.raises(ValueError, match="clean_batch_size=8 exceeds"):
        tf_data.trusted_pipeline(features, images[:4], np.array([0, 1, 2, 1]), 8, 8, 0)
    with pytest.raises(ValueError, match="meta_gradient must be one of"):
        LearningToReweight(linear_backbone(), meta_gradient="exact")
