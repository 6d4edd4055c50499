"""Multilabel CRF on a user's `npz:` archive: feature vectors, Dense backbones, planted noise."""

import json
import os

import keras
import numpy as np
import pytest

from scripts.harness import crf_table1 as experiment
from test_multilabel_table1 import assert_table_shows_saved_maps
from tf_data import multilabel_npz

NUM_FEATURES = 12
# Six label patterns: labels co-occur strongly, as objects in a scene do.
PATTERNS = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1],
                     [1, 0, 0, 0, 0, 1], [0, 1, 0, 1, 1, 0], [1, 1, 0, 0, 1, 0]], np.uint8)


def _vectors(num_examples, rng, means):
    scene = rng.integers(len(PATTERNS), size=num_examples)
    inputs = means[scene] + rng.normal(size=(num_examples, NUM_FEATURES))
    return inputs.astype(np.float32), PATTERNS[scene]


def write_archive(path, num_train=120, num_test=40, with_test=True, seed=0, signal=2.0,
                  **extra):
    """A scene archive; `signal` scales how far apart the scenes' input means lie."""
    rng = np.random.default_rng(seed)
    means = signal * rng.normal(size=(len(PATTERNS), NUM_FEATURES))
    x_train, y_train = _vectors(num_train, rng, means)
    arrays = dict(x_train=x_train, y_train=y_train)
    if with_test:
        arrays["x_test"], arrays["y_test"] = _vectors(num_test, rng, means)
    arrays.update(extra)
    np.savez(path, **arrays)
    return path


def test_clean_only_archive_plants_caption_like_noise(tmp_path):
    path = write_archive(tmp_path / "set.npz")
    dataset = multilabel_npz.load_multilabel_npz(str(path), flip_on=0.05, flip_off=0.4, seed=3)
    assert dataset.validation is None and dataset.same_vocabulary
    assert dataset.train.images.shape == (120, NUM_FEATURES)
    clean, noisy = dataset.train.clean_labels, dataset.train.noisy_labels
    dropped = ((clean == 1) & (noisy == 0)).sum() / clean.sum()
    assert 0.25 < dropped < 0.55  # flip_off 0.4
    np.testing.assert_array_equal(dataset.test.noisy_labels, dataset.test.clean_labels)
    again = multilabel_npz.load_multilabel_npz(str(path), flip_on=0.05, flip_off=0.4, seed=3)
    np.testing.assert_array_equal(again.train.noisy_labels, noisy)


def test_archive_without_test_split_holds_out_a_fifth(tmp_path):
    path = write_archive(tmp_path / "set.npz", num_train=100, with_test=False)
    dataset = multilabel_npz.load_multilabel_npz(str(path), flip_on=0.0, flip_off=0.2)
    assert len(dataset.train) == 80 and len(dataset.test) == 20


def test_archive_with_its_own_noisy_vocabulary(tmp_path):
    noisy = np.random.default_rng(0).integers(0, 2, size=(120, 4)).astype(np.uint8)
    path = write_archive(tmp_path / "set.npz", y_noisy_train=noisy)
    dataset = multilabel_npz.load_multilabel_npz(str(path))
    assert dataset.num_noisy == 4 and not dataset.same_vocabulary
    with pytest.raises(ValueError, match="already has noisy labels"):
        multilabel_npz.load_multilabel_npz(str(path), flip_on=0.1, flip_off=0.1)


@pytest.mark.parametrize("arrays, match", [
    (dict(x_train=np.zeros((4, 3))), "lacks"),
    (dict(x_train=np.zeros((4, 3)), y_train=np.full((4, 2), 2)), "y_train"),
    (dict(x_train=np.full((4, 3), np.nan), y_train=np.zeros((4, 2))), "NaN"),
    (dict(x_train=np.zeros((4, 3)), y_train=np.zeros((4, 2)), x_test=np.zeros((2, 3))),
     "only one of"),
])
def test_archive_errors_say_what_is_wrong(tmp_path, arrays, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=match):
        multilabel_npz.load_multilabel_npz(str(path), flip_on=0.1, flip_off=0.1)


def test_clean_only_archive_needs_noise_rates(tmp_path):
    path = write_archive(tmp_path / "set.npz")
    with pytest.raises(ValueError, match="flip_on and flip_off"):
        multilabel_npz.load_multilabel_npz(str(path))
    with pytest.raises(ValueError, match="not images"):
        experiment.run_table1(dataset=f"npz:{path}", methods=["ce_noisy"], preset="smoke",
                              backbone="small_cnn", flip_on=0.05, flip_off=0.4)


def test_table1_with_a_users_keras_backbone(tmp_path):
    path = write_archive(tmp_path / "set.npz")
    inputs = keras.Input((NUM_FEATURES,))
    backbone = keras.Model(inputs, keras.layers.Dense(16, activation="tanh")(inputs),
                           name="my_encoder")
    result = experiment.run_table1(
        dataset=f"npz:{path}", methods=["ce_clean_subset", "crf_no_xy"], preset="smoke",
        backbone=backbone, seeds=(0, 1), clean_fraction=0.3, flip_on=0.05, flip_off=0.4,
        output_dir=str(tmp_path))
    rows = result["rows"]
    assert [(row["method"], row["seed"]) for row in rows] == [
        ("ce_clean_subset", 0), ("crf_no_xy", 0), ("ce_clean_subset", 1), ("crf_no_xy", 1)]
    assert all(row["backbone"] == "my_encoder" for row in rows)
    # Two seeds: the table shows mean ± std of the rows' mAPs.
    for method in ("ce_clean_subset", "crf_no_xy"):
        maps = [100 * row["map"] for row in rows if row["method"] == method]
        title = next(row["title"] for row in rows if row["method"] == method)
        line = next(line for line in result["table"].splitlines()
                    if line.startswith(title + "  "))
        assert f"{np.mean(maps):.1f} ± {np.std(maps):.1f}" in line, line
    with open(result["results_path"], encoding="utf-8") as handle:
        written = json.load(handle)
    assert written["clean_fraction"] == 0.3 and written["flip_off"] == 0.4


def test_table1_script_on_feature_vectors_with_mlp(tmp_path, run_script):
    path = write_archive(tmp_path / "set.npz")
    printed = run_script(
        "robustcrf_table1", "--preset=smoke", f"--dataset=npz:{path}", "--backbone=mlp",
        "--flip_on=0.05", "--flip_off=0.4", "--clean_fraction=0.25", "--clean_weighting=per_example",
        "--methods=ce_clean,ce_noisy,ce_clean_subset,crf_no_xy", f"--output_dir={tmp_path}")
    assert "Cross entropy loss on D_C alone" in printed
    with open(os.path.join(tmp_path, "results.json"), encoding="utf-8") as handle:
        results = json.load(handle)
    assert [row["method"] for row in results["rows"]] == [
        "ce_clean", "ce_noisy", "ce_clean_subset", "crf_no_xy"]
    assert results["clean_weighting"] == "per_example"
    assert [check["seed"] for check in results["auxiliary_checks"]] == [0]
    for row in results["rows"]:
        assert {"method", "map", "q_map_noisy_train", "seed"} <= set(row)
        assert (row["q_map_noisy_train"] is not None) == (row["method"] == "crf_no_xy")
    assert_table_shows_saved_maps(printed, results)


def _write_scenes(path, signal, num_train, num_test):
    return f"npz:{write_archive(path, num_train, num_test, signal=signal)}"


@pytest.mark.slow
def test_default_crf_beats_cross_entropy_on_the_clean_set_alone(tmp_path):
    # Weak inputs, strongly co-occurring labels, caption-like noise: the noisy
    # labels (through p_aux and the learned coupling) carry what D_C alone
    # cannot teach the network.
    source = _write_scenes(tmp_path / "scenes.npz", 0.3, 600, 400)
    result = experiment.run_table1(dataset=source, methods=["ce_clean_subset", "crf_no_xy"],
                                   backbone="mlp", flip_on=0.05, flip_off=0.4)
    maps = {row["method"]: row["map"] for row in result["rows"]}
    assert maps["crf_no_xy"] > maps["ce_clean_subset"] + 0.01, maps
    assert "Auxiliary check" in result["table"]


@pytest.mark.parametrize("signal, noise, keeps_auxiliary", [
    (0.0, 0.0, True),    # inputs say nothing; the noisy labels are the clean ones
    (3.0, 0.5, False),   # inputs name the scene; the noisy labels are coin flips
])
def test_auxiliary_check_keeps_p_aux_only_where_it_beats_the_inputs(
        tmp_path, signal, noise, keeps_auxiliary):
    source = _write_scenes(tmp_path / "scenes.npz", signal, 240, 20)
    preset = experiment.preset_named("smoke", epochs=10, rbm_epochs=20, learning_rate=1e-2)
    dataset = experiment.load_multilabel_dataset(source, preset, flip_on=noise, flip_off=noise)
    clean = np.arange(0, 240, 4)
    check = experiment.measure_auxiliary_value(dataset, clean, preset, backbone_name="mlp")
    assert check["held_out"] == 15  # a quarter of D_C
    assert check["uses_auxiliary"] == keeps_auxiliary
    assert check["uses_auxiliary"] == (check["auxiliary_map"] > check["inputs_map"])
    with pytest.raises(ValueError, match="larger clean_fraction"):
        experiment.measure_auxiliary_value(dataset, clean[:1], preset, backbone_name="mlp")


def test_table1_trains_at_alpha_zero_when_the_check_says_so(tmp_path, monkeypatch):
    path = write_archive(tmp_path / "set.npz")
    verdicts = iter([False, True])

    def check(*args, **kwargs):
        return {"auxiliary_map": 0.5, "inputs_map": 0.6, "uses_auxiliary": next(verdicts),
                "held_out": 6}

    monkeypatch.setattr(experiment, "measure_auxiliary_value", check)
    result = experiment.run_table1(
        dataset=f"npz:{path}", methods=["crf_no_xy", "crf_no_xy_alpha0"], preset="smoke",
        backbone="mlp", seeds=(0, 1), flip_on=0.05, flip_off=0.4, output_dir=str(tmp_path))
    used = [(row["method"], row["seed"], row["auxiliary_used"]) for row in result["rows"]]
    assert used == [("crf_no_xy", 0, False), ("crf_no_xy_alpha0", 0, False),
                    ("crf_no_xy", 1, True), ("crf_no_xy_alpha0", 1, False)]
    assert "p_aux kept (alpha annealed) in 1 of 2 seed(s)" in result["table"]
    with open(result["results_path"], encoding="utf-8") as handle:
        written = json.load(handle)
    assert [c["seed"] for c in written["auxiliary_checks"]] == [0, 1]
    assert written["clean_weighting"] == "per_example"


def test_table1_without_the_check_keeps_the_papers_schedule(tmp_path, monkeypatch):
    def no_check(*args, **kwargs):
        raise AssertionError("the auxiliary check ran although it was turned off")

    monkeypatch.setattr(experiment, "measure_auxiliary_value", no_check)
    path = write_archive(tmp_path / "set.npz")
    result = experiment.run_table1(
        dataset=f"npz:{path}", methods=["crf_no_xy"], preset="smoke", backbone="mlp",
        flip_on=0.05, flip_off=0.4, output_dir=str(tmp_path), clean_weighting="per_set",
        auxiliary_check=False, start_from_auxiliary=False)
    assert [row["auxiliary_used"] for row in result["rows"]] == [True]
    assert "Auxiliary check" not in result["table"]
    with open(result["results_path"], encoding="utf-8") as handle:
        written = json.load(handle)
    assert written["auxiliary_checks"] is None and written["clean_weighting"] == "per_set"


def test_mlp_backbone_drops_a_share_of_its_inputs_in_training_only():
    backbone = experiment.make_backbone("mlp", (50,), width=None)
    dropouts = [layer for layer in backbone.layers if isinstance(layer, keras.layers.Dropout)]
    assert [layer.rate for layer in dropouts] == [experiment.MLP_INPUT_DROPOUT]
    assert backbone.output_shape == (None, experiment.MLP_WIDTH)
    x = np.ones((4, 50), np.float32)
    np.testing.assert_array_equal(backbone(x, training=False), backbone(x, training=False))
    assert not np.allclose(backbone(x, training=True), backbone(x, training=False))
