"""Stop training at the first step whose loss or reported terms are NaN or infinite."""

import numpy as np
import keras


class NonFiniteTrainingError(FloatingPointError):
    """Raised by `StopOnNonFinite`: a training step produced NaN or infinite values."""


def non_finite_terms(logs):
    """Names of the numeric entries of `logs` that are NaN or infinite, in order."""
    names = []
    for name, value in (logs or {}).items():
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if not np.all(np.isfinite(array)):
            names.append(name)
    return names


class StopOnNonFinite(keras.callbacks.Callback):
    """Raises `NonFiniteTrainingError` naming the step and the terms that went non-finite.

    `keras.callbacks.TerminateOnNaN` only sets `stop_training`: `fit` then
    ends normally, its `on_train_end` runs (`BackupAndRestore` deletes its
    backup there) and the message names neither the step nor the term.
    This callback checks every numeric entry of the batch logs (the loss
    and each term a model reports, e.g. UMN's labelled and unlabelled
    parts) after each step and raises, so `fit` stops at that step and a
    `TrainingBackup` keeps the last good epoch's backup.

    Example:

    >>> model.fit(dataset, epochs=10, callbacks=[StopOnNonFinite()])
    NonFiniteTrainingError: Training went non-finite at optimizer step 37
    (epoch 2, batch 5): loss=nan, labelled_loss=nan. ...
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = non_finite_terms(logs)
        if not bad:
            return
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        values = ", ".join(f"{name}={np.asarray(logs[name]).tolist()}" for name in bad)
        raise NonFiniteTrainingError(
            f"Training went non-finite at optimizer step {step} (epoch "
            f"{getattr(self, '_epoch', 0) + 1}, batch {batch + 1}): {values}. "
            "Fit stopped; a TrainingBackup keeps the last good epoch. Check the inputs for "
            "NaN or infinite pixels (tf_data.validation.check_images) and lower the learning "
            "rate if they are clean.")
