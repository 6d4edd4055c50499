"""mAP against scikit-learn, and the cross-entropy baselines."""

import os

import keras
import numpy as np
import pytest
from keras import ops
from sklearn.metrics import average_precision_score

from scripts.harness import crf_table1_methods as variants
from robustcrf.multilabel.cross_entropy import CrossEntropyMultilabel
from robustcrf.multilabel.cross_entropy import noisy_or
from robustcrf.multilabel.metrics import MeanAveragePrecision
from robustcrf.multilabel.metrics import average_precision_per_category
from robustcrf.multilabel.metrics import mean_average_precision


def test_streaming_map_matches_sklearn_on_scores_rounded_to_its_bins():
    rng = np.random.default_rng(0)
    labels = (rng.random((300, 5)) < 0.3).astype("float32")
    labels[:, 4] = 0  # a category without positives is skipped
    scores = np.clip(0.4 * labels + 0.7 * rng.random((300, 5)), 0, 0.999).astype("float32")
    binned = np.floor(scores * 100) / 100  # 100 bins: sklearn on the same thresholds
    metric = MeanAveragePrecision(5, num_thresholds=100)
    for start in range(0, 300, 64):  # streamed in batches
        metric.update_state(labels[start:start + 64], scores[start:start + 64])
    assert float(metric.result()) == pytest.approx(
        mean_average_precision(labels, binned), abs=1e-5)
    metric.reset_state()
    metric.update_state(labels, scores)
    fine = MeanAveragePrecision(5)  # the default 1000 bins are close to exact
    fine.update_state(labels, scores)
    assert float(fine.result()) == pytest.approx(mean_average_precision(labels, scores), abs=2e-3)


def test_mean_average_precision_skips_empty_categories_and_checks_input():
    labels = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.8, 0.5], [0.6, 0.3, 0.5]])
    expected = np.mean([average_precision_score(labels[:, k], scores[:, k]) for k in (0, 1)])
    assert np.isclose(mean_average_precision(labels, scores), expected)
    with pytest.raises(ValueError, match="same shape"):
        mean_average_precision(labels, scores[:, :2])
    with pytest.raises(ValueError, match="No category"):
        mean_average_precision(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        mean_average_precision(labels * 2, scores)


def test_average_precision_per_category_matches_scikit_learn_and_marks_empty_ones():
    labels = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.8, 0.5], [0.6, 0.3, 0.5], [0.7, 0.4, 0.1]])
    per_category = average_precision_per_category(labels, scores)
    assert per_category.shape == (3,) and np.isnan(per_category[2])
    for k in (0, 1):
        assert per_category[k] == pytest.approx(
            average_precision_score(labels[:, k], scores[:, k]))
    # The mAP is their mean over the defined categories.
    assert mean_average_precision(labels, scores) == pytest.approx(np.nanmean(per_category))
    with pytest.raises(ValueError, match="NaN or infinite"):
        average_precision_per_category(labels, np.full((4, 3), np.nan))


def test_noisy_or_mapping():
    probabilities = np.array([[0.5, 0.2, 0.9]], np.float32)
    mapping = np.array([[1, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(ops.convert_to_numpy(noisy_or(probabilities, mapping)),
                               [[1 - 0.5 * 0.8, 0.0]], atol=1e-6)


def test_cross_entropy_baseline_trains_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((64, 4, 4, 1)).astype(np.float32)
    labels = (images.mean(axis=(1, 2)) > 0.5).astype(np.float32)
    labels = np.concatenate([labels, 1 - labels, labels], axis=1)
    backbone = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten()])
    model = CrossEntropyMultilabel(backbone, 3, output_to_clean=[[1, 0, 1], [0, 1, 0]])
    model.compile(optimizer=keras.optimizers.Adam(0.05), jit_compile=False)
    history = model.fit({"image": images, "label": labels}, batch_size=16, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = os.path.join(tmp_path, "ce.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(images)),
                               ops.convert_to_numpy(model(images)), atol=1e-6)
    assert loaded(images).shape == (64, 2)
    with pytest.raises(ValueError, match="vocabulary sizes must match"):
        model.fit({"image": images, "label": labels[:, :2]}, epochs=1, verbose=0)


def test_method_specs():
    assert list(variants.METHODS) == ["ce_clean", "ce_noisy", "ce_clean_subset", "no_pairwise",
                                      "crf_no_hidden", "crf_hidden", "crf_no_xy",
                                      "crf_no_xy_alpha0"]
    assert variants.method_spec("ce_clean_subset").target == "clean_subset"
    assert variants.method_spec("crf_no_xy").model_arguments(200) == {
        "pairwise": True, "num_hidden": 200, "noisy_from_image": False}
    assert variants.method_spec("crf_no_hidden").model_arguments(200)["num_hidden"] == 0
    with pytest.raises(ValueError, match="Unknown method"):
        variants.method_spec("crf")
