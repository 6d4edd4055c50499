"""Callbacks that set a UMN switch step from a share of the `fit` run's length."""

import keras

from tf_data import validation
from tf_data.keras_contract import check_total_steps
from tf_data.keras_contract import run_steps


def check_run_share(share, name, meaning):
    """Returns a share of a run's steps as a float in [0, 1), else a ValueError.

    Args:
        share: the value to check.
        name: the argument's name, e.g. `"uncertainty_warmup"`.
        meaning: what the share is, completing "the share of the training
            steps ...", and what 0 does.
    """
    value = validation.check_rate(share, name)
    if value >= 1.0:
        raise ValueError(
            f"{name} is the share of the training steps {meaning} and must lie in [0, 1) "
            f"(1 would take the whole run), got {share!r}.")
    return value


class StepSwitch(keras.callbacks.Callback):
    """Base of the callbacks that set one of UMN's switch-step variables.

    At the start of `fit`, sets `model.<variable_name>` (a non-trainable
    int64 variable) to `round(share * total_steps)`. The model compares it
    with the optimiser's step counter, so a resumed run (`initial_epoch`, a
    restored backup) keeps the same switch step and the variable is saved
    and restored with the model.

    A later `fit` call that continues training (the optimiser has taken
    more steps than the call's `initial_epoch` accounts for) leaves the
    variable as it is: the warm-up belongs to the start of training and is
    not run again. A fresh optimiser (a new `compile`) starts from step 0
    and gets a warm-up of its own.

    Subclasses set `variable_name` (the model's variable), `share_attribute`
    (the model attribute holding the default share) and `check_share` (the
    validator of a share given to the callback).

    Args:
        share: share of all training steps in [0, 1); default the model's
            `share_attribute`.
        total_steps: the run's optimiser steps; default `epochs *
            steps_per_epoch` of the `fit` call.
    """

    variable_name = None
    share_attribute = None

    @staticmethod
    def check_share(share):
        """Validates a share given to the callback; each subclass supplies its own."""
        raise NotImplementedError(
            "StepSwitch is a base class: use UncertaintyWarmup or M1Warmup.")

    def __init__(self, share=None, total_steps=None):
        super().__init__()
        if share is not None:
            share = self.check_share(share)
        self.share = share
        self.total_steps = check_total_steps(total_steps)
        self.pending = False  # True from the start of fit until the first epoch sets the step

    def start_step(self, total_steps, share):
        """The switch step: `round(share * total_steps)`."""
        return int(round(share * total_steps))

    def on_train_begin(self, logs=None):
        self.pending = True

    def on_epoch_begin(self, epoch, logs=None):
        # Set at the first epoch, before any step: `epoch` is the call's
        # `initial_epoch` and a backup callback has restored the optimiser's
        # step counter by then.
        if not self.pending:
            return
        self.pending = False
        variable = getattr(self.model, self.variable_name, None)
        if variable is None or not hasattr(variable, "assign"):
            raise ValueError(
                f"{type(self).__name__} needs a model with a non-trainable "
                f"`{self.variable_name}` variable (an UncertaintyMiningNet); "
                f"{type(self.model).__name__} has none.")
        share = getattr(self.model, self.share_attribute) if self.share is None else self.share
        switch_step = (self.start_step(run_steps(self.params, type(self).__name__,
                                                 self.total_steps), share)
                       if share else 0)
        steps_done = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if steps_done > epoch * (self.params.get("steps") or 0):
            return  # continued training: the warm-up is behind it
        variable.assign(switch_step)

    def get_config(self):
        return {"share": self.share, "total_steps": self.total_steps}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
