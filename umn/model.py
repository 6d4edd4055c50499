"""Uncertainty Mining Net: the subclassed Keras model and its objective."""

import dataclasses
import hashlib

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tf_data import augment
from tf_data import validation
from tf_data.batch_keys import HELD_OUT_DISBELIEF_KEY
from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import LABEL_KEY
from tf_data.distribute import global_value
from tf_data.distribute import replica_mean_share
from umn import architectures
from umn import losses
from umn import noise_rate as noise_rate_estimator
from umn.batches import batch_feature
from umn.batches import check_batch_images
from umn.batches import images_of
from umn.contract import KerasContract
from umn.guider import Guider
from umn.label_spreading import held_out_disbelief as label_spreading_disbelief
from umn.m1_warmup import M1Warmup
from umn.m1_warmup import check_m1_warmup_share
from umn.step_switch import StepSwitch
from umn.partial_labels import check_partial_labels
from umn.partial_labels import disbelief_of_labels
from umn.streams import checked_held_out_disbelief
from umn.uncertainty_warmup import DEFAULT_WARMUP_WEIGHTS
from umn.uncertainty_warmup import NOISE_CORRECTED_WARMUP_WEIGHTS
from umn.uncertainty_warmup import UNIFORM_WARMUP_WEIGHTS
from umn.uncertainty_warmup import VIEW_WARMUP_WEIGHTS
from umn.uncertainty_warmup import UncertaintyWarmup
from umn.uncertainty_warmup import check_warmup_share
from umn.uncertainty_warmup import check_warmup_weights
from umn.vae import StackedVae


UNCERTAINTY_MODES = ("guider", "disbelief", "with_held_out", "fixed", "zero")
# The modes whose eps comes from the guider, per example (the others are constants).
GUIDER_UNCERTAINTY_MODES = ("guider", "disbelief", "with_held_out")
# The mode whose eps also reads each label's held-out disbelief from the
# batch (`tf_data.batch_keys.HELD_OUT_DISBELIEF_KEY`).
WITH_HELD_OUT = "with_held_out"
# eps is the guider's disbelief in the given label, 1 - q'(y_obs | z_a):
# the guider's probability that the label is wrong, which is what eps
# stands for in Eq. 9 (Eq. 11 with the learner's prediction replaced by the
# label the learner is trained towards). Not the paper's estimate, which
# `uncertainty="guider"` keeps (and `--preset=paper`): in the final epoch
# Eq. 11's |guider - learner| ranks the wrong labels with ROC AUC 0.44-0.74
# on the digits and 0.61-0.64 on mnist5k at 10-50% noise, the disbelief
# with 0.90-0.98 and 0.83-0.96; Tables 1 and 2 stay within the seed spread
# on both (3 seeds; README, "Uncertainty Mining Net", "The guider's
# disbelief as eps").
# The default eps averages that disbelief with a view that never saw the
# label (`"with_held_out"`: `losses.disbelief_with_held_out`; the view is
# `held_out_view`, below): the guider trains on the
# labels it judges and comes to believe some wrong ones, the held-out view
# cannot. Measured with 3 seeds on the embedded digits and on mnist5k:
# Tables 1-3 in the README, "The held-out view in eps (the default)". Its
# Table 1 gain over the disbelief alone comes mostly from the level it
# adds to eps, not from what it knows: with a view fitted on shuffled
# images (no information) Table 1 keeps all of that gain on mnist5k and
# about two thirds of it on the digits (README); its information is what
# makes eps a detector (Table 3).
DEFAULT_UNCERTAINTY = WITH_HELD_OUT
DEFAULT_UNCERTAINTY_CLIP = (0.01, 0.8)
# The labelled term is the paper's exact Eq. 7, f(eps) * q(y_obs | z_a)
# ("linear"), with weight 1 relative to the per-example ELBO. Measured with
# 3 seeds on digits (50 labels) at 30% / 50% noise: 14.3 / 23.4% test error,
# against 24.2 / 35.6% for the cross-entropy-like f(eps) * log q at weight
# 0.3 (which fits the corrupted labels); on 28x28 digits (mnist5k, 100
# labels, 2 seeds) the two are within a seed's spread (15.5 vs ~13% at 30%),
# and weight 3 was no better there (16.9%). With the old weight 15 and the
# log form the VAE added nothing over the supervised MLP. The log form at
# weight 0.05 makes eps a detector on mnist5k (Table 3 F1 0.76-0.87) but
# loses on the digits' noisy Tables 1 and 3 at every weight tried, and its
# f(eps) weighting gains nothing over eps = 0; its weight must grow with the
# number of labels (2 n_L / N: label_weight=2, labelled_share="count") to
# keep Table 2. Figures and commands: README,
# "The labelled term as a weighted cross-entropy".
DEFAULT_LABEL_TERM = "linear"
DEFAULT_LABEL_WEIGHT = 1.0
# Every label weighted f(low) (eps = 0) for the first third of the optimiser
# steps, then the paper's f(eps). Measured with 3 seeds on real 28x28 digits
# (mnist5k, 100 labels) and on the embedded digits (50 labels): see the
# README, "Uncertainty Mining Net". Early on, the paper's eps (Eq. 11) is
# larger on clean labels than on corrupted ones (the learner is still
# learning the clean ones), so its weighting from step 0 down-weights the
# labels it should trust; the disbelief of a young guider (half of the
# default eps) doubts every label alike. A tenth of the run (measured with the
# disbelief) costs the digits' Table 2 at 400 labels (README).
DEFAULT_UNCERTAINTY_WARMUP = 1.0 / 3.0
# Share of the optimiser steps that train M1 alone before the whole
# objective (Kingma et al.'s two-stage recipe in one run; `umn.m1_warmup`).
# Measured with 3 seeds on real 28x28 digits (mnist5k, 100 labels): it
# brings Table 1 within every goal of the fidelity issue (at 50% noise
# 19.7% error against 28.9% without it); on the embedded 8x8 digits it
# costs 0.1-2.2 points (README, "Uncertainty Mining Net"). 0: the whole
# objective from the first step, as in the paper.
DEFAULT_M1_WARMUP = 0.05

# The held-out half of the default eps (`held_out_view`): "cross_fitted" (the
# default) is the eps = 0 model itself cross-fitted on 4 class-balanced folds
# of the labels (`umn.cross_fitted`: 4 extra trainings, each a third of the
# run's epochs, about 1.4x a default table's time); "label_spreading" is kNN
# label spreading on the images' principal components fitted on the other
# labels (`umn.label_spreading.held_out_disbelief`: a few seconds, the default
# before session 40). Measured with 3 seeds on real 28x28 digits (mnist5k,
# 100 labels) with the warm-up weighted by each label's chance of being wrong
# (`warmup_weights="noise_corrected"`, the default that goes with this view):
# Table 1 at or below the M-VAE and the eps = 0 ablation at every noise rate
# and eps's F1 above the paper's at every rate, where the label-spreading view
# was level with them at 10-20% and below the paper's F1 at 40%; on the
# embedded 8x8 digits it costs
# up to a point at 10% noise and 0.5-1.2 in Table 2 from 50 labels (README,
# "Uncertainty Mining Net").
LABEL_SPREADING_VIEW = "label_spreading"
CROSS_FITTED_VIEW = "cross_fitted"
HELD_OUT_VIEWS = (LABEL_SPREADING_VIEW, CROSS_FITTED_VIEW)
DEFAULT_HELD_OUT_VIEW = CROSS_FITTED_VIEW
# The rows per batch of `keras.Model.fit` on arrays when `batch_size` is None:
# the cross-fitted view's fold models are trained with the same.
KERAS_DEFAULT_BATCH_SIZE = 32


# `noise_rate="estimate"` scales the labelled term by the share of wrong
# labels, estimated from the training set before fit (`umn.noise_rate`,
# `losses.rate_scaled_label_weight`). Not the default: measured with 3
# seeds under the guider's own stream it lowers Table 1's error on
# mnist5k at 20-50% noise and sharpens eps there, but on the embedded
# digits it costs 6.9 points at 50% (the estimator reads about 64%),
# 0.7-1.9 points in Table 2 at every label count but 50, and some of eps's F1
# (README, "The labelled term scaled by an estimated noise rate").
ESTIMATE_NOISE_RATE = "estimate"
DEFAULT_NOISE_RATE = None
UNKNOWN_RATE = -1.0

# `labelled_share="count"` multiplies the labelled term by the share of
# labelled images in the training set, n_L / N, counted before fit: each
# label then weighs `label_weight` against one image's bound, as in a
# likelihood summed over the examples.
# For the log form a fixed weight wastes labels when there are many (Table
# 2); `label_weight=2` with it is the rule measured in the README ("The
# labelled term as a weighted cross-entropy").
COUNT_LABELLED_SHARE = "count"
DEFAULT_LABELLED_SHARE = None
UNKNOWN_SHARE = -1.0

MISSING_HELD_OUT_MESSAGE = (
    "uncertainty='with_held_out' (the default eps) reads each label's held-out disbelief "
    f"from the training batches (key {HELD_OUT_DISBELIEF_KEY!r}), and this batch has none. "
    "fit(x, y) on arrays adds it by itself; for a stream compute it with "
    "model.held_out_disbelief(images, labels, epochs=...) and pass it to "
    "umn.semi_supervised_stream(..., held_out_disbelief=...) (or add it to each batch dict "
    "of your own stream), or build the model with uncertainty='disbelief' (the guider's "
    "disbelief alone).")

STREAM_WITHOUT_VIEW_MESSAGE = (
    "This model's eps reads the cross-fitted view of the labels (held_out_view="
    "'cross_fitted', the default), which it has not computed, and fit got a stream: compute "
    "it first with view = model.held_out_disbelief(images, labels, epochs=...) and give the "
    "stream held_out_disbelief=view (umn.semi_supervised_stream's default carries label "
    "spreading's view instead), give a posterior computed elsewhere with "
    "model.keep_held_out_view(images, labels, posterior), fit on arrays (fit(x, y) computes "
    "it), or build the model with held_out_view='label_spreading'.")


def guider_stream_seed(seed):
    """The seed of the guider's random stream, derived from the model's `seed`.

    Args:
        seed: the model's int seed (any sign), or None.

    Returns:
        None for None (a random stream); else a 31-bit int drawn by
        `numpy.random.SeedSequence([seed mod 2**64, 1])`: a stream apart
        from the learner's (`SeedGenerator(seed)`), and from other model
        seeds' but by chance.
    """
    if seed is None:
        return None
    entropy = int(seed) % (1 << 64)  # SeedSequence takes non-negative ints only
    return int(np.random.SeedSequence([entropy, 1]).generate_state(1)[0] >> 1)


def check_noise_rate(noise_rate, uncertainty):
    """Returns `"estimate"`, None or a rate in [0, 1) as float, else ValueError.

    The M-VAE (`uncertainty="fixed"`) takes its rate as `fixed_uncertainty`
    and is not rescaled, so it takes `"estimate"` (ignored) or None only.
    """
    if noise_rate is None or (isinstance(noise_rate, str) and noise_rate == ESTIMATE_NOISE_RATE):
        return noise_rate
    if isinstance(noise_rate, (str, bool)):
        raise ValueError(
            f"noise_rate must be 'estimate', None or a rate in [0, 1), got {noise_rate!r}.")
    if uncertainty == "fixed":
        raise ValueError(
            "uncertainty='fixed' (M-VAE) takes its corruption rate as fixed_uncertainty; "
            f"leave noise_rate at 'estimate' or None, got {noise_rate!r}.")
    value = validation.check_rate(noise_rate, "noise_rate")
    if value >= 1.0:
        raise ValueError(f"noise_rate must be below 1 (every label wrong), got {noise_rate!r}.")
    return value


def resolve_held_out_view(held_out_view, uncertainty, views=HELD_OUT_VIEWS):
    """The held-out view a model with eps `uncertainty` reads, or None when it reads none.

    Args:
        held_out_view: one of `views`, or None (the default for
            `uncertainty`: `DEFAULT_HELD_OUT_VIEW` for `"with_held_out"`, no
            view for the eps that read none).
        uncertainty: the model's `uncertainty`.
        views: the names allowed (the paper harness adds an ablation).

    Returns:
        The view's name, or None.

    Raises:
        ValueError: an unknown view, or a view named for an eps that reads none.
    """
    if held_out_view is None:
        return DEFAULT_HELD_OUT_VIEW if uncertainty == WITH_HELD_OUT else None
    if held_out_view not in views:
        raise ValueError(f"held_out_view must be one of {views} or None, got "
                         f"{held_out_view!r}.")
    if uncertainty != WITH_HELD_OUT:
        raise ValueError(
            f"held_out_view={held_out_view!r} sets the held-out view of "
            f"uncertainty='{WITH_HELD_OUT}' (the default eps), but uncertainty={uncertainty!r} "
            "reads none: use that eps, or leave held_out_view at None.")
    return held_out_view


def resolve_warmup_weights(warmup_weights, held_out_view, share):
    """The label weights of a model's uncertainty warm-up (`umn.uncertainty_warmup`).

    Args:
        warmup_weights: one of `umn.uncertainty_warmup.WARMUP_WEIGHTS`, or
            None: `DEFAULT_WARMUP_WEIGHTS` (`"noise_corrected"`, measured
            with it) under the cross-fitted view with a warm-up, else
            `"uniform"` (the label-spreading view's, measured with it, and
            every eps without a view).
        held_out_view: the model's resolved view (`resolve_held_out_view`;
            None: its eps reads none).
        share: the model's `uncertainty_warmup`.

    Returns:
        The weights' name.

    Raises:
        ValueError: as `umn.uncertainty_warmup.check_warmup_weights`.
    """
    if warmup_weights is None:
        return (DEFAULT_WARMUP_WEIGHTS if held_out_view == CROSS_FITTED_VIEW and share
                else UNIFORM_WARMUP_WEIGHTS)
    return check_warmup_weights(warmup_weights, held_out_view is not None, share)


def cross_fitted_module():
    """`umn.cross_fitted`, imported on first use: it builds this module's model for its folds."""
    from umn import cross_fitted   # pylint: disable=import-outside-toplevel
    return cross_fitted


def data_fingerprint(images, labels):
    """A digest of `images` and `labels` (values, dtypes, shapes): which set a view is of."""
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(images), np.ascontiguousarray(labels, dtype=np.int64)):
        digest.update(repr((array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def check_labelled_share(labelled_share):
    """Returns `"count"`, None or a share in (0, 1] as float, else ValueError."""
    if labelled_share is None or (isinstance(labelled_share, str)
                                  and labelled_share == COUNT_LABELLED_SHARE):
        return labelled_share
    message = (f"labelled_share must be 'count', None or the share of labelled images in "
               f"(0, 1], got {labelled_share!r}.")
    if isinstance(labelled_share, (str, bool)):
        raise ValueError(message)
    try:
        value = float(labelled_share)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not 0.0 < value <= 1.0:
        raise ValueError(message)
    return value


def labelled_share_of(labels):
    """`n_L / N`: the share of rows with a label (>= 0) among `labels`.

    Raises:
        ValueError: for an empty array or one without a labelled row.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(
            f"labels must be a non-empty 1-D array (-1 for unlabelled rows), got shape "
            f"{labels.shape}.")
    share = float(np.mean(labels >= 0))
    if share == 0.0:
        raise ValueError("labels has no labelled row (every label is -1).")
    return share


def check_ema_decay(ema_decay, allow_none=True):
    """Returns the EMA decay as a float in [0, 1) (or None), else ValueError."""
    if ema_decay is None and allow_none:
        return None
    return validation.check_decay(
        ema_decay, "ema_decay",
        "gamma of Eq. 10; 1 would freeze the guider; the paper-style value is 0.99-0.999")


@keras.saving.register_keras_serializable(package="umn")
class UncertaintyMiningNet(KerasContract, keras.Model):
    """UMN: semi-supervised M1+M2 VAE with guider-estimated label uncertainty.

    Training maximises the bound of Eq. 5 on every example plus, for
    labelled ones, the noisy-label term of Eq. 7-9 with a per-example
    corruption estimate `eps(z_a)` (by default the mean of the guider's
    disbelief and a held-out view's, Eq. 11 with `uncertainty="guider"`):

        loss = -mean_B ELBO(x)
               - label_weight * share * s(rate) * mean_L f(eps) * g(q(y_obs | z_a))
               + consistency_weight * mean_U ||q(y|z_a) - q'(y|z_a')||^2 / C,

    `f(eps) = log[(C - 1)(1 - eps) / eps]` (Eq. 9), `g` the identity
    (`label_term="linear"`, the exact ELBO term of Eq. 7) or `log`
    (`label_term="log"`). eps is `1 - mean(guider, held-out)[y_obs]`
    (`"with_held_out"`, the default, below), `1 - guider[y_obs]`
    (`"disbelief"`) or the paper's `|guider[y_obs] - learner[y_obs]|`
    (`"guider"`, Eq. 11), with stop-gradient, the learner seeing `eta(x)`
    and the guider `eta'(x)`
    (independent random translations and Gaussian noise, `tf_data.augment`).
    The M1 decoder reconstructs the translated, noise-free image, so
    translation augments the VAE too and the Bernoulli target stays in
    [0, 1].

    `share` is 1 by default (`labelled_share=None`); with
    `labelled_share="count"` it is the share of labelled images in the
    training set, `n_L / N`, counted before training (`fit` counts it on
    arrays; call `count_labelled_share` before `fit` on a stream) and held
    in the non-trainable variable `training_labelled_share`: each label
    then weighs `label_weight` against one image's bound, so the labelled
    term grows with the number of labels. It is what the log form needs
    (`label_term="log", label_weight=2, labelled_share="count"`; README,
    "The labelled term as a weighted cross-entropy").

    `s(rate) = f(rate) / f(low)` scales the labelled term by the share of
    wrong labels in the training set (`losses.rate_scaled_label_weight`;
    not in the paper; `s = 1` by default, `noise_rate=None`): the noisier
    the labels, the less the labelled term weighs against the unlabelled
    bound. With `noise_rate="estimate"` the rate is estimated before
    training (`estimate_noise_rate`, which `fit` runs by itself on
    arrays) by a label-spreading classifier scored on labels it did not
    see (`umn.noise_rate`), because the learner fits wrong labels within
    the first few percent of a run and its eps cannot tell the rate after
    that. It is held in the non-trainable variable `label_noise_rate`
    (absent, None, with `noise_rate=None` and for the M-VAE).
    Why: on real 28x28 digits at 50% noise the unscaled objective
    memorises the wrong labels on some seeds (README, "Uncertainty Mining
    Net", where Table 1 is measured both ways).

    eps is clipped into `uncertainty_clip = (low, high)` with
    `0 < low < high < (C - 1) / C`, where f is finite, positive and
    decreasing. Default `(0.01, 0.8)`: for C = 10 the weight runs from
    f(0.01) = 6.8 (fully trusted) to f(0.8) = 0.81 (an 8.4x down-weighting).
    A lower `low` only raises the weight of labels already trusted (the
    guider certain of them, or with Eq. 11 the two models agreeing).

    What the paper's eps (Eq. 11, `"guider"`) measures: the guider lags
    the learner, so it is large where
    the learner's `q(y_obs | z_a)` is *moving*. While the learner still
    learns clean labels and rejects wrong ones (the first ~40 epochs of
    the digits runs), eps is larger on clean labels; only once it starts
    fitting the corrupted labels does eps rank them higher (paper Fig. 4b,
    read "in the final epoch" of 350; see
    `scripts.harness.umn_tables.TABLE3_EPOCHS`). The disbelief fails
    early too, differently: the guider starts out random and doubts every
    label alike. Hence the uncertainty
    warm-up: for the first `uncertainty_warmup` share of the optimiser
    steps of a `fit` run (default a third) every label is weighted
    `f(low)`, as with eps = 0, and the paper's `f(eps)` takes over after
    (`umn.uncertainty_warmup.UncertaintyWarmup`, which `fit` adds by
    itself; `uncertainty_warmup=0` is the paper's schedule;
    under the default cross-fitted view each label is weighted instead by
    its chance of being wrong given that view and the estimated noise rate,
    `warmup_weights="noise_corrected"`). The switch
    step lives in the non-trainable variable `uncertainty_start_step`
    (0 until `fit` sets it, so a hand-written loop over `train_step` uses
    eps from the start). The per-step eps of
    training also carries the eta / eta' and `z_a` sampling noise. Where
    the guider (for Eq. 11: both models) is certain of a label, q(y_obs)
    saturates at 1.0 in float32 and eps is exactly 0, so the paper's rule
    "corrupted if eps > 0" flags every label not saturated on (README,
    Table 3, "F1 of the paper's rule"). To find
    wrong labels use `label_issues`: its default score averages the
    guider's posterior with the held-out posterior that never saw the
    label, the default eps itself (`score="disbelief"` gives the guider's
    alone; `score="eps"` the model's eps, Eq. 11's under
    `uncertainty="guider"`).

    The guider (Eq. 10) is a `Guider` sub-layer holding an EMA copy of the
    trunk, `q(z_a | x)` head and classifier, updated with `.assign` after
    every optimiser step with decay `min(ema_decay, 1 - 1/(t + 1))` (the
    Tarvainen & Valpola warm-up) or plain `ema_decay` (`ema_warmup=False`).
    `predict` returns the guider's class probabilities.

    Keras contract (`umn.contract.KerasContract`): `fit` / `evaluate` take
    dict batches (`tf_data.batch_keys`), `(x, y)` arrays or `tf.data`, and
    `validation_data`; they log `loss`, `elbo`, `label_loss` and `eps`
    (means over the labelled rows), `accuracy` and the metrics given to
    `compile`. The compiled metrics and `accuracy` see the labelled rows
    (label >= 0) only, against the learner's probabilities of the training
    forward pass in `fit` (perturbed input, training mode) and against the
    guider's (what `predict` returns) in `evaluate` / validation.
    Evaluation computes the objective deterministically
    (`compute_terms(training=False)`). `export(path)` writes a SavedModel
    whose `serve(x)` is `predict(x)`.

    M1 warm-up (`m1_warmup`, default 0.05): for the first `m1_warmup`
    share of a `fit` run's optimiser steps the loss is M1's bound alone
    (`x -> z_a -> x` with the prior `N(0, I)` on `z_a`,
    `losses.m1_elbo`), as in Kingma et al.'s recipe of training M1 first
    and stacking M2 on it; the whole objective takes over after
    (`umn.m1_warmup.M1Warmup`, which `fit` adds by itself). The switch
    step lives in the non-trainable variable `m1_end_step` (0 until `fit`
    sets it). It applies to every `uncertainty` mode: it is part of the
    VAE, not of the uncertainty. The logged `elbo`, `label_loss` and
    `eps` are those of the whole objective throughout.

    Variants used as baselines: `uncertainty="fixed"` with
    `fixed_uncertainty=rho` is Langevin et al.'s M-VAE (a given corruption
    rate instead of eps); `uncertainty="zero"` is the paper's
    "semi-supervised" ablation (eps = 0, i.e. eps clipped to `low`);
    `ema_decay=None` removes the guider (plain M2, for benchmarks).

    `uncertainty="disbelief"` (not the paper's) takes as eps the guider's
    disbelief in the given label, `1 - q'(y_obs | z_a)`
    (`losses.guider_disbelief`): Eq. 11 with the learner's prediction
    replaced by the label it is trained towards, and the guider's
    probability that the label is wrong, which is what eps means in Eq. 9.
    It ranks wrong labels far better than Eq. 11's eps (README, Table 3).
    But the guider is trained on the labels it judges and comes to believe
    some wrong ones. The default `uncertainty="with_held_out"` averages it
    with a view that never saw the label: eps = `(1 - q'(y_obs | z_a) +
    d) / 2` (`losses.disbelief_with_held_out`), `d` the label's
    `1 - p(y_obs | x)` under a view that never saw it (`held_out_view`):
    by default the eps = 0 model itself cross-fitted on 4 class-balanced
    folds of the labels (`umn.cross_fitted`; `fit` on arrays trains the 4
    fold models first, each for a third of its epochs, and keeps the view
    with the model), or label spreading on the images' principal
    components fitted on the other labels (`held_out_view=
    "label_spreading"`, `umn.label_spreading.held_out_disbelief`: seconds
    instead of 4 trainings). The batches carry `d` under
    `tf_data.batch_keys.HELD_OUT_DISBELIEF_KEY`: `fit(x, y)` on arrays
    adds it; for a stream compute it with `held_out_disbelief` and pass
    it to `umn.semi_supervised_stream`; a stream without it fails in the
    first step with a message that says how to add it. The two views
    make different mistakes; their mean is both the better weighting and
    the better detector (README, "The held-out view in eps"). Evaluation
    batches need no `d` (test labels have none): without it eps is the
    guider's disbelief.
    `uncertainty="guider"` is the paper's Eq. 11.

    Args:
        image_shape: `(H, W, K)`.
        num_classes: C >= 2.
        architecture: `"mlp"` (digits / MNIST) or `"conv13"` (SVHN /
            CIFAR-10, 32x32).
        hidden_units, latent_dim, class_latent_dim, conv_width, dropout_rate,
            likelihood: passed to `StackedVae`.
        uncertainty: `"with_held_out"` (default: the mean of the guider's
            and a held-out view's disbelief, not the paper's; see above),
            `"disbelief"` (the guider's `1 - q'(y_obs | z_a)` alone),
            `"guider"` (eps of Eq. 11, the paper's), `"fixed"` or `"zero"`.
        fixed_uncertainty: rho for `uncertainty="fixed"`.
        label_term: `"linear"` (default: Eq. 7, the exact ELBO term
            `f(eps) * q(y_obs | z_a)`, whose gradient fades on labels the
            model rejects, so corrupted labels pull little) or `"log"`
            (`f(eps) * log q(y_obs | z_a)`, a reweighted cross-entropy that
            fits corrupted labels more).
        label_weight: multiplier of the labelled term relative to the
            per-example ELBO (Kingma et al.'s alpha; the paper gives none).
        labelled_share: None (default: the labelled term's weight is
            `label_weight`), `"count"` (multiply it by `n_L / N`, counted
            from the training set before `fit`, see `count_labelled_share`)
            or a known share in (0, 1].
        noise_rate: share of wrong labels that scales the labelled term:
            None (default: the paper's unscaled objective), `"estimate"`
            (estimated from the training set before `fit`, see
            `estimate_noise_rate`) or a known rate in [0, 1). The M-VAE
            (`uncertainty="fixed"`) is never rescaled.
        uncertainty_clip: `(low, high)` clip interval of eps.
        uncertainty_warmup: share in [0, 1) of a `fit` run's optimiser
            steps during which every label is weighted `f(low)` before the
            paper's `f(eps)` takes over (the guider's modes only;
            default 1/3; 0 is the paper's schedule).
        warmup_weights: the label weights during that warm-up: None
            (default: `"noise_corrected"` under the cross-fitted view,
            `"uniform"` otherwise; `resolve_warmup_weights`), `"uniform"`
            (every label `f(low)`, as with eps = 0), `"held_out"` (each
            label `f` of its held-out disbelief, clipped as eps is: the
            labels a view that never saw them doubts are light from the
            first step) or `"noise_corrected"` (`f` of each label's chance
            of being wrong given that view and the noise rate,
            `losses.wrong_label_chance`: the right labels the view doubts
            stay heavier where few labels are wrong; the rate is
            `noise_rate` when given as a number, else estimated from the
            training set by `fit` on arrays or `measure_training_set`, and
            held in the non-trainable variable `warmup_noise_rate`); the
            view's weights need `uncertainty="with_held_out"`. Measured
            with the cross-fitted view: `"held_out"` helps where many
            labels are wrong and costs where few are; `"noise_corrected"`
            keeps the gains and drops most of the cost (README, "The
            warm-up's weights corrected for the noise rate").
        m1_warmup: share in [0, 1) of a `fit` run's optimiser steps that
            train M1 alone before the whole objective (default 0.05; 0:
            none, the paper's schedule).
        held_out_view: the held-out half of the default eps: None
            (default: `"cross_fitted"` for `uncertainty="with_held_out"`,
            none for the eps that read none; `resolve_held_out_view`),
            `"cross_fitted"` (the eps = 0 model cross-fitted on 4 folds of
            the labels, `umn.cross_fitted`: `fit` on arrays trains the 4
            fold models first, each for a third of its epochs; see
            `held_out_disbelief`) or `"label_spreading"` (kNN label
            spreading on the images' principal components,
            `umn.label_spreading`: seconds, where the cross-fitted view
            adds about 1.3 runs' time; measured in the README);
            `uncertainty="with_held_out"` only.
        ema_decay: gamma in [0, 1), or None for no guider.
        ema_warmup: use `min(gamma, 1 - 1/(t + 1))`.
        max_shift: largest random translation of eta, eta' (pixels); None:
            no translation for the mlp architecture, the paper's 2 px
            (Table 4) scaled to the image for conv13
            (`umn.architectures.default_max_shift`).
        noise_stddev: sigma of eta's Gaussian input noise.
        consistency_weight: weight of the optional learner-guider
            consistency loss on unlabelled examples (0 = off).
        seed: int seed of the model's `keras.random.SeedGenerator` (the
            learner's draws); the guider's eta' draws from a second stream
            derived from it (`guider_stream_seed`), so models that differ
            only in `uncertainty` share the learner's draws.
        **kwargs: `keras.Model` arguments.

    Call arguments:
        inputs: `(B, H, W, K)` images or a dict with `"image"`.

    Returns:
        `(B, C)` class probabilities of the guider (of the learner when
        there is no guider).

    Example:

    >>> model = UncertaintyMiningNet((8, 8, 1), 10, seed=0)
    >>> model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_2=0.99),
    ...               metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")])
    >>> model.fit(x_train, partial_labels, batch_size=125, epochs=150)   # -1: unlabelled
    >>> model.label_issues(x_train, partial_labels).top(10)
    >>> # Or a stream: the noise rate and the held-out view first (fit on arrays does both).
    >>> model.measure_training_set(x_train, partial_labels)
    >>> view = model.held_out_disbelief(x_train, partial_labels, epochs=150)
    >>> stream, steps = umn.semi_supervised_stream(x_train, partial_labels, 10, 25, 100,
    ...                                            seed=0, held_out_disbelief=view)
    >>> model.fit(stream, epochs=150, steps_per_epoch=steps, validation_data=(x_val, y_val))
    """

    label_issue_scores = (*KerasContract.posterior_scores, "eps")

    def __init__(self, image_shape, num_classes, architecture="mlp",
                 hidden_units=architectures.DEFAULT_HIDDEN_UNITS,
                 latent_dim=architectures.DEFAULT_LATENT_DIM,
                 class_latent_dim=architectures.DEFAULT_CLASS_LATENT_DIM, conv_width=128,
                 dropout_rate=0.5,
                 likelihood="auto", uncertainty=DEFAULT_UNCERTAINTY, fixed_uncertainty=None,
                 label_term=DEFAULT_LABEL_TERM, label_weight=DEFAULT_LABEL_WEIGHT,
                 labelled_share=DEFAULT_LABELLED_SHARE, noise_rate=DEFAULT_NOISE_RATE,
                 uncertainty_clip=DEFAULT_UNCERTAINTY_CLIP,
                 uncertainty_warmup=DEFAULT_UNCERTAINTY_WARMUP,
                 warmup_weights=None, m1_warmup=DEFAULT_M1_WARMUP,
                 held_out_view=None, ema_decay=0.99, ema_warmup=True,
                 max_shift=None, noise_stddev=0.15,
                 consistency_weight=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = validation.check_num_classes(num_classes)
        if uncertainty not in UNCERTAINTY_MODES:
            raise ValueError(
                f"uncertainty must be one of {UNCERTAINTY_MODES}, got {uncertainty!r}."
            )
        if label_term not in losses.LABEL_TERM_FORMS:
            raise ValueError(
                f"label_term must be one of {losses.LABEL_TERM_FORMS}, got {label_term!r}."
            )
        self.uncertainty_clip = losses.check_uncertainty_clip(*tuple(uncertainty_clip),
                                                              self.num_classes)
        self.uncertainty_warmup = check_warmup_share(uncertainty_warmup)
        self.held_out_view = resolve_held_out_view(held_out_view, uncertainty)
        self.warmup_weights = resolve_warmup_weights(warmup_weights, self.held_out_view,
                                                     self.uncertainty_warmup)
        self.m1_warmup = check_m1_warmup_share(m1_warmup)
        # The cross-fitted view of the last training set it was computed on
        # (`held_out_disbelief`), kept so that `fit` again and `label_issues` on
        # the same data read it without training the fold models again.
        self._cross_fitted_view = None
        self.ema_decay = check_ema_decay(ema_decay)
        if uncertainty in GUIDER_UNCERTAINTY_MODES and self.ema_decay is None:
            raise ValueError(
                f"uncertainty={uncertainty!r} needs a guider: give ema_decay in [0, 1) "
                "(e.g. 0.99), or use uncertainty='zero' / 'fixed' without one."
            )
        if uncertainty == "fixed":
            if fixed_uncertainty is None:
                raise ValueError(
                    "uncertainty='fixed' (M-VAE) needs fixed_uncertainty, the given "
                    "corruption rate rho in [0, 1]."
                )
            fixed_uncertainty = validation.check_rate(fixed_uncertainty, "fixed_uncertainty")
        self.consistency_weight = validation.check_non_negative(
            consistency_weight, "consistency_weight")
        if self.consistency_weight and self.ema_decay is None:
            raise ValueError("consistency_weight > 0 needs a guider (set ema_decay).")
        self.image_shape = tuple(int(d) for d in image_shape)
        self.architecture = architecture
        self.hidden_units = hidden_units
        self.latent_dim = latent_dim
        self.class_latent_dim = class_latent_dim
        self.conv_width = conv_width
        self.dropout_rate = dropout_rate
        self.likelihood = likelihood
        self.uncertainty = uncertainty
        self.fixed_uncertainty = fixed_uncertainty
        self.label_term = label_term
        self.label_weight = validation.check_non_negative(label_weight, "label_weight")
        self.labelled_share = check_labelled_share(labelled_share)
        self.noise_rate = check_noise_rate(noise_rate, uncertainty)
        self.ema_warmup = bool(ema_warmup)
        self.max_shift = architectures.default_max_shift(self.image_shape, architecture,
                                                         max_shift)
        self.noise_stddev = validation.check_non_negative(noise_stddev, "noise_stddev")
        self.seed = seed
        self.vae = StackedVae(
            self.image_shape, self.num_classes, architecture, hidden_units, latent_dim,
            class_latent_dim, conv_width, dropout_rate, likelihood, name="vae",
        )
        self.guider = None
        if self.ema_decay is not None:
            self.guider = Guider.from_networks(
                self.vae.classifier_networks, self.vae.reads_latent, name="guider"
            )
            self.guider.copy_from(self.vae.classifier_networks)
        self.seed_generator = keras.random.SeedGenerator(seed)
        # The guider's eta' draws from a stream of its own, so the learner's
        # draws (eta, z_a, z_b) do not depend on whether eps reads the
        # guider: built with one seed, UMN, its eps = 0 ablation and the
        # M-VAE share every learner draw and differ by their label weights
        # alone (common random numbers for the comparisons of Tables 1-3).
        self.guider_seed_generator = keras.random.SeedGenerator(
            guider_stream_seed(seed), name="guider_seed_generator")
        self.uncertainty_start_step = self.add_weight(
            shape=(), initializer="zeros", dtype="int64", trainable=False,
            name="uncertainty_start_step")
        self.m1_end_step = self.add_weight(
            shape=(), initializer="zeros", dtype="int64", trainable=False, name="m1_end_step")
        # Only a model that scales its labelled term holds this rate (the
        # default model holds the warm-up's, `warmup_noise_rate`, below).
        self.label_noise_rate = None
        if self.noise_rate is not None and self.uncertainty != "fixed":
            self.label_noise_rate = self._add_rate_variable("label_noise_rate")
        # The noise rate that `warmup_weights="noise_corrected"` weighs the
        # warm-up's labels by; likewise only such a model holds it.
        self.warmup_noise_rate = None
        if self.warmup_weights == NOISE_CORRECTED_WARMUP_WEIGHTS:
            self.warmup_noise_rate = self._add_rate_variable("warmup_noise_rate")
        self.training_labelled_share = None
        if self.labelled_share is not None:
            given_share = (self.labelled_share if isinstance(self.labelled_share, float)
                           else UNKNOWN_SHARE)
            self.training_labelled_share = self.add_weight(
                shape=(), initializer=keras.initializers.Constant(given_share), dtype="float32",
                trainable=False, name="training_labelled_share")
        self.elbo_tracker = keras.metrics.Mean(name="elbo")
        self.label_loss_tracker = keras.metrics.Mean(name="label_loss")
        self.eps_tracker = keras.metrics.Mean(name="eps")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.built = True

    def _perturb(self, images):
        """eta' for the guider, from the guider's own stream (`guider_seed_generator`)."""
        return augment.perturb(images, self.guider_seed_generator, self.max_shift,
                               self.noise_stddev)

    def _translated_and_noisy(self, images):
        """eta for the learner: `(translated, translated + noise)`.

        The VAE reconstructs the translated image (translation is data
        augmentation for M1 too) from its noisy version (denoising), so the
        Bernoulli target stays in [0, 1].
        """
        return augment.perturb_stages(images, self.seed_generator, self.max_shift,
                                      self.noise_stddev)

    def _check_pixel_values(self, images):
        """The Bernoulli likelihood needs pixels in [0, 1]: beyond, its bound has no maximum."""
        if self.vae.pixel_likelihood != "bernoulli":
            return
        low, high = float(np.min(images)), float(np.max(images))
        if low < 0.0 or high > 1.0:
            raise ValueError(
                f"x holds pixel values in [{low:g}, {high:g}], but this model's Bernoulli "
                "likelihood (likelihood='auto' on 1-channel images) needs them in [0, 1]. "
                "Scale the images (e.g. x / 255 for uint8) or build the model with "
                "likelihood='gaussian'.")

    def _uncertainty(self, learner_probs, guider_probs, labels, held_out_disbelief=None):
        batch = ops.shape(labels)[0]
        if self.uncertainty == "guider":
            return losses.label_uncertainty(guider_probs, learner_probs, labels)
        if self.uncertainty == WITH_HELD_OUT and held_out_disbelief is not None:
            return losses.disbelief_with_held_out(guider_probs, labels, held_out_disbelief)
        if self.uncertainty in ("disbelief", WITH_HELD_OUT):
            return losses.guider_disbelief(guider_probs, labels)
        value = self.fixed_uncertainty if self.uncertainty == "fixed" else 0.0
        return ops.full((batch,), value, dtype="float32")

    def compute_terms(self, images, labels, training=False, held_out_disbelief=None):
        """All terms of the UMN objective for one batch.

        Args:
            images: `(B, H, W, K)` in [0, 1].
            labels: `(B,)` observed labels, -1 for unlabelled examples.
            training: perturb inputs (eta, eta'), sample `z_a` and `z_b`,
                run dropout / batch norm in training mode. False gives a
                deterministic evaluation of the same objective.
            held_out_disbelief: `(B,)` each label's held-out disbelief
                (`tf_data.batch_keys.HELD_OUT_DISBELIEF_KEY`), which
                `uncertainty="with_held_out"` needs in training; without
                it an evaluation takes the guider's disbelief alone (test
                labels have no held-out view).

        Returns:
            A dict of tensors: `loss` (M1's negative bound during the M1
            warm-up when `training`), `elbo_loss`, `label_loss`,
            `consistency` (scalars), `eps` (`(B,)`, raw), `labelled`
            (`(B,)` bool) and `learner_probs` (`(B, C)`).
        """
        images = check_batch_images(ops.convert_to_tensor(images, "float32"), self.image_shape)
        labels = ops.cast(labels, "int32")
        if training and self.uncertainty == WITH_HELD_OUT and held_out_disbelief is None:
            raise ValueError(MISSING_HELD_OUT_MESSAGE)
        seed = self.seed_generator if training else None
        target, learner_input = images, images
        if training:
            target, learner_input = self._translated_and_noisy(images)
        encoded = self.vae.classify(learner_input, training=training, seed=seed)
        probs = ops.softmax(encoded["logits"], axis=-1)
        bound = self.vae.elbo(target, encoded, probs, training=training, seed=seed)
        labelled = labels >= 0
        safe_labels = ops.where(labelled, labels, 0)
        guider_probs = None
        if self.guider is not None and (self.eps_from_guider or self.consistency_weight):
            guider_input = self._perturb(images) if training else images
            guider_probs = ops.stop_gradient(self.guider(guider_input))
        eps = self._uncertainty(probs, guider_probs, safe_labels, held_out_disbelief)
        weighting_eps = eps
        if self.eps_from_guider:
            weighting_eps = ops.where(self.uncertainty_in_use(), eps,
                                      self._warmup_uncertainty(held_out_disbelief))
        clipped = ops.clip(weighting_eps, *self.uncertainty_clip)
        label_objective = losses.noisy_label_log_likelihood(
            probs, safe_labels, clipped, self.num_classes, self.label_term,
            logits=encoded["logits"],
        )
        # Means over the global batch (each replica's share under a strategy).
        label_loss = -replica_mean_share(label_objective, labelled)
        elbo_loss = -replica_mean_share(bound["elbo"])
        consistency = ops.convert_to_tensor(0.0, "float32")
        if self.consistency_weight:
            consistency = replica_mean_share(
                losses.consistency_mse(probs, guider_probs), ops.logical_not(labelled)
            )
        loss = (elbo_loss + self.label_weight * self.label_term_scale() * label_loss
                + self.consistency_weight * consistency)
        if training:
            m1_loss = -replica_mean_share(bound["m1_elbo"])
            loss = ops.where(self.in_m1_warmup(), m1_loss, loss)
        return {"loss": loss, "elbo_loss": elbo_loss, "label_loss": label_loss,
                "consistency": consistency, "eps": eps, "labelled": labelled,
                "learner_probs": probs}

    def _warmup_uncertainty(self, held_out_disbelief):
        """The eps that sets the label weights during the uncertainty warm-up (unclipped).

        The clip's lower end (every label fully trusted) under
        `warmup_weights="uniform"`, or without a held-out view (an
        evaluation on test labels); each label's held-out disbelief under
        `"held_out"`; its chance of being wrong given that view and the
        estimated rate `warmup_noise_rate` under `"noise_corrected"`
        (`losses.wrong_label_chance`). `compute_terms` clips it as it clips
        eps.
        """
        if self.warmup_weights not in VIEW_WARMUP_WEIGHTS or held_out_disbelief is None:
            return self.uncertainty_clip[0]
        if self.warmup_weights == NOISE_CORRECTED_WARMUP_WEIGHTS:
            return losses.wrong_label_chance(held_out_disbelief, self.warmup_noise_rate,
                                             self.num_classes)
        return losses.held_out_values(held_out_disbelief)

    @property
    def eps_from_guider(self):
        """Whether eps is estimated per example from the guider (`GUIDER_UNCERTAINTY_MODES`)."""
        return self.uncertainty in GUIDER_UNCERTAINTY_MODES

    def label_term_scale(self):
        """The labelled term's scale for the training set (a float32 scalar).

        The labelled share `training_labelled_share` (1 with
        `labelled_share=None` and while it is uncounted) times
        `umn.losses.rate_scaled_label_weight` of `label_noise_rate` (1 with
        `noise_rate=None`, while the rate is unknown, and for the M-VAE,
        whose labelled term already carries its rate).
        """
        scale = ops.convert_to_tensor(1.0, "float32")
        if self.label_noise_rate is not None:
            scale = losses.rate_scaled_label_weight(self.label_noise_rate, self.num_classes,
                                                    self.uncertainty_clip)
        if self.training_labelled_share is not None:
            share = ops.convert_to_tensor(self.training_labelled_share)
            scale = scale * ops.where(share > 0.0, share, ops.ones_like(share))
        return scale

    def needs_labelled_share(self):
        """Whether `fit` still has to count the labelled share (`labelled_share="count"`)."""
        return (self.training_labelled_share is not None
                and float(ops.convert_to_numpy(self.training_labelled_share)) <= 0.0)

    def count_labelled_share(self, labels):
        """Counts `n_L / N` in the training labels and scales the labelled term by it.

        Stores the share in the non-trainable variable
        `training_labelled_share`, saved and restored with the model.
        `fit` calls it by itself when given arrays; call it before `fit` on
        a `tf.data` stream.

        Args:
            labels: `(N,)` labels of every training image, -1 for unlabelled ones.

        Returns:
            The share as a float.

        Example:

        >>> model = UncertaintyMiningNet((28, 28, 1), 10, label_term="log", label_weight=2.0,
        ...                              labelled_share="count", seed=0)
        >>> model.count_labelled_share(labels)   # 100 labelled of 4,000 images
        0.025
        """
        if self.labelled_share != COUNT_LABELLED_SHARE:
            raise ValueError(
                f"This model (labelled_share={self.labelled_share!r}) does not count the "
                "labelled share; build it with labelled_share='count'.")
        share = labelled_share_of(labels)
        self.training_labelled_share.assign(share)
        return share

    def _add_rate_variable(self, name):
        """A non-trainable noise-rate variable: `noise_rate` when given as a number, else
        `UNKNOWN_RATE` until `estimate_noise_rate` (which `fit` on arrays and
        `measure_training_set` call)."""
        given_rate = self.noise_rate if isinstance(self.noise_rate, float) else UNKNOWN_RATE
        return self.add_weight(shape=(), initializer=keras.initializers.Constant(given_rate),
                               dtype="float32", trainable=False, name=name)

    def _estimated_rate_variables(self):
        """The variables an estimated noise rate fills.

        `label_noise_rate` under `noise_rate="estimate"` (the labelled term's
        scale) and `warmup_noise_rate` under `warmup_weights=
        "noise_corrected"` (the warm-up's weights).
        """
        variables = []
        if self.noise_rate == ESTIMATE_NOISE_RATE and self.label_noise_rate is not None:
            variables.append(self.label_noise_rate)
        if self.warmup_noise_rate is not None:
            variables.append(self.warmup_noise_rate)
        return variables

    def _unknown_rate_variables(self):
        """The rate variables still unknown (negative): `fit` estimates these."""
        return [variable for variable in self._estimated_rate_variables()
                if float(ops.convert_to_numpy(variable)) < 0.0]

    def needs_noise_rate(self):
        """Whether `fit` still has to estimate a noise rate (`_estimated_rate_variables`)."""
        return bool(self._unknown_rate_variables())

    def estimate_noise_rate(self, images, labels, only_unknown=False, **estimator_kwargs):
        """Estimates the share of wrong labels, for the labelled term's scale or the warm-up.

        Runs `umn.noise_rate.estimate_noise_rate` on the training set (a
        label-spreading classifier on the images' principal components,
        scored on labels it did not see) and stores the rate in the
        non-trainable variables that read it (`label_noise_rate` under
        `noise_rate="estimate"`, `warmup_noise_rate` under
        `warmup_weights="noise_corrected"`), which are saved and restored
        with the model. `fit` calls it by itself when given arrays; call it
        (or `measure_training_set`) before `fit` on a `tf.data` stream.

        Args:
            images: `(n, H, W, K)` training images, labelled and unlabelled.
            labels: `(n,)` observed labels, -1 for unlabelled rows.
            only_unknown: fill only the variables still unknown (what `fit`
                and `measure_training_set` do, so a rate assigned by hand,
                e.g. `model.warmup_noise_rate.assign(0.2)`, is kept);
                default: fill every variable that reads the rate.
            **estimator_kwargs: passed to `umn.noise_rate.estimate_noise_rate`.

        Returns:
            The `umn.noise_rate.NoiseRateEstimate`.

        Example:

        >>> model = UncertaintyMiningNet((28, 28, 1), 10, seed=0)
        >>> model.estimate_noise_rate(x_train, labels).rate
        0.3...
        >>> model.fit(umn.semi_supervised_stream(x_train, labels, 10, 25, 100, 0)[0], ...)
        """
        variables = self._estimated_rate_variables()
        if not variables:
            raise ValueError(
                f"This model (noise_rate={self.noise_rate!r}, uncertainty="
                f"{self.uncertainty!r}, warmup_weights={self.warmup_weights!r}) reads no "
                "estimated rate; build it with noise_rate='estimate' (to scale its labelled "
                "term) or warmup_weights='noise_corrected' (the M-VAE takes its rate as "
                "fixed_uncertainty).")
        estimator_kwargs.setdefault("seed", self._int_seed())
        estimate = noise_rate_estimator.estimate_noise_rate(
            images_of(images), labels, self.num_classes, **estimator_kwargs)
        for variable in self._unknown_rate_variables() if only_unknown else variables:
            variable.assign(estimate.rate)
        return estimate

    def uncertainty_in_use(self):
        """Whether the labelled term weights by eps at this optimiser step (a bool tensor).

        False during the uncertainty warm-up: before step
        `uncertainty_start_step`, which `fit` sets (`UncertaintyWarmup`).
        True on a model without an optimiser.
        """
        if self.optimizer is None:
            return ops.convert_to_tensor(True)
        step = ops.cast(self.optimizer.iterations, "int64")
        return ops.greater_equal(step, self.uncertainty_start_step)

    def in_m1_warmup(self):
        """Whether this optimiser step trains M1 alone (a bool tensor).

        True before step `m1_end_step`, which `fit` sets (`M1Warmup`).
        False on a model without an optimiser.
        """
        if self.optimizer is None:
            return ops.convert_to_tensor(False)
        step = ops.cast(self.optimizer.iterations, "int64")
        return ops.less(step, self.m1_end_step)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            **kwargs):
        """`keras.Model.fit`, with the warm-ups' callbacks added.

        When eps comes from the guider (`GUIDER_UNCERTAINTY_MODES`),
        `uncertainty_warmup > 0` and `callbacks`
        hold no `UncertaintyWarmup`, one is appended; likewise an
        `M1Warmup` when `m1_warmup > 0`. They need the run's length
        (`steps_per_epoch`, a dataset of known length, or `total_steps` of
        one warm-up callback given in `callbacks`, which the added ones
        take too). With `labelled_share="count"` and no share yet, the
        share is counted in `y`; with `noise_rate="estimate"` or
        `warmup_weights="noise_corrected"` and no rate yet, the rate is
        estimated from `x` and `y` (arrays, or a dict with `"image"` and
        `"label"`); a stream needs `measure_training_set` (or
        `count_labelled_share` and `estimate_noise_rate`) first. With
        `uncertainty="with_held_out"` (the default) in-memory `x` and `y`
        gain each label's held-out disbelief (`held_out_disbelief`: with
        `held_out_view="cross_fitted"` its fold models are trained here,
        with this call's `epochs` and `batch_size`, once per training set);
        a stream must carry it (`umn.semi_supervised_stream` does).
        """
        if self.held_out_view == CROSS_FITTED_VIEW and not getattr(self, "compiled", False):
            # Said before the fold models train, not after them by keras.Model.fit.
            raise ValueError("You must call compile() before fit(): held_out_view="
                             "'cross_fitted' copies the compiled optimizer for its fold models.")
        if self.needs_labelled_share() or self.needs_noise_rate():
            labels = x.get(LABEL_KEY) if y is None and isinstance(x, dict) else y
            if labels is None:
                raise ValueError(self._needs_training_set_message())
            self.measure_training_set(x, labels)
        x, y = self._with_held_out_disbelief(x, y, epochs, batch_size)
        callbacks = list(callbacks or [])
        # A run length given to one switch (a stream of unknown length) serves both.
        given_total = next((c.total_steps for c in callbacks
                            if isinstance(c, StepSwitch) and c.total_steps), None)
        wanted = [(UncertaintyWarmup, self.eps_from_guider and self.uncertainty_warmup),
                  (M1Warmup, self.m1_warmup)]
        for switch, active in wanted:
            if active and not any(isinstance(c, switch) for c in callbacks):
                callbacks.append(switch(total_steps=given_total))
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                           callbacks=callbacks, **kwargs)

    def _with_held_out_disbelief(self, x, y, epochs=None, batch_size=None):
        """`(x, y)` for `fit`, with each label's held-out disbelief added to in-memory data.

        For `uncertainty="with_held_out"` only: an array `x` becomes a dict
        `{IMAGE_KEY: x, HELD_OUT_DISBELIEF_KEY: d}` (d computed from every
        image and label, `held_out_disbelief`, with `fit`'s `epochs` and
        `batch_size`), a dict `x` of arrays gains the key (or has a given
        one checked); `y` is returned as it is, so sample weights still
        meet the contract's refusal. Streams are returned as they are.
        """
        if self.uncertainty != WITH_HELD_OUT:
            return x, y
        self._check_in_memory_data(x, y)  # bad labels say so before the label spreading does
        features = dict(x) if isinstance(x, dict) else {IMAGE_KEY: x}
        images = features.get(IMAGE_KEY)
        labels = features.get(LABEL_KEY) if y is None else y
        if (not isinstance(images, (np.ndarray, tf.Tensor))
                or not isinstance(labels, (np.ndarray, tf.Tensor, list))):
            if self.held_out_view == CROSS_FITTED_VIEW and self._cross_fitted_view is None:
                raise ValueError(STREAM_WITHOUT_VIEW_MESSAGE)
            return x, y
        labels = np.asarray(labels)
        labels = check_partial_labels(
            labels.reshape(-1) if labels.ndim == 2 and labels.shape[1] == 1 else labels,
            self.num_classes)
        given = features.get(HELD_OUT_DISBELIEF_KEY)
        features[HELD_OUT_DISBELIEF_KEY] = (
            self.held_out_disbelief(np.asarray(images), labels, epochs=epochs,
                                    batch_size=batch_size)
            if given is None else checked_held_out_disbelief(
                np.asarray(images), labels, self.num_classes, self._int_seed(), given))
        return features, y

    def held_out_disbelief(self, images, labels, epochs=None, batch_size=None):
        """Each label's `1 - p(y_obs | x)` under the model's held-out view (`held_out_view`).

        What `fit` on arrays gives the default eps; for a stream, pass it to
        `umn.semi_supervised_stream(..., held_out_disbelief=...)`.
        `"label_spreading"`: `umn.label_spreading.held_out_disbelief` seeded
        by the model's seed. `"cross_fitted"`: `umn.cross_fitted.
        cross_fitted_label_posterior` with 4 class-balanced folds dealt with
        the model's seed; each fold's model is this model's config with eps
        = 0 (`umn.cross_fitted.eps_zero_fold_trainer`: seed
        `fold_model_seed(seed, fold)`, a fresh copy of the compiled
        optimizer, or Adam before `compile`), fitted on the arrays with the
        fold's labels for a third of `epochs`
        (`umn.cross_fitted.DEFAULT_EPOCH_SHARE`) with `batch_size`. The
        view of a training set is computed once and kept with the model
        (not saved with it): `fit` again (a continued run, whatever its
        `epochs`), this method and `label_issues` on the same images and
        labels read it instead of training the folds again; other images or
        labels replace it. Fold training reseeds Keras's global random
        state (`keras.utils.set_random_seed` with each fold's seed; seed 0
        for a model built with `seed=None`) and builds the fold models in
        the caller's distribution scope, if any.

        Args:
            images: `(n, H, W, K)` training images, labelled and unlabelled.
            labels: `(n,)` their labels, -1 for unlabelled rows.
            epochs: the training run's epochs (`"cross_fitted"` only,
                required there).
            batch_size: rows per batch of the fold models' `fit`
                (`"cross_fitted"` only; None: Keras's default, 32).

        Returns:
            `(n,)` float32 in [0, 1]; 0 on unlabelled rows.

        Raises:
            ValueError: bad labels, fewer labelled rows than folds (2 for
                label spreading), or `"cross_fitted"` without `epochs`.

        Example:

        >>> model = UncertaintyMiningNet((28, 28, 1), 10, held_out_view="cross_fitted", seed=0)
        >>> view = model.held_out_disbelief(x_train, partial_labels, epochs=150)
        >>> stream, steps = umn.semi_supervised_stream(x_train, partial_labels, 10, 25, 100,
        ...                                            seed=0, held_out_disbelief=view)
        """
        images = validation.check_images(images)
        labels = check_partial_labels(labels, self.num_classes)
        validation.check_same_length(images=images, labels=labels)
        if self.held_out_view != CROSS_FITTED_VIEW:
            return label_spreading_disbelief(images, labels, self.num_classes,
                                             seed=self._int_seed())
        return disbelief_of_labels(
            self._cross_fitted_posterior(images, labels, epochs, batch_size), labels)

    def _cross_fitted_posterior(self, images, labels, epochs, batch_size):
        """The cross-fitted posterior of the labelled rows: trained, or the one kept."""
        fingerprint = data_fingerprint(images, labels)
        if self._cross_fitted_view is not None and self._cross_fitted_view[0] == fingerprint:
            return self._cross_fitted_view[1]   # kept: whatever epochs this call was given
        if epochs is None:
            raise ValueError(
                "held_out_view='cross_fitted' trains its fold models for a third of the run's "
                "epochs: pass epochs (the run's, e.g. held_out_disbelief(x, y, epochs=150)).")
        fold_epochs = max(1, round(validation.check_positive_int(epochs, "epochs")
                                   * cross_fitted_module().DEFAULT_EPOCH_SHARE))
        cross_fitted = cross_fitted_module()
        fit_fold = cross_fitted.eps_zero_fold_trainer(
            images, self.get_config(), fold_epochs, seed=self._int_seed(),
            batch_size=KERAS_DEFAULT_BATCH_SIZE if batch_size is None else batch_size,
            optimizer=getattr(self, "optimizer", None))
        _, posterior = cross_fitted.or_label_spreading(
            cross_fitted.cross_fitted_label_posterior(images, labels, self.num_classes,
                                                      fit_fold, seed=self._int_seed()),
            images, labels, self.num_classes, seed=self._int_seed())
        self._cross_fitted_view = (fingerprint, posterior)
        return posterior

    def keep_held_out_view(self, images, labels, posterior):
        """Keeps a cross-fitted posterior computed elsewhere as this model's view of a set.

        For `held_out_view="cross_fitted"`: what `held_out_disbelief` keeps
        after training the fold models, given instead (the paper harness's
        own fold runs, a view saved beside a restored model). `fit` on a
        stream then runs (the stream must carry this view: `umn.partial_labels.
        disbelief_of_labels(posterior, labels)`), and `fit` on arrays,
        `held_out_disbelief` and `label_issues` on these images and labels
        read it.

        Args:
            images: `(n, H, W, K)` training images, labelled and unlabelled.
            labels: `(n,)` their labels, -1 for unlabelled rows.
            posterior: `(m, C)` class distributions of the labelled rows, in
                the order of `np.flatnonzero(labels >= 0)`, each from a model
                that never saw that row's label
                (`umn.cross_fitted.cross_fitted_label_posterior`).

        Raises:
            ValueError: a model with another view, bad labels, or a
                posterior of the wrong shape or not class distributions.

        Example:

        >>> model.keep_held_out_view(x_train, labels, posterior)
        >>> view = umn.partial_labels.disbelief_of_labels(posterior, labels)
        >>> model.fit(umn.semi_supervised_stream(x_train, labels, 10, 25, 100, seed=0,
        ...                                      held_out_disbelief=view)[0], ...)
        """
        if self.held_out_view != CROSS_FITTED_VIEW:
            raise ValueError(
                f"keep_held_out_view keeps a cross-fitted view, but this model reads "
                f"held_out_view={self.held_out_view!r}.")
        images = validation.check_images(images)
        labels = check_partial_labels(labels, self.num_classes)
        validation.check_same_length(images=images, labels=labels)
        posterior = validation.check_class_distributions(
            posterior, int(np.sum(labels >= 0)), self.num_classes, "posterior")
        self._cross_fitted_view = (data_fingerprint(images, labels), posterior)

    def _kept_cross_fitted_posterior(self, images, labels):
        """The kept cross-fitted posterior of these images and labels, else a ValueError."""
        kept = self._cross_fitted_view
        if kept is None or kept[0] != data_fingerprint(images, labels):
            raise ValueError(
                "held_out_view='cross_fitted' judges the labels of the training set it was "
                "computed on (fit on arrays, or held_out_disbelief(images, labels, epochs=...)); "
                "these images and labels are not that set (the view is not saved with the "
                "model). Pass held_out_posterior= (the posterior the run read, or "
                "umn.cross_fitted.cross_fitted_label_posterior), call "
                "model.held_out_disbelief(images, labels, epochs=...) on them first (4 fold "
                "trainings), or rank by score='disbelief' (the guider alone).")
        return kept[1]

    def _int_seed(self):
        """The model's seed as an int for NumPy-side helpers (0 when None)."""
        return int(self.seed) if isinstance(self.seed, (int, np.integer)) else 0

    def measure_training_set(self, images, labels):
        """Counts the labelled share and estimates the noise rate where still needed.

        What `fit` does by itself on arrays (`labelled_share="count"`,
        `noise_rate="estimate"`, `warmup_weights="noise_corrected"`); call
        it before `fit` on a stream. Fills only what is still unknown: a
        no-op for a model that needs none of them.

        Args:
            images: `(n, H, W, K)` training images, labelled and unlabelled.
            labels: `(n,)` their labels, -1 for unlabelled rows.
        """
        if self.needs_labelled_share():
            self.count_labelled_share(labels)
        if self.needs_noise_rate():
            self.estimate_noise_rate(images, labels, only_unknown=True)

    def _needs_training_set_message(self):
        """What fit on a stream misses: the labelled share, the noise rate or both."""
        needs = []
        if self.needs_labelled_share():
            needs.append(
                "labelled_share='count' scales its labelled term by the share of labelled "
                "images (call model.count_labelled_share(labels) before fit, or give the "
                "share, e.g. labelled_share=0.025)")
        unknown = self._unknown_rate_variables()
        if any(variable is self.label_noise_rate for variable in unknown):
            needs.append(
                "noise_rate='estimate' scales its labelled term by the share of wrong labels "
                "(call model.estimate_noise_rate(images, labels) before fit, or build the "
                "model with a known noise_rate (e.g. 0.2), or noise_rate=None for the "
                "unscaled objective)")
        if any(variable is self.warmup_noise_rate for variable in unknown):
            needs.append(
                "warmup_weights='noise_corrected' weights the warm-up's labels at the "
                "estimated share of wrong labels (call model.estimate_noise_rate(images, "
                "labels) or model.measure_training_set(images, labels) before fit, or build "
                "the model with a known noise_rate (e.g. 0.2), or assign one to "
                "model.warmup_noise_rate)")
        if self.held_out_view == CROSS_FITTED_VIEW:
            needs.append(
                "and its eps reads the cross-fitted view of the labels: give the stream "
                "held_out_disbelief=model.held_out_disbelief(images, labels, epochs=...) "
                "(umn.semi_supervised_stream(..., held_out_disbelief=True) computes label "
                "spreading's view, the one of held_out_view='label_spreading')")
        return ("UncertaintyMiningNet needs the training set before fit, but fit got a "
                "stream: " + "; ".join(needs) + ".")

    def guider_decay(self, step):
        """The decay used at optimiser step `step` (0-based)."""
        if self.ema_warmup:
            return losses.warmed_up_decay(step, self.ema_decay)
        return ops.convert_to_tensor(self.ema_decay, "float32")

    def _step_inputs(self, data):
        """The batch's held-out disbelief, which `uncertainty="with_held_out"` reads."""
        if self.uncertainty != WITH_HELD_OUT:
            return {}
        return {"held_out_disbelief": batch_feature(data, HELD_OUT_DISBELIEF_KEY)}

    def _step(self, images, labels, training, held_out_disbelief=None):
        """The objective, the probabilities for the metrics and the tracker values."""
        terms = self.compute_terms(images, labels, training=training,
                                   held_out_disbelief=held_out_disbelief)
        probabilities = terms["learner_probs"] if training else self(images, training=False)
        batch = ops.shape(labels)[0]
        num_labelled = ops.sum(ops.cast(terms["labelled"], "float32"))
        # One all-reduce for the three global-batch values the trackers record.
        elbo, label_loss, eps = ops.unstack(global_value(ops.stack([
            -terms["elbo_loss"], terms["label_loss"],
            replica_mean_share(terms["eps"], terms["labelled"])])))
        return {"loss": terms["loss"], "probabilities": probabilities, "trackers": [
            (self.elbo_tracker, elbo, batch),
            (self.label_loss_tracker, label_loss, num_labelled),
            (self.eps_tracker, eps, num_labelled),
        ]}

    def _after_optimizer_step(self):
        if self.guider is not None:
            step = self.optimizer.iterations - 1
            self.guider.update(self.vae.classifier_networks, self.guider_decay(step))

    def learner_probabilities(self, images, training=False):
        """`q(y | z_a)` of the learner at the mean of `q(z_a | x)`."""
        encoded = self.vae.classify(images_of(images), training=training)
        return ops.softmax(encoded["logits"], axis=-1)

    def call(self, inputs, training=False):
        images = images_of(inputs)
        if self.guider is None:
            return self.learner_probabilities(images, training=training)
        return self.guider(images)

    def label_uncertainty(self, images, labels, batch_size=256, held_out_disbelief=None):
        """eps of every labelled example, as `uncertainty` sets it: the label-trust score.

        Computed without input perturbation and at the mean of `q(z_a | x)`,
        so it is deterministic. With `uncertainty="fixed"` / `"zero"` the
        model's constant is returned. With `uncertainty="with_held_out"`
        eps reads each label's held-out disbelief: give the values training
        saw (`held_out_disbelief` of the whole training set, at these
        rows), else label spreading's are computed from `images` and
        `labels` alone (no unlabelled images in the graph); under
        `held_out_view="cross_fitted"` they must be given.

        Args:
            images: `(n, H, W, K)` labelled images.
            labels: `(n,)` their observed labels in `[0, C)`.
            batch_size: examples per forward pass.
            held_out_disbelief: optional `(n,)` held-out disbelief of the
                labels (`uncertainty="with_held_out"` only).

        Returns:
            `(n,)` float32 NumPy array; larger = less trustworthy label.

        Raises:
            ValueError: bad images or labels, or (`uncertainty="with_held_out"`
                without `held_out_disbelief`) fewer than 2 labelled rows or
                `held_out_view="cross_fitted"`.

        Example:

        >>> eps = model.label_uncertainty(x_labelled, y_labelled)
        """
        images = validation.check_images(images)
        labels = validation.check_labels(labels, self.num_classes)
        validation.check_same_length(images=images, labels=labels)
        if self.held_out_view == CROSS_FITTED_VIEW and held_out_disbelief is None:
            raise ValueError(
                "held_out_view='cross_fitted' cannot judge labelled rows alone: pass "
                "held_out_disbelief, the view training read at these rows (from "
                "model.held_out_disbelief(x_train, labels, epochs=...)), or use "
                "label_issues(x_train, labels) on the training set.")
        if self.uncertainty == WITH_HELD_OUT:   # computed here when not given
            held_out_disbelief = checked_held_out_disbelief(
                images, labels, self.num_classes, self._int_seed(),
                True if held_out_disbelief is None else held_out_disbelief)
        values = []
        for start in range(0, len(images), batch_size):
            batch = slice(start, start + batch_size)
            batch_labels = ops.convert_to_tensor(labels[batch], "int32")
            learner = self.learner_probabilities(images[batch])
            guider = self.guider(images[batch]) if self.guider is not None else None
            held_out = None if held_out_disbelief is None else held_out_disbelief[batch]
            values.append(ops.convert_to_numpy(
                self._uncertainty(learner, guider, batch_labels, held_out)))
        return np.concatenate(values).astype(np.float32)

    def label_issues(self, x, y, score="with_held_out", batch_size=256, seed=None,
                     held_out_posterior=None):
        """Ranks the given labels by how likely they are wrong, most suspicious first.

        Scores (larger = less trustworthy):

        * `"with_held_out"` (default): `1 - p(y_obs | x)` under the mean
          of the guider's posterior `q'(y | x)` and a held-out posterior
          that never saw the row's own label, score name
          `"wrong_label_probability"`; the suggested label is the mean's
          argmax. The held-out posterior is, under the default
          `held_out_view="cross_fitted"`, the cross-fitted one kept from
          `fit` (or `held_out_disbelief`, `keep_held_out_view`) on these
          same images and labels (`seed` unused; for others pass
          `held_out_posterior`); for the other views and eps label
          spreading's (`umn.label_spreading.held_out_label_posterior`: 5
          class-balanced folds of the labels, the rows of `x` in the kNN
          graph, up to 10,000 unlabelled ones: pass the unlabelled images
          too). The guider is trained on the labels it judges and comes
          to believe many wrong ones; the held-out view cannot, and their
          mistakes differ. It is the default eps
          (`uncertainty="with_held_out"`) read at the mean of
          `q(z_a | x)`. Flagged above 0.5 (the label more likely wrong
          than right), 3 seeds at 10-50% noise (README, Table 3): F1
          0.86-0.93 and ROC AUC 0.96-0.99 on the digits, F1 0.83-0.89
          and ROC AUC 0.93-0.98 on 28x28 digits (mnist5k) under the
          default; F1 0.82-0.92 and 0.76-0.85 under label spreading's
          view; the guider alone, trained with its own disbelief as eps
          and flagged by Otsu's threshold: 0.79-0.90 and 0.49-0.72.
        * `"disbelief"`: the guider's `1 - q'(y_obs | x)`, score name
          `"wrong_label_probability"`, whatever eps the model trains
          with (the eps of `uncertainty="disbelief"`). Without a guider
          (`ema_decay=None`) it is the learner's `1 - q(y_obs | x)`.
        * `"eps"`: the model's eps (`label_uncertainty`), score name
          `"eps"`: under the default eps the `"with_held_out"` score
          itself (its held-out view fitted on the rows of `x`); the
          guider's disbelief with `uncertainty="disbelief"`; the paper's
          Eq. 11, `|guider - learner|` at the given label, with
          `uncertainty="guider"`.

        Unlabelled rows (label -1) are dropped, not scored; the returned
        `indices` are positions in `x`.

        Args:
            x: `(n, H, W, K)` images, labelled and unlabelled.
            y: `(n,)` given labels in `[0, C)`, -1 for unlabelled rows.
            score: `"with_held_out"`, `"disbelief"` or `"eps"`.
            batch_size: examples per forward pass.
            seed: int seed of the held-out view's folds and PCA; None
                (default) takes the model's seed, which `fit` on arrays
                gave the view it trained with (for a stream, pass the
                stream's seed to reproduce the training eps).
            held_out_posterior: optional `(m, C)` held-out posterior of the
                labelled rows (order of `np.flatnonzero(y >= 0)`) in place
                of label spreading's, for `"with_held_out"` and `"eps"`
                (under the default eps): e.g. the one training read,
                `umn.cross_fitted.cross_fitted_label_posterior`.

        Returns:
            A `tf_data.label_issues.LabelIssues` over the labelled rows.

        Raises:
            ValueError: as `KerasContract.label_issues`, and under
                `held_out_view="cross_fitted"` a `"with_held_out"` or
                `"eps"` score without `held_out_posterior` on images and
                labels other than the set its view was computed on.

        Example:

        >>> issues = model.label_issues(x_train, partial_labels)   # -1: unlabelled
        >>> issues[issues.scores > 0.5].to_csv("suspected_labels.csv")
        >>> eps = model.label_issues(x_train, partial_labels, score="eps")
        """
        seed = self._int_seed() if seed is None else seed
        if (self.held_out_view == CROSS_FITTED_VIEW and held_out_posterior is None
                and score in ("with_held_out", "eps")):
            held_out_posterior = self._kept_cross_fitted_posterior(
                validation.check_images(x, "x"), check_partial_labels(y, self.num_classes))
        if score == "eps" and self.uncertainty == WITH_HELD_OUT:
            # This eps is 1 - mean(guider, held-out)(y_obs): the "with_held_out"
            # score, whose held-out view sees every row of x in its graph, as in training
            # (the same view when x, y and seed are the training set's).
            issues = super().label_issues(x, y, score="with_held_out", batch_size=batch_size,
                                          seed=seed, held_out_posterior=held_out_posterior)
            return dataclasses.replace(issues, score_name="eps")
        return super().label_issues(x, y, score=score, batch_size=batch_size, seed=seed,
                                    held_out_posterior=held_out_posterior)

    def _label_scores(self, images, labels, score, batch_size):
        return self.label_uncertainty(images, labels, batch_size=batch_size)

    @classmethod
    def from_config(cls, config):
        # Configs saved before session 40 name label spreading's view (then the
        # default) for every eps; an eps that reads no view now takes none.
        config = dict(config)
        if (config.get("uncertainty", DEFAULT_UNCERTAINTY) != WITH_HELD_OUT
                and config.get("held_out_view") == LABEL_SPREADING_VIEW):
            config["held_out_view"] = None
        return super().from_config(config)

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape, num_classes=self.num_classes,
            architecture=self.architecture, hidden_units=self.hidden_units,
            latent_dim=self.latent_dim, class_latent_dim=self.class_latent_dim,
            conv_width=self.conv_width, dropout_rate=self.dropout_rate,
            likelihood=self.likelihood, uncertainty=self.uncertainty,
            fixed_uncertainty=self.fixed_uncertainty, label_term=self.label_term,
            label_weight=self.label_weight, labelled_share=self.labelled_share,
            noise_rate=self.noise_rate,
            uncertainty_clip=list(self.uncertainty_clip),
            uncertainty_warmup=self.uncertainty_warmup,
            warmup_weights=self.warmup_weights, m1_warmup=self.m1_warmup,
            held_out_view=self.held_out_view, ema_decay=self.ema_decay,
            ema_warmup=self.ema_warmup, max_shift=self.max_shift,
            noise_stddev=self.noise_stddev, consistency_weight=self.consistency_weight,
            seed=self.seed,
        )
        return config
