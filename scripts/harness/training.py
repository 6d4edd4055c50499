"""How the table scripts train: a distribution strategy, backups, and finished runs kept.

`Training` wraps the three things every table run shares: models are built
under the strategy's scope, `fit` stops at the first non-finite step
(`StopOnNonFinite`), and with a backup directory each run backs up every
epoch (`TrainingBackup`) and resumes its data stream where it stopped
(`resume_stream`). `RunLedger` keeps the result rows of the runs a table has
finished, so a killed table started again with the same flags skips them.

Layout of `--backup_dir`:

    finished_runs.json        rows of the finished runs and the table's settings
    <run>/backup.npz          the interrupted run's last good epoch

Both are deleted when the table completes.
"""

import contextlib
import copy
import json
import os
import tempfile

from tf_data import distribute
from tf_data.non_finite import StopOnNonFinite
from tf_data.training_backup import TrainingBackup
from tf_data.training_backup import completed_epochs
from tf_data.training_backup import resume_stream

LEDGER_FILE = "finished_runs.json"
# Version of the result rows a ledger keeps. Raise it whenever a table's
# rows gain or lose a field: a ledger of another version is refused, so a
# resumed table never mixes rows of two shapes in its results.json. A
# ledger without the field is version 1. 2: Table 1's rows record
# per-category `average_precision` and `test_label_frequency`. 3: the UMN
# tables' rows record `label_noise_rate`, Table 3's `roc_auc_by_epoch`.
# 4: UMN Table 3's rows record `issues_precision` / `_recall` / `_f1` /
# `_roc_auc`.
LEDGER_FORMAT = 4


def _write_json_atomically(path, payload):
    temporary = path + ".partial"
    with open(temporary, "w") as stream:
        json.dump(payload, stream, indent=1, sort_keys=True)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


class Training:
    """Strategy and backups of one table script.

    Args:
        strategy: `none`, `mirrored` or `multi_worker` (`tf_data.distribute`).
        backup_dir: where runs back up and finished rows are kept; None: no
            backups, nothing resumed.

    Example:

    >>> training = Training("none", backup_dir="runs/backup")
    >>> with training.scope():
    ...     model = build_and_compile()
    >>> training.fit(model, dataset, epochs=10, run="robustcrf_noise0.3_seed0")
    """

    def __init__(self, strategy="none", backup_dir=None):
        self.strategy_name = strategy
        self.strategy = distribute.make_strategy(strategy)
        self.backup_dir = os.fspath(backup_dir) if backup_dir else None
        self.is_chief = distribute.is_chief(self.strategy)

    def without_backups(self):
        """This strategy without backups: for runs nothing resumes (e.g. the
        cross-fitted view's fold models)."""
        without = copy.copy(self)   # the same strategy object, not a new one
        without.backup_dir = None
        return without

    def scope(self):
        """Context in which models (and their variables) are built."""
        return distribute.strategy_scope(self.strategy)

    def output_dir(self, output_dir):
        """Where this process writes results: `output_dir` on the chief, a scratch
        directory on the other workers (every worker runs the whole script)."""
        if output_dir is None or self.is_chief:
            return output_dir
        return tempfile.mkdtemp(prefix="noisylabels_worker_")

    def run_backup_dir(self, run):
        """The backup directory of one run, or None without `backup_dir`."""
        if self.backup_dir is None or run is None:
            return None
        if os.sep in run or "/" in run:
            raise ValueError(f"A run key is one path component, got {run!r}.")
        return os.path.join(self.backup_dir, run)

    def fit(self, model, dataset, epochs, steps_per_epoch=None, callbacks=(), run=None,
            stateful_callbacks=()):
        """`model.fit` with a non-finite stop and, given a run key, backup and resume.

        Args:
            model: a compiled model built under `scope()`.
            dataset: the run's training stream, built as for a fresh run.
            epochs, steps_per_epoch: of `fit` (None: one pass of a finite
                dataset per epoch).
            callbacks: the run's other callbacks.
            run: a key naming the run within the table (its backup
                subdirectory), e.g. `"umn_noise0.2_seed1"`.
            stateful_callbacks: callbacks among `callbacks` whose state is
                backed up (they have `get_state`/`set_state`).

        Returns:
            The `History` of the epochs this call trained.
        """
        backup_dir = self.run_backup_dir(run)
        callbacks = [StopOnNonFinite(), *callbacks]
        if backup_dir is not None:
            dataset, steps_per_epoch = resume_stream(dataset, completed_epochs(backup_dir),
                                                     steps_per_epoch)
            callbacks.append(TrainingBackup(backup_dir, stateful_callbacks))
        return model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch,
                         callbacks=callbacks, verbose=0, shuffle=False)

    def ledger(self, settings):
        """The `RunLedger` of a table with these settings."""
        return RunLedger(self.backup_dir if self.is_chief else None, settings)


class RunLedger:
    """Result rows of the runs a table has finished, kept until the table completes.

    Without a directory the ledger remembers nothing (every run trains).

    Args:
        backup_dir: the table's `--backup_dir`, or None.
        settings: JSON-serialisable description of the table (dataset,
            methods, seeds, preset, ...). A ledger written with other
            settings is refused: its rows would not belong to this table.
    """

    def __init__(self, backup_dir, settings):
        self.settings = json.loads(json.dumps(settings))
        self.path = os.path.join(backup_dir, LEDGER_FILE) if backup_dir else None
        self.rows = {}
        if self.path and os.path.exists(self.path):
            with open(self.path) as stream:
                stored = json.load(stream)
            written = stored.get("format", 1)
            if written != LEDGER_FORMAT:
                raise ValueError(
                    f"{os.path.dirname(self.path)} holds an interrupted table run written by "
                    f"another version of the library (ledger format {written}, this version "
                    f"writes {LEDGER_FORMAT}), whose result rows have other fields. Pass a new "
                    "--backup_dir to start the table afresh.")
            if stored["settings"] != self.settings:
                changed = sorted(key for key in set(stored["settings"]) | set(self.settings)
                                 if stored["settings"].get(key) != self.settings.get(key))
                raise ValueError(
                    f"{os.path.dirname(self.path)} holds an interrupted table run with other "
                    f"settings (differing: {', '.join(changed)}). Start again with the same "
                    "flags to resume it, or pass a new --backup_dir.")
            self.rows = stored["rows"]

    def finished(self, run):
        """The stored result of `run`, or None when it has not finished."""
        return self.rows.get(run)

    def record(self, run, result):
        """Keeps `result` (JSON-serialisable) of the finished `run`."""
        self.rows[run] = json.loads(json.dumps(result))
        if self.path:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            _write_json_atomically(self.path, {"format": LEDGER_FORMAT,
                                               "settings": self.settings, "rows": self.rows})

    def complete(self):
        """The table finished: drop the ledger, so the next start trains afresh."""
        if self.path and os.path.exists(self.path):
            os.remove(self.path)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(self.path))  # Only when nothing else is left.


def define_flags():
    """Defines `--strategy` and `--backup_dir` (every training script)."""
    from absl import flags

    flags.DEFINE_enum("strategy", "none", list(distribute.STRATEGIES),
                      "none: one process; mirrored: every local GPU (or CPU) of this machine; "
                      "multi_worker: one process per machine, cluster read from TF_CONFIG.")
    flags.DEFINE_string("backup_dir", None,
                        "Back up every run each epoch here; started again with the same flags "
                        "after a kill, the table skips finished runs and resumes the "
                        "interrupted one. Deleted when the table completes.")


def define_source_flags():
    """Defines `--skip_bad_files` and `--image_size` (scripts reading `tf_data.load_dataset`)."""
    from absl import flags

    flags.DEFINE_bool("skip_bad_files", False,
                      "folder:PATH sources: skip unreadable or truncated images with a "
                      "warning listing them, instead of stopping with an error.")
    flags.DEFINE_list("image_size", None,
                      "folder:PATH sources: H,W to resize every image to (needed when the "
                      "images differ in size).")


def source_options(values):
    """`tf_data.load_dataset` keyword arguments from `--skip_bad_files` and `--image_size`."""
    size = values.image_size
    if size is not None:
        try:
            size = tuple(int(side) for side in size)
        except ValueError:
            size = ()
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"--image_size takes two positive integers H,W; got "
                             f"{','.join(values.image_size)}.")
    return {"skip_bad_files": values.skip_bad_files, "image_size": size}


def from_flags(values):
    """The `Training` the parsed `--strategy` and `--backup_dir` describe."""
    return Training(values.strategy, values.backup_dir)
