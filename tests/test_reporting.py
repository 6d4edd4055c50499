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
    assert reporting.format_mean_std([-0.01, 0.0]) == "0.0 ± 0.0"


def test_paired_differences_subtract_run_by_run():
    errors = {("umn", 0): [9.0, 12.0], ("umn", 1): [7.0, 11.0], ("umn", 2): [8.0, 20.0],
              ("umn_semi", 0): [10.0, 12.5], ("umn_semi", 1): [7.5, 10.0],
              ("umn_semi", 2): [9.0, 21.0]}
    rows = [{"method": m, "seed": seed, "noise": rate, "error_rate": errors[(m, seed)][i]}
            for (m, seed) in errors for i, rate in enumerate((0.1, 0.3))]
    # The M-VAE ran seed 0 at 10% only, twice (averaged: 8.0).
    rows += [{"method": "m_vae", "seed": 0, "noise": 0.1, "error_rate": e} for e in (7.0, 9.0)]
    text = reporting.format_paired_differences(
        rows, "method", "noise", "error_rate", "seed", "umn", ["umn_semi", "m_vae", "absent"],
        "title")
    lines = text.splitlines()
    assert lines[0] == "title" and len(lines) == 5
    assert lines[1].split() == ["paired", "by", "seed", "0.1", "0.3"]
    cells = {line.split("  ")[0]: [c.strip() for c in line.split("  ")[1:] if c.strip()]
             for line in lines[3:]}

    def cell(differences):
        d = np.asarray(differences)
        return f"{d.mean():.1f} ± {d.std():.1f} ({int(np.sum(d < 0))}/3 below)"

    assert cells["umn - umn_semi"] == [cell([-1.0, -0.5, -1.0]), cell([-0.5, 1.0, -1.0])]
    # One pair (seed 0): the difference without a spread; no pair at 30%.
    assert cells["umn - m_vae"] == ["1.0 (0/1 below)", "-"]
    assert reporting.format_paired_differences(rows, "method", "noise", "error_rate", "seed",
                                               "umn", ["absent"], "title") == ""
    assert reporting.format_paired_differences(rows, "method", "noise", "error_rate", "seed",
                                               "mentornet", ["umn"], "title") == ""


def test_per_category_table_sorts_by_frequency_and_averages_over_seeds():
    rows = [
        {"method": "crf", "average_precision": [0.5, 0.9, None],
         "test_label_frequency": [0.1, 0.7, 0.0]},
        {"method": "crf", "average_precision": [0.7, 0.8, None],
         "test_label_frequency": [0.3, 0.7, 0.0]},
        {"method": "ce", "average_precision": [0.4, 0.6, None],
         "test_label_frequency": [0.2, 0.7, 0.0]},
        {"method": "old", "map": 0.5},  # a row from before per-category APs: skipped
    ]
    table = reporting.format_per_category_table(rows, "T")
    lines = table.splitlines()
    assert lines[0] == "T" and lines[1].split() == ["category", "test", "frequency", "crf", "ce"]
    # Most frequent category first (1: 0.70, 0: mean 0.20, 2: 0.00); mean AP over seeds.
    assert [line.split() for line in lines[3:]] == [
        ["1", "0.70", "85.0", "60.0"], ["0", "0.20", "60.0", "40.0"], ["2", "0.00", "-", "-"]]
    assert reporting.format_per_category_table([{"method": "old", "map": 0.5}], "T") is None


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
