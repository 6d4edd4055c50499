"""scripts/robustcrf_table1.py end to end with --preset=smoke, and experiment errors."""

import json
import os
import subprocess
import sys

import pytest

from scripts.harness import crf_table1 as experiment
from scripts.harness import crf_table1_methods as variants

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_script_smoke_end_to_end(tmp_path):
    # A subprocess: absl flags are process-global and other scripts define the same names.
    environment = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.robustcrf_table1", "--preset=smoke",
         f"--output_dir={tmp_path}"], cwd=ROOT, env=environment, capture_output=True, text=True,
        timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    printed = completed.stdout
    assert "Table 1 (digit_mosaics)" in printed and "[8/8" in printed
    with open(os.path.join(tmp_path, "results.json"), encoding="utf-8") as handle:
        results = json.load(handle)
    assert results["table"] == "robustcrf_table1" and results["dataset"] == "digit_mosaics"
    assert [row["method"] for row in results["rows"]] == list(variants.METHODS)
    for row in results["rows"]:
        assert 0.0 <= row["map"] <= 1.0 and row["seed"] == 0
        is_crf = variants.method_spec(row["method"]).kind == "crf"
        assert (row["q_map_noisy_train"] is not None) == is_crf
    assert 0.0 <= results["auxiliary_map_noisy_train"] <= 1.0


def test_experiment_rejects_bad_choices():
    with pytest.raises(ValueError, match="Unknown preset"):
        experiment.run_table1(preset="huge")
    with pytest.raises(ValueError, match="Unknown method"):
        experiment.run_table1(methods=["crf"], preset="smoke")
    with pytest.raises(ValueError, match="tags_file"):
        experiment.load_multilabel_dataset("coco_tags", experiment.PRESETS["smoke"])
    with pytest.raises(ValueError, match="Unknown dataset"):
        experiment.load_multilabel_dataset("imagenet", experiment.PRESETS["smoke"])
