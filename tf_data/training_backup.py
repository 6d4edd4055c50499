"""Back up the whole training state every epoch and resume a killed run exactly.

`keras.callbacks.BackupAndRestore` saves `model.save_weights` and the epoch.
That misses state the robust CRF and UMN depend on: Keras' weights file does
not hold `keras.random.SeedGenerator` states (the Gibbs sampler's and the
VAE's noise), and the data stream restarts from its first batch. A resumed
run then trains on other batches with other random draws than the run it
replaces. `TrainingBackup` saves every variable of the model (weights, the
PCD chain bank, the UMN guider, alpha, seed-generator states, metric
states) and of the optimizer, the finished epoch and the state of chosen
callbacks, in one file replaced atomically; `resume_stream` skips the
batches the finished epochs consumed. Together a killed and restarted run
ends with the same weights as an uninterrupted one (tested bit for bit on
CPU with deterministic ops).

Choices, and why:
* One `.npz` file written to a temporary name, flushed to disk and renamed
  over the previous backup (`os.replace` is atomic on POSIX and Windows): a
  kill during a save leaves the previous backup whole.
* A backup is never written when the epoch's logs or any float variable are
  NaN or infinite, so the last good backup survives a numerical fault (see
  `StopOnNonFinite`, which stops training at the faulty step).
* Under `tf.distribute.MultiWorkerMirroredStrategy` every worker restores
  from the shared `backup_dir`, and only the chief writes (the copies are
  identical after each synchronous step).
* Epoch granularity: Keras' `fit` can only start at an epoch boundary.
"""

import json
import os

import numpy as np
import keras

from tf_data import distribute
from tf_data.non_finite import non_finite_terms

BACKUP_FILE = "backup.npz"
FORMAT_VERSION = 1


def _backup_path(backup_dir):
    return os.path.join(backup_dir, BACKUP_FILE)


def _read_backup(backup_dir):
    """`(metadata, values)` of the backup in `backup_dir`, or `(None, None)`."""
    path = _backup_path(backup_dir)
    if not os.path.exists(path):
        return None, None
    with np.load(path, allow_pickle=False) as stored:
        metadata = json.loads(str(stored["metadata"]))
        values = [stored[f"variable_{i:05d}"] for i in range(len(metadata["paths"]))]
    return metadata, values


def completed_epochs(backup_dir):
    """Epochs finished by the run backed up in `backup_dir` (0 when none).

    Args:
        backup_dir: a `TrainingBackup` directory, or None.

    Returns:
        The number of epochs whose end the backup records.
    """
    if not backup_dir:
        return 0
    metadata, _ = _read_backup(backup_dir)
    return 0 if metadata is None else int(metadata["epoch"])


def resume_stream(dataset, epochs_done, steps_per_epoch=None):
    """The training stream of a run that resumes after `epochs_done` epochs.

    A finite dataset (one pass = one epoch, as Keras iterates it without
    `steps_per_epoch`) is repeated first: `fit` then re-iterates nothing, and
    `repeat()` reshuffles each pass exactly as re-iterating the dataset
    would (same seed, same sequence of shuffles). The batches of the
    finished epochs are then skipped, so epoch `epochs_done` sees the
    batches, shuffles and seeded augmentations it would have seen in an
    uninterrupted run.

    Args:
        dataset: the run's training `tf.data.Dataset`, built as for a fresh
            run (same seeds).
        epochs_done: epochs already trained (`completed_epochs`).
        steps_per_epoch: batches per epoch; None for a finite dataset whose
            length is known (one pass per epoch).

    Returns:
        `(stream, steps_per_epoch)`: pass both to `fit`.

    Example:

    >>> done = completed_epochs(backup_dir)
    >>> stream, steps = resume_stream(dataset, done)
    >>> model.fit(stream, epochs=10, steps_per_epoch=steps,
    ...           callbacks=[TrainingBackup(backup_dir)])
    """
    epochs_done = int(epochs_done)
    if epochs_done < 0:
        raise ValueError(f"epochs_done must be >= 0, got {epochs_done}.")
    if steps_per_epoch is None:
        length = int(dataset.cardinality())
        if length <= 0:
            raise ValueError(
                "The dataset's length is unknown or infinite, so one epoch is not defined; "
                "pass steps_per_epoch (the value given to fit).")
        steps_per_epoch, dataset = length, dataset.repeat()
    steps_per_epoch = int(steps_per_epoch)
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}.")
    if epochs_done:
        dataset = dataset.skip(epochs_done * steps_per_epoch)
    return dataset, steps_per_epoch


class TrainingBackup(keras.callbacks.Callback):
    """Saves the full training state each epoch and restores it when `fit` starts.

    Put it last in the callback list: it saves after every other callback
    has finished the epoch (and updated the state it records), and it
    restores in `on_train_begin`, before any epoch starts. When `fit` finishes, the backup is deleted
    (unless `delete_on_finish=False`); when `fit` raises (a kill, a
    `StopOnNonFinite` error), it stays for the next start.

    Args:
        backup_dir: directory of this run's backup; one run per directory.
        stateful_callbacks: callbacks with `get_state()` (JSON-serialisable)
            and `set_state(state)`, e.g. a callback that records a metric
            per epoch; their state is saved and restored with the model's.
        delete_on_finish: delete the backup when `fit` ends normally.

    Example:

    >>> backup = TrainingBackup("/tmp/run0")
    >>> stream, steps = resume_stream(dataset, completed_epochs("/tmp/run0"))
    >>> model.fit(stream, epochs=10, steps_per_epoch=steps,
    ...           callbacks=[StopOnNonFinite(), backup])
    """

    def __init__(self, backup_dir, stateful_callbacks=(), delete_on_finish=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("backup_dir is empty; pass the directory this run backs up to.")
        self.backup_dir = os.fspath(backup_dir)
        self.stateful_callbacks = list(stateful_callbacks)
        self.delete_on_finish = bool(delete_on_finish)
        for callback in self.stateful_callbacks:
            if not (hasattr(callback, "get_state") and hasattr(callback, "set_state")):
                raise ValueError(
                    f"{type(callback).__name__} has no get_state/set_state, so its state "
                    "cannot be backed up; drop it from stateful_callbacks.")
        self.restored_epoch = 0

    def _variables(self):
        variables = list(self.model.variables)
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            if not optimizer.built:
                # Its slots must exist to be saved or restored (as Keras does).
                optimizer.build(self.model.trainable_variables)
            variables += list(optimizer.variables)
        return variables

    def on_train_begin(self, logs=None):
        self.restored_epoch = 0
        metadata, values = _read_backup(self.backup_dir)
        if metadata is None:
            return
        if not self.model.built:
            raise ValueError("The model must be built (called once on a batch) before fit "
                             "can restore its backup.")
        variables = self._variables()
        # Matched by order, shape and dtype: names differ between models built in one
        # process (Keras numbers repeated layer names), though not between processes.
        layout = [[list(variable.shape), str(variable.dtype)] for variable in variables]
        if layout != metadata["layout"]:
            raise ValueError(
                f"The backup in {self.backup_dir} was written by a different model or "
                f"optimizer ({len(metadata['layout'])} variables saved, {len(layout)} now, "
                "or their shapes or dtypes differ). Build the same model as the interrupted "
                "run, or delete the directory to start afresh.")
        for variable, value in zip(variables, values):
            variable.assign(value)
        states = metadata["callback_states"]
        if len(states) != len(self.stateful_callbacks):
            raise ValueError(
                f"The backup in {self.backup_dir} holds {len(states)} callback states but "
                f"{len(self.stateful_callbacks)} stateful callbacks were given.")
        for callback, state in zip(self.stateful_callbacks, states):
            callback.set_state(state)
        self.restored_epoch = int(metadata["epoch"])
        # The epoch `fit` starts from (Keras' BackupAndRestore sets the same attribute).
        self.model._initial_epoch = self.restored_epoch

    def on_epoch_end(self, epoch, logs=None):
        if non_finite_terms(logs):
            return  # Keep the last good backup.
        variables = self._variables()
        values = [keras.ops.convert_to_numpy(variable) for variable in variables]
        if not all(np.all(np.isfinite(v)) for v in values if v.dtype.kind == "f"):
            return
        if not distribute.is_chief(self.model.distribute_strategy):
            return
        metadata = {
            "format": FORMAT_VERSION, "epoch": epoch + 1,
            "paths": [variable.path for variable in variables],
            "layout": [[list(variable.shape), str(variable.dtype)] for variable in variables],
            "callback_states": [callback.get_state() for callback in self.stateful_callbacks],
        }
        arrays = {f"variable_{i:05d}": value for i, value in enumerate(values)}
        os.makedirs(self.backup_dir, exist_ok=True)
        path = _backup_path(self.backup_dir)
        temporary = path + ".partial"
        with open(temporary, "wb") as stream:
            np.savez(stream, metadata=np.asarray(json.dumps(metadata)), **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)

    def on_train_end(self, logs=None):
        if self.delete_on_finish and distribute.is_chief(self.model.distribute_strategy):
            path = _backup_path(self.backup_dir)
            if os.path.exists(path):
                os.remove(path)
            if os.path.isdir(self.backup_dir) and not os.listdir(self.backup_dir):
                os.rmdir(self.backup_dir)

    def get_config(self):
        return {"backup_dir": self.backup_dir, "delete_on_finish": self.delete_on_finish}
