"""Table 2 logic and the scripts.robustcrf_table2 entry point (smoke preset)."""

import csv
import json
import os

import numpy as np
import pytest

import tf_data
from scripts.harness import crf_table2 as table2

def tiny_dataset(num_classes=3, n_train=96, n_test=30, seed=0):
    """Separable 4x4 'images': class c lights up row c."""
    rng = np.random.default_rng(seed)

    def make(n):
        labels = rng.integers(0, num_classes, size=n)
        images = rng.random((n, 4, 4, 1)).astype("float32") * 0.2
        images[np.arange(n), labels % 4, :, 0] += 0.8
        return images, labels

    return tf_data.ImageDataset("tiny", *make(n_train), *make(n_test), num_classes, ())


SMOKE_FLAGS = ["--preset=smoke", "--noise_rates=0.2,0.5"]


def check_smoke_outputs(out, output_dir):
    """What the smoke run must print and write."""
    assert "Prediction accuracy (%) on the clean test set" in out
    assert "Recovery accuracy (%) on the noisy training set" in out
    assert "backward at noise 0.5" in out
    results = json.loads((output_dir / "results.json").read_text())
    assert results["table"] == "robustcrf_table2" and results["dataset"] == "digits"
    assert results["noise_kind"] == "mnist"
    rows = results["rows"]
    assert {(r["method"], r["noise"]) for r in rows} == {
        (m, n) for m in table2.DEFAULT_METHODS for n in (0.2, 0.5)} - {("backward", 0.5)}
    for row in rows:
        assert {"method", "noise", "seed", "prediction_accuracy", "recovery_accuracy",
                "flag_precision", "flag_recall"} <= set(row)
    # What is printed is the table of what is saved.
    assert table2.format_table2(rows, results["skipped"]) in out
    with open(output_dir / "suspected_labels_robustcrf_noise0.2_seed0.csv") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["index", "given_label", "suggested_label", "wrong_label_probability"]
    scores = [float(line[3]) for line in table[1:]]
    assert scores == sorted(scores, reverse=True)
    assert all(line[1] != line[2] for line in table[1:])
    # The CSV lists exactly the flagged labels the precision is measured on:
    # precision x flagged is a whole number of truly corrupted labels.
    crf = next(r for r in rows if r["method"] == "robustcrf" and r["noise"] == 0.2)
    truly_wrong = crf["flag_precision"] * (len(table) - 1)
    assert abs(truly_wrong - round(truly_wrong)) < 1e-6


def test_script_main_with_smoke_preset(tmp_path, run_script):
    output_dir = tmp_path / "out"
    printed = run_script("robustcrf_table2", *SMOKE_FLAGS, f"--output_dir={output_dir}")
    check_smoke_outputs(printed, output_dir)


def test_run_table2_with_estimated_transition_on_user_data(tmp_path):
    rows, skipped = table2.run_table2(
        tiny_dataset(), noise_rates=[0.3], seeds=[0, 1], preset="smoke",
        methods=["cross_entropy", "forward_estimated", "backward_estimated", "robustcrf"],
        output_dir=str(tmp_path), progress_stream=open(os.devnull, "w"))
    methods = {row["method"] for row in rows} | {entry["method"] for entry in skipped}
    assert methods == {"cross_entropy", "forward_estimated", "backward_estimated", "robustcrf"}
    assert sorted({row["seed"] for row in rows}) == [0, 1]
    text = table2.format_table2(rows, skipped)
    assert "forward_estimated" in text and "±" in text
    assert json.loads((tmp_path / "results.json").read_text())["noise_kind"] == "symmetric"


def test_npz_dataset_through_run_table2(tmp_path):
    data = tiny_dataset()
    path = tmp_path / "user.npz"
    np.savez(path, x=data.x_train, y=data.y_train, x_test=data.x_test, y_test=data.y_test)
    rows, _ = table2.run_table2(f"npz:{path}", noise_rates=[0.1], methods=["robustcrf"],
                                preset="smoke", progress_stream=open(os.devnull, "w"))
    assert len(rows) == 1 and rows[0]["method"] == "robustcrf"


def test_presets_and_defaults():
    paper = table2.PRESETS["paper"]
    assert (paper.backbone, paper.epochs, paper.alpha_start, paper.alpha_end,
            paper.alpha_epochs) == ("resnet32", 200, 8.0, 1.0, 10)
    assert table2.default_noise_kind("digits") == "mnist"
    assert table2.default_noise_kind("cifar10") == "cifar10"
    assert table2.default_noise_kind("svhn_cropped") == "symmetric"
    assert table2.resolve_preset("default", epochs=3).epochs == 3


def test_paper_preset_builds_resnet32_logits_and_augments():
    paper = table2.PRESETS["paper"]
    backbone = table2.build_logits_backbone(paper, (32, 32, 3), 10)
    assert backbone.output_shape == (None, 10)
    images = np.random.default_rng(0).random((8, 32, 32, 3)).astype("float32")
    batch = next(iter(table2.training_dataset(images, np.arange(8) % 10, paper, 0, True)))
    assert tuple(batch[0].shape) == (8, 32, 32, 3)
    copies = [any(np.array_equal(out, original) for original in images) for out in batch[0].numpy()]
    assert not all(copies)  # Shifted/flipped, not just shuffled.


@pytest.mark.parametrize("call, message", [
    (lambda: table2.resolve_preset("huge"), "preset"),
    (lambda: table2.resolve_preset("smoke", epochs=0), "epochs"),
    (lambda: table2.resolve_preset("smoke", alpha_end=-1.0), "alpha_end"),
    (lambda: table2.check_methods(["bootstrap"]), "Unknown method"),
    (lambda: table2.resolve_preset("smoke", noisy_bias="x"), "noisy_bias"),
    (lambda: table2.run_table2(tiny_dataset(), noise_rates=[1.5], preset="smoke"), "noise rate"),
    (lambda: table2.run_table2(tiny_dataset(), noise_kind="mnist", preset="smoke"),
     "10 classes"),
])
def test_bad_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_cifar10_through_tfds_mock_data_uses_patrini_cifar_noise(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=40):
        rows, _ = table2.run_table2("cifar10", noise_rates=(0.2,), methods=("cross_entropy", "robustcrf"),
                                    preset="smoke", output_dir=str(tmp_path))
    assert table2.default_noise_kind("cifar10") == "cifar10"
    assert {r["method"] for r in rows} == {"cross_entropy", "robustcrf"}
    assert json.loads((tmp_path / "results.json").read_text())["dataset"] == "cifar10"


def test_reweight_and_mentornet_rows_on_request(tmp_path, run_script):
    printed = run_script("robustcrf_table2", "--preset=smoke", "--noise_rates=0.3",
                         "--methods=cross_entropy,reweight,mentornet",
                         f"--output_dir={tmp_path}")
    assert "plus a trusted set of 20 training images" in printed
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    extra = [row for row in rows if row["method"] in ("reweight", "mentornet")]
    assert {row["method"] for row in extra} == {"reweight", "mentornet"}
    assert all(row["trusted_examples"] == 20 for row in extra)
    assert all(0.0 <= row["recovery_accuracy"] <= 1.0 for row in extra)
