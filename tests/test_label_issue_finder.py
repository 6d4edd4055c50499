"""The label-issue finder: confident joint, folds, report, end to end, script, bad input."""

import csv
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import robustcrf
import tf_data
from robustcrf import label_issue_finder
from robustcrf.alpha_annealing import DEFAULT_END
from robustcrf.label_issue_report import LabelIssueReport
from robustcrf.transition_estimation import confident_joint
from robustcrf.transition_estimation import confident_transition_matrix
from scripts.harness import label_audit
from scripts.harness import label_detection
from tf_data.label_issues import rank_label_issues
from tf_data.splits import stratified_folds

PLANTED = np.array([[0.7, 0.3, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def linear_backbone(image_shape, num_classes):
    """A tiny backbone for fast tests: flatten + Dense(C) logits."""
    return keras.Sequential([keras.Input(image_shape), keras.layers.Flatten(),
                             keras.layers.Dense(num_classes)])


def toy_images(per_class=80, seed=0):
    """Three classes of 6x6 images: a bright row, a bright column, a bright diagonal."""
    rng = np.random.default_rng(seed)
    patterns = np.zeros((3, 6, 6), np.float32)
    patterns[0, 2, :] = 1.0
    patterns[1, :, 3] = 1.0
    patterns[2] = np.eye(6)
    labels = np.repeat(np.arange(3), per_class)
    images = patterns[labels] * 0.8 + rng.uniform(0.0, 0.2, (len(labels), 6, 6))
    return images[..., None].astype(np.float32), labels


# ------------------------------------------------------------------ confident joint
def test_confident_joint_against_hand_counts():
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.8, 0.2], [0.2, 0.8]])
    given = np.array([0, 0, 0, 1, 1])
    # Thresholds: class 0 mean self-confidence (0.9+0.6+0.3)/3 = 0.6, class 1 (0.2+0.8)/2 = 0.5.
    # Rows clearing them: 0 -> {0}, 1 -> {0}, 2 -> {1}, 3 -> {0}, 4 -> {1}.
    counts = np.array([[2.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(confident_joint(probabilities, given), counts)
    # T[i, j] = joint[j, i] / sum_j joint[j, i].
    np.testing.assert_allclose(confident_transition_matrix(probabilities, given),
                               [[2 / 3, 1 / 3], [0.5, 0.5]])


def test_confident_joint_calibrates_rows_to_label_counts():
    # Example 2 (labelled 0) clears no threshold: row 0 is rescaled to 3 examples.
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.5, 0.5], [0.1, 0.9]])
    given = np.array([0, 0, 0, 1])
    joint = confident_joint(probabilities, given)
    np.testing.assert_allclose(joint.sum(axis=1), [3.0, 1.0])
    np.testing.assert_allclose(joint, [[3.0, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize("probabilities, labels, message", [
    (np.full((3, 2), 0.5), [0, 0, 0], "class"),
    (np.full((3, 2), 0.5), [0, 1, 2], r"\[0, 2\)"),
    (np.full((3, 2), 0.7), [0, 1, 0], "summing to 1"),
    (np.full((3, 2), 0.5), [0, 1], "same number"),
])
def test_confident_joint_rejects_bad_input(probabilities, labels, message):
    with pytest.raises(ValueError, match=message):
        confident_joint(probabilities, np.array(labels))


# ------------------------------------------------------------------ folds
def test_stratified_folds_spread_every_class():
    labels = np.array([0] * 9 + [1] * 5 + [2] * 4)
    folds = stratified_folds(labels, 4, 3, seed=0)
    for c in range(3):
        per_fold = np.bincount(folds[labels == c], minlength=4)
        assert per_fold.max() - per_fold.min() <= 1
    np.testing.assert_array_equal(folds, stratified_folds(labels, 4, 3, seed=0))


def test_stratified_folds_name_the_short_class():
    with pytest.raises(ValueError, match=r"'cat' \(2\).*fewer folds"):
        stratified_folds(np.array([0] * 5 + [1] * 2), 3, 2, seed=0, class_names=("dog", "cat"))
    with pytest.raises(ValueError, match=r"'1' \(1\).*at least 2 examples"):
        stratified_folds(np.array([0] * 5 + [1]), 2, 2, seed=0)
    with pytest.raises(ValueError, match="folds must be an integer >= 2"):
        stratified_folds(np.array([0, 1, 0, 1]), 1, 2, seed=0)


# ------------------------------------------------------------------ report
def _hand_report():
    given = np.array([0, 0, 1, 1, 1, 2])
    suggested = np.array([0, 1, 1, 0, 0, 2])
    scores = np.array([0.1, 0.8, 0.2, 0.9, 0.7, 0.0])
    transition = np.array([[0.8, 0.2, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    prior = np.array([0.5, 0.25, 0.25])
    issues = rank_label_issues(given, suggested, scores, score_name="wrong_label_probability")
    return LabelIssueReport(issues, given, transition,
                            prior, np.full((6, 3), 1 / 3), ("a", "b", "c"),
                            files=tuple(f"f{i}.png" for i in range(6)))


def test_report_summaries_match_hand_counts():
    report = _hand_report()
    np.testing.assert_array_equal(report.flags_by_example(), [0, 1, 0, 1, 1, 0])
    np.testing.assert_allclose(report.scores_by_example(), [0.1, 0.8, 0.2, 0.9, 0.7, 0.0])
    # P(clean=a | given=b) = 0.5*0.2 / (0.5*0.2 + 0.25*1) = 0.1/0.35.
    np.testing.assert_allclose(report.estimated_wrong_shares(), [0.0, 0.1 / 0.35, 0.0])
    rows = report.class_summary()
    assert rows[1] == {"label": 1, "class": "b", "examples": 3, "flagged": 2,
                       "flagged_share": 2 / 3,
                       "estimated_wrong_share": pytest.approx(0.1 / 0.35),
                       "most_suggested": "a"}
    assert rows[2]["most_suggested"] is None
    assert report.confused_pairs() == [
        {"given": "b", "suggested": "a", "given_label": 1, "suggested_label": 0, "count": 2},
        {"given": "a", "suggested": "b", "given_label": 0, "suggested_label": 1, "count": 1}]
    json.dumps(report.summary())  # JSON-ready


def test_report_records_name_classes_and_files():
    records = _hand_report().records(2)
    assert records == [
        {"index": 3, "file": "f3.png", "given_label": 1, "suggested_label": 0,
         "given_class": "b", "suggested_class": "a", "score": 0.9},
        {"index": 1, "file": "f1.png", "given_label": 0, "suggested_label": 1,
         "given_class": "a", "suggested_class": "b", "score": 0.8}]
    assert len(_hand_report().records(flagged_only=False)) == 6


def test_report_csv_has_class_names_and_files(tmp_path):
    path = _hand_report().to_csv(str(tmp_path / "issues.csv"))
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["index"] for row in rows] == ["3", "1", "4"]
    assert rows[0]["given_class"] == "b" and rows[0]["suggested_class"] == "a"
    assert rows[0]["file"] == "f3.png" and rows[0]["wrong_label_probability"] == "0.900000"


def test_estimated_wrong_shares_and_count_against_bayes_by_hand():
    prior = np.array([0.5, 0.3, 0.2])
    # Half of clean 0s are given 1: given 1 holds 0.25 clean 0s and 0.3 clean 1s.
    transition = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    shares = robustcrf.estimated_wrong_shares(prior, transition)
    np.testing.assert_allclose(shares, [0.0, 0.25 / 0.55, 0.0])
    given = np.array([0] * 5 + [1] * 11 + [2] * 4)
    assert robustcrf.estimated_wrong_count(given, prior, transition) == round(11 * 0.25 / 0.55)
    with pytest.raises(ValueError, match="class_prior must have 3"):
        robustcrf.estimated_wrong_shares([0.5, 0.5], transition)


def test_flag_detection_scores_against_hand_counts():
    truth = np.array([1, 1, 0, 0, 0], bool)
    result = label_detection.flag_detection_scores(
        truth, np.array([1, 0, 1, 0, 0], bool), np.array([0.9, 0.8, 0.7, 0.1, 0.0]))
    assert result["precision"] == 0.5 and result["recall"] == 0.5 and result["f1"] == 0.5
    assert result["roc_auc"] == 1.0 and result["flagged"] == 2


def test_clean_class_probabilities_invert_the_noise():
    transition = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.0, 0.3, 0.7]])
    clean = np.random.default_rng(0).dirichlet(np.ones(3), size=50)
    recovered = robustcrf.clean_class_probabilities(clean @ transition, transition,
                                                    tolerance=1e-12, max_iterations=20000)
    np.testing.assert_allclose(recovered, clean, atol=1e-4)
    # A row T cannot produce is projected to the closest mixture of T's rows (here row 0
    # alone), and the EM never leaves the simplex.
    edge = robustcrf.clean_class_probabilities([[1.0, 0.0]], [[0.9, 0.1], [0.1, 0.9]])
    assert edge[0, 0] > 0.99 and np.isclose(edge.sum(), 1.0)


def test_clean_label_posterior_is_bayes_on_the_clean_probabilities():
    transition = np.array([[0.8, 0.2], [0.1, 0.9]])
    noisy = np.array([[0.7, 0.3], [0.7, 0.3], [0.2, 0.8]]) @ transition
    posterior = robustcrf.clean_label_posterior(noisy, [1, 0, 1], transition)
    by_hand = np.array([[0.7 * 0.2, 0.3 * 0.9], [0.7 * 0.8, 0.3 * 0.1], [0.2 * 0.2, 0.8 * 0.9]])
    np.testing.assert_allclose(posterior, by_hand / by_hand.sum(1, keepdims=True), atol=1e-5)
    # A label no clean class produces keeps p(clean | x).
    never = robustcrf.clean_label_posterior([[0.5, 0.5]], [1], [[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(never, [[0.5, 0.5]], atol=1e-6)


@pytest.mark.parametrize("probabilities, labels, transition, message", [
    ([[0.5, 0.5]], [0], np.eye(3), "classes"),
    ([[0.5, 0.5]], [0, 1], np.eye(2), "one label per row"),
    ([[0.5, 0.5]], [2], np.eye(2), "given_labels"),
    ([[0.9, 0.9]], [0], np.eye(2), "summing to 1"),
])
def test_clean_label_posterior_rejects_bad_input(probabilities, labels, transition, message):
    with pytest.raises(ValueError, match=message):
        robustcrf.clean_label_posterior(probabilities, labels, transition)


# ------------------------------------------------------------------ end to end
def test_finder_ranks_planted_labels_first_and_estimates_their_noise():
    images, clean = toy_images()
    noisy = tf_data.corrupt_labels(clean, PLANTED, seed=0, exact=True)
    report = robustcrf.find_label_issues(images, noisy.labels, backbone=linear_backbone,
                                         folds=3, epochs=12, batch_size=32, learning_rate=0.01,
                                         verbose=0)
    planted = noisy.is_corrupted
    scores = report.scores_by_example()
    above_every_correct = scores[planted] > scores[~planted].max()
    assert above_every_correct.mean() >= 0.8
    suggested = np.empty(len(clean), np.int64)
    suggested[report.issues.indices] = report.issues.suggested_labels
    flags = report.flags_by_example()
    # Every flag is a planted label (the ranking is clean), with its true class suggested;
    # how many are flagged follows the estimated T (below), here 17 of the 24.
    assert flags.sum() >= 0.6 * planted.sum() and np.all(planted[flags])
    np.testing.assert_array_equal(suggested[flags], clean[flags])
    np.testing.assert_allclose(report.estimated_transition, PLANTED, atol=0.1)
    assert report.out_of_fold_probabilities.shape == (len(clean), 3)
    assert isinstance(report.model, robustcrf.RobustCRFModel)
    # q is read where the annealing ends: alpha is at its final value.
    np.testing.assert_allclose(float(report.model.alpha.numpy()), DEFAULT_END, rtol=1e-6)
    # Scored by the mean of the CRF's q and the held-out posterior; as many flags as the
    # estimated noise implies, the top scores.
    posterior = 0.5 * (report.model.regularised_posteriors(images, noisy.labels)
                       + robustcrf.clean_label_posterior(report.out_of_fold_probabilities,
                                                         noisy.labels,
                                                         report.estimated_transition))
    np.testing.assert_allclose(scores, 1.0 - posterior[np.arange(len(clean)), noisy.labels],
                               rtol=1e-6, atol=1e-7)
    flags = report.flags_by_example()
    assert flags.sum() == robustcrf.estimated_wrong_count(
        noisy.labels, report.class_prior, report.estimated_transition)
    assert scores[flags].min() >= scores[~flags].max()
    assert {pair["given"] for pair in report.confused_pairs()[:1]} == {"1"}


class _EveryEpoch(keras.callbacks.Callback):
    def __init__(self, images):
        super().__init__()
        self.images = images
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(keras.ops.convert_to_numpy(
            keras.ops.softmax(self.model(self.images, training=False), axis=-1)))


def test_held_out_average_is_the_mean_over_epochs():
    images, labels = toy_images(per_class=6)
    keras.utils.set_random_seed(0)
    model = linear_backbone(images.shape[1:], 3)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    average = label_issue_finder.HeldOutAverage(images[:5], from_logits=True)
    every_epoch = _EveryEpoch(images[:5])
    with pytest.raises(ValueError, match="no epoch"):
        average.probabilities()
    model.fit(images, labels, epochs=4, batch_size=6, verbose=0,
              callbacks=[average, every_epoch])
    assert average.epochs_seen == 3  # the first epoch (from random weights) is left out
    np.testing.assert_allclose(average.probabilities(), np.mean(every_epoch.seen[1:], axis=0),
                               rtol=1e-5, atol=1e-7)
    assert not np.allclose(every_epoch.seen[0], every_epoch.seen[-1])  # it did train
    np.testing.assert_allclose(average.probabilities().sum(axis=1), 1.0, rtol=1e-6)
    single = label_issue_finder.HeldOutAverage(images[:5], skip=1)
    model.fit(images, labels, epochs=1, batch_size=6, verbose=0, callbacks=[single])
    assert single.epochs_seen == 1  # a one-epoch fit keeps its only epoch
    with pytest.raises(ValueError, match="skip"):
        label_issue_finder.HeldOutAverage(images, skip=-1)


def test_finder_takes_a_keras_model_and_clones_it():
    images, clean = toy_images(per_class=12)
    backbone = linear_backbone(images.shape[1:], 3)
    report = robustcrf.find_label_issues(images, clean, backbone=backbone, folds=2, epochs=1,
                                         batch_size=8, verbose=0, crf_epochs=2)
    assert report.model.backbone is not backbone
    assert len(report.issues) == len(clean)


@pytest.mark.parametrize("labels, class_names, message", [
    (np.array([0, 1, 5] * 8), ("a", "b", "c"), r"\[0, 3\)"),
    (np.array([0.5] * 24), None, "integer"),
    (np.zeros(24, np.int64), None, "at least 2 classes"),
    (np.array([0] * 22 + [1] * 2), None, r"'1' \(2\).*fewer folds"),
    (np.array([0, 1] * 11), None, "same number of examples"),
])
def test_finder_rejects_bad_labels(labels, class_names, message):
    images, _ = toy_images(per_class=8)
    with pytest.raises(ValueError, match=message):
        robustcrf.find_label_issues(images, labels, class_names=class_names, folds=3,
                                    verbose=0)


def test_finder_rejects_bad_images_and_settings():
    images, labels = toy_images(per_class=8)
    broken = images.copy()
    broken[3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        robustcrf.find_label_issues(broken, labels, verbose=0)
    with pytest.raises(ValueError, match="labels"):
        robustcrf.find_label_issues(images, verbose=0)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        robustcrf.find_label_issues(images, labels, epochs=0, verbose=0)
    with pytest.raises(ValueError, match="crf_epochs must be a positive integer"):
        robustcrf.find_label_issues(images, labels, crf_epochs=0, verbose=0)
    with pytest.raises(ValueError, match="backbone must be"):
        robustcrf.find_label_issues(images, labels, backbone="resnet", verbose=0)


# ------------------------------------------------------------------ the script
def _write_folder(root, per_class=12):
    images, labels = toy_images(per_class=per_class)
    for name in ("row", "column", "diagonal"):
        os.makedirs(root / name, exist_ok=True)
    files = []
    for i, (image, label) in enumerate(zip(images, labels)):
        path = root / ("row", "column", "diagonal")[label] / f"{i}.png"
        tf.io.write_file(str(path), tf.io.encode_png((image * 255).astype(np.uint8)))
        files.append(str(path))
    return files


def test_script_writes_every_file_and_scores_planted_noise(tmp_path, run_script):
    _write_folder(tmp_path / "data")
    out = tmp_path / "out"
    printed = run_script("find_label_issues", f"--dataset=folder:{tmp_path}/data",
                         "--preset=smoke", "--noise=symmetric", "--noise_rate=0.3",
                         f"--output_dir={out}")
    assert "Against the" in printed and "planted errors" in printed
    assert sorted(os.listdir(out)) == sorted(label_audit.OUTPUT_FILES)
    summary = json.loads((out / "summary.json").read_text())
    for key in ("precision", "recall", "f1", "roc_auc"):
        assert 0.0 <= summary[key] <= 1.0
    assert summary["examples"] == 36 and len(summary["classes"]) == 3
    assert np.allclose(np.sum(summary["estimated_transition"], axis=1), 1.0)
    with open(out / "label_issues.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["flagged"]
    assert all(os.path.isfile(row["file"]) for row in rows)
    assert all(row["given_class"] in ("row", "column", "diagonal") for row in rows)
    import matplotlib.image
    for picture in ("suspects.png", "noise_matrix.png"):
        assert matplotlib.image.imread(str(out / picture)).ndim == 3


def test_finder_reads_a_folder_source_and_keeps_its_files(tmp_path):
    files = _write_folder(tmp_path)
    report = robustcrf.find_label_issues(f"folder:{tmp_path}", backbone=linear_backbone,
                                         folds=2, epochs=1, batch_size=8, verbose=0)
    assert report.class_names == ("column", "diagonal", "row")
    assert sorted(report.files) == sorted(files)
    for record in report.records(flagged_only=False):
        assert os.path.basename(os.path.dirname(record["file"])) == record["given_class"]


def test_audit_without_planted_noise_has_no_scores(tmp_path):
    images, labels = toy_images(per_class=12)
    data = tf_data.ImageDataset("toy", images[::2], labels[::2], images[1::2], labels[1::2], 3,
                                ("a", "b", "c"))
    _, summary = label_audit.run_audit(data, preset="smoke", output_dir=str(tmp_path),
                                       verbose=0, max_examples=None, folds=2)
    assert "f1" not in summary and summary["examples"] == 36
    assert sorted(os.listdir(tmp_path)) == sorted(label_audit.OUTPUT_FILES)


def test_script_refuses_bad_sources(tmp_path, run_script):
    os.makedirs(tmp_path / "one" / "only_class")
    with pytest.raises(ValueError, match="at least 2"):
        run_script("find_label_issues", f"--dataset=folder:{tmp_path}/one", "--preset=smoke")
    files = _write_folder(tmp_path / "bad")
    (tmp_path / "bad" / "row" / "broken.png").write_text("not an image")
    with pytest.raises(ValueError, match="broken.png"):
        run_script("find_label_issues", f"--dataset=folder:{tmp_path}/bad", "--preset=smoke")
    assert files
    with pytest.raises(ValueError, match="plants nothing"):
        run_script("find_label_issues", "--dataset=digits", "--noise=mnist", "--preset=smoke")


def test_audit_refuses_too_few_examples_for_the_folds(tmp_path):
    images, labels = toy_images(per_class=3)
    data = tf_data.ImageDataset("toy", images[::2], labels[::2], images[1::2], labels[1::2], 3, ())
    with pytest.raises(ValueError, match="fewer folds"):
        label_audit.run_audit(data, preset="smoke", output_dir=str(tmp_path), verbose=0,
                              folds=4)


def test_bench_skips_cleanlab_when_absent(monkeypatch):
    import importlib
    import sys

    from absl import flags

    # The bench defines absl flags at import; unregister them afterwards, as
    # the run_script fixture does for the scripts.
    defined_before = set(flags.FLAGS)
    sys.modules.pop("bench.label_issue_detection", None)
    try:
        bench = importlib.import_module("bench.label_issue_detection")
        monkeypatch.setitem(sys.modules, "cleanlab", None)
        monkeypatch.setitem(sys.modules, "cleanlab.filter", None)
        assert bench.cleanlab_detector() is None
    finally:
        for name in set(flags.FLAGS) - defined_before:
            delattr(flags.FLAGS, name)
        sys.modules.pop("bench.label_issue_detection", None)
