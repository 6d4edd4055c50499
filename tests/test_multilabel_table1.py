"""scripts/robustcrf_table1.py end to end with --preset=smoke, and experiment errors."""

import json
import os

import pytest

from scripts.harness import crf_table1 as experiment
from scripts.harness import crf_table1_methods as variants


def test_script_smoke_end_to_end(tmp_path, run_script):
    printed = run_script("robustcrf_table1", "--preset=smoke", f"--output_dir={tmp_path}")
    assert "Table 1 (digit_mosaics)" in printed
    with open(os.path.join(tmp_path, "results.json"), encoding="utf-8") as handle:
        results = json.load(handle)
    assert results["table"] == "robustcrf_table1" and results["dataset"] == "digit_mosaics"
    assert [row["method"] for row in results["rows"]] == list(variants.METHODS)
    for row in results["rows"]:
        assert row["seed"] == 0
        is_crf = variants.method_spec(row["method"]).kind == "crf"
        assert (row["q_map_noisy_train"] is not None) == is_crf
    assert_table_shows_saved_maps(printed, results)


def assert_table_shows_saved_maps(printed, results):
    """Each method's line of the printed Table 1 shows the mAP saved in results.json."""
    lines = printed.split("Table 1 (")[1].splitlines()
    for row in results["rows"]:
        line = next(line for line in lines if line.startswith(row["title"] + "  "))
        assert f"{100 * row['map']:.1f}" in line.split(), (line, row["map"])
    assert (f"mAP {100 * results['auxiliary_map_noisy_train']:.1f}%" in printed)


def test_experiment_rejects_bad_choices():
    with pytest.raises(ValueError, match="Unknown preset"):
        experiment.run_table1(preset="huge")
    with pytest.raises(ValueError, match="Unknown method"):
        experiment.run_table1(methods=["crf"], preset="smoke")
    with pytest.raises(ValueError, match="tags_file"):
        experiment.load_multilabel_dataset("coco_tags", experiment.PRESETS["smoke"])
    with pytest.raises(ValueError, match="Unknown dataset"):
        experiment.load_multilabel_dataset("imagenet", experiment.PRESETS["smoke"])
