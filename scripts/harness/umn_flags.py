"""absl flags shared by scripts/umn_table{1,2,3}.py, and their resolution.

A flag left unset falls back to the `--preset` (`smoke`: a few seconds, for
tests; `default`: minutes on 2 CPU cores; `paper`: the paper's settings);
a flag given on the command line always wins.
"""

from absl import app
from absl import flags

from umn import architectures
from umn.model import COUNT_LABELLED_SHARE
from umn.model import ESTIMATE_NOISE_RATE
from umn.model import GUIDER_UNCERTAINTY_MODES
from umn.model import WITH_HELD_OUT
from umn.uncertainty_warmup import WARMUP_WEIGHTS
from scripts.harness import training
from scripts.harness import umn_tables as experiment
from scripts.harness.umn_settings import EPS_NAMES
from scripts.harness.umn_settings import HELD_OUT_VIEWS
from scripts.harness.umn_settings import UNSCALED


# One seed by default, so that each table finishes in minutes on 2 CPU cores
# (`--seeds=0,1,2` for the README's mean ± std).
DEFAULT_SEEDS = ("0",)
# Settings only the `umn` method reads: (setting, what it changes); None is
# the model's default for the eps.
UMN_ONLY_SETTINGS = (
    ("held_out_view", f"UMN's default eps (uncertainty_estimate='{WITH_HELD_OUT}')"),
    ("warmup_weights", "UMN's warm-up"),
)


def define_common_flags(default_output_dir, default_seeds=DEFAULT_SEEDS):
    """Defines the flags every UMN table script takes.

    Args:
        default_output_dir: the `--output_dir` default.
        default_seeds: the `--seeds` default (strings).
    """
    flags.DEFINE_string("dataset", "digits",
                        "digits, mnist, svhn_cropped, cifar10, npz:PATH or folder:PATH.")
    flags.DEFINE_string("data_dir", None, "TFDS data directory.")
    flags.DEFINE_bool("download", False, "Let TFDS download a missing dataset.")
    flags.DEFINE_list("seeds", list(default_seeds),
                      "Seeds; each is one run per setting (e.g. 0,1,2).")
    flags.DEFINE_string("output_dir", default_output_dir, "Where results are written.")
    flags.DEFINE_enum("architecture", "auto", ["auto", *architectures.ARCHITECTURES],
                      "auto: conv13 for 32x32 colour images, mlp otherwise.")
    define_settings_flags()
    training.define_flags()
    training.define_source_flags()


def define_settings_flags():
    """Defines `--preset` and the flags that override its `RunSettings`.

    `settings_from_flags` resolves them; `bench/umn_fidelity.py` takes these
    alone.
    """
    flags.DEFINE_enum("preset", "default", list(experiment.PRESETS),
                      "smoke (seconds, for tests), default (minutes on CPU) or paper.")
    flags.DEFINE_integer("epochs", None, "Passes over the unlabelled set (preset if unset).")
    flags.DEFINE_enum("label_term", None, ["linear", "log"],
                      "UMN labelled term: f(eps)*q (Eq. 7) or f(eps)*log q.")
    flags.DEFINE_float("label_weight", None, "Weight of the labelled term (Kingma's alpha).")
    flags.DEFINE_string("scale_by_noise_rate", None,
                        "Rate that scales UMN's labelled term: 'estimate' (from the noisy "
                        "split), 'none' (unscaled, the paper's) or a number in [0, 1), "
                        "which every run of a sweep then uses.")
    flags.DEFINE_string("scale_by_labelled_share", None,
                        "Multiply UMN's labelled term by the share of labelled images: "
                        "'count' (n_L / N of each run), 'none' (not scaled) or a number in "
                        "(0, 1]. With --label_term=log use --label_weight=2 with 'count'.")
    flags.DEFINE_enum("uncertainty_estimate", None, list(GUIDER_UNCERTAINTY_MODES),
                      "UMN's eps (preset if unset): " + "; ".join(
                          f"{mode}: {EPS_NAMES[mode]}" for mode in GUIDER_UNCERTAINTY_MODES)
                      + ".")
    flags.DEFINE_enum("held_out_view", None, list(HELD_OUT_VIEWS),
                      "The held-out half of UMN's default eps (unset: cross_fitted under "
                      "that eps, none under the others): "
                      "cross_fitted (the eps = 0 model trained on 4 class-balanced folds of "
                      "the labels, each judging the fold it never saw; about 1.3 runs' extra "
                      "time); label_spreading (kNN label spreading on 50 principal "
                      "components; seconds); shuffled (label spreading on images shuffled "
                      "against their labels: a view that carries no information, an "
                      "ablation).")
    flags.DEFINE_float("ema_decay", None, "Guider EMA decay gamma in [0, 1).")
    flags.DEFINE_list("eps_clip", None, "low,high clip interval of eps; 0 < low < high < (C-1)/C.")
    flags.DEFINE_float("uncertainty_warmup", None,
                       "Share of the steps before UMN's label weights use eps, in [0, 1); "
                       "0 = from the first step (the paper).")
    flags.DEFINE_enum("warmup_weights", None, list(WARMUP_WEIGHTS),
                      "UMN's label weights during the uncertainty warm-up (unset: "
                      "noise_corrected with the cross-fitted view, uniform otherwise): "
                      "uniform (every label as with eps = 0), held_out (each label by its "
                      "held-out disbelief) or noise_corrected (by its chance of being wrong "
                      "given that view and the estimated noise rate); the default eps only.")
    flags.DEFINE_float("m1_warmup", None,
                       "Share of the steps that train the VAE's M1 alone before the whole "
                       "objective, in [0, 1) (preset if unset).")
    flags.DEFINE_bool("jit_compile", None, "XLA-compile the train steps.")
    flags.DEFINE_float("learning_rate", None, "Adam's learning rate (preset if unset).")


def settings_from_flags(values, default_epochs=None):
    """`RunSettings` of the preset with every flag that was set applied.

    Args:
        values: the parsed absl flag values.
        default_epochs: epochs for `--preset=default` when `--epochs` is
            unset (Table 3's `umn_tables.TABLE3_EPOCHS`); None keeps
            the preset's.
    """
    epochs = values.epochs
    if epochs is None and values.preset == "default":
        epochs = default_epochs
    clip = None
    if values.eps_clip is not None:
        if len(values.eps_clip) != 2:
            raise ValueError(f"--eps_clip takes two numbers low,high; got {values.eps_clip}.")
        clip = tuple(float(v) for v in values.eps_clip)
    return experiment.preset_settings(
        values.preset, epochs=epochs, label_term=values.label_term,
        label_weight=values.label_weight,
        scale_by_noise_rate=noise_rate_setting(values.scale_by_noise_rate),
        scale_by_labelled_share=labelled_share_setting(values.scale_by_labelled_share),
        uncertainty_estimate=values.uncertainty_estimate,
        held_out_view=values.held_out_view, ema_decay=values.ema_decay,
        uncertainty_clip=clip, uncertainty_warmup=values.uncertainty_warmup,
        warmup_weights=values.warmup_weights, m1_warmup=values.m1_warmup,
        jit_compile=values.jit_compile, learning_rate=values.learning_rate,
    )


def check_umn_only_settings(settings, methods):
    """Refuses a setting that only the `umn` method reads on a run that trains no umn.

    A setting is refused when it is set at all (None, the default, is
    the model's default for the eps; no preset sets either).

    Args:
        settings: the run's `RunSettings` (`settings_from_flags`).
        methods: the names of the methods the run trains (a list, as
            `--methods` gives them; not a comma-separated string).

    Raises:
        app.UsageError: `--held_out_view` or `--warmup_weights` given while
            `umn` is not in `methods`: the flag would change nothing the run
            trains.
    """
    for name, what in UMN_ONLY_SETTINGS:
        value = getattr(settings, name)
        if value is not None and "umn" not in methods:
            raise app.UsageError(
                f"--{name}={value} changes only {what}, which this run does not train: drop "
                "the flag, or put umn in --methods.")


def noise_rate_setting(flag):
    """`--scale_by_noise_rate` as `RunSettings.scale_by_noise_rate`: None (unset), a
    keyword or a float."""
    return scaling_setting(flag, "scale_by_noise_rate", ESTIMATE_NOISE_RATE, "[0, 1)")


def labelled_share_setting(flag):
    """`--scale_by_labelled_share` as `RunSettings.scale_by_labelled_share`: None
    (unset), a keyword or a float."""
    return scaling_setting(flag, "scale_by_labelled_share", COUNT_LABELLED_SHARE, "(0, 1]")


def scaling_setting(flag, name, keyword, interval):
    """A flag that takes `keyword`, `UNSCALED` or a number: None (unset), the word or a
    float (`RunSettings` checks its range)."""
    if flag is None or flag in (keyword, UNSCALED):
        return flag
    try:
        return float(flag)
    except ValueError:
        raise ValueError(
            f"--{name} takes '{keyword}', '{UNSCALED}' or a number in {interval}, "
            f"got {flag!r}.") from None


def resolve_list(values, name, preset_default, convert):
    """A list flag, or the smoke preset's shorter default when unset."""
    flag = values[name]
    if not flag.present and values.preset == "smoke" and preset_default is not None:
        return tuple(preset_default)
    return tuple(convert(v) for v in flag.value)


def seeds_from_flags(values):
    """Seeds as ints (the smoke preset runs seed 0 only unless told)."""
    return resolve_list(values, "seeds", experiment.SMOKE_SEEDS, int)
