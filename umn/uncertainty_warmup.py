"""When UMN's labelled term starts to use eps: the uncertainty warm-up."""

import keras

from umn.step_switch import StepSwitch
from umn.step_switch import check_run_share


def check_warmup_share(share):
    """Returns the warm-up share as a float in [0, 1), else a ValueError saying so."""
    return check_run_share(share, "uncertainty_warmup",
                           "before eps is used (0 uses it from the first step, as the paper does)")


@keras.saving.register_keras_serializable(package="umn")
class UncertaintyWarmup(StepSwitch):
    """Holds UMN's label weights at "fully trusted" for the first share of a run.

    Sets `model.uncertainty_start_step` (a non-trainable variable) at the
    start of `fit` to `round(share * total_steps)`. Before that optimiser
    step the labelled term of Eq. 7 weights every label by `f(low)` (eps
    at the clip's lower end, the eps = 0 objective); from it on by the
    paper's `f(eps(z_a))` (Eq. 9). Why: early in training the paper's eps
    (Eq. 11) is larger on the labels the learner is still learning (mostly
    the clean ones) than on the corrupted ones, so its weight first
    down-weights exactly the labels it should trust; the default eps, the
    guider's disbelief, doubts every label alike while the guider is young
    (see `UncertaintyMiningNet`).

    `UncertaintyMiningNet.fit` adds this callback itself when the model's
    `uncertainty_warmup > 0` and none is given; pass one explicitly to fix
    the run's length (`total_steps`) when `fit` cannot know it (a dataset of
    unknown length without `steps_per_epoch`). The clock is the optimiser's
    step counter, so a resumed run (`initial_epoch`, a restored backup)
    keeps the same switch step, and a later `fit` call that continues
    training does not run the warm-up again (`umn.step_switch.StepSwitch`).

    Args:
        share: share of all training steps in [0, 1) before eps is used;
            default the model's `uncertainty_warmup`.
        total_steps: the run's optimiser steps; default `epochs *
            steps_per_epoch` of the `fit` call.

    Example:

    >>> model.fit(dataset, epochs=150, callbacks=[UncertaintyWarmup(total_steps=6000)])
    """

    variable_name = "uncertainty_start_step"
    share_attribute = "uncertainty_warmup"
    check_share = staticmethod(check_warmup_share)
