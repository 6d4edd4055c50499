"""A table killed part-way and started again with the same flags skips its finished runs.

The kill is simulated in-process (an exception from the third training call)
so the test is exact and fast; `test_resume.py` kills a real process with
SIGKILL in the middle of a run.
"""

import json
import os

import numpy as np
import pytest

from scripts.harness import crf_table2 as table2
from scripts.harness import umn_tables
from scripts.harness.training import LEDGER_FILE
from scripts.harness.training import LEDGER_FORMAT
from scripts.harness.training import RunLedger
from scripts.harness.training import Training
from test_robustcrf_table2 import tiny_dataset


class Killed(Exception):
    pass


def counting(function, monkeypatch, module, name, kill_at=None):
    """Replaces `module.name` by a wrapper counting calls and raising `Killed` at call `kill_at`."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(args[0])
        if kill_at is not None and len(calls) == kill_at:
            raise Killed
        return function(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def without_timing(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_table2_started_again_after_a_kill_trains_only_the_unfinished_runs(tmp_path, monkeypatch):
    quiet = open(os.devnull, "w")
    arguments = dict(noise_rates=[0.3], seeds=[0], preset="smoke", progress_stream=quiet,
                     methods=["cross_entropy", "forward_estimated", "robustcrf"])
    reference, _ = table2.run_table2(tiny_dataset(), **arguments)

    original = table2.train_and_score
    backup_dir = tmp_path / "backup"
    calls = counting(original, monkeypatch, table2, "train_and_score", kill_at=3)
    with pytest.raises(Killed):
        table2.run_table2(tiny_dataset(), training=Training(backup_dir=backup_dir), **arguments)
    assert calls == ["cross_entropy", "forward_estimated", "robustcrf"]
    assert (backup_dir / LEDGER_FILE).exists()

    calls = counting(original, monkeypatch, table2, "train_and_score")
    rows, _ = table2.run_table2(tiny_dataset(), training=Training(backup_dir=backup_dir),
                                output_dir=str(tmp_path / "out"), **arguments)
    assert calls == ["robustcrf"]  # The two finished runs were kept, not retrained.
    assert without_timing(rows) == without_timing(reference)
    assert not backup_dir.exists()  # Completed: the next start trains afresh.


def test_umn_table1_started_again_after_a_kill_keeps_finished_rows(tmp_path, monkeypatch):
    arguments = dict(methods=("supervised", "umn"), noise_rates=(0.2,), seeds=(0,),
                     settings=umn_tables.PRESETS["smoke"], num_labels=20)
    reference = umn_tables.run_table1(output_dir=str(tmp_path / "reference"), **arguments)
    original = umn_tables.train_method
    backup_dir = tmp_path / "backup"
    counting(original, monkeypatch, umn_tables, "train_method", kill_at=2)
    with pytest.raises(Killed):
        umn_tables.run_table1(output_dir=str(tmp_path / "out"),
                              training=Training(backup_dir=backup_dir), **arguments)
    calls = counting(original, monkeypatch, umn_tables, "train_method")
    rows = umn_tables.run_table1(output_dir=str(tmp_path / "out"),
                                 training=Training(backup_dir=backup_dir), **arguments)
    # Only the unfinished umn run trains again, with the 4 eps = 0 fold runs of
    # its cross-fitted view (not backed up).
    assert calls == ["umn"] + ["umn_semi"] * 4
    assert rows == reference


def test_multilabel_table1_started_again_after_a_kill_keeps_rows_and_the_rbm_map(
        tmp_path, monkeypatch):
    from scripts.harness import crf_table1

    arguments = dict(methods=["ce_noisy", "crf_hidden"], preset="smoke", seeds=[0],
                     stream=open(os.devnull, "w"))
    reference = crf_table1.run_table1(**arguments)
    original = crf_table1.run_method
    backup_dir = tmp_path / "backup"
    counting(original, monkeypatch, crf_table1, "run_method", kill_at=2)
    with pytest.raises(Killed):
        crf_table1.run_table1(training=Training(backup_dir=backup_dir), **arguments)
    calls = counting(original, monkeypatch, crf_table1, "run_method")
    result = crf_table1.run_table1(training=Training(backup_dir=backup_dir), **arguments)
    assert [spec.name for spec in calls] == ["crf_hidden"]
    assert without_timing(result["rows"]) == without_timing(reference["rows"])
    assert result["auxiliary_map"] == reference["auxiliary_map"]


def test_a_ledger_of_other_settings_is_refused_naming_what_differs(tmp_path):
    RunLedger(str(tmp_path), {"seeds": [0], "dataset": "digits"}).record("a", {"x": 1})
    with pytest.raises(ValueError, match="differing: seeds.*new --backup_dir"):
        RunLedger(str(tmp_path), {"seeds": [0, 1], "dataset": "digits"})
    kept = RunLedger(str(tmp_path), {"seeds": [0], "dataset": "digits"})
    assert kept.finished("a") == {"x": 1} and kept.finished("b") is None
    kept.complete()
    assert not tmp_path.exists()


def test_a_ledger_of_another_library_version_is_refused(tmp_path):
    settings = {"seeds": [0], "dataset": "digits"}
    RunLedger(str(tmp_path), settings).record("a", {"x": 1})
    with open(tmp_path / LEDGER_FILE) as stream:
        stored = json.load(stream)
    assert stored["format"] == LEDGER_FORMAT
    del stored["format"]  # as written before the ledger had a format
    with open(tmp_path / LEDGER_FILE, "w") as stream:
        json.dump(stored, stream)
    with pytest.raises(ValueError, match=f"ledger format 1, this version writes "
                                         f"{LEDGER_FORMAT}.*new --backup_dir"):
        RunLedger(str(tmp_path), settings)


def test_without_a_backup_dir_nothing_is_kept(tmp_path):
    ledger = RunLedger(None, {"seeds": [0]})
    ledger.record("a", {"x": np.float64(1.5).item()})
    assert ledger.finished("a") == {"x": 1.5}
    ledger.complete()
    with pytest.raises(ValueError, match="one path component"):
        Training(backup_dir=str(tmp_path)).run_backup_dir("a/b")
