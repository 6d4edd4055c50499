"""Annealing of the regularisation weight `alpha` (robust CRF Section 3.3)."""

import math

import keras

from tf_data import environment  # noqa: F401

SCHEDULES = ("linear", "geometric")


@keras.saving.register_keras_serializable(package="robustcrf")
class AlphaAnnealing(keras.callbacks.Callback):
    """Anneals a model's `alpha` from `start` to `end` over `epochs` epochs.

    Section 3.3 of the robust CRF paper: alpha starts large, so the
    variational posterior `q` (Eq. 10) follows the auxiliary distribution,
    and decreases so `q` moves toward the model's own posterior. The paper
    anneals 40 -> 5 over 11 epochs on COCO and 8 -> 1 over 10 epochs on
    CIFAR-10, and stops above zero.

    The value for epoch `e` (0-based) is a pure function of `e`:
    `linear`: `start + (end - start) * min(e / epochs, 1)`;
    `geometric`: `start * (end / start) ** min(e / epochs, 1)`.
    It is written into `model.alpha`, a non-trainable variable saved with
    the model, at the start of every epoch, so `fit(initial_epoch=k)` after
    a restore resumes the schedule exactly.

    Args:
        start: alpha at epoch 0, >= 0.
        end: alpha from epoch `epochs` on, >= 0.
        epochs: epochs the annealing takes, >= 1.
        schedule: `"linear"` or `"geometric"` (needs start, end > 0).

    Example:

    >>> model.fit(data, epochs=200, callbacks=[AlphaAnnealing(8.0, 1.0, 10)])
    """

    def __init__(self, start, end, epochs, schedule="linear"):
        super().__init__()
        for name, value in (("start", start), ("end", end)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"alpha {name} must be a finite number >= 0, got {value!r}.")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}.")
        if schedule == "geometric" and (start == 0 or end == 0):
            raise ValueError("A geometric schedule needs start > 0 and end > 0; use 'linear'.")
        self.start = float(start)
        self.end = float(end)
        self.epochs = epochs
        self.schedule = schedule

    def alpha_at(self, epoch):
        """The alpha of 0-based `epoch`."""
        progress = min(epoch / self.epochs, 1.0)
        if self.schedule == "linear":
            return self.start + (self.end - self.start) * progress
        return self.start * (self.end / self.start) ** progress

    def on_epoch_begin(self, epoch, logs=None):
        alpha = getattr(self.model, "alpha", None)
        if alpha is None or not hasattr(alpha, "assign"):
            raise ValueError(
                "AlphaAnnealing needs a model with a non-trainable `alpha` variable "
                f"(a robust CRF model); {type(self.model).__name__} has none."
            )
        alpha.assign(self.alpha_at(epoch))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["alpha"] = float(keras.ops.convert_to_numpy(self.model.alpha))

    def get_config(self):
        return {"start": self.start, "end": self.end, "epochs": self.epochs,
                "schedule": self.schedule}
