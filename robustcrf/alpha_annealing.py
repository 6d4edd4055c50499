"""Annealing of the regularisation weight `alpha` (robust CRF Section 3.3)."""

import math

import keras

from tf_data import validation
from tf_data.keras_contract import check_total_steps
from tf_data.keras_contract import run_steps

SCHEDULES = ("linear", "geometric")
# The project's default schedule, one for every dataset: alpha 8 -> 0.1 over
# the first two thirds of all optimiser steps. Measured with the
# class-balance guard on digits and on real 28x28 digits (mnist5k): a final
# 0.25 let q re-affirm wrong labels under symmetric noise (recovery 84.4%
# against 95.3% at 40% noise on digits); a final 0 without the guard lost
# classes under pair-flip noise. See the README's Table 2 notes.
DEFAULT_START = 8.0
DEFAULT_END = 0.1
DEFAULT_FRACTION = 2.0 / 3.0


def check_alpha(alpha, name="alpha"):
    """Returns `alpha` of Eq. 10 as a finite float >= 0, or raises a ValueError saying so."""
    return validation.check_non_negative(
        alpha, name, "0: q is the model posterior; large: q follows p_aux")


def annealed_alpha(progress, start, end, hold=0.0, length=1.0, schedule="linear"):
    """`alpha` after a share `progress` in [0, 1] of the annealing's clock.

    `start` until `hold`, then `start -> end` over the next `length`
    (linearly, or geometrically, i.e. linearly in log alpha), then `end`.
    The clock is epochs over `epochs` (the paper's form) or optimiser steps
    over the whole run (`AlphaAnnealing(fraction=...)`).

    Args:
        progress: elapsed share of the clock, >= 0.
        start, end: alpha before and after the annealing, >= 0.
        hold: share of the clock spent at `start` first.
        length: share of the clock the annealing takes, > 0.
        schedule: `"linear"` or `"geometric"` (needs start, end > 0).

    Returns:
        A float.
    """
    ramp = min(max((progress - hold) / length, 0.0), 1.0)
    if schedule == "linear":
        return start + (end - start) * ramp
    return start * (end / start) ** ramp


def one_clock(overrides):
    """A preset's `overrides` with the other alpha clock cleared.

    Presets hold `alpha_epochs` (the paper's epoch clock) and
    `alpha_fraction` (the step clock), one of them None. Overriding one
    switches the annealing to that clock, so the other is set to None
    unless it is overridden too.
    """
    changes = dict(overrides)
    if "alpha_epochs" in changes and "alpha_fraction" not in changes:
        changes["alpha_fraction"] = None
    if "alpha_fraction" in changes and "alpha_epochs" not in changes:
        changes["alpha_epochs"] = None
    return changes


def _check_share(value, name, allow_zero):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}.")
    if value < 0 or value > 1 or (value == 0 and not allow_zero):
        bound = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name} must lie in {bound} (a share of all training steps), "
                         f"got {value!r}.")
    return float(value)


@keras.saving.register_keras_serializable(package="robustcrf")
class AlphaAnnealing(keras.callbacks.Callback):
    """Anneals a model's `alpha` from `start` to `end` (Section 3.3).

    Alpha starts large, so the variational posterior `q` (Eq. 10) follows
    the auxiliary distribution, and decreases so `q` moves toward the
    model's own posterior; it stops above zero. The paper anneals 40 -> 5
    over 11 epochs on COCO and 8 -> 1 over 10 epochs on CIFAR-10.

    `AlphaAnnealing()` is the project's default schedule, 8 -> 0.1 over the
    first two thirds of the optimiser steps. Two clocks:

    * `fraction=f` (the default clock): alpha is set before every
      optimiser step from `model.optimizer.iterations` over the run's total
      steps (`epochs * steps_per_epoch` of this `fit`, or `total_steps`):
      `start` for the first `hold` share of the run, annealed over the next
      `f`, `end` afterwards. The same call means the same thing on a set of
      1,000 or 100,000 examples and for any epoch budget; an epoch count
      does not (10 epochs are two thirds of a 15-epoch run but the last
      epoch of a 10-epoch one).
    * `epochs=e` (the paper's form): alpha is set at every epoch start,
      `start -> end` over the first `e` epochs.

    Alpha lives in `model.alpha`, a non-trainable variable saved with the
    model; the step clock reads the optimiser's counter, so a restored run
    resumes the schedule exactly. After `fit`, alpha holds the value the
    next step (or epoch) would take: `end` once the schedule is over, also
    when it ends with the run (`fraction=1`).

    Args:
        start: alpha at the beginning, >= 0 (default 8).
        end: alpha after the annealing, >= 0 (default 0.1).
        epochs: anneal over this many epochs (the paper's clock), >= 1.
        schedule: `"linear"` or `"geometric"` (needs start, end > 0).
        fraction: anneal over this share of all training steps, in (0, 1]
            (default 2/3 when `epochs` is not given).
        hold: share of all training steps to keep `start` before annealing
            (with `fraction` only), in [0, 1].
        total_steps: the run's total optimiser steps for the step clock;
            default `epochs * steps_per_epoch` of the `fit` call.

    Example:

    >>> model.fit(x, y, epochs=15, callbacks=[AlphaAnnealing()])     # the default
    >>> model.fit(data, epochs=200, callbacks=[AlphaAnnealing(8.0, 1.0, epochs=10)])  # paper
    """

    def __init__(self, start=DEFAULT_START, end=DEFAULT_END, epochs=None, schedule="linear",
                 fraction=None, hold=0.0, total_steps=None):
        super().__init__()
        start = check_alpha(start, "alpha start")
        end = check_alpha(end, "alpha end")
        if epochs is not None and fraction is not None:
            raise ValueError(
                "Give one clock: epochs=E (anneal over the first E epochs, the paper's form) "
                "or fraction=F (over a share F of all training steps), not both.")
        if epochs is None and fraction is None:
            fraction = DEFAULT_FRACTION
        if epochs is not None:
            epochs = validation.check_positive_int(epochs, "epochs")
        if fraction is not None:
            fraction = _check_share(fraction, "fraction", allow_zero=False)
        hold = _check_share(hold, "hold", allow_zero=True)
        if hold and epochs is not None:
            raise ValueError("hold is a share of the training steps; use it with fraction=.")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}.")
        if schedule == "geometric" and (start == 0 or end == 0):
            raise ValueError("A geometric schedule needs start > 0 and end > 0; use 'linear'.")
        self.start = float(start)
        self.end = float(end)
        self.epochs = epochs
        self.fraction = fraction
        self.hold = hold
        self.schedule = schedule
        self.total_steps = check_total_steps(total_steps)
        self._run_steps = None
        self._epochs_done = None

    def alpha_at(self, epoch):
        """The alpha of 0-based `epoch` on the epoch clock."""
        if self.epochs is None:
            raise ValueError("alpha_at(epoch) is the epoch clock; use alpha_at_step(step).")
        return annealed_alpha(epoch / self.epochs, self.start, self.end, schedule=self.schedule)

    def alpha_at_step(self, step, total_steps=None):
        """The alpha before 0-based optimiser step `step` on the step clock."""
        total = total_steps or self.total_steps or self._run_steps
        if not total:
            raise ValueError("The step clock needs the run's length: pass total_steps, or fit "
                             "with a known steps_per_epoch.")
        return annealed_alpha(step / total, self.start, self.end, self.hold, self.fraction,
                              self.schedule)

    def _alpha_variable(self):
        alpha = getattr(self.model, "alpha", None)
        if alpha is None or not hasattr(alpha, "assign"):
            raise ValueError(
                "AlphaAnnealing needs a model with a non-trainable `alpha` variable "
                f"(a robust CRF model); {type(self.model).__name__} has none.")
        return alpha

    def on_train_begin(self, logs=None):
        self._alpha_variable()
        if self.fraction is None or self.total_steps:
            return
        self._run_steps = run_steps(self.params, "AlphaAnnealing(fraction=...)")

    def on_epoch_begin(self, epoch, logs=None):
        if self.epochs is not None:
            self._alpha_variable().assign(self.alpha_at(epoch))

    def on_train_batch_begin(self, batch, logs=None):
        if self.fraction is not None:
            step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            self._alpha_variable().assign(self.alpha_at_step(step))

    def on_epoch_end(self, epoch, logs=None):
        self._epochs_done = epoch + 1
        if logs is not None:
            logs["alpha"] = float(keras.ops.convert_to_numpy(self.model.alpha))

    def on_train_end(self, logs=None):
        # Leave alpha where the next step (or epoch) would start, so a model
        # read after `fit` (label recovery, evaluation) sees the schedule's
        # `end` once the schedule has run its course; without this, a
        # schedule that ends with the run would stop one step short of it.
        if self.fraction is not None:
            step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            self._alpha_variable().assign(self.alpha_at_step(step))
        elif self._epochs_done is not None:
            self._alpha_variable().assign(self.alpha_at(self._epochs_done))

    def get_config(self):
        return {"start": self.start, "end": self.end, "epochs": self.epochs,
                "fraction": self.fraction, "hold": self.hold, "schedule": self.schedule,
                "total_steps": self.total_steps}
