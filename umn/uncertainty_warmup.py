"""When UMN's labelled term starts to use eps: the uncertainty warm-up."""

import keras

from tf_data import validation
from tf_data.keras_contract import check_total_steps
from tf_data.keras_contract import run_steps


def check_warmup_share(share):
    """Returns the warm-up share as a float in [0, 1), else a ValueError saying so."""
    value = validation.check_rate(share, "uncertainty_warmup")
    if value >= 1.0:
        raise ValueError(
            "uncertainty_warmup is the share of the training steps before eps is used "
            f"and must lie in [0, 1) (1 would never use it), got {share!r}. "
            "0 uses eps from the first step, as the paper does.")
    return value


@keras.saving.register_keras_serializable(package="umn")
class UncertaintyWarmup(keras.callbacks.Callback):
    """Holds UMN's label weights at "fully trusted" for the first share of a run.

    Sets `model.uncertainty_start_step` (a non-trainable variable) at the
    start of `fit` to `round(share * total_steps)`. Before that optimiser
    step the labelled term of Eq. 7 weights every label by `f(low)` (eps
    at the clip's lower end, the eps = 0 objective); from it on by the
    paper's `f(eps(z_a))` (Eq. 9, 11). Why: early in training eps is
    larger on the labels the learner is still learning (mostly the clean
    ones) than on the corrupted ones, so the paper's weight first
    down-weights exactly the labels it should trust (see
    `UncertaintyMiningNet`).

    `UncertaintyMiningNet.fit` adds this callback itself when the model's
    `uncertainty_warmup > 0` and none is given; pass one explicitly to fix
    the run's length (`total_steps`) when `fit` cannot know it (a dataset of
    unknown length without `steps_per_epoch`). The clock is the optimiser's
    step counter, so a resumed run (`initial_epoch`, a restored backup)
    keeps the same switch step.

    Args:
        share: share of all training steps in [0, 1) before eps is used;
            default the model's `uncertainty_warmup`.
        total_steps: the run's optimiser steps; default `epochs *
            steps_per_epoch` of the `fit` call.

    Example:

    >>> model.fit(dataset, epochs=150, callbacks=[UncertaintyWarmup(total_steps=6000)])
    """

    def __init__(self, share=None, total_steps=None):
        super().__init__()
        if share is not None:
            share = check_warmup_share(share)
        self.share = share
        self.total_steps = check_total_steps(total_steps)

    def start_step(self, total_steps, share):
        """The first optimiser step whose label weights use eps."""
        return int(round(share * total_steps))

    def on_train_begin(self, logs=None):
        variable = getattr(self.model, "uncertainty_start_step", None)
        if variable is None or not hasattr(variable, "assign"):
            raise ValueError(
                "UncertaintyWarmup needs a model with a non-trainable `uncertainty_start_step` "
                f"variable (an UncertaintyMiningNet); {type(self.model).__name__} has none.")
        share = self.model.uncertainty_warmup if self.share is None else self.share
        if not share:
            variable.assign(0)
            return
        total = run_steps(self.params, "UncertaintyWarmup", self.total_steps)
        variable.assign(self.start_step(total, share))

    def get_config(self):
        return {"share": self.share, "total_steps": self.total_steps}
