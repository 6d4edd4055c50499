"""Shared reporting helpers."""

import json

import numpy as np
import pytest

from scripts.harness import reporting


def test_table_shows_mean_and_std_over_seeds():
    rows = [
        {"method": "a", "noise": 0.1, "acc": 0.90},
        {"method": "a", "noise": 0.1, "acc": 0.92},
        {"method": "b", "noise": 0.1, "acc": 0.5},
    ]
    table = reporting.format_table(rows, "method", "noise", "acc", "T")
    assert "91.0 ± 1.0" in table and "50.0" in table and table.startswith("T")


def test_results_json(tmp_path):
    path = reporting.write_results_json(str(tmp_path), "t", "digits", [{"x": np.float32(0.5)}])
    assert json.load(open(path)) == {"table": "t", "dataset": "digits", "rows": [{"x": 0.5}]}


def test_flagged_label_scores_closed_form():
    truth = np.array([1, 1, 0, 0, 1], bool)
    flagged = np.array([1, 0, 1, 0, 1], bool)
    scores = reporting.flagged_label_scores(truth, flagged)
    assert scores["precision"] == 2 / 3 and scores["recall"] == 2 / 3 and scores["flagged"] == 3
    assert scores["f1"] == pytest.approx(2 / 3)
    empty = reporting.flagged_label_scores(truth, np.zeros(5, bool))
    assert empty["precision"] == 0.0 and empty["recall"] == 0.0 and empty["f1"] == 0.0
    with pytest.raises(ValueError, match="same shape"):
        reporting.flagged_label_scores(truth, flagged[:3])
