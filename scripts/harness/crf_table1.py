"""Table 1 of the robust CRF paper: every method on one multilabel dataset.

`run_table1` loads the data, splits 20% of the training set off as the
clean set `D_C` (Section 4.1), trains the auxiliary RBM on it once, checks
on a held-out part of `D_C` whether `p_aux` is worth regularising towards
(`measure_auxiliary_value`; the default preset), then trains and evaluates
each method (a `variants.MethodSpec`) and reports the test mAP over clean
categories and, for the CRFs, the mAP of `q` on the noisy training set
before and after training.
"""

import dataclasses
import math
import time

import keras
import numpy as np

from robustcrf import alpha_annealing
from robustcrf import backbones
from robustcrf.multilabel import data
from scripts.harness import crf_table1_methods as variants
from robustcrf.multilabel.auxiliary import train_auxiliary_rbm
from robustcrf.multilabel.callbacks import PosteriorMAPCallback
from robustcrf.multilabel.cross_entropy import CrossEntropyMultilabel
from robustcrf.multilabel.losses import check_clean_weighting
from robustcrf.multilabel.metrics import average_precision_per_category
from robustcrf.multilabel.metrics import mean_average_precision
from robustcrf.multilabel.metrics import mean_over_defined_categories
from robustcrf.multilabel.model import RobustMultilabelCRF
from scripts.harness import presets
from scripts.harness import reporting
from scripts.harness.training import Training
from tf_data import splits
from tf_data import validation

TABLE = "robustcrf_table1"
DATASETS = ("digit_mosaics", "coco_captions", "coco_tags", "npz:PATH")
BACKBONES = ("small_cnn", "mlp", "resnet50", "vgg16")
CLEAN_FRACTION = 0.2
# Share of D_C the auxiliary check holds out (Preset.auxiliary_check).
AUXILIARY_CHECK_HOLDOUT = 0.25
PAPER_IMAGE_SIZES = (224, 565)
# Width of the `mlp` backbone (one ReLU layer) for feature vectors.
MLP_WIDTH = 128
# Share of the `mlp` backbone's inputs dropped while training: Srivastava et
# al. (2014) keep 80% of a fully connected net's inputs. Measured on yeast
# (README, Table 1): it lifts the CRF rows at flip_off 0.6 by about a point
# and leaves clean cross-entropy as it was; 0.5 on the inputs or on the
# hidden units costs clean cross-entropy about a point.
MLP_INPUT_DROPOUT = 0.2


@dataclasses.dataclass(frozen=True)
class Preset:
    """Sizes and schedules of one run of Table 1.

    `num_train`, `num_validation`, `num_test` size `digit_mosaics` (COCO
    has its own splits). `alpha_*` is the annealing of Section 4.1
    (paper: 40 -> 5 over 11 epochs), over `alpha_epochs` epochs or, when
    `alpha_fraction` is set, over that share of all optimiser steps;
    `num_chains`, `num_sweeps` the PCD settings (paper: 50, 100);
    `num_hidden` the hidden units of the RBM and CRF (paper: 200);
    `learning_rate`, `adam_epsilon` Adam's (paper, ResNet-50: 3e-4, 0.1).
    Each batch of `batch_size` holds clean and noisy examples in the
    proportion of `D_C` to `D_N` (10 of 50 with the default 20% clean set;
    `robustcrf.multilabel.data.proportional_clean_per_batch`).
    `clean_weighting` how `D_C` and `D_N` share the CRF's loss
    (`RobustMultilabelCRF`; the paper's `"per_set"` or `"per_example"`).
    `auxiliary_check`: before the annealed CRF rows, hold out a quarter of
    `D_C`, train an auxiliary RBM and a cross-entropy model (the backbone)
    on the rest, and keep the auxiliary distribution (alpha annealed from
    `alpha_start`) only if `p_aux(y_hat | y)` ranks the held-out clean
    labels better (mAP) than the model does from the inputs; otherwise
    those rows train at alpha = 0 (`measure_auxiliary_value`).
    `start_from_auxiliary`: rows that keep `p_aux` start their energy at
    the RBM's (`RobustMultilabelCRF.start_from_auxiliary`), not at zero.
    `jit_compile` goes to `compile` (XLA made the small CPU runs 2.6x
    slower, so the CPU presets turn it off);
    `run_eagerly` skips graph tracing (the smoke preset's steps are few).
    `ema_momentum`: every row's Adam keeps an exponential moving average of
    the weights with this momentum (Keras' `use_ema`; Polyak averaging) and
    the trained model ends with the averaged weights, which are the ones
    scored; None or 0 scores the last iterate. The CRF's gradient is noisy
    twice over (minibatches and the PCD chains' samples), and the average
    damps that noise: the CRF w/o x-y link rose from 98.6 +- 0.4 to
    98.8 +- 0.4 mAP on `digit_mosaics`; on yeast, whose `mlp` backbone's
    input dropout damps it already, it moves mAP by a tenth of a point
    (README, Table 1). The `q` mAP recorded
    per epoch is the last iterate's.
    `predict_inference`: the CRF rows' test-time marginals
    (`RobustMultilabelCRF`): `"auto"` enumerates the noisy configurations
    where N <= 16 (yeast) and runs `predict_chains` Gibbs chains of
    `predict_burn_in` + `predict_samples` sweeps otherwise (the mosaics'
    35 tags, COCO).
    """

    name: str
    num_train: int
    num_validation: int
    num_test: int
    epochs: int
    batch_size: int
    learning_rate: float
    adam_epsilon: float
    num_chains: int
    num_sweeps: int
    num_hidden: int
    rbm_epochs: int
    rbm_chains: int
    rbm_sweeps: int
    alpha_start: float
    alpha_end: float
    alpha_epochs: object
    predict_chains: int
    predict_burn_in: int
    predict_samples: int
    backbone_width: int
    eval_batch_size: int = 256
    jit_compile: object = False
    run_eagerly: bool = False
    alpha_fraction: float = None
    clean_weighting: str = "per_set"
    auxiliary_check: bool = False
    start_from_auxiliary: bool = False
    ema_momentum: float = None
    predict_inference: str = "auto"

    def __post_init__(self):
        # Every preset, and every override (dataclasses.replace), is checked here.
        if self.ema_momentum is not None:
            validation.check_decay(self.ema_momentum, "ema_momentum",
                                   "0 or None: no weight averaging")


PRESETS = {
    "smoke": Preset("smoke", num_train=80, num_validation=10, num_test=40, epochs=1,
                    batch_size=20, learning_rate=1e-3, adam_epsilon=1e-7,
                    num_chains=2, num_sweeps=2, num_hidden=8, rbm_epochs=2, rbm_chains=20,
                    rbm_sweeps=1, alpha_start=40.0, alpha_end=5.0, alpha_epochs=1,
                    predict_chains=2, predict_burn_in=2, predict_samples=2, backbone_width=8,
                    run_eagerly=True, clean_weighting="per_example", auxiliary_check=True,
                    start_from_auxiliary=True, ema_momentum=0.99),
    # alpha 40 -> 0.5 over the first half of the optimiser steps (the step
    # clock: the same schedule whatever the dataset's size) where the
    # auxiliary check keeps p_aux, every example weighed alike, the weights
    # averaged over the steps (Keras' default EMA momentum; README).
    # Test-time marginals exact where N <= 16 (yeast's 14 labels: 2^14
    # configurations), else from the paper preset's 50 chains, 100 burn-in
    # sweeps and 100 samples (the mosaics' 35 tags): with 10, 20 and 20 the
    # Monte Carlo error moved one run's test mAP on yeast by up to 0.9 points
    # between two draws and cost 0.06-0.44 points on average against exact
    # enumeration (flip_off 0.6 to 0.2); at 50 / 100 / 100 each of 15 runs
    # was within 0.1 of exact (README, Table 1). The Gibbs estimate takes
    # about 4 s per 1,000 test examples on 2 CPU cores (bench.pcd_sampler).
    "default": Preset("default", num_train=3000, num_validation=300, num_test=1000, epochs=20,
                      batch_size=50, learning_rate=2e-3, adam_epsilon=1e-7,
                      num_chains=10, num_sweeps=10, num_hidden=32, rbm_epochs=60,
                      rbm_chains=200, rbm_sweeps=5, alpha_start=40.0, alpha_end=0.5,
                      alpha_epochs=None, predict_chains=50, predict_burn_in=100,
                      predict_samples=100, backbone_width=16, alpha_fraction=0.5,
                      clean_weighting="per_example", auxiliary_check=True,
                      start_from_auxiliary=True, ema_momentum=0.99),
    "paper": Preset("paper", num_train=3000, num_validation=300, num_test=1000, epochs=20,
                    batch_size=50, learning_rate=3e-4, adam_epsilon=0.1,
                    num_chains=50, num_sweeps=100, num_hidden=200, rbm_epochs=100,
                    rbm_chains=500, rbm_sweeps=10, alpha_start=40.0, alpha_end=5.0,
                    alpha_epochs=11, predict_chains=50, predict_burn_in=100,
                    predict_samples=100, backbone_width=32, jit_compile="auto"),
}


def preset_named(name, **overrides):
    """The `Preset` called `name` with non-None `overrides`, or a ValueError."""
    return presets.resolve(PRESETS, name, **overrides)


def load_multilabel_dataset(name, preset, seed=0, data_dir=None, tags_file=None,
                            download=False, flip_on=None, flip_off=None):
    """`digit_mosaics`, `coco_captions`, `coco_tags` or `npz:PATH` as a `MultilabelDataset`.

    `flip_on` / `flip_off` plant noise on a source that has clean labels
    only (an `npz:` file without `y_noisy_train`); the built-in sources
    carry their own noisy labels and refuse them.
    """
    if name.startswith("npz:"):
        from tf_data import multilabel_npz

        return multilabel_npz.load_multilabel_npz(name[len("npz:"):], flip_on, flip_off, seed)
    if flip_on is not None or flip_off is not None:
        raise ValueError(f"{name} has its own noisy labels; flip_on / flip_off plant noise on "
                         "an npz:PATH source that has clean labels only.")
    if name == "digit_mosaics":
        from tf_data import mosaics

        return mosaics.load_digit_mosaics(preset.num_train, preset.num_validation,
                                          preset.num_test, seed=seed)
    if name in ("coco_captions", "coco_tags"):
        from tf_data import coco

        if name == "coco_tags" and not tags_file:
            raise ValueError("coco_tags uses Flickr tags as noisy labels: pass tags_file.")
        return coco.load_coco_captions(data_dir=data_dir, download=download, seed=seed,
                                       tags_file=tags_file if name == "coco_tags" else None)
    raise ValueError(f"Unknown dataset {name!r}; choose from {', '.join(DATASETS)}.")


def image_geometry(dataset, backbone_name, image_size):
    """`(image_size, input_shape, channels)` for a backbone on a dataset."""
    images = dataset.train.images
    if images is not None and images.ndim == 2:
        if (isinstance(backbone_name, str) and backbone_name != "mlp") or image_size:
            raise ValueError(f"{dataset.name} holds feature vectors of {images.shape[1]} "
                             "values, not images: use backbone='mlp' (or your own Keras model) "
                             "and no image_size.")
        return None, tuple(images.shape[1:]), None
    if backbone_name in ("resnet50", "vgg16"):
        side = image_size or PAPER_IMAGE_SIZES[0]
        return (side, side), (side, side, 3), 3
    if image_size:
        channels = dataset.train.images.shape[-1] if dataset.train.images is not None else 3
        return (image_size, image_size), (image_size, image_size, channels), None
    if dataset.train.images is None:
        raise ValueError("Streamed datasets need an image_size (e.g. 224).")
    return None, tuple(dataset.train.images.shape[1:]), None


def make_backbone(name, input_shape, width, weights=None):
    """A fresh feature backbone for one method.

    Args:
        name: `small_cnn` (of `width`), `mlp` (Dense `MLP_WIDTH`, ReLU, on
            flattened inputs, `MLP_INPUT_DROPOUT` of them dropped in training),
            `resnet50` / `vgg16` (`backbones.build_backbone`), or a user's
            Keras model mapping inputs to features, cloned with fresh weights
            so every method starts from the same untrained copy.
        input_shape: one example's shape.
        width: `small_cnn`'s width.
        weights: pretrained weights for `resnet50` / `vgg16`.
    """
    if isinstance(name, keras.Model):
        return keras.models.clone_model(name)
    if name == "small_cnn":
        return backbones.small_cnn(input_shape, width=width)
    if name == "mlp":
        inputs = keras.Input(input_shape)
        flat = keras.layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
        dropped = keras.layers.Dropout(MLP_INPUT_DROPOUT)(flat)
        return keras.Model(inputs, keras.layers.Dense(MLP_WIDTH, activation="relu")(dropped),
                           name="mlp")
    return backbones.build_backbone(name, input_shape, weights)


def backbone_label(backbone):
    """A name for results: the builder's name or the user model's."""
    return backbone.name if isinstance(backbone, keras.Model) else str(backbone)


def output_mapping(spec, dataset):
    """The `(C, N)` mapping a cross-entropy method predicts clean categories through.

    None for methods that predict clean categories directly (also `ce_noisy`
    when both vocabularies are the same); a ValueError when `ce_noisy` meets
    different vocabularies without `clean_to_noisy`.
    """
    if spec.kind != "cross_entropy" or spec.target != "noisy" or dataset.same_vocabulary:
        return None
    if dataset.clean_to_noisy is None:
        raise ValueError(
            f"{spec.name} maps noisy-label predictions to clean categories, but dataset "
            f"{dataset.name!r} has no clean_to_noisy mapping; drop {spec.name} from the methods.")
    return dataset.clean_to_noisy


def cross_entropy_targets(spec, dataset, clean_indices):
    """`(labels, rows)`: the targets of a cross-entropy row and the rows it trains on."""
    train = dataset.train
    if spec.target == "clean":
        return train.clean_labels, None
    if spec.target == "clean_subset":
        return train.clean_labels, clean_indices
    if not dataset.same_vocabulary:
        return train.noisy_labels, None
    labels = train.noisy_labels.copy()
    labels[clean_indices] = train.clean_labels[clean_indices]
    return labels, None


def make_optimizer(preset):
    """Adam with the preset's learning rate and epsilon; with `ema_momentum`, it
    averages the weights and `fit` ends with the average (`Preset`)."""
    momentum = preset.ema_momentum
    averaging = {"use_ema": True, "ema_momentum": float(momentum)} if momentum else {}
    return keras.optimizers.Adam(preset.learning_rate, epsilon=preset.adam_epsilon, **averaging)


def _fit_and_score(model, batches, steps, epochs, preset, test_batches, test_labels,
                   training, run, callbacks=(), stateful_callbacks=()):
    with training.scope():
        model.compile(optimizer=make_optimizer(preset), jit_compile=preset.jit_compile,
                      run_eagerly=preset.run_eagerly)
    training.fit(model, batches, epochs, steps, callbacks=callbacks, run=run,
                 stateful_callbacks=stateful_callbacks)
    scores = model.predict(data.images_only(test_batches), verbose=0)
    return average_precision_per_category(test_labels, scores)


def _cross_entropy_average_precision(backbone, labels, rows, output_to_clean, train, preset,
                                     seed, size, channels, eval_batches, eval_labels,
                                     training, run):
    """Trains `CrossEntropyMultilabel` on `labels` of the training rows `rows`
    (None: all) and returns its per-category AP on `eval_batches` against
    `eval_labels` (NaN where a category has no positive example)."""
    with training.scope():
        model = CrossEntropyMultilabel(backbone, labels.shape[1], output_to_clean=output_to_clean)
    # A clean set smaller than one batch trains in batches of its own size.
    batch_size = preset.batch_size if rows is None else min(preset.batch_size, len(rows))
    batches = data.supervised_batches(train, labels, batch_size, seed, size, channels, rows)
    # The same number of optimiser steps for every row (D_C alone is
    # passed over more often).
    steps = max(1, len(train) // preset.batch_size)
    return _fit_and_score(model, batches, steps, preset.epochs, preset, eval_batches,
                          eval_labels, training, run)


def run_key(method, seed):
    """The name of one Table 1 run (its backup directory and ledger entry)."""
    return f"{method}_seed{seed}"


def run_method(spec, dataset, clean_indices, noisy_indices, preset, auxiliary,
               backbone_name="small_cnn", image_size=None, weights=None, seed=0, training=None,
               use_auxiliary=True):
    """Trains one Table 1 method and returns its results row.

    `training` (a `training.Training`) builds the model under its strategy
    and backs the run up; default one process without backups.
    `use_auxiliary=False` (the auxiliary check's verdict) trains the rows
    that anneal alpha at alpha = 0 instead; the row records it as
    `auxiliary_used`.
    """
    started = time.time()
    training = training or Training()
    keras.utils.set_random_seed(seed)
    size, input_shape, channels = image_geometry(dataset, backbone_name, image_size)
    with training.scope():
        backbone = make_backbone(backbone_name, input_shape, preset.backbone_width, weights)
    train, test = dataset.train, dataset.test
    test_batches = data.ordered_batches(test, preset.eval_batch_size, size, channels)
    row = {"method": spec.name, "title": spec.title, "seed": seed,
           "backbone": backbone_label(backbone_name),
           "q_map_noisy_train": None, "q_map_noisy_train_start": None}
    if spec.kind == "cross_entropy":
        mapping = output_mapping(spec, dataset)
        labels, rows = cross_entropy_targets(spec, dataset, clean_indices)
        per_category = _cross_entropy_average_precision(
            backbone, labels, rows, mapping, train, preset, seed, size, channels, test_batches,
            test.clean_labels, training, run_key(spec.name, seed))
    else:
        if len(clean_indices) == 0:
            raise ValueError(f"{spec.name} needs a non-empty clean set (D_C).")
        anneal = spec.anneal_alpha and use_auxiliary
        if anneal and auxiliary is None:
            raise ValueError(f"{spec.name} anneals alpha and needs the auxiliary RBM.")
        with training.scope():
            model = RobustMultilabelCRF(
                backbone, dataset.num_clean, dataset.num_noisy, num_examples=len(train),
                auxiliary=auxiliary if anneal else None,
                alpha=preset.alpha_start if anneal else 0.0,
                num_chains=preset.num_chains, num_sweeps=preset.num_sweeps,
                predict_inference=preset.predict_inference,
                predict_chains=preset.predict_chains, predict_burn_in=preset.predict_burn_in,
                predict_samples=preset.predict_samples, seed=seed,
                clean_weighting=preset.clean_weighting,
                **spec.model_arguments(preset.num_hidden))
            if anneal and preset.start_from_auxiliary:
                if not model.built:  # a subclassed backbone builds the heads on a first call
                    model.unaries(np.zeros((1,) + tuple(input_shape), np.float32))
                model.start_from_auxiliary()
        row["auxiliary_used"] = anneal
        callbacks = []
        if anneal:
            callbacks.append(alpha_annealing.AlphaAnnealing(
                preset.alpha_start, preset.alpha_end, epochs=preset.alpha_epochs,
                fraction=preset.alpha_fraction))
        q_map = PosteriorMAPCallback(
            data.ordered_batches(train, preset.eval_batch_size, size, channels, noisy_indices),
            train.clean_labels[noisy_indices])
        callbacks.append(q_map)
        clean_per_batch = data.proportional_clean_per_batch(
            preset.batch_size, len(clean_indices), len(noisy_indices))
        batches = data.mixed_training_batches(
            train, clean_indices, preset.batch_size, clean_per_batch, seed, size,
            channels, dataset.num_clean, dataset.num_noisy, len(train))
        steps = math.ceil(len(noisy_indices) / (preset.batch_size - clean_per_batch))
        per_category = _fit_and_score(model, batches, steps, preset.epochs, preset,
                                      test_batches, test.clean_labels, training,
                                      run_key(spec.name, seed), callbacks,
                                      stateful_callbacks=[q_map])
        row["q_map_noisy_train_start"] = q_map.start
        row["q_map_noisy_train"] = q_map.history[-1]
        row["q_map_noisy_train_per_epoch"] = list(q_map.history)
    row["map"] = mean_over_defined_categories(per_category)
    # Test AP of every clean category (None where the test split has no
    # positive), and how often it is present there: where a row gains or loses.
    row["average_precision"] = [None if np.isnan(ap) else float(ap) for ap in per_category]
    row["test_label_frequency"] = [float(f) for f in np.mean(test.clean_labels, axis=0)]
    row["seconds"] = round(time.time() - started, 1)
    return row


def _train_auxiliary(train, fit_indices, score_indices, preset, seed):
    """An auxiliary RBM trained on the rows `fit_indices` (`D_C`) and the mAP of
    `p_aux(y_hat | y)` on the rows `score_indices` (`D_N`, or held-out clean rows)."""
    auxiliary = train_auxiliary_rbm(
        train.noisy_labels[fit_indices], train.clean_labels[fit_indices],
        num_hidden=preset.num_hidden, epochs=preset.rbm_epochs,
        num_chains=preset.rbm_chains, num_sweeps=preset.rbm_sweeps, seed=seed)
    scores = keras.ops.convert_to_numpy(
        auxiliary(train.noisy_labels[score_indices].astype(np.float32)))
    return auxiliary, mean_average_precision(train.clean_labels[score_indices], scores)


def measure_auxiliary_value(dataset, clean_indices, preset, backbone_name="small_cnn",
                            image_size=None, weights=None, seed=0, training=None,
                            holdout=AUXILIARY_CHECK_HOLDOUT):
    """Is `p_aux` worth regularising towards? Measured on a held-out part of `D_C`.

    The auxiliary distribution (Eq. 9-11) pulls `q` towards `p_aux(y_hat |
    y)`, which reads the noisy labels only. That helps where the noisy
    labels say more about the clean ones than the inputs do (yeast: this
    check measures 65-90 mAP for p_aux against 48 for the inputs) and hurts
    where the inputs say more (`digit_mosaics`: 68 against 98; regularised
    towards p_aux, the CRF ends below the same CRF at alpha = 0; README,
    Table 1). This check holds out
    `holdout` of `D_C`, trains an auxiliary RBM and the cross-entropy model
    on the rest (the `ce_clean_subset` row's recipe: the same backbone,
    optimiser and number of steps), and compares their mAP on the held-out
    clean labels.

    Args:
        dataset: the `MultilabelDataset`.
        clean_indices: rows of `D_C`.
        preset: the `Preset` (RBM and training settings).
        backbone_name, image_size, weights, seed, training: as `run_method`.
        holdout: share of `D_C` held out, in (0, 1).

    Returns:
        A dict: `auxiliary_map` and `inputs_map` (mAP on the held-out
        rows), `uses_auxiliary` (`auxiliary_map > inputs_map`) and
        `held_out` (rows held out).

    Raises:
        ValueError: if `D_C` is too small to hold out a part and fit on
            the rest.
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must lie in (0, 1), got {holdout!r}.")
    clean_indices = np.asarray(clean_indices)
    num_held = int(round(holdout * len(clean_indices)))
    if num_held < 1 or num_held >= len(clean_indices):
        raise ValueError(
            f"The auxiliary check holds out {holdout:.0%} of D_C, but D_C has "
            f"{len(clean_indices)} examples: use a larger clean_fraction, or a preset "
            "with auxiliary_check=False.")
    shuffled = np.random.default_rng(seed).permutation(clean_indices)
    held, fit = np.sort(shuffled[:num_held]), np.sort(shuffled[num_held:])
    train = dataset.train
    training = training or Training()
    with training.scope():
        _, auxiliary_map = _train_auxiliary(train, fit, held, preset, seed)
    keras.utils.set_random_seed(seed)
    size, input_shape, channels = image_geometry(dataset, backbone_name, image_size)
    with training.scope():
        backbone = make_backbone(backbone_name, input_shape, preset.backbone_width, weights)
    held_batches = data.ordered_batches(train, preset.eval_batch_size, size, channels, held)
    inputs_map = mean_over_defined_categories(_cross_entropy_average_precision(
        backbone, train.clean_labels, fit, None, train, preset, seed, size, channels,
        held_batches, train.clean_labels[held], training, run_key("auxiliary_check_model", seed)))
    return {"auxiliary_map": auxiliary_map, "inputs_map": inputs_map,
            "uses_auxiliary": bool(auxiliary_map > inputs_map), "held_out": int(num_held)}


def run_table1(dataset="digit_mosaics", methods=tuple(variants.METHODS), preset="default",
               backbone="small_cnn", image_size=None, seeds=(0,), output_dir=None,
               data_dir=None, tags_file=None, download=False, weights=None, stream=None,
               clean_fraction=CLEAN_FRACTION, flip_on=None, flip_off=None, training=None,
               clean_weighting=None, auxiliary_check=None, start_from_auxiliary=None,
               ema_momentum=None):
    """Runs every method of Table 1 for every seed and writes `results.json`.

    Args:
        dataset: `digit_mosaics`, `coco_captions`, `coco_tags` or `npz:PATH`
            (`tf_data.multilabel_npz`: feature vectors or images).
        methods: names from `variants.METHODS` (default: all rows).
        preset: a key of `PRESETS`.
        backbone: `small_cnn`, `mlp` (feature vectors), `resnet50`, `vgg16`,
            or a Keras model mapping inputs to features (cloned per method).
        image_size: side in pixels (paper: 224 or 565), or None (native
            for `small_cnn`, 224 for the applications).
        seeds: one run of every method per seed (the planted noise, the
            `D_C` split, the RBM and every model).
        output_dir: where `results.json` goes (None: not written).
        data_dir, tags_file, download: passed to the COCO loader.
        weights: backbone weights for `resnet50`/`vgg16` (None: random).
        stream: where progress lines go (default stdout).
        clean_fraction: share of the training set that forms `D_C`.
        flip_on, flip_off: noise planted on an `npz:` source with clean
            labels only (`tf_data.corrupt_multilabels`).
        training: a `training.Training` (strategy, `--backup_dir`): with a
            backup directory, the runs a killed table finished are kept and
            skipped and the interrupted one resumes from its last epoch.
        clean_weighting: overrides the preset's `clean_weighting` (how the
            CRF rows weigh `D_C` against `D_N`); None keeps it.
        auxiliary_check, start_from_auxiliary, ema_momentum: override the
            preset's (see `Preset`; `ema_momentum=0` turns the weight
            averaging off); None keeps them.

    Returns:
        A dict: `rows` (one per method and seed, each with `method`, `map`,
        `q_map_noisy_train`, `seed`, and `average_precision` and
        `test_label_frequency` per clean category), `table` (text, mean ±
        std over seeds), `auxiliary_map` (mean mAP of `p_aux(y_hat | y)` on the noisy
        training set) and `results_path`.
    """
    preset = preset if isinstance(preset, Preset) else preset_named(preset)
    if clean_weighting is not None:
        check_clean_weighting(clean_weighting)
    preset = presets.override(preset, clean_weighting=clean_weighting,
                              auxiliary_check=auxiliary_check,
                              start_from_auxiliary=start_from_auxiliary,
                              ema_momentum=ema_momentum)
    specs = [variants.method_spec(name) for name in methods]
    if not specs:
        raise ValueError("Give at least one method.")
    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise ValueError("Give at least one seed.")
    if not 0.0 < clean_fraction < 1.0:
        raise ValueError(f"clean_fraction must lie in (0, 1), got {clean_fraction!r}.")
    training = training or Training()
    output_dir = training.output_dir(output_dir)
    ledger = training.ledger({
        "table": TABLE, "dataset": dataset, "methods": [spec.name for spec in specs],
        "preset": dataclasses.asdict(preset), "backbone": backbone_label(backbone),
        "image_size": image_size, "seeds": seeds, "clean_fraction": clean_fraction,
        "flip_on": flip_on, "flip_off": flip_off, "weights": weights})
    progress = reporting.Progress(len(specs) * len(seeds), stream)
    rows, auxiliary_maps, checks, name = [], [], [], None
    for seed in seeds:
        loaded = load_multilabel_dataset(dataset, preset, seed, data_dir, tags_file, download,
                                          flip_on, flip_off)
        name = loaded.name
        for spec in specs:
            output_mapping(spec, loaded)  # fail before training anything
        clean_indices, noisy_indices = splits.clean_noisy_split(len(loaded.train),
                                                                clean_fraction, seed)
        pending = [spec for spec in specs if ledger.finished(run_key(spec.name, seed)) is None]
        auxiliary = None
        if any(spec.kind == "crf" and spec.anneal_alpha for spec in specs):
            auxiliary_map = ledger.finished(run_key("auxiliary_rbm", seed))
            if auxiliary_map is None or any(spec.kind == "crf" and spec.anneal_alpha
                                            for spec in pending):
                with training.scope():
                    auxiliary, auxiliary_map = _train_auxiliary(loaded.train, clean_indices,
                                                                noisy_indices, preset, seed)
                ledger.record(run_key("auxiliary_rbm", seed), auxiliary_map)
            auxiliary_maps.append(auxiliary_map)
        check = None
        if preset.auxiliary_check and any(spec.kind == "crf" and spec.anneal_alpha
                                          for spec in specs):
            check = ledger.finished(run_key("auxiliary_check", seed))
            if check is None:
                check = measure_auxiliary_value(loaded, clean_indices, preset, backbone,
                                                image_size, weights, seed, training)
                ledger.record(run_key("auxiliary_check", seed), check)
            checks.append(dict(check, seed=seed))
            progress.note(f"seed {seed}, {check['held_out']} held-out clean examples: p_aux "
                          f"mAP {check['auxiliary_map']:.4f}, inputs mAP "
                          f"{check['inputs_map']:.4f} -> "
                          f"{'alpha annealed' if check['uses_auxiliary'] else 'alpha = 0'}",
                          label="auxiliary check")
        for spec in specs:
            row = ledger.finished(run_key(spec.name, seed))
            if row is None:
                row = run_method(spec, loaded, clean_indices, noisy_indices, preset, auxiliary,
                                 backbone, image_size, weights, seed, training,
                                 use_auxiliary=check is None or check["uses_auxiliary"])
                row["setting"] = f"{backbone_label(backbone)} ({preset.name})"
                ledger.record(run_key(spec.name, seed), row)
            rows.append(row)
            fields = {"method": spec.name, "seed": seed, "map": row["map"]}
            if row["q_map_noisy_train"] is not None:
                fields.update(q_map_start=row["q_map_noisy_train_start"],
                              q_map_end=row["q_map_noisy_train"])
            fields["seconds"] = row["seconds"]
            progress.update(**fields)
    titled = [dict(row, method=row["title"]) for row in rows]
    table = reporting.format_table(titled, "method", "setting", "map",
                                   f"Table 1 ({name}): test mAP (%) over clean categories, "
                                   f"{len(seeds)} seed(s)")
    crf_rows = [row for row in titled if row["q_map_noisy_train"] is not None]
    if crf_rows:
        start = [dict(row, setting="q at start") for row in crf_rows]
        end = [dict(row, setting="q at end") for row in crf_rows]
        for row in start:
            row["q_map"] = row["q_map_noisy_train_start"]
        for row in end:
            row["q_map"] = row["q_map_noisy_train"]
        table += "\n\n" + reporting.format_table(
            start + end, "method", "setting", "q_map",
            "mAP (%) of q(y_hat | y, x) on the noisy training set (paper: 49.4 -> 69.4)")
    auxiliary_map = float(np.mean(auxiliary_maps)) if auxiliary_maps else None
    if auxiliary_map is not None:
        table += (f"\n\np_aux(y_hat | y) on the noisy training set: mAP "
                  f"{reporting.format_mean_std(auxiliary_maps, 100.0)}%")
    if checks:
        kept = sum(check["uses_auxiliary"] for check in checks)
        table += (f"\nAuxiliary check (held-out part of D_C): p_aux mAP "
                  f"{reporting.format_mean_std([c['auxiliary_map'] for c in checks], 100.0)}%, "
                  f"inputs mAP {reporting.format_mean_std([c['inputs_map'] for c in checks], 100.0)}"
                  f"%; p_aux kept (alpha annealed) in {kept} of {len(checks)} seed(s), "
                  f"alpha = 0 in the others")
    results_path = None
    if output_dir:
        results_path = reporting.write_results_json(
            output_dir, TABLE, name, rows, preset=preset.name, backbone=backbone_label(backbone),
            auxiliary_map_noisy_train=auxiliary_map, clean_fraction=clean_fraction,
            flip_on=flip_on, flip_off=flip_off, clean_weighting=preset.clean_weighting,
            auxiliary_checks=checks or None)
    ledger.complete()
    return {"rows": rows, "table": table, "auxiliary_map": auxiliary_map,
            "results_path": results_path}
