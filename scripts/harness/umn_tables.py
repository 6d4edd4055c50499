"""The importable logic behind scripts/umn_table{1,2,3}.py.

One run = (dataset, method, noise rate, number of labels, seed):

1. `tf_data.load_dataset`; MNIST keeps 50,000 training images (paper 4.2.1).
2. A class-balanced labelled subset (`tf_data.labelled_unlabelled_split`
   on the clean labels: which images get labelled is chosen before
   labelling), corrupted uniformly within each class
   (`tf_data.noise.corrupt_within_classes`, symmetric kind). Every other
   training image is unlabelled (label -1).
3. Train the method for `epochs` passes over the unlabelled set (the same
   number of optimiser steps for the supervised baselines, which see only
   the labelled examples); Adam(lr 0.001, beta1 0.9, beta2 0.99).
4. Test error of `model.predict` (the guider / teacher for UMN, its
   variants and Mean Teacher).

Methods (keys of `METHODS`): `supervised` (S-1), `supervised_resnet`
(S-2), `mean_teacher` (MT), `m_vae` (M-VAE: the UMN VAE with eps fixed to
the true corruption rate), `umn_semi` (UMN with eps = 0), `umn`,
`clean_labels` (an oracle bound, not a method: `umn_semi` with the
corrupted labels made unlabelled, `NoisySplit.without_corrupted`; what UMN
would reach if eps knew the wrong labels from the first step), and the
supervised reweighting baselines `mentornet` (MN, data-driven MentorNet)
and `reweight` (RW, Learning to Reweight) on S-1's network
(`umn.architectures.classifier_model`), which train on the labelled
examples and a small trusted set (`RunSettings.trusted_per_class` images per
class with true labels, from outside the labelled set; see
`scripts.harness.reweighting_runs`).
"""

import os

import keras
import numpy as np

import tf_data
from scripts.harness import presets
from scripts.harness import reporting
from scripts.harness import reweighting_runs
from scripts.harness.training import Training
from umn import architectures
from scripts.harness import label_detection as detection
from umn import streams
from scripts.harness.eps_history import EpsHistory
from scripts.harness.plots import write_eps_auc_png
from scripts.harness.plots import write_eps_histogram_png
from umn.mean_teacher import MeanTeacher
from umn import cross_fitted
from umn.label_spreading import held_out_posterior_of_labels
from umn.partial_labels import disbelief_of_labels
from umn.model import CROSS_FITTED_VIEW
from umn.model import LABEL_SPREADING_VIEW
from umn.model import WITH_HELD_OUT
from umn.model import UncertaintyMiningNet
from scripts.harness.umn_split import NoisySplit
from scripts.harness.umn_split import make_noisy_split
from scripts.harness.umn_settings import HELD_OUT_EPS_NAMES
from scripts.harness.umn_settings import PRESETS
from scripts.harness.umn_settings import SHUFFLED_VIEW
from umn.supervised import SupervisedClassifier
from tf_data.label_issues import rank_label_issues
from tf_data.noise import corrupt_within_classes


METHODS = ("supervised", "supervised_resnet", "mean_teacher", "m_vae", "umn_semi", "umn",
           "clean_labels", "mentornet", "reweight")
# S-2 (a ResNet on 50 labels) is left out of the default Table 1 run to keep
# it within minutes on 2 CPU cores; add it with --methods.
DEFAULT_TABLE1_METHODS = ("supervised", "mean_teacher", "m_vae", "umn_semi", "umn")
PAPER_NOISE_RATES = (0.1, 0.2, 0.3, 0.4, 0.5)
DEFAULT_NUM_LABELS = {"digits": 50, "mnist": 100, "svhn_cropped": 500, "cifar10": 4000}
GENERIC_LABELS_PER_CLASS = 10
TABLE2_NUM_LABELS = {
    "digits": (20, 50, 100, 200, 400),
    "mnist": (100, 200, 500, 1000, 2000),
    "svhn_cropped": (1000, 2000, 3000, 10000, 20000),
    "cifar10": (1000, 2000, 4000, 10000, 20000),
}
MNIST_TRAIN_SIZE = 50000


SMOKE_NOISE_RATES = (0.3,)
SMOKE_SEEDS = (0,)


def preset_settings(preset, **overrides):
    """`PRESETS[preset]` with overrides; ValueError for an unknown preset."""
    return presets.resolve(PRESETS, preset, **overrides)


def check_methods(methods):
    """Validates method names; returns them as a tuple."""
    methods = tuple(methods)
    if not methods:
        raise ValueError(f"Give at least one method from {METHODS}.")
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"Unknown method {method!r}; choose from {METHODS}.")
    return methods


def check_noise_rates(noise_rates):
    """Validates noise rates as floats in [0, 1)."""
    rates = tuple(float(r) for r in noise_rates)
    if not rates:
        raise ValueError("Give at least one noise rate, e.g. 0.1,0.2,0.3,0.4,0.5.")
    for rate in rates:
        if not 0.0 <= rate < 1.0:
            raise ValueError(
                f"Noise rates are fractions in [0, 1), got {rate}; pass 0.2 for 20%."
            )
    return rates


def load_experiment_dataset(name, data_dir=None, download=False, source_options=None):
    """`tf_data.load_dataset`, keeping the paper's 50,000 MNIST training images.

    `source_options`: more `load_dataset` arguments (`skip_bad_files`, `image_size`).
    """
    data = tf_data.load_dataset(name, data_dir=data_dir, download=download,
                                **(source_options or {}))
    if name == "mnist" and len(data.x_train) > MNIST_TRAIN_SIZE:
        data = data.subset(train_rows=np.arange(MNIST_TRAIN_SIZE))
    return data


def default_num_labels(dataset_name, num_classes):
    """The paper's number of labels (digits: 50 = 5 per class)."""
    return DEFAULT_NUM_LABELS.get(dataset_name, GENERIC_LABELS_PER_CLASS * num_classes)


def choose_architecture(image_shape, requested="auto"):
    """`"auto"`: conv13 for colour images it can take (32x32), else mlp."""
    if requested != "auto":
        architectures.check_image_shape(image_shape, requested)
        return requested
    if image_shape[-1] == 3:
        try:
            architectures.check_image_shape(image_shape, "conv13")
            return "conv13"
        except ValueError:
            return "mlp"
    return "mlp"


def build_model(method, image_shape, num_classes, settings, seed, noise_rate,
                architecture="auto", total_steps=1000, training=None):
    """Builds and compiles one method's model (under `training`'s strategy scope)."""
    with (training or Training()).scope():
        return _build_model(method, image_shape, num_classes, settings, seed, noise_rate,
                            architecture, total_steps)


def _build_model(method, image_shape, num_classes, settings, seed, noise_rate, architecture,
                 total_steps):
    architecture = choose_architecture(image_shape, architecture)
    common = dict(image_shape=image_shape, num_classes=num_classes, seed=seed,
                  hidden_units=settings.hidden_units, latent_dim=settings.latent_dim,
                  conv_width=settings.conv_width, dropout_rate=settings.dropout_rate,
                  max_shift=settings.max_shift, noise_stddev=settings.noise_stddev)
    if method == "supervised":
        model = SupervisedClassifier(architecture=architecture, **common)
    elif method == "supervised_resnet":
        model = SupervisedClassifier(architecture="resnet", resnet_width=settings.resnet_width,
                                     resnet_blocks=settings.resnet_blocks, **common)
    elif method == "mean_teacher":
        model = MeanTeacher(architecture=architecture,
                            consistency_weight=settings.mt_consistency_weight,
                            rampup_steps=max(1, int(settings.mt_rampup_fraction * total_steps)),
                            **common)
    else:
        uncertainty = {"m_vae": "fixed", "umn_semi": "zero", "clean_labels": "zero",
                       "umn": settings.uncertainty_estimate}[method]
        view = settings.held_out_view_in_use if method == "umn" else None
        model = UncertaintyMiningNet(
            architecture=architecture, class_latent_dim=settings.class_latent_dim,
            uncertainty=uncertainty, fixed_uncertainty=noise_rate if method == "m_vae" else None,
            label_term=settings.label_term, label_weight=settings.label_weight,
            labelled_share=settings.model_labelled_share,
            noise_rate=None if method == "m_vae" else settings.model_noise_rate,
            uncertainty_clip=settings.uncertainty_clip,
            uncertainty_warmup=settings.uncertainty_warmup,
            warmup_weights=settings.warmup_weights_in_use if method == "umn" else None,
            # The model's own name for the view its stream carries (the harness
            # computes it, `held_out_view`); the shuffled ablation is label spreading's.
            held_out_view=LABEL_SPREADING_VIEW if view == SHUFFLED_VIEW else view,
            m1_warmup=settings.m1_warmup, ema_decay=settings.ema_decay,
            **common,
        )
    optimizer = keras.optimizers.Adam(settings.learning_rate, beta_1=0.9, beta_2=0.99)
    model.compile(optimizer=optimizer, jit_compile=settings.jit_compile)
    return model


def train_method(method, data, split, settings, seed, noise_rate, architecture="auto",
                 callbacks=(), training=None, stateful_callbacks=(), held_out_disbelief=None,
                 held_out_posterior=None):
    """Trains one method on one noisy split; returns the fitted model.

    With `training` (a `training.Training` with a backup directory) the run
    backs up every epoch under a key naming the method, split and seed, and
    resumes from its backup when one exists. UMN under the cross-fitted
    view (the default) first trains its 4 fold models (`held_out_view`)
    and keeps their posterior with the model (`keep_held_out_view`).
    `held_out_disbelief`: an `(n_train,)` array the batches carry instead
    of the held-out view (only for a method that reads it,
    `reads_held_out_disbelief`), e.g. a view made uninformative to measure
    what the default eps loses without one; under the cross-fitted view
    give the `(m, C)` posterior it was read from as `held_out_posterior`.
    """
    training = training or Training()
    carried = reads_held_out_disbelief(method, settings)
    if held_out_disbelief is not None:
        if not carried:
            raise ValueError(
                f"held_out_disbelief was given, but {method!r} under uncertainty_estimate="
                f"{settings.uncertainty_estimate!r} does not read it; give it only to 'umn' "
                f"with uncertainty_estimate={WITH_HELD_OUT!r}.")
        carried = held_out_disbelief
    elif carried and settings.held_out_view_in_use != LABEL_SPREADING_VIEW:
        # Before the run's seeding: the cross-fitted view trains models of its own.
        carried, held_out_posterior = held_out_view(data, split, settings, seed, noise_rate,
                                                    architecture, training)
    keras.utils.set_random_seed(seed)
    num_classes = data.num_classes
    if method == "clean_labels":
        split = split.without_corrupted()
    stream, steps = streams.semi_supervised_stream(
        data.x_train, split.labels, num_classes, settings.labelled_per_batch,
        settings.batch_size - settings.labelled_per_batch, seed,
        held_out_disbelief=carried,
    )
    if settings.max_steps_per_epoch:
        steps = min(steps, settings.max_steps_per_epoch)
    if method in reweighting_runs.METHODS:
        return _train_reweighting(method, data, split, settings, seed, noise_rate,
                                  architecture, steps, training)
    if method.startswith("supervised"):
        stream, _ = streams.labelled_stream(data.x_train, split.labels, num_classes,
                                            settings.batch_size, seed)
    model = build_model(method, data.image_shape, num_classes, settings, seed, noise_rate,
                        architecture, total_steps=steps * settings.epochs, training=training)
    if isinstance(model, UncertaintyMiningNet):
        # From the run's own noisy split, never from the true labels.
        model.measure_training_set(data.x_train, split.labels)
        if model.held_out_view == CROSS_FITTED_VIEW:   # the view the stream carries
            model.keep_held_out_view(data.x_train, split.labels, held_out_posterior)
    training.fit(model, stream, settings.epochs, steps, callbacks=callbacks,
                 run=run_key(method, len(split.labelled_indices), noise_rate, seed),
                 stateful_callbacks=stateful_callbacks)
    return model


def held_out_view(data, split, settings, seed, noise_rate, architecture="auto",
                  training=None):
    """The held-out view `settings.held_out_view_in_use` names, for UMN's run on `split`.

    `"label_spreading"`: `umn.label_spreading.held_out_label_posterior`
    seeded by `seed` (the values `semi_supervised_stream` computes for the
    run, and `label_issues(seed=seed)` on the training set);
    `"cross_fitted"`: `cross_fitted_posterior` (`architecture` and
    `training`'s strategy are the fold runs'), or label spreading's where
    that predicts the labels better (`umn.cross_fitted.or_label_spreading`,
    which warns); `"shuffled"`: label spreading on `shuffled_images`.

    Returns:
        `(disbelief, posterior)`: the `(n_train,)` float32 view (each label's
        `1 - p(y_obs | x)`, 0 on unlabelled rows) and the `(m, C)` held-out
        posterior of the labelled rows it reads, which
        `label_issues(held_out_posterior=...)` takes.
    """
    view = settings.held_out_view_in_use
    if view == CROSS_FITTED_VIEW:
        _, posterior = cross_fitted.or_label_spreading(
            cross_fitted_posterior(data, split, settings, seed, noise_rate, architecture,
                                   training),
            data.x_train, split.labels, data.num_classes, seed=seed)
    else:
        images = (shuffled_images(data, seed) if view == SHUFFLED_VIEW
                  else data.x_train)
        posterior = held_out_posterior_of_labels(images, split.labels, data.num_classes,
                                                 seed=seed)
    return disbelief_of_labels(posterior, split.labels), posterior


# The cross-fitted view deals its folds from a seed apart from the run's
# (which seeds the label-spreading view's folds).
CROSS_FIT_DEALING_SEED_OFFSET = 1000


def cross_fitted_posterior(data, split, settings, seed, noise_rate, architecture="auto",
                           training=None):
    """The split's labelled rows judged by the eps = 0 model cross-fitted on the other folds.

    `umn.cross_fitted.cross_fitted_label_posterior` with 4 class-balanced
    folds (dealt with seed `CROSS_FIT_DEALING_SEED_OFFSET + seed`); each
    fold's model is this harness's `umn_semi` run (same settings and
    `architecture`, a third of the epochs,
    `umn.cross_fitted.DEFAULT_EPOCH_SHARE`; seed
    `umn.cross_fitted.fold_model_seed(seed, fold)`) on the split's labels
    with the fold's rows unlabelled, under `training`'s strategy. Not
    backed up: a resumed run trains the fold models again.

    Returns:
        `(m, C)` float64, one row per labelled row (`split.labelled_indices`).
    """
    fold_settings = presets.override(
        settings, epochs=max(1, round(settings.epochs * cross_fitted.DEFAULT_EPOCH_SHARE)))
    fold_training = (training or Training()).without_backups()

    def fit_fold(fold_labels, fold):
        fold_split = NoisySplit(fold_labels, np.flatnonzero(fold_labels >= 0), None)
        return train_method("umn_semi", data, fold_split, fold_settings,
                            cross_fitted.fold_model_seed(seed, fold), noise_rate, architecture,
                            training=fold_training)

    return cross_fitted.cross_fitted_label_posterior(
        data.x_train, split.labels, data.num_classes, fit_fold,
        seed=CROSS_FIT_DEALING_SEED_OFFSET + seed)


def shuffled_images(data, seed):
    """The training images shuffled against their labels (a permutation seeded by `seed`).

    Label spreading on them judges each row's label from another row's
    image: a view that keeps the images' statistics and the labels' class
    counts but tells nothing about any label, the limit of images whose
    pixel neighbours seldom share a class (`--held_out_view=shuffled`, an
    ablation, not a method).
    """
    return data.x_train[np.random.default_rng(seed).permutation(len(data.x_train))]


def reads_held_out_disbelief(method, settings):
    """Whether `method`'s model reads each label's held-out disbelief from the batches."""
    return method == "umn" and settings.uncertainty_estimate == WITH_HELD_OUT


def _train_reweighting(method, data, split, settings, seed, noise_rate, architecture, steps,
                       training):
    """MentorNet or Learning to Reweight on the labelled examples, S-1's network and eta."""
    architecture = choose_architecture(data.image_shape, architecture)
    num_classes = data.num_classes

    def make_backbone():
        return architectures.classifier_model(
            architecture, data.image_shape, num_classes, settings.hidden_units,
            settings.latent_dim, settings.conv_width, settings.dropout_rate)

    labelled = split.labelled_indices
    rows = reweighting_runs.choose_trusted(data.y_train, settings.trusted_per_class,
                                           num_classes, seed, excluded=labelled)
    trusted = reweighting_runs.TrustedSet(data.x_train[rows], data.y_train[rows])
    schedule = reweighting_runs.Schedule(
        settings.epochs, steps, settings.batch_size, settings.learning_rate,
        tf_data.make_pipeline_augmentation(
            max_shift=architectures.default_max_shift(data.image_shape, architecture,
                                                      settings.max_shift),
            stddev=settings.noise_stddev), beta_2=0.99)
    run = run_key(method, len(labelled), noise_rate, seed)
    return reweighting_runs.train_method(
        method, make_backbone, data.x_train[labelled], split.labels[labelled], trusted,
        lambda labels, plant_seed: corrupt_within_classes(labels, noise_rate, num_classes,
                                                          plant_seed).labels,
        num_classes, schedule, seed, training, run)


def trusted_note(methods, settings, num_classes):
    """The line every table with `mentornet` or `reweight` prints under itself."""
    used = [m for m in methods if m in reweighting_runs.METHODS]
    if not used:
        return ""
    size = settings.trusted_per_class * num_classes
    return (f"\n{', '.join(used)}: plus a trusted set of {size} images "
            f"({settings.trusted_per_class} per class) with true labels, from outside the "
            "labelled set.")


def run_key(method, num_labels, noise_rate, seed):
    """The name of one UMN table run (its backup directory and ledger entry)."""
    return f"{method}_labels{num_labels}_noise{noise_rate:g}_seed{seed}"


def run_row(method, noise_rate, seed, num_labels, error, model=None):
    """One UMN table run's result row (`results.json`).

    `label_noise_rate` is the share of wrong labels that scaled the
    model's labelled term (`UncertaintyMiningNet(noise_rate=...)`,
    `--scale_by_noise_rate`): estimated from the run's own noisy split, or
    the rate given; None for a model that does not scale it.
    """
    rate = getattr(model, "label_noise_rate", None)
    return {"method": method, "noise": noise_rate, "seed": seed, "num_labels": int(num_labels),
            "error_rate": 100.0 * error,
            "label_noise_rate": None if rate is None else float(keras.ops.convert_to_numpy(rate))}


# The rows UMN's error is compared against run by run (same split and seed,
# the same learner draws: `umn.model.guider_stream_seed`).
PAIRED_BASELINES = ("umn_semi", "m_vae")


def paired_difference_table(rows, column_key, title):
    """UMN's error minus eps = 0's and the M-VAE's, paired by seed; "" without such pairs."""
    text = reporting.format_paired_differences(
        rows, "method", column_key, "error_rate", "seed", "umn", PAIRED_BASELINES,
        f"{title}: UMN's test error minus the baseline's (points), run by run on the same "
        "split and seed, mean ± std (how many runs UMN is below)")
    return "\n" + text if text else ""


def label_noise_rate_table(rows, column_key, title):
    """Mean ± std of the rows' `label_noise_rate` (%) per method and column; "" if none has one."""
    scaled = [r for r in rows if r.get("label_noise_rate") is not None]
    if not scaled:
        return ""
    return "\n" + reporting.format_table(
        scaled, "method", column_key, "label_noise_rate",
        f"{title}: the share of wrong labels (%) that scaled the labelled term (estimated "
        "from each run's split unless given)", scale=100.0)


def error_rate(model, images, labels, batch_size=256):
    """Test error in [0, 1] of `model.predict`."""
    probs = model.predict(images, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probs, axis=-1) != np.asarray(labels)))


def _print_and_save(output_dir, table, dataset, rows, text, **extra):
    path = reporting.write_results_json(output_dir, table, dataset, rows, **extra)
    print(text, flush=True)
    print(f"Wrote {path}", flush=True)
    return path


def run_table1(dataset="digits", methods=DEFAULT_TABLE1_METHODS, noise_rates=PAPER_NOISE_RATES,
               seeds=(0, 1, 2), settings=None, output_dir="runs/umn_table1", num_labels=None,
               architecture="auto", data_dir=None, download=False, source_options=None,
               training=None):
    """Table 1: test error (%) per method and corruption rate, over seeds.

    `training` (a `training.Training`) sets the strategy and the backup
    directory; with one, the runs a killed table finished are skipped.

    Returns:
        The list of result rows written to `output_dir/results.json`.
    """
    methods = check_methods(methods)
    noise_rates = check_noise_rates(noise_rates)
    settings = settings or PRESETS["default"]
    training = training or Training()
    data = load_experiment_dataset(dataset, data_dir, download, source_options)
    num_labels = num_labels or default_num_labels(dataset, data.num_classes)
    ledger = training.ledger(_ledger_settings("umn_table1", dataset, settings, methods=methods,
                                              noise_rates=noise_rates, seeds=seeds,
                                              num_labels=num_labels))
    progress = reporting.Progress(len(methods) * len(noise_rates) * len(seeds))
    rows = []
    for rate in noise_rates:
        for seed in seeds:
            split = make_noisy_split(data, num_labels, rate, seed)
            for method in methods:
                key = run_key(method, num_labels, rate, seed)
                row = ledger.finished(key)
                if row is None:
                    model = train_method(method, data, split, settings, seed, rate,
                                         architecture, training=training)
                    error = error_rate(model, data.x_test, data.y_test)
                    row = run_row(method, rate, seed, num_labels, error, model)
                    ledger.record(key, row)
                rows.append(row)
                progress.update(method=method, noise=rate, seed=seed, error=row["error_rate"])
    text = reporting.format_table(rows, "method", "noise", "error_rate",
                                  f"UMN Table 1: test error (%) on {dataset}, "
                                  f"{num_labels} labels", scale=1.0)
    text += trusted_note(methods, settings, data.num_classes)
    text += paired_difference_table(rows, "noise", "Table 1")
    text += label_noise_rate_table(rows, "noise", "Table 1")
    _print_and_save(training.output_dir(output_dir), "umn_table1", dataset, rows, text,
                    settings=settings.as_record())
    ledger.complete()
    return rows


def run_table2(dataset="digits", methods=("supervised", "umn"), num_labels_list=None,
               noise_rate=0.1, seeds=(0, 1, 2), settings=None,
               output_dir="runs/umn_table2", architecture="auto", data_dir=None,
               download=False, source_options=None, training=None):
    """Table 2: test error (%) against the number of labels, at one noise rate.

    `training` as in `run_table1`.
    """
    methods = check_methods(methods)
    (noise_rate,) = check_noise_rates([noise_rate])
    settings = settings or PRESETS["default"]
    training = training or Training()
    data = load_experiment_dataset(dataset, data_dir, download, source_options)
    num_labels_list = tuple(num_labels_list or TABLE2_NUM_LABELS.get(
        dataset, tuple(k * data.num_classes for k in (2, 5, 10, 20))))
    ledger = training.ledger(_ledger_settings(
        "umn_table2", dataset, settings, methods=methods, noise_rate=noise_rate, seeds=seeds,
        num_labels=[int(n) for n in num_labels_list]))
    progress = reporting.Progress(len(methods) * len(num_labels_list) * len(seeds))
    rows = []
    for num_labels in num_labels_list:
        for seed in seeds:
            split = make_noisy_split(data, int(num_labels), noise_rate, seed)
            for method in methods:
                key = run_key(method, int(num_labels), noise_rate, seed)
                row = ledger.finished(key)
                if row is None:
                    model = train_method(method, data, split, settings, seed, noise_rate,
                                         architecture, training=training)
                    error = error_rate(model, data.x_test, data.y_test)
                    row = run_row(method, noise_rate, seed, num_labels, error, model)
                    ledger.record(key, row)
                rows.append(row)
                progress.update(method=method, num_labels=num_labels, seed=seed,
                                error=row["error_rate"])
    text = reporting.format_table(rows, "method", "num_labels", "error_rate",
                                  f"UMN Table 2: test error (%) on {dataset} against the "
                                  f"number of labels, {int(100 * noise_rate)}% noise",
                                  scale=1.0)
    text += trusted_note(methods, settings, data.num_classes)
    text += paired_difference_table(rows, "num_labels", "Table 2")
    text += label_noise_rate_table(rows, "num_labels", "Table 2")
    _print_and_save(training.output_dir(output_dir), "umn_table2", dataset, rows, text,
                    settings=settings.as_record())
    ledger.complete()
    return rows


def _ledger_settings(table, dataset, settings, **choices):
    """What identifies a UMN table run for its `RunLedger`."""
    return {"table": table, "dataset": dataset, "settings": settings.as_record(),
            **{name: list(value) if isinstance(value, tuple) else value
               for name, value in choices.items()}}


DETECTION_METRICS = ("precision", "recall", "f1", "roc_auc")
# Table 3 reads eps at the final epoch of a 120-epoch run (the paper: the
# final epoch of 350). The paper's eps (Eq. 11, `--uncertainty_estimate=guider`)
# = |guider - learner| at y_obs is large only while
# the learner moves towards a label faster than its lagging EMA guider. With
# the log labelled term of earlier versions the learner began memorising
# wrong labels after ~50 epochs and eps then ranked them first; with the
# default linear term (Eq. 7) both learner and guider keep rejecting them,
# eps stays near zero there, and its ROC AUC is 0.44-0.74 on digits (see
# README). The guider's disbelief, and the default eps (its mean with a
# held-out view), are the better detectors.
TABLE3_EPOCHS = 120
# ROC AUC of the guider's disbelief 1 - q'(y_obs | x) (`model.label_issues(
# score="disbelief")`): eps itself under `--uncertainty_estimate=disbelief`,
# the guider's half of the default eps, a baseline score beside the paper's
# eps under `--uncertainty_estimate=guider`. The note printed under the
# table says which, per run.
BASELINE_METRIC = "disbelief_auc"
BASELINE_NOTES = {
    "disbelief": ("disbelief_auc: ROC AUC of the guider's 1 - q'(y_obs|x) read through "
                  "label_issues(score='disbelief'): eps itself here (float32 ties may move "
                  "it by 0.01)."),
    "guider": ("disbelief_auc: ROC AUC of the guider's 1 - q'(y_obs|x): a baseline beside "
               "the paper's eps of Eq. 11."),
    "with_held_out": ("disbelief_auc: ROC AUC of the guider's 1 - q'(y_obs|x) alone (read "
                      "through label_issues(score='disbelief')), the half of eps the "
                      "model learns."),
}
# `model.label_issues`' default score (`"with_held_out"`): the mean of the
# guider's posterior and the run's held-out posterior that never saw the
# label (label spreading's for an eps that reads no view), flagged where the
# label is more likely wrong than right: the default eps itself (to float
# precision), a detector beside eps under the others.
ISSUES_PREFIX = "issues_"
ISSUES_NOTE = ("issues_*: label_issues' default score, {eps_name}, flagged above 0.5: "
               "{what}.")


def issues_note(settings):
    """`ISSUES_NOTE` for these settings: eps itself when UMN reads the held-out view."""
    if reads_held_out_disbelief("umn", settings):
        return ISSUES_NOTE.format(eps_name=settings.eps_name,
                                  what="eps itself, with the run's held-out posterior")
    return ISSUES_NOTE.format(eps_name=HELD_OUT_EPS_NAMES[LABEL_SPREADING_VIEW],
                              what="the default eps, a detector beside the others")
# Table 3's default cut (`threshold="auto"`): an eps that is a probability
# that the label is wrong (the disbelief and the default's held-out mean)
# flags the labels more likely wrong than right, eps > 0.5; the paper's
# Eq. 11, a difference of two probabilities with no such reading, is cut
# at Otsu's threshold of its own distribution. Otsu on the default eps
# over-flags at low noise (digits, 10%: precision 0.51 against 0.77 at
# 0.5; README, "The held-out view in eps (the default)").
AUTO_THRESHOLD = "auto"
PROBABILITY_CUT = 0.5
THRESHOLDS = {"guider": "otsu", "disbelief": PROBABILITY_CUT, "with_held_out": PROBABILITY_CUT}


def table3_threshold(threshold, uncertainty_estimate):
    """`threshold` with `"auto"` resolved for the eps in use (`THRESHOLDS`)."""
    if isinstance(threshold, str) and threshold.lower() == AUTO_THRESHOLD:
        return THRESHOLDS[uncertainty_estimate]
    return threshold


# The paper's own rule, scored beside the threshold in use (why it is about
# float32 saturation: `label_detection.otsu_threshold`).
PAPER_RULE_METRIC = "f1_eps_positive"
PAPER_RULE_NOTE = ("f1_eps_positive: F1 of the paper's rule 'corrupted if eps > 0' (float32 "
                   "eps, exactly 0 only where q(y_obs) saturates at 1: in the guider for the "
                   "disbelief, in both models for Eq. 11).")
# The paper reads Figure 4b as eps separating the corrupted labels more and
# more as training goes on; each row keeps eps's ROC AUC at every epoch
# (`roc_auc_by_epoch`) and the table prints it at a few log-spaced epochs.
EPOCH_AUC_METRIC = "roc_auc_epoch"
EPOCH_AUC_NOTE = (f"{EPOCH_AUC_METRIC}<k>: ROC AUC of eps at epoch k (below 0.5: eps ranks the "
                  "clean labels first); every epoch in eps_auc_by_epoch.png.")


def issues_metrics(model, train_images, split, seed, held_out_posterior=None):
    """Table 3's `issues_*` metrics: `label_issues`' default detector on the split's labels.

    Args:
        model: a trained UMN.
        train_images: every training image (labelled and not: the held-out
            view's graph).
        split: the `NoisySplit` the model was trained on.
        seed: the run's seed (the held-out view's folds).
        held_out_posterior: the held-out posterior training read
            (`cross_fitted_posterior`), or None for label spreading's.

    Returns:
        Dict `issues_precision`, `issues_recall`, `issues_f1`,
        `issues_roc_auc` of flagging `score > PROBABILITY_CUT`.
    """
    issues = model.label_issues(train_images, split.labels, seed=seed,
                                held_out_posterior=held_out_posterior)
    # `indices` are positions in the training set; `is_corrupted` follows the sorted labelled ones.
    corrupted = split.is_corrupted[np.searchsorted(split.labelled_indices, issues.indices)]
    scores = detection.detection_scores(corrupted, issues.scores, PROBABILITY_CUT)
    return {ISSUES_PREFIX + metric: scores[metric] for metric in DETECTION_METRICS}


def run_table3(dataset="digits", noise_rates=PAPER_NOISE_RATES, seeds=(0, 1, 2), settings=None,
               threshold=AUTO_THRESHOLD, output_dir="runs/umn_table3", num_labels=None,
               architecture="auto", data_dir=None, download=False, source_options=None,
               training=None):
    """Table 3: precision / recall / F1 / ROC AUC of `eps > threshold` for UMN.

    eps is the final epoch's `model.label_uncertainty` on the labelled set
    (with the held-out disbelief training read, `held_out_view`);
    without `settings` the default preset is trained for `TABLE3_EPOCHS`.
    `threshold`: `"auto"` (default: 0.5 for an eps that is the probability
    of a wrong label, Otsu's threshold for the paper's; `THRESHOLDS`),
    `"otsu"` or a number.
    Each row also has `disbelief_auc`, the ROC AUC of the guider's
    `1 - q'(y_obs | x)` (`model.label_issues(x, y, score="disbelief")`):
    the guider's half of the default eps, printed as its own row, and
    `f1_eps_positive`, the F1 of the paper's literal rule `eps > 0`, and
    `issues_precision` / `_recall` / `_f1` / `_roc_auc`, `label_issues`'
    default detector (the mean of the guider's and the run's held-out
    posterior, flagged above 0.5; `issues_metrics`): the default eps
    itself, a detector beside the others.
    Also writes `eps_histogram_noise<r>.png` (per-epoch eps histograms of
    the first seed, clean labels blue, corrupted red; Figure 4b) and
    `suspected_labels_noise<r>_seed<s>.csv` (the labels with
    `eps > threshold`, ranked by eps, with the guider's suggested class;
    `LabelIssues.to_csv` columns `index,given_label,suggested_label,eps`,
    `index` into the training set), and `eps_auc_by_epoch.png` (eps's ROC
    AUC at every epoch, per noise rate; each row keeps the curve as
    `roc_auc_by_epoch`). `training` as in `run_table1`.
    """
    noise_rates = check_noise_rates(noise_rates)
    settings = settings or presets.override(PRESETS["default"], epochs=TABLE3_EPOCHS)
    training = training or Training()
    output_dir = training.output_dir(output_dir)
    data = load_experiment_dataset(dataset, data_dir, download, source_options)
    num_labels = num_labels or default_num_labels(dataset, data.num_classes)
    threshold = table3_threshold(threshold, settings.uncertainty_estimate)
    detection.resolve_threshold(threshold, np.zeros(1))  # validate early
    ledger = training.ledger(_ledger_settings(
        "umn_table3", dataset, settings, noise_rates=noise_rates, seeds=seeds,
        num_labels=num_labels, threshold=str(threshold)))
    progress = reporting.Progress(len(noise_rates) * len(seeds))
    rows = []
    os.makedirs(output_dir, exist_ok=True)
    for rate in noise_rates:
        for seed in seeds:
            key = run_key("umn", num_labels, rate, seed)
            row = ledger.finished(key)
            if row is not None:  # Its CSV and histogram were written before the restart.
                rows.append(row)
                progress.update(noise=rate, seed=seed, f1=row["f1"], auc=row["roc_auc"])
                continue
            split = make_noisy_split(data, num_labels, rate, seed)
            images = data.x_train[split.labelled_indices]
            given = split.noisy.labels
            # Once per run: the stream carries this view (0 on unlabelled rows) instead of
            # fitting it again, and label_issues (issues_*) reads its posterior.
            view, posterior = (None, None)
            if reads_held_out_disbelief("umn", settings):
                view, posterior = held_out_view(data, split, settings, seed, rate,
                                                architecture, training)
            history = EpsHistory(images, given,
                                 None if view is None else view[split.labelled_indices])
            model = train_method("umn", data, split, settings, seed, rate, architecture,
                                 callbacks=[history], training=training,
                                 stateful_callbacks=[history], held_out_disbelief=view,
                                 held_out_posterior=posterior)
            eps = history.eps_per_epoch[-1]
            cut = detection.resolve_threshold(threshold, eps)
            scores = detection.detection_scores(split.is_corrupted, eps, cut)
            scores[PAPER_RULE_METRIC] = reporting.flagged_label_scores(
                split.is_corrupted, np.asarray(eps) > 0.0)["f1"]
            disbelief = model.label_issues(images, given, score="disbelief")
            scores[BASELINE_METRIC] = detection.detection_scores(
                split.is_corrupted[disbelief.indices], disbelief.scores, 0.5)["roc_auc"]
            scores.update(issues_metrics(model, data.x_train, split, seed, posterior))
            scores["roc_auc_by_epoch"] = detection.roc_auc_by_epoch(split.is_corrupted,
                                                                    history.eps_per_epoch)
            error = error_rate(model, data.x_test, data.y_test)
            rows.append({**run_row("umn", rate, seed, num_labels, error, model), **scores})
            # The scored eps itself, so the CSV lists exactly the labels counted as flagged.
            by_eps = rank_label_issues(
                given, np.argmax(model.predict(images, verbose=0), axis=-1), eps,
                indices=split.labelled_indices, score_name="eps")
            flagged = by_eps[by_eps.scores > cut]
            flagged.to_csv(
                os.path.join(output_dir, f"suspected_labels_noise{rate:g}_seed{seed}.csv"),
                files=data.train_files)
            if seed == seeds[0]:
                write_eps_histogram_png(
                    os.path.join(output_dir, f"eps_histogram_noise{rate:g}.png"),
                    history.eps_per_epoch, split.is_corrupted,
                    eps_name=settings.eps_name,
                )
            ledger.record(key, rows[-1])
            progress.update(noise=rate, seed=seed, f1=scores["f1"], auc=scores["roc_auc"])
    long_rows = [{"metric": name, "noise": r["noise"], "value": r[name]}
                 for name in (*DETECTION_METRICS, PAPER_RULE_METRIC, BASELINE_METRIC,
                              *(ISSUES_PREFIX + metric for metric in DETECTION_METRICS))
                 for r in rows]
    num_epochs = min(len(r["roc_auc_by_epoch"]) for r in rows)
    long_rows += [{"metric": f"{EPOCH_AUC_METRIC}{epoch}", "noise": r["noise"],
                   "value": r["roc_auc_by_epoch"][epoch - 1]}
                  for epoch in detection.log_spaced_epochs(num_epochs) for r in rows]
    text = reporting.format_table(long_rows, "metric", "noise", "value",
                                  f"UMN Table 3: identifying corrupted labels on {dataset} "
                                  f"(eps: {settings.eps_name}, "
                                  f"threshold={threshold})", scale=1.0, digits=2)
    baseline_note = BASELINE_NOTES[settings.uncertainty_estimate]
    text = (f"{text}\n{PAPER_RULE_NOTE}\n{baseline_note}\n{issues_note(settings)}\n{EPOCH_AUC_NOTE}"
            + label_noise_rate_table(rows, "noise", "Table 3"))
    write_eps_auc_png(os.path.join(output_dir, "eps_auc_by_epoch.png"), {
        rate: [r["roc_auc_by_epoch"][:num_epochs] for r in rows if r["noise"] == rate]
        for rate in noise_rates})
    _print_and_save(output_dir, "umn_table3", dataset, rows, text, threshold=str(threshold),
                    settings=settings.as_record())
    ledger.complete()
    return rows
