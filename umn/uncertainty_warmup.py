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
    (see `UncertaintyMiningNet`). With `warmup_weights="held_out"` the
    warm-up weights each label by its held-out disbelief instead, with
    `"noise_corrected"` by its chance of being wrong given that view and
    the estimated noise rate (`check_warmup_weights`).

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


# The labelled term's weights during the uncertainty warm-up
# (`UncertaintyMiningNet(warmup_weights=...)`): "uniform" weights every label
# f(low), as with eps = 0; "held_out" weights each label by f of its held-out
# disbelief (clipped as eps is), so the labels a view that never saw them
# doubts are light from the first step; "noise_corrected" by f of its chance of
# being wrong given that view and the estimated noise rate
# (`umn.losses.wrong_label_chance`), which spares more of the right labels the
# view doubts where few labels are wrong. Measured on real 28x28 digits
# (mnist5k) and the embedded digits with the cross-fitted view: "held_out"
# helps where many labels are wrong and costs where few are (README, "The
# cross-fitted view's weights in the warm-up"); "noise_corrected" kept the
# gains and dropped most of the cost, and is the default that goes with the
# default cross-fitted view (`umn.model.resolve_warmup_weights`; "uniform"
# with the label-spreading view and with every eps that reads no view).
UNIFORM_WARMUP_WEIGHTS = "uniform"
HELD_OUT_WARMUP_WEIGHTS = "held_out"
NOISE_CORRECTED_WARMUP_WEIGHTS = "noise_corrected"
WARMUP_WEIGHTS = (UNIFORM_WARMUP_WEIGHTS, HELD_OUT_WARMUP_WEIGHTS,
                  NOISE_CORRECTED_WARMUP_WEIGHTS)
# The values that weight the warm-up by the held-out view.
VIEW_WARMUP_WEIGHTS = (HELD_OUT_WARMUP_WEIGHTS, NOISE_CORRECTED_WARMUP_WEIGHTS)
DEFAULT_WARMUP_WEIGHTS = NOISE_CORRECTED_WARMUP_WEIGHTS


def check_warmup_weights(weights, reads_held_out_view, share):
    """Returns `weights` if it is a valid `warmup_weights`, else a ValueError saying so.

    Args:
        weights: one of `WARMUP_WEIGHTS`.
        reads_held_out_view: whether the model's eps is given each label's
            held-out disbelief (`uncertainty="with_held_out"`), which
            `"held_out"` and `"noise_corrected"` weight by.
        share: the model's `uncertainty_warmup`; both need a
            warm-up (> 0) to weight (the check reads the model's share, not
            an `UncertaintyWarmup(share=...)` callback given to `fit`).

    Raises:
        ValueError: an unknown value, or `"held_out"` / `"noise_corrected"`
            without a held-out view or without a warm-up.
    """
    if weights not in WARMUP_WEIGHTS:
        raise ValueError(f"warmup_weights must be one of {WARMUP_WEIGHTS}, got {weights!r}.")
    if weights in VIEW_WARMUP_WEIGHTS and not reads_held_out_view:
        raise ValueError(
            f"warmup_weights={weights!r} weights the labels by their held-out disbelief, "
            "which only uncertainty='with_held_out' (the default eps; --uncertainty_estimate "
            "in the UMN scripts) is given: use that eps, or warmup_weights='uniform' (or None).")
    if weights in VIEW_WARMUP_WEIGHTS and not share:
        raise ValueError(
            f"warmup_weights={weights!r} sets the label weights of the uncertainty warm-up, "
            "but uncertainty_warmup is 0 (no warm-up): give uncertainty_warmup > 0 (e.g. "
            "1/3, the default), or warmup_weights='uniform' (or None).")
    return weights
