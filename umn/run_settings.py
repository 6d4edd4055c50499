"""Hyper-parameters of one experiment run and the named presets."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Hyper-parameters of one run; `PRESETS` holds the named sets.

    `max_shift=None` scales the paper's 2-pixel translation (for 28-32 px
    images) to the image size, `round(2 * min(H, W) / 28)`: 2 px on MNIST /
    SVHN / CIFAR-10, 1 px on the 8x8 digits (2 px there moved a quarter of
    the image: with it every VAE model stayed at ~90% error on digits).
    The default preset is sized to run Table 1 on digits in minutes on two
    shared CPU cores; `paper` has the paper's 350 epochs, 5 labelled + 95
    unlabelled examples per batch and wider MLPs (the paper gives no MLP
    width for UMN; 500 is Kingma et al.'s).

    Attributes:
        epochs: passes over the unlabelled set (supervised baselines get the
            same number of optimiser steps).
        batch_size, labelled_per_batch: rows per batch and how many of them
            are labelled. The default uses 25 labelled rows: with only ~500
            steps, 10 left every VAE model under-fitted (31.8% error at 10%
            noise against 22.4% for the supervised MLP).
        hidden_units, latent_dim, class_latent_dim: MLP width, |z_a|, |z_b|.
        conv_width, dropout_rate: conv13 sizes (Table 4: 128, 0.5).
        resnet_width, resnet_blocks: the S-2 ResNet.
        label_term, label_weight: UMN's labelled term (`"log"` or
            `"linear"`) and its weight alpha. The linear form of Eq. 7 left
            the classifier near chance on digits (71.7% error at 30% noise
            with alpha=30; the gradient of f*q vanishes while q is small).
        uncertainty_clip: `(low, high)` clip interval of eps.
        ema_decay: guider decay gamma (with the 1 - 1/(t+1) warm-up). 0.999
            was worse within this budget (the guider lags the learner by
            ~1000 steps, longer than the whole run).
        max_shift, noise_stddev: eta / eta' (see above).
        mt_consistency_weight, mt_rampup_fraction: Mean Teacher's maximum
            consistency weight and ramp-up length as a fraction of the run.
        learning_rate: Adam's (beta1 0.9, beta2 0.99 as in the paper).
        max_steps_per_epoch: cap on steps per epoch (smoke tests).
        jit_compile: XLA-compile the train steps (slower on CPU here).
    """

    epochs: int = 30
    batch_size: int = 100
    labelled_per_batch: int = 25
    hidden_units: int = 128
    latent_dim: int = 16
    class_latent_dim: int = 8
    conv_width: int = 128
    dropout_rate: float = 0.5
    resnet_width: int = 8
    resnet_blocks: int = 1
    label_term: str = "log"
    label_weight: float = 15.0
    uncertainty_clip: tuple = (0.01, 0.8)
    ema_decay: float = 0.99
    max_shift: object = None
    noise_stddev: float = 0.15
    mt_consistency_weight: float = 100.0
    mt_rampup_fraction: float = 0.25
    learning_rate: float = 1e-3
    max_steps_per_epoch: object = None
    jit_compile: bool = False

    def replace(self, **overrides):
        """A copy with the non-None `overrides` applied."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})


PRESETS = {
    "smoke": RunSettings(epochs=1, batch_size=40, labelled_per_batch=10, hidden_units=16,
                         latent_dim=4, class_latent_dim=2, conv_width=4, resnet_width=4,
                         resnet_blocks=1, max_steps_per_epoch=2),
    "default": RunSettings(),
    "paper": RunSettings(epochs=350, labelled_per_batch=5, hidden_units=500, latent_dim=50,
                         class_latent_dim=50, resnet_width=16, resnet_blocks=4),
}
