"""Hyper-parameters of one experiment run and the named presets."""

import dataclasses

from tf_data import validation
from umn import architectures
from umn.m1_warmup import check_m1_warmup_share
from umn.model import CROSS_FITTED_VIEW
from umn.model import DEFAULT_LABEL_TERM
from umn.model import DEFAULT_LABEL_WEIGHT
from umn.model import DEFAULT_M1_WARMUP
from umn.model import DEFAULT_UNCERTAINTY
from umn.model import DEFAULT_UNCERTAINTY_WARMUP
from umn.model import GUIDER_UNCERTAINTY_MODES
from umn.model import HELD_OUT_VIEWS as MODEL_HELD_OUT_VIEWS
from umn.model import LABEL_SPREADING_VIEW
from umn.model import check_labelled_share
from umn.model import check_noise_rate
from umn.model import resolve_held_out_view
from umn.model import resolve_warmup_weights
from umn.uncertainty_warmup import check_warmup_share


# `RunSettings.scale_by_noise_rate` / `scale_by_labelled_share` for the paper's
# unscaled labelled term (None in the model).
UNSCALED = "none"

# `RunSettings.held_out_view`: what the held-out half of the default eps is:
# the model's views (`UncertaintyMiningNet(held_out_view=...)`) and an ablation.
SHUFFLED_VIEW = "shuffled"
HELD_OUT_VIEWS = (*MODEL_HELD_OUT_VIEWS, SHUFFLED_VIEW)


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Hyper-parameters of one run; `PRESETS` holds the named sets.

    The default preset is the model's defaults (`UncertaintyMiningNet`)
    trained for 150 epochs: Table 1 on the embedded digits in about 6
    minutes on two CPU cores. It was checked on real 28x28 digits
    (mnist5k, development data) as well as on the digits; see the README.
    What made the VAE models learn from unlabelled images (issue 8): the
    M1 + M2 networks at Kingma et al.'s width (500), a 10-d `z_a`, the
    paper's exact labelled term (Eq. 7, linear in q) at weight 1 instead of
    a cross-entropy at weight 15 that let the classifier ignore the VAE, no
    input translation for the MLP VAE, and enough steps (150 epochs, about
    6,000 steps on 4,000 images; 30 epochs gave 27% error on mnist5k at 30%
    noise, 150 about 13-17%), and M1 trained alone for the first 5% of
    the steps (Kingma et al.'s two-stage recipe in one run). `paper` has
    the paper's 350 epochs and 5 labelled + 95 unlabelled examples per
    batch, neither warm-up, and the paper's eps (Eq. 11).

    Attributes:
        epochs: passes over the unlabelled set (supervised baselines get the
            same number of optimiser steps).
        batch_size, labelled_per_batch: rows per batch and how many of them
            are labelled (25 labelled + 100 unlabelled by default).
        hidden_units, latent_dim, class_latent_dim: MLP width, |z_a|, |z_b|.
        conv_width, dropout_rate: conv13 sizes (Table 4: 128, 0.5).
        resnet_width, resnet_blocks: the S-2 ResNet.
        label_term, label_weight: UMN's labelled term (`"linear"`, Eq. 7, or
            `"log"`) and its weight alpha (see `umn.model`).
        scale_by_noise_rate: the rate that scales UMN's labelled term (and
            its eps = 0 ablation's; `UncertaintyMiningNet(noise_rate=...)`),
            not the runs' corruption rate:
            `"none"` (default: unscaled, the paper's objective),
            `"estimate"` (estimated per run from the noisy split,
            `umn.noise_rate`) or a rate in [0, 1), the same for every run
            of a sweep; `--scale_by_noise_rate`.
        scale_by_labelled_share: `"none"` (default: the labelled term's
            weight is `label_weight`) or `"count"` (times `n_L / N`, counted
            per run; `UncertaintyMiningNet(labelled_share="count")`) or a
            share in (0, 1]; `--scale_by_labelled_share`.
        uncertainty_estimate: how UMN estimates eps: `"with_held_out"`
            (default: `1 - q(y_obs)` under the mean of the guider and a
            held-out posterior that never saw the label, `held_out_view`;
            not the paper's), `"disbelief"` (the guider's `1 - q'(y_obs)` alone) or
            `"guider"` (Eq. 11, the paper's; `paper`), as
            `UncertaintyMiningNet(uncertainty=...)`;
            `--uncertainty_estimate`. Only the `umn` method reads it.
        held_out_view: the held-out half of the default eps
            (`uncertainty_estimate="with_held_out"`): None (default: the
            model's default for the eps, `"cross_fitted"`; none for the
            other eps), `"cross_fitted"` (the run's eps = 0 model
            cross-fitted on 4 class-balanced folds of its labels, each for
            a third of the run's epochs: `umn.cross_fitted`; about 1.3
            runs' extra time), `"label_spreading"`
            (`umn.label_spreading.held_out_disbelief`, seconds) or
            `"shuffled"` (label spreading on images shuffled against their
            labels, a view that knows nothing: an ablation);
            `--held_out_view`. Refused with any other eps. The view in use
            is `held_out_view_in_use`.
        uncertainty_clip: `(low, high)` clip interval of eps.
        uncertainty_warmup: share of the run's steps before UMN's label
            weights use eps (every label weighted as with eps = 0 until
            then; `umn.uncertainty_warmup`); 0 in `paper`.
        warmup_weights: UMN's label weights during that warm-up: None
            (default: the model's for the view, `"noise_corrected"` under
            the cross-fitted view, `"uniform"` otherwise;
            `umn.model.resolve_warmup_weights`), `"uniform"` (every label
            as with eps = 0), `"held_out"` (each label weighted by its
            held-out disbelief) or `"noise_corrected"` (by its chance of
            being wrong given that view and the estimated noise rate;
            `UncertaintyMiningNet(warmup_weights=...)`; the default eps
            only); `--warmup_weights`. Only the `umn` method reads it; the
            weights in use are `warmup_weights_in_use`.
        m1_warmup: share of the run's steps that train M1 alone before
            the whole objective (UMN, its eps = 0 ablation and the M-VAE;
            `umn.m1_warmup`); 0 in `paper`, which trains the whole
            objective from the first step.
        ema_decay: guider decay gamma (with the 1 - 1/(t+1) warm-up).
        max_shift, noise_stddev: eta / eta'; `max_shift=None` is the
            architecture's default (`umn.architectures.default_max_shift`:
            none for the MLP, Table 4's 2 px for conv13).
        mt_consistency_weight, mt_rampup_fraction: Mean Teacher's maximum
            consistency weight and ramp-up length as a fraction of the run.
        learning_rate: Adam's (beta1 0.9, beta2 0.99 as in the paper), for
            every method; `--learning_rate` overrides it (the README measures
            UMN at 2e-3 on mnist5k and the digits).
        max_steps_per_epoch: cap on steps per epoch (smoke tests).
        jit_compile: XLA-compile the train steps (slower on CPU here: 22 s
            against 13 s for 30 epochs on mnist5k).
        trusted_per_class: images per class of the trusted set that
            Learning to Reweight and MentorNet (`reweight`, `mentornet`) take,
            with true labels, from outside the labelled set (5: 50 images on
            10 classes, half of MNIST's 100 labels).
    """

    epochs: int = 150
    batch_size: int = 125
    labelled_per_batch: int = 25
    hidden_units: int = architectures.DEFAULT_HIDDEN_UNITS
    latent_dim: int = architectures.DEFAULT_LATENT_DIM
    class_latent_dim: int = architectures.DEFAULT_CLASS_LATENT_DIM
    conv_width: int = 128
    dropout_rate: float = 0.5
    resnet_width: int = 8
    resnet_blocks: int = 1
    label_term: str = DEFAULT_LABEL_TERM
    label_weight: float = DEFAULT_LABEL_WEIGHT
    scale_by_noise_rate: object = UNSCALED
    scale_by_labelled_share: object = UNSCALED
    uncertainty_estimate: str = DEFAULT_UNCERTAINTY
    held_out_view: object = None
    uncertainty_clip: tuple = (0.01, 0.8)
    uncertainty_warmup: float = DEFAULT_UNCERTAINTY_WARMUP
    warmup_weights: object = None
    m1_warmup: float = DEFAULT_M1_WARMUP
    ema_decay: float = 0.99
    max_shift: object = None
    noise_stddev: float = 0.15
    mt_consistency_weight: float = 100.0
    mt_rampup_fraction: float = 0.25
    learning_rate: float = 1e-3
    max_steps_per_epoch: object = None
    jit_compile: bool = False
    trusted_per_class: int = 5

    def __post_init__(self):
        # Every preset, and every override (a flag, dataclasses.replace), is checked here.
        validation.check_positive(self.learning_rate, "learning_rate",
                                  "Adam's step size, e.g. 1e-3")
        check_noise_rate(self.model_noise_rate, "guider")
        check_labelled_share(self.model_labelled_share)
        if self.uncertainty_estimate not in GUIDER_UNCERTAINTY_MODES:
            raise ValueError(
                f"uncertainty_estimate must be one of {GUIDER_UNCERTAINTY_MODES}, got "
                f"{self.uncertainty_estimate!r}.")
        _ = self.warmup_weights_in_use   # resolving checks the view and the warm-up's weights
        check_m1_warmup_share(self.m1_warmup)

    @property
    def held_out_view_in_use(self):
        """The view UMN's eps reads (`held_out_view` resolved as the model resolves it;
        None for an eps that reads none); a ValueError for a view that eps does not read."""
        return resolve_held_out_view(self.held_out_view, self.uncertainty_estimate,
                                     HELD_OUT_VIEWS)

    @property
    def warmup_weights_in_use(self):
        """UMN's warm-up weights (`warmup_weights` resolved as the model resolves it)."""
        return resolve_warmup_weights(self.warmup_weights, self.held_out_view_in_use,
                                      check_warmup_share(self.uncertainty_warmup))

    def as_record(self):
        """The settings as a dict for results and ledgers, with the view and the warm-up's
        weights as resolved (what ran, whatever the defaults were when it ran)."""
        return dataclasses.asdict(dataclasses.replace(
            self, held_out_view=self.held_out_view_in_use,
            warmup_weights=self.warmup_weights_in_use))

    @property
    def eps_name(self):
        """What UMN's eps is under these settings, for titles and axes."""
        if self.uncertainty_estimate == DEFAULT_UNCERTAINTY:
            return HELD_OUT_EPS_NAMES[self.held_out_view_in_use]
        return EPS_NAMES[self.uncertainty_estimate]

    @property
    def model_noise_rate(self):
        """`scale_by_noise_rate` as `UncertaintyMiningNet`'s `noise_rate` (`"none"`: None)."""
        return None if self.scale_by_noise_rate == UNSCALED else self.scale_by_noise_rate

    @property
    def model_labelled_share(self):
        """`scale_by_labelled_share` as `UncertaintyMiningNet`'s `labelled_share`."""
        return (None if self.scale_by_labelled_share == UNSCALED
                else self.scale_by_labelled_share)


# What each `uncertainty_estimate` is, for titles and axes.
EPS_NAMES = {"guider": "the paper's |guider - learner| (Eq. 11)",
             "disbelief": "the guider's disbelief 1 - q'(y_obs)",
             "with_held_out": "1 - mean(guider, a held-out view)(y_obs) (--held_out_view)"}
# The default eps by its held-out view (`RunSettings.held_out_view_in_use`).
HELD_OUT_EPS_NAMES = {
    LABEL_SPREADING_VIEW: "1 - mean(guider, held-out label spreading)(y_obs)",
    CROSS_FITTED_VIEW: "1 - mean(guider, held-out cross-fitted eps = 0 model)(y_obs)",
    SHUFFLED_VIEW: "1 - mean(guider, held-out label spreading on shuffled images)(y_obs)",
}

PRESETS = {
    "smoke": RunSettings(epochs=1, batch_size=40, labelled_per_batch=10, hidden_units=16,
                         latent_dim=4, class_latent_dim=2, conv_width=4, resnet_width=4,
                         resnet_blocks=1, max_steps_per_epoch=2, trusted_per_class=2),
    "default": RunSettings(),
    "paper": RunSettings(epochs=350, batch_size=100, labelled_per_batch=5, latent_dim=50,
                         class_latent_dim=50, resnet_width=16, resnet_blocks=4,
                         uncertainty_estimate="guider", uncertainty_warmup=0.0, m1_warmup=0.0,
                         scale_by_noise_rate=UNSCALED),
}
