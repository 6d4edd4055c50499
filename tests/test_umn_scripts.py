"""The experiment logic behind scripts/umn_table{1,2,3}.py and the scripts themselves."""

import dataclasses
import json
import os
import types

import matplotlib.image
import numpy as np
import pytest
from absl import app
import tensorflow_datasets as tfds

import tf_data
from tf_data import augment
from umn import UncertaintyMiningNet

from umn import architectures
from umn.model import DEFAULT_M1_WARMUP
from scripts.harness import umn_tables as experiment
from scripts.harness import umn_flags as script_flags
from scripts.harness import reweighting_runs

SMOKE = experiment.PRESETS["smoke"]


def read_results(output_dir):
    with open(os.path.join(output_dir, "results.json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_make_noisy_split_labels_a_balanced_corrupted_subset():
    data = tf_data.load_dataset("digits")
    split = experiment.make_noisy_split(data, 50, 0.3, seed=1)
    assert np.sum(split.labels >= 0) == 50 and len(split.labelled_indices) == 50
    assert np.bincount(data.y_train[split.labelled_indices], minlength=10).tolist() == [5] * 10
    assert int(split.is_corrupted.sum()) == 15
    np.testing.assert_array_equal(split.labels[split.labelled_indices], split.noisy.labels)
    with pytest.raises(ValueError, match="multiple"):
        experiment.make_noisy_split(data, 55, 0.3, seed=1)


def test_clean_labels_bound_trains_eps_zero_on_the_right_labels_only(monkeypatch):
    data = tf_data.load_dataset("digits")
    split = experiment.make_noisy_split(data, 50, 0.3, seed=1)
    clean = split.without_corrupted()
    wrong = split.labelled_indices[split.is_corrupted]
    right = split.labelled_indices[~split.is_corrupted]
    assert np.all(clean.labels[wrong] == -1) and len(wrong) == 15
    np.testing.assert_array_equal(clean.labels[right], data.y_train[right])
    np.testing.assert_array_equal(np.delete(clean.labels, split.labelled_indices),
                                  np.delete(split.labels, split.labelled_indices))
    assert np.sum(split.labels >= 0) == 50  # the split itself is left as it was

    class Stop(Exception):
        """Raised by the stream spy to end `train_method` before it trains."""

    seen = {}

    def spy(images, labels, *args, **kwargs):
        seen["labels"] = labels
        raise Stop

    monkeypatch.setattr(experiment.streams, "semi_supervised_stream", spy)
    with pytest.raises(Stop):
        experiment.train_method("clean_labels", data, split, SMOKE, seed=1, noise_rate=0.3)
    np.testing.assert_array_equal(seen["labels"], clean.labels)
    model = experiment.build_model("clean_labels", (8, 8, 1), 10, SMOKE, seed=0, noise_rate=0.3)
    assert model.uncertainty == "zero"


def test_method_and_rate_validation():
    assert experiment.check_methods(["umn", "mentornet", "reweight"])[1:] == ("mentornet",
                                                                              "reweight")
    with pytest.raises(ValueError, match="Unknown method"):
        experiment.check_methods(["coteaching"])
    with pytest.raises(ValueError, match="0.2 for 20%"):
        experiment.check_noise_rates([20])
    with pytest.raises(ValueError, match="preset"):
        experiment.preset_settings("huge")


def test_architecture_choice_and_shift_scaling():
    assert experiment.choose_architecture((32, 32, 3)) == "conv13"
    assert experiment.choose_architecture((8, 8, 1)) == "mlp"
    assert experiment.choose_architecture((30, 30, 3)) == "mlp"
    with pytest.raises(ValueError, match="multiples of 4"):
        experiment.choose_architecture((8, 8, 1), "conv13")
    assert augment.scaled_max_shift((8, 8, 1)) == 1
    assert augment.scaled_max_shift((28, 28, 1)) == 2
    assert augment.scaled_max_shift((32, 32, 3)) == 2
    assert augment.scaled_max_shift((8, 8, 1), 0) == 0
    with pytest.raises(ValueError, match="non-negative integer"):
        augment.scaled_max_shift((8, 8, 1), -1)
    # The mlp's eta is noise only; conv13 translates by Table 4's 2 px.
    assert UncertaintyMiningNet((8, 8, 1), 10).max_shift == 0
    assert UncertaintyMiningNet((28, 28, 1), 10, max_shift=2).max_shift == 2
    assert architectures.default_max_shift((32, 32, 3), "conv13") == 2
    assert architectures.default_max_shift((28, 28, 1), "mlp") == 0


def test_run_table1_writes_rows(tmp_path, capsys):
    rows = experiment.run_table1(methods=("supervised", "umn"), noise_rates=(0.2,), seeds=(0,),
                                 settings=SMOKE, output_dir=str(tmp_path))
    payload = read_results(str(tmp_path))
    assert payload["table"] == "umn_table1" and payload["dataset"] == "digits"
    assert payload["rows"] == rows
    assert [r["method"] for r in rows] == ["supervised", "umn"]
    printed = capsys.readouterr().out
    for row in rows:
        assert row["noise"] == 0.2 and row["seed"] == 0
        # The printed table shows the saved error (%) on the method's line.
        line = next(line for line in printed.splitlines() if line.startswith(row["method"] + " "))
        assert f"{row['error_rate']:.1f}" in line.split(), line
        assert row["label_noise_rate"] is None  # the default does not scale the labelled term
    assert "scaled the labelled term" not in printed
    assert "minus the baseline's" not in printed  # no eps = 0 or M-VAE run to pair with


def test_run_table1_records_the_rate_that_scaled_the_labelled_term(tmp_path, capsys):
    settings = dataclasses.replace(SMOKE, scale_by_noise_rate="estimate")
    rows = experiment.run_table1(methods=("supervised", "m_vae", "umn"), noise_rates=(0.3,),
                                 seeds=(0,), settings=settings, output_dir=str(tmp_path))
    by_method = {r["method"]: r["label_noise_rate"] for r in rows}
    # Estimated from the split (never read from the true labels): a rate in [0, 1).
    assert by_method["supervised"] is None and by_method["m_vae"] is None
    assert 0.0 <= by_method["umn"] < 1.0
    assert read_results(str(tmp_path))["rows"] == rows
    printed = capsys.readouterr().out
    assert "Table 1: the share of wrong labels (%) that scaled the labelled term" in printed
    line = next(line for line in printed.splitlines()[::-1] if line.startswith("umn "))
    assert f"{100 * by_method['umn']:.1f}" in line.split(), line
    given = experiment.run_table1(methods=("umn",), noise_rates=(0.3,), seeds=(0,),
                                  settings=dataclasses.replace(SMOKE, scale_by_noise_rate=0.25),
                                  output_dir=str(tmp_path))
    assert given[0]["label_noise_rate"] == pytest.approx(0.25)


def test_run_table3_writes_metrics_histogram_and_csv(tmp_path):
    rows = experiment.run_table3(noise_rates=(0.3,), seeds=(0,), settings=SMOKE,
                                 threshold="otsu", output_dir=str(tmp_path))
    (row,) = rows
    for key in ("precision", "recall", "f1", "roc_auc", "threshold", "disbelief_auc",
                "f1_eps_positive"):
        assert key in row
    assert 0.0 <= row["f1_eps_positive"] <= 1.0
    # label_issues' default detector, scored on the same labels beside eps.
    for metric in experiment.DETECTION_METRICS:
        assert 0.0 <= row["issues_" + metric] <= 1.0
    precision, recall = row["issues_precision"], row["issues_recall"]
    assert row["issues_f1"] == pytest.approx(
        2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    # eps's ROC AUC at every epoch; the last is the final epoch's roc_auc.
    assert len(row["roc_auc_by_epoch"]) == SMOKE.epochs
    assert row["roc_auc_by_epoch"][-1] == pytest.approx(row["roc_auc"])
    # Figure 4b: one panel per epoch, read back as an RGBA image.
    assert matplotlib.image.imread(tmp_path / "eps_histogram_noise0.3.png").ndim == 3
    assert matplotlib.image.imread(tmp_path / "eps_auc_by_epoch.png").ndim == 3
    with open(tmp_path / "suspected_labels_noise0.3_seed0.csv", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0] == "index,given_label,suggested_label,eps"
    assert len(lines) - 1 == int(np.sum(np.asarray(row["flagged"])))
    with pytest.raises(ValueError, match="otsu"):
        experiment.run_table3(noise_rates=(0.3,), seeds=(0,), settings=SMOKE,
                              threshold="mean", output_dir=str(tmp_path))


def test_run_table3_says_which_eps_it_read(tmp_path, capsys):
    settings = dataclasses.replace(SMOKE, uncertainty_estimate="guider")
    experiment.run_table3(noise_rates=(0.3,), seeds=(0,), settings=settings,
                          output_dir=str(tmp_path))
    printed = capsys.readouterr().out
    assert "eps: the paper's |guider - learner| (Eq. 11)" in printed
    assert "a baseline beside the paper's eps of Eq. 11" in printed


@pytest.mark.slow
def test_umn_table1_script_smoke(tmp_path, run_script):
    printed = run_script("umn_table1", "--preset=smoke", f"--output_dir={tmp_path}")
    assert "UMN Table 1" in printed  # default methods
    rows = read_results(str(tmp_path))["rows"]
    assert {r["method"] for r in rows} == set(experiment.DEFAULT_TABLE1_METHODS)


@pytest.mark.slow
def test_umn_table2_script_smoke(tmp_path, run_script):
    printed = run_script("umn_table2", "--preset=smoke", f"--output_dir={tmp_path}",
                         "--methods=supervised,umn,umn_semi,mentornet")
    payload = read_results(str(tmp_path))
    assert payload["table"] == "umn_table2"
    assert {r["method"] for r in payload["rows"]} == {"supervised", "umn", "umn_semi",
                                                      "mentornet"}
    assert "umn - umn_semi" in printed and "/1 below)" in printed  # paired by seed
    assert sorted({r["num_labels"] for r in payload["rows"]}) == [20, 50]


@pytest.mark.slow
def test_umn_table3_script_smoke(tmp_path, run_script):
    printed = run_script("umn_table3", "--preset=smoke", f"--output_dir={tmp_path}",
                         "--threshold=0.05")
    assert read_results(str(tmp_path))["threshold"] == "0.05"
    assert "eps: 1 - mean(guider, held-out cross-fitted eps = 0 model)(y_obs)" in printed
    assert "disbelief_auc" in printed and "the half of eps the model learns" in printed
    assert "issues_f1" in printed and "issues_*: label_issues' default score" in printed
    assert any(name.endswith(".png") for name in os.listdir(tmp_path))


@pytest.mark.slow
def test_umn_table3_script_reads_eps_with_the_cross_fitted_view(tmp_path, run_script):
    printed = run_script("umn_table3", "--preset=smoke", f"--output_dir={tmp_path}",
                         "--held_out_view=cross_fitted")
    assert "eps: 1 - mean(guider, held-out cross-fitted eps = 0 model)(y_obs)" in printed
    assert read_results(str(tmp_path))["settings"]["held_out_view"] == "cross_fitted"


@pytest.mark.parametrize("preset, epochs, expected", [
    ("default", None, experiment.TABLE3_EPOCHS),  # Table 3's longer default
    ("default", 7, 7),  # --epochs always wins
    ("smoke", None, SMOKE.epochs),  # other presets keep their own
])
def test_table3_epoch_default_applies_only_to_the_default_preset(preset, epochs, expected):
    values = flag_values(preset=preset, epochs=epochs)
    settings = script_flags.settings_from_flags(values, default_epochs=experiment.TABLE3_EPOCHS)
    assert settings.epochs == expected
    assert script_flags.settings_from_flags(values).epochs == (epochs or
                                                               experiment.PRESETS[preset].epochs)


@pytest.mark.parametrize("weights", ["held_out", "noise_corrected"])
def test_warmup_weights_flag_reaches_the_settings(weights):
    values = flag_values(preset="default", warmup_weights=weights)
    assert script_flags.settings_from_flags(values).warmup_weights == weights
    default = script_flags.settings_from_flags(flag_values(preset="default"))
    assert default.warmup_weights is None   # the model's default for the view
    assert default.warmup_weights_in_use == "noise_corrected"
    assert default.held_out_view_in_use == "cross_fitted"


def flag_values(**given):
    """The parsed flags of `settings_from_flags`, unset unless given."""
    names = ("preset", "epochs", "eps_clip", "label_term", "label_weight", "ema_decay",
             "uncertainty_warmup", "m1_warmup", "jit_compile", "learning_rate",
             "scale_by_noise_rate", "scale_by_labelled_share", "uncertainty_estimate",
             "held_out_view", "warmup_weights")
    return types.SimpleNamespace(**{name: given.get(name) for name in names})


@pytest.mark.parametrize("preset, flag, setting, model_rate", [
    ("default", None, "none", None),  # the model's default, unscaled
    ("paper", None, "none", None),  # the paper's labelled term
    ("paper", "0.2", 0.2, 0.2),  # the flag wins
    ("default", "estimate", "estimate", "estimate"),
])
def test_noise_rate_scaling_comes_from_the_preset_unless_the_flag_is_set(preset, flag, setting,
                                                                         model_rate):
    settings = script_flags.settings_from_flags(flag_values(preset=preset,
                                                            scale_by_noise_rate=flag))
    assert settings.scale_by_noise_rate == setting and settings.model_noise_rate == model_rate


@pytest.mark.parametrize("flag, setting, model_share", [
    (None, "none", None), ("none", "none", None), ("count", "count", "count"),
    ("0.05", 0.05, 0.05)])
def test_labelled_share_scaling_comes_from_the_flag(flag, setting, model_share):
    settings = script_flags.settings_from_flags(flag_values(preset="default",
                                                            scale_by_labelled_share=flag))
    assert settings.scale_by_labelled_share == setting
    assert settings.model_labelled_share == model_share


@pytest.mark.parametrize("flag, word, message, number, interval", [
    ("scale_by_noise_rate", "guess", "'estimate', 'none'", "20", r"\[0, 1\]"),
    ("scale_by_labelled_share", "all", "'count', 'none'", "2", r"\(0, 1\]"),
])
def test_scaling_flags_reject_other_words_and_numbers(flag, word, message, number, interval):
    with pytest.raises(ValueError, match=f"--{flag} takes {message}"):
        script_flags.settings_from_flags(flag_values(preset="default", **{flag: word}))
    with pytest.raises(ValueError, match=interval):
        script_flags.settings_from_flags(flag_values(preset="default", **{flag: number}))


@pytest.mark.parametrize("preset, flag, expected", [
    ("default", None, "with_held_out"), ("paper", None, "guider"),
    ("default", "guider", "guider"), ("default", "disbelief", "disbelief"),
    ("paper", "disbelief", "disbelief")])
def test_uncertainty_estimate_reaches_the_umn_method_only(preset, flag, expected):
    settings = script_flags.settings_from_flags(flag_values(preset=preset,
                                                            uncertainty_estimate=flag))
    assert settings.uncertainty_estimate == expected
    models = {method: experiment.build_model(method, (8, 8, 1), 10, settings, seed=0,
                                             noise_rate=0.2)
              for method in ("umn", "umn_semi", "m_vae")}
    assert [model.uncertainty for model in models.values()] == [expected, "zero", "fixed"]
    with pytest.raises(ValueError, match="uncertainty_estimate must be one of"):
        dataclasses.replace(settings, uncertainty_estimate="zero")


@pytest.mark.parametrize("preset, warmup, expected", [
    ("default", None, 1.0 / 3.0),  # the model's default
    ("paper", None, 0.0),  # the paper uses eps from the first step
    ("paper", 0.5, 0.5),  # the flag wins
])
def test_uncertainty_warmup_comes_from_the_preset_unless_the_flag_is_set(preset, warmup,
                                                                         expected):
    settings = script_flags.settings_from_flags(flag_values(preset=preset,
                                                            uncertainty_warmup=warmup))
    assert settings.uncertainty_warmup == pytest.approx(expected)
    model = experiment.build_model("umn", (8, 8, 1), 10, settings, seed=0, noise_rate=0.2)
    assert model.uncertainty_warmup == pytest.approx(expected)


@pytest.mark.parametrize("method", ["umn", "umn_semi", "m_vae"])
def test_m1_warmup_flag_reaches_every_vae_model(method):
    default = script_flags.settings_from_flags(flag_values(preset="default"))
    assert default.m1_warmup == pytest.approx(DEFAULT_M1_WARMUP)
    model = experiment.build_model(method, (8, 8, 1), 10, default, seed=0, noise_rate=0.2)
    assert model.m1_warmup == pytest.approx(DEFAULT_M1_WARMUP)
    paper = script_flags.settings_from_flags(flag_values(preset="paper"))
    assert paper.m1_warmup == 0.0  # the paper trains the whole objective from the start
    settings = script_flags.settings_from_flags(flag_values(preset="paper", m1_warmup=0.1))
    model = experiment.build_model(method, (8, 8, 1), 10, settings, seed=0, noise_rate=0.2)
    assert model.m1_warmup == pytest.approx(0.1)  # the flag wins
    with pytest.raises(ValueError, match="m1_warmup"):
        experiment.build_model(method, (8, 8, 1), 10,
                               script_flags.settings_from_flags(
                                   flag_values(preset="default", m1_warmup=1.0)),
                               seed=0, noise_rate=0.2)


@pytest.mark.parametrize("preset, rate, expected", [
    ("default", None, 1e-3),  # the paper's rate, every preset's
    ("paper", None, 1e-3),
    ("default", 2e-3, 2e-3),  # the flag wins
])
def test_learning_rate_flag_reaches_every_methods_optimizer(preset, rate, expected):
    settings = script_flags.settings_from_flags(flag_values(preset=preset, learning_rate=rate))
    assert settings.learning_rate == pytest.approx(expected)
    for method in ("umn", "umn_semi", "supervised", "mean_teacher"):
        model = experiment.build_model(method, (8, 8, 1), 10, settings, seed=0, noise_rate=0.2)
        assert float(model.optimizer.learning_rate) == pytest.approx(expected)


@pytest.mark.parametrize("rate", [0.0, -1e-3, float("nan"), "fast"])
def test_settings_reject_a_learning_rate_that_is_not_positive(rate):
    with pytest.raises(ValueError, match="learning_rate"):
        experiment.preset_settings("default", learning_rate=rate)


def test_script_rejects_bad_flags(tmp_path, run_script):
    with pytest.raises(ValueError, match="Unknown method"):
        run_script("umn_table1", "--preset=smoke", f"--output_dir={tmp_path}",
                   "--methods=coteaching")


def test_umn_table1_runs_mentornet_and_reweight_with_a_trusted_set(tmp_path, run_script):
    printed = run_script("umn_table1", "--preset=smoke", f"--output_dir={tmp_path}",
                         "--methods=mentornet,reweight")
    assert "trusted set of 20 images (2 per class)" in printed
    rows = read_results(str(tmp_path))["rows"]
    assert {r["method"] for r in rows} == {"mentornet", "reweight"}
    assert all(0.0 <= r["error_rate"] <= 100.0 for r in rows)


def test_trusted_set_avoids_the_labelled_examples_and_names_a_short_class():
    labels = np.repeat(np.arange(3), 4)
    rows = reweighting_runs.choose_trusted(labels, 2, 3, seed=0, excluded=[0, 4, 8])
    assert len(rows) == 6 and not set(rows) & {0, 4, 8}
    assert np.bincount(labels[rows]).tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match="class 0 outside the training examples"):
        reweighting_runs.choose_trusted(labels, 3, 3, seed=0, excluded=[0, 1])


@pytest.mark.parametrize("name, architecture", [("cifar10", "conv13"), ("mnist", "mlp")])
def test_tfds_datasets_run_through_mock_data(name, architecture, tmp_path):
    with tfds.testing.mock_data(num_examples=60):
        data = experiment.load_experiment_dataset(name)
    assert experiment.choose_architecture(data.image_shape) == architecture
    classes_present = np.bincount(data.y_train, minlength=10)
    num_labels = 10 * int(min(2, classes_present.min()))
    with tfds.testing.mock_data(num_examples=60):
        rows = experiment.run_table1(dataset=name, methods=("umn",), noise_rates=(0.2,),
                                     seeds=(0,), settings=SMOKE, num_labels=num_labels,
                                     output_dir=str(tmp_path))
    assert [(row["method"], row["num_labels"]) for row in rows] == [("umn", num_labels)]


def test_umn_fidelity_bench_takes_the_papers_eps_schedule_a_rate_and_a_label_weight(run_script):
    printed = run_script("bench.umn_fidelity", "--dataset=digits", "--num_labels=30", "--seeds=0",
                         "--noise_rates=0.3", "--epochs=1", "--methods=umn,label_spreading",
                         "--uncertainty_warmup=0", "--learning_rate=2e-3", "--label_weight=0.3",
                         "--label_term=log", "--scale_by_labelled_share=count",
                         "--uncertainty_estimate=guider")
    assert "UMN Table 1 on digits" in printed and "label_spreading" in printed
    assert "UMN's eps: the paper's |guider - learner| (Eq. 11)" in printed
    assert "label weight 0.3" in printed
    assert "labelled term scaled by labelled share count" in printed
    assert "Wall time" in printed or "wall time" in printed


def test_umn_fidelity_bench_scales_by_the_estimated_noise_rate(run_script):
    printed = run_script("bench.umn_fidelity", "--dataset=digits", "--num_labels=30", "--seeds=0",
                         "--noise_rates=0.3", "--epochs=1", "--methods=umn,umn_semi",
                         "--scale_by_noise_rate=estimate")
    assert "labelled term scaled by noise rate estimate" in printed
    assert "umn_semi" in printed and "that scaled the labelled term" in printed
    # UMN against eps = 0 run by run (one seed: a difference without a spread).
    assert "UMN's test error minus the baseline's" in printed
    assert "umn - umn_semi" in printed and "/1 below)" in printed


def test_noise_rate_estimate_bench_prints_the_estimates(run_script):
    printed = run_script("bench.noise_rate_estimate", "--dataset=digits", "--num_labels=50",
                         "--seeds=0", "--noise_rates=0,0.4")
    assert "umn.estimate_noise_rate on digits" in printed
    for row in ("estimated rate", "held-out disagreement d", "implied accuracy a"):
        assert row in printed
    assert "Mean error of the estimate" in printed


def test_umn_fidelity_bench_fits_the_held_out_view_on_shuffled_images(run_script):
    printed = run_script("bench.umn_fidelity", "--dataset=digits", "--num_labels=30", "--seeds=0",
                         "--noise_rates=0.3", "--epochs=1", "--methods=umn,m_vae",
                         "--held_out_view=shuffled")
    assert ("UMN's eps: 1 - mean(guider, held-out label spreading on shuffled images)(y_obs)"
            in printed)
    assert "m_vae" in printed
    with pytest.raises(ValueError, match="uncertainty='disbelief' reads none"):
        run_script("bench.umn_fidelity", "--dataset=digits", "--num_labels=30", "--seeds=0",
                   "--noise_rates=0.3", "--epochs=1", "--methods=umn",
                   "--held_out_view=shuffled", "--uncertainty_estimate=disbelief")


def test_umn_fidelity_bench_weights_the_warm_up_by_the_held_out_view(run_script):
    printed = run_script("bench.umn_fidelity", "--dataset=digits", "--num_labels=30", "--seeds=0",
                         "--noise_rates=0.3", "--epochs=1", "--methods=umn",
                         "--warmup_weights=held_out")
    assert "UMN's warm-up weights each label by its held-out view" in printed
    printed = run_script("bench.umn_fidelity", "--dataset=digits", "--num_labels=30", "--seeds=0",
                         "--noise_rates=0.3", "--epochs=1", "--methods=umn",
                         "--warmup_weights=noise_corrected")
    assert ("UMN's warm-up weights each label by its chance of being wrong given its held-out "
            "view and the estimated noise rate") in printed


@pytest.mark.parametrize("script", ["umn_table1", "umn_table2", "bench.umn_fidelity"])
@pytest.mark.parametrize("flag, what", [("--held_out_view=cross_fitted", "UMN's default eps"),
                                        ("--warmup_weights=held_out", "UMN's warm-up")])
def test_umn_only_flags_are_refused_when_no_umn_method_runs(run_script, tmp_path, script, flag,
                                                           what):
    # Refused at the top of main, before any data is loaded or model trained.
    with pytest.raises(app.UsageError, match=f"changes only {what}.*put umn in --methods"):
        where = [] if script.startswith("bench") else [f"--output_dir={tmp_path}"]
        run_script(script, "--preset=smoke", *where, "--methods=m_vae", flag)


def test_check_umn_only_settings_passes_the_defaults_and_any_run_with_umn():
    default = experiment.preset_settings("smoke")
    script_flags.check_umn_only_settings(default, ["m_vae", "supervised"])
    changed = experiment.preset_settings("smoke", held_out_view="cross_fitted",
                                         warmup_weights="held_out")
    script_flags.check_umn_only_settings(changed, ["m_vae", "umn"])


def test_umn_fidelity_bench_runs_under_the_paper_preset(run_script):
    printed = run_script("bench.umn_fidelity", "--dataset=digits", "--num_labels=30", "--seeds=0",
                         "--noise_rates=0.3", "--epochs=1", "--methods=umn_semi",
                         "--preset=paper")
    assert "paper preset, 1 epochs, label weight 1" in printed
