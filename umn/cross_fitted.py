"""A held-out view cross-fitted from UMN's own eps = 0 model.

UMN's default eps averages the guider's disbelief with a view that never
saw the label (`umn.label_spreading.held_out_disbelief`: label spreading on
the images' principal components). On 28x28 digits that view doubts many
right labels: on mnist5k (100 labels) it flags a third to three quarters of
the right labels at 10-50% noise (README, "Uncertainty Mining Net", "The
held-out view cross-fitted from the eps = 0 model"). A better classifier
that still never sees a row's own label is the semi-supervised VAE itself:
deal the labelled rows into `folds` class-balanced parts and, for each part,
train the eps = 0 model (`uncertainty="zero"`, every other image
unlabelled) on the labels of the other parts, then read its guider's
`1 - q'(y_obs | x)` on the part's rows (cross-fitting). Each row's value
depends on its image and the other rows' labels, never on its own label.

It costs `folds` extra trainings (the harness trains each for a third of
the run's epochs: about 1.3 runs' time). `cross_fitted_disbelief` takes the
fold training as a function, so the same dealing and reading serve the
paper harness (`scripts.harness.umn_tables`, `--held_out_view=cross_fitted`),
a user's own model (`eps_zero_fold_trainer`) and the model's own view
(`UncertaintyMiningNet(held_out_view="cross_fitted")`, which `fit` on arrays
computes with `eps_zero_fold_trainer(..., batch_size=...)`).

Fold models that learned too little (a run too short, a set too small)
make a view that doubts every label alike; `or_label_spreading` then takes
label spreading's view instead, where it agrees clearly more often with
the labels it never saw.
"""

import warnings

import keras
import numpy as np

from tf_data import validation
from umn.label_spreading import checked_graph_inputs
from umn.label_spreading import held_out_posterior_of_labels
from umn.label_spreading import nonempty_balanced_parts
from umn.model import CROSS_FITTED_VIEW
from umn.model import LABEL_SPREADING_VIEW
from umn.model import UncertaintyMiningNet
from umn.partial_labels import check_partial_labels
from umn.partial_labels import disbelief_of_labels
from umn.streams import semi_supervised_stream

DEFAULT_FOLDS = 4
# The fold models' epochs as a share of the main run's (the harness's
# choice; measured with 50 of 150 epochs, README).
DEFAULT_EPOCH_SHARE = 1.0 / 3.0


def fold_model_seed(seed, fold):
    """The int seed of fold `fold`'s model, derived from the run's `seed` (`100 * seed + fold`).

    Apart from the run's own seed for every fold but seed 0's fold 0 (both
    0), and from every other seed's folds while `fold < 100`; seed 0's fold
    k shares seed k with a run seeded k (on other labels).
    """
    return 100 * int(seed) + int(fold)


def cross_fitted_folds(labels, num_classes, folds=DEFAULT_FOLDS, seed=0):
    """Deals the labelled rows into `folds` class-balanced parts.

    Each class's labelled rows are shuffled and dealt round-robin, dealt
    again in one run where a part came out empty
    (`umn.label_spreading.nonempty_balanced_parts` with
    `np.random.default_rng(seed)`), so no part is empty.

    Args:
        labels: `(n,)` observed labels in `[0, C)`, -1 for unlabelled rows.
        num_classes: C.
        folds: parts (>= 2).
        seed: int seed of the dealing.

    Returns:
        `(n,)` int64: each labelled row's part in `[0, folds)`, -1 on
        unlabelled rows.

    Raises:
        ValueError: labels out of range, `folds < 2`, fewer labelled rows
            than folds, or a negative seed.

    Example:

    >>> fold = cross_fitted_folds(np.array([0, 1, -1, 0, 1, 1]), 2, folds=2)
    >>> int(fold[2])
    -1
    """
    validation.check_positive_int(folds, "folds")
    validation.check_non_negative_int(seed, "seed")
    labels = check_partial_labels(labels, num_classes)
    if folds < 2:
        raise ValueError(f"folds must be at least 2 (one part held out, the rest labelled), "
                         f"got {folds}.")
    rows = np.flatnonzero(labels >= 0)
    if len(rows) < folds:
        raise ValueError(f"Cross-fitting needs at least folds={folds} labelled rows, got "
                         f"{len(rows)}; pass fewer folds.")
    fold = np.full(len(labels), -1, np.int64)
    fold[rows] = nonempty_balanced_parts(labels[rows], folds, np.random.default_rng(seed))
    return fold


def cross_fitted_label_posterior(images, labels, num_classes, fit_fold, folds=DEFAULT_FOLDS,
                                 seed=0, batch_size=256):
    """Each labelled row's class distribution from a model trained without its label.

    For each of the `folds` parts of `cross_fitted_folds(labels, ...,
    seed)`, `fit_fold(fold_labels, fold)` trains a model on `labels` with
    that part's rows made unlabelled (-1) and returns it; its `predict`
    (for UMN: the guider's `q'(y | x)`) on the part's rows is their
    posterior. A row's posterior depends on its image and the other rows'
    labels, never on its own label. `label_issues(...,
    held_out_posterior=...)` takes it in place of the label-spreading one.

    Args:
        images: `(n, H, W, K)` training images, labelled and unlabelled.
        labels: `(n,)` observed labels in `[0, C)`, -1 for unlabelled rows.
        num_classes: C.
        fit_fold: `fit_fold(fold_labels, fold) -> model`, `fold_labels` the
            `(n,)` labels with the fold's rows set to -1; the model's
            `predict(images)` returns `(m, C)` class probabilities
            (`eps_zero_fold_trainer` builds one for UMN).
        folds: parts the labelled rows are dealt into (>= 2).
        seed: int seed of the dealing.
        batch_size: rows per `predict` batch.

    Returns:
        `(m, C)` float64, one row per labelled row in the order of
        `np.flatnonzero(labels >= 0)`.

    Raises:
        ValueError: bad labels, `folds < 2`, fewer labelled rows than folds,
            images that do not match the labels, a negative seed, or a
            fold model whose `predict` is not `(rows, C)` class
            distributions.

    Example:

    >>> fit_fold = umn.cross_fitted.eps_zero_fold_trainer(
    ...     x_train, model.get_config(), epochs=50, seed=0)
    >>> posterior = umn.cross_fitted.cross_fitted_label_posterior(x_train, labels, 10,
    ...                                                           fit_fold)
    """
    images, labels = checked_graph_inputs(images, labels, num_classes)
    fold = cross_fitted_folds(labels, num_classes, folds, seed)[labels >= 0]
    labelled_images = images[labels >= 0]
    posterior = np.empty((len(fold), num_classes))
    for part in range(folds):
        held = fold == part
        fold_labels = labels.copy()
        fold_labels[np.flatnonzero(labels >= 0)[held]] = -1
        posterior[held] = validation.check_class_distributions(
            fit_fold(fold_labels, part).predict(labelled_images[held], batch_size=batch_size,
                                                verbose=0),
            int(held.sum()), num_classes, f"fold {part}'s model's predict on its rows")
    return posterior


def cross_fitted_disbelief(images, labels, num_classes, fit_fold, folds=DEFAULT_FOLDS,
                           seed=0, batch_size=256):
    """Each label's `1 - p(y_obs | x)` under a model trained without that label.

    `cross_fitted_label_posterior` read at each row's given label. Pass it
    to UMN's default eps (`uncertainty="with_held_out"`) in place of the
    label-spreading view: in the batches under
    `tf_data.batch_keys.HELD_OUT_DISBELIEF_KEY`
    (`umn.semi_supervised_stream(..., held_out_disbelief=view)`, or a dict
    `x` for `fit`) and to `label_uncertainty(..., held_out_disbelief=...)`.

    Args:
        images, labels, num_classes, fit_fold, folds, seed, batch_size: as
            `cross_fitted_label_posterior`.

    Returns:
        `(n,)` float32 in [0, 1]; 0 on unlabelled rows (never read).

    Raises:
        ValueError: as `cross_fitted_label_posterior`.

    Example:

    >>> fit_fold = umn.cross_fitted.eps_zero_fold_trainer(
    ...     x_train, model.get_config(), epochs=50, seed=0)
    >>> view = umn.cross_fitted.cross_fitted_disbelief(x_train, labels, 10, fit_fold)
    >>> stream, steps = umn.semi_supervised_stream(x_train, labels, 10, 25, 100, seed=0,
    ...                                            held_out_disbelief=view)
    """
    return disbelief_of_labels(cross_fitted_label_posterior(
        images, labels, num_classes, fit_fold, folds, seed, batch_size), labels)


# `or_label_spreading` takes label spreading's view only where it agrees with
# the held-out labels more often by more than this many standard errors of the
# paired difference (a one-sided test at about 2.3%): a coin flip between two
# views that are as good keeps the cross-fitted one.
FALLBACK_STANDARD_ERRORS = 2.0


def or_label_spreading(posterior, images, labels, num_classes, seed=0):
    """The cross-fitted posterior, or label spreading's where that predicts the labels better.

    Both posteriors judge each labelled row without its own label, so how
    often each one's most likely class is the given label is a
    cross-validated comparison; under class-symmetric noise at a rate `r`
    below `(C - 1) / C` that agreement is an affine, increasing function of
    the accuracy on the true labels, so it ranks the two views as the true
    labels would. Label spreading's view
    (`umn.label_spreading.held_out_posterior_of_labels`, seconds) is taken
    only where it agrees more often by more than `FALLBACK_STANDARD_ERRORS`
    standard errors of the paired per-row difference: where the fold
    models learned too little (a run too short, a set too small) and give
    every class about `1 / C`, which would make eps doubt every label.
    Then this warns. Two views about as good keep the cross-fitted one.
    The model's warm-up weights stay what they were resolved to.

    Args:
        posterior: `(m, C)` cross-fitted posterior of the labelled rows
            (`cross_fitted_label_posterior`), in the order of
            `np.flatnonzero(labels >= 0)`.
        images: `(n, H, W, K)` training images, labelled and unlabelled.
        labels: `(n,)` observed labels, -1 for unlabelled rows.
        num_classes: C.
        seed: int seed of label spreading's folds, subset and PCA.

    Returns:
        `(view, posterior)`: `umn.model.CROSS_FITTED_VIEW` and `posterior`
        (as float64), or `umn.model.LABEL_SPREADING_VIEW` and label
        spreading's `(m, C)`.

    Raises:
        ValueError: bad labels, or a posterior of the wrong shape or not
            class distributions (e.g. NaN).

    Example:

    >>> view, posterior = or_label_spreading(
    ...     cross_fitted_label_posterior(x_train, labels, 10, fit_fold), x_train, labels, 10)
    """
    labels = check_partial_labels(labels, num_classes)
    observed = labels[labels >= 0]
    posterior = validation.check_class_distributions(posterior, len(observed), num_classes,
                                                     "the cross-fitted posterior")
    spreading = held_out_posterior_of_labels(images, labels, num_classes, seed=seed)
    fitted_agrees = np.argmax(posterior, axis=1) == observed
    spreading_agrees = np.argmax(spreading, axis=1) == observed
    gain = spreading_agrees.astype(np.float64) - fitted_agrees
    standard_error = np.std(gain, ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else np.inf
    if not np.mean(gain) > FALLBACK_STANDARD_ERRORS * standard_error:
        return CROSS_FITTED_VIEW, posterior
    warnings.warn(
        f"The cross-fitted view (the eps = 0 model trained on folds of the labels) agrees "
        f"with {np.mean(fitted_agrees):.0%} of the labels it did not see, label spreading "
        f"with {np.mean(spreading_agrees):.0%}: the fold models learned too little (a short "
        "run or a small set), so eps reads label spreading's view. Train longer for the "
        "cross-fitted view, or build the model with held_out_view='label_spreading' to read "
        "label spreading's from the start.", stacklevel=2)
    return LABEL_SPREADING_VIEW, spreading


def eps_zero_fold_trainer(images, model_config, epochs, labelled_per_batch=25,
                          unlabelled_per_batch=100, learning_rate=1e-3, seed=0, verbose=0,
                          batch_size=None, optimizer=None):
    """A `fit_fold` for `cross_fitted_disbelief`: the eps = 0 UMN trained on a fold's labels.

    Each fold's model is `UncertaintyMiningNet.from_config(model_config)`
    with `uncertainty="zero"` (the paper's semi-supervised ablation: every
    label weighted alike; `fixed_uncertainty` cleared) and seed
    `fold_model_seed(seed, fold)`, compiled with Adam (beta_2 = 0.99, as
    the paper, or a fresh copy of `optimizer`) and trained on
    `umn.semi_supervised_stream` batches of the fold's labels, or with
    `batch_size` on the arrays themselves, as `fit(x, y)` trains a model
    (what `UncertaintyMiningNet.held_out_disbelief` does for
    `held_out_view="cross_fitted"`). Before building it, `fit_fold` seeds
    Keras's global random state with that seed (`keras.utils.set_random_seed`,
    which also seeds Python's and NumPy's), so a fold's model is the same on
    every call.

    Args:
        images: `(n, H, W, K)` training images (every row, labelled or not).
        model_config: an `UncertaintyMiningNet` config (e.g. the model's own
            `get_config()`); its `uncertainty`, `fixed_uncertainty`,
            `warmup_weights` and `held_out_view` (None: eps = 0's, no view
            and no warm-up to weight) and `seed` are replaced.
        epochs: passes over the unlabelled set per fold (the harness uses a
            third of the main run's, `DEFAULT_EPOCH_SHARE`).
        labelled_per_batch, unlabelled_per_batch: rows per batch of the
            stream (unused with `batch_size`).
        learning_rate: Adam's step size (unused with `optimizer`).
        seed: non-negative int seed; fold `k`'s model and stream take
            `fold_model_seed(seed, k)`.
        verbose: `fit`'s verbosity.
        batch_size: None (default: the semi-supervised stream) or the rows
            per batch of `fit` on the arrays `(images, fold_labels)`.
        optimizer: None (default: Adam as above) or a Keras optimizer whose
            config each fold model's optimizer is built from (its state is
            not copied).

    Returns:
        `fit_fold(fold_labels, fold) -> UncertaintyMiningNet`, fitted.

    Raises:
        ValueError: a config without `num_classes`, a non-positive
            `epochs` or a negative seed.

    Example:

    >>> fit_fold = eps_zero_fold_trainer(x_train, model.get_config(), epochs=50)
    """
    validation.check_positive_int(epochs, "epochs")
    validation.check_non_negative_int(seed, "seed")
    if batch_size is not None:
        validation.check_positive_int(batch_size, "batch_size")
    if "num_classes" not in model_config:
        raise ValueError("model_config must be an UncertaintyMiningNet config (from "
                         "get_config()); it has no num_classes.")
    num_classes = int(model_config["num_classes"])

    def fit_fold(fold_labels, fold):
        fold_seed = fold_model_seed(seed, fold)
        keras.utils.set_random_seed(fold_seed)   # the initial weights: same model every call
        model = UncertaintyMiningNet.from_config(
            {**model_config, "uncertainty": "zero", "fixed_uncertainty": None,
             "warmup_weights": None, "held_out_view": None, "seed": fold_seed})
        model.compile(optimizer=(
            keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.99) if optimizer is None
            else type(optimizer).from_config(optimizer.get_config())))
        if batch_size is not None:   # fit on arrays measures the training set itself
            model.fit(images, fold_labels, batch_size=batch_size, epochs=epochs,
                      verbose=verbose)
            return model
        model.measure_training_set(images, fold_labels)
        stream, steps = semi_supervised_stream(images, fold_labels, num_classes,
                                               labelled_per_batch, unlabelled_per_batch,
                                               fold_seed, held_out_disbelief=False)
        model.fit(stream, epochs=epochs, steps_per_epoch=steps, verbose=verbose)
        return model

    return fit_fold
