"""Kingma et al.'s two-stage recipe in one run: M1 alone first, then M1+M2."""

import keras

from umn.step_switch import StepSwitch
from umn.step_switch import check_run_share


def check_m1_warmup_share(share):
    """Returns the M1 warm-up share as a float in [0, 1), else a ValueError saying so."""
    return check_run_share(
        share, "m1_warmup",
        "during which only M1 (x -> z_a -> x) is trained (0 trains the whole objective "
        "from the first step)")


@keras.saving.register_keras_serializable(package="umn")
class M1Warmup(StepSwitch):
    """Trains UMN's M1 alone for the first share of a run, then the full objective.

    Sets `model.m1_end_step` (a non-trainable variable) at the start of
    `fit` to `round(share * total_steps)`. Before that optimiser step the
    loss is M1's negative bound, `-mean_B [log p(x | z_a) + log N(z_a; 0, I)
    - log q(z_a | x)]` (Kingma et al. 2014's M1, whose recipe the UMN
    paper's Sec. 2 recalls: "first train a variational autoencoder ...,
    then stack on top of it a conditional variational autoencoder and
    continue training"): the encoder of `z_a` learns the images' structure
    from labelled and unlabelled rows alike before any label pulls on it.
    From the switch step on, the loss is UMN's whole objective (Eq. 5,
    7-9). The classifier and M2's networks get no gradient during the
    warm-up.

    `UncertaintyMiningNet.fit` adds this callback itself when the model's
    `m1_warmup > 0` and none is given; pass one explicitly to fix the run's
    length (`total_steps`) when `fit` cannot know it. The clock is the
    optimiser's step counter, so a resumed run keeps the same switch step,
    and a later `fit` call that continues training does not train M1 alone
    again (`umn.step_switch.StepSwitch`).

    Args:
        share: share of all training steps in [0, 1) that train M1 alone;
            default the model's `m1_warmup`.
        total_steps: the run's optimiser steps; default `epochs *
            steps_per_epoch` of the `fit` call.

    Example:

    >>> model.fit(dataset, epochs=150, callbacks=[M1Warmup(share=0.05, total_steps=6000)])
    """

    variable_name = "m1_end_step"
    share_attribute = "m1_warmup"
    check_share = staticmethod(check_m1_warmup_share)
