"""`find_label_issues`: which of my labels are wrong, without knowing the noise.

A user's own data comes with no noise matrix, so the finder estimates it
before the robust CRF (Vahdat 2017, Section 4.3) can use it:

1. **Out-of-fold probabilities.** The backbone is trained with
   cross-entropy on the given labels `folds` times, each time holding out
   one stratified fold, and predicts `p(given label | x)` on the held-out
   examples. A network memorises the labels it trains on, so only
   held-out predictions say anything about their errors.
2. **The noise.** Northcutt et al.'s confident joint of those
   probabilities and the given labels estimates `T[i, j] = P(given=j |
   clean=i)` (`confident_transition_matrix`) and, with the label counts,
   the clean-class prior (`estimate_clean_prior`).
3. **The robust CRF** is trained on all examples with `p_aux` built from
   the estimate (`AuxiliaryPosterior.from_transition_matrix`), alpha
   annealed 8 -> 0.1 over two thirds of the steps. Each label's score is
   `1 - q(given | given, x)` and its suggested label `argmax q` (Eq. 10).

Why in-sample in step 3: in a development comparison on the digits (not a
shipped benchmark; seed 0 unless noted), an out-of-fold CRF (k more
trainings, twice the time) did this against the in-sample one: under
`symmetric` noise 0.4 it found more of the wrong labels (F1 0.985 against
0.941: in-sample, the network memorises some of them), but under Patrini's
class-dependent `mnist` noise it was worse at 0.3 (0.869 against 0.906) and
no better at 0.4 (0.651 against 0.663, 3 seeds), where most users' noise
(confusable classes) lives. In-sample wins where it matters and at half
the cost; `bench/label_issue_detection.py` measures the result against
cleanlab.
"""

import sys

import keras
import numpy as np

from robustcrf.alpha_annealing import AlphaAnnealing
from robustcrf.alpha_annealing import DEFAULT_START
from robustcrf.auxiliary import AuxiliaryPosterior
from robustcrf.auxiliary import estimate_clean_prior
from robustcrf.backbones import build_backbone
from robustcrf.label_issue_report import LabelIssueReport
from robustcrf.losses import CrossEntropy
from robustcrf.robust_model import RobustCRFModel
from robustcrf.robust_model import add_logits_head
from robustcrf.transition_estimation import confident_transition_matrix
from tf_data import pipelines
from tf_data import validation
from tf_data.image_dataset import ImageDataset
from tf_data.keras_contract import predict_probabilities
from tf_data.splits import stratified_folds

DEFAULT_FOLDS = 4
DEFAULT_EPOCHS = 15
DEFAULT_BATCH_SIZE = 64
DEFAULT_LEARNING_RATE = 1e-3


def default_backbone(image_shape, num_classes):
    """`small_cnn` (width 16, BatchNorm momentum 0.9) with a Dense(C) logits head.

    The Table 2 default (`scripts.robustcrf_table2`), chosen on a 2-core CPU:
    momentum 0.9 because with few steps per epoch the moving statistics of
    0.99 lag the weights.
    """
    features = build_backbone("small_cnn", image_shape, width=16, batch_norm_momentum=0.9)
    return add_logits_head(features, num_classes)


def _backbone_factory(backbone):
    """A function `(image_shape, C) -> fresh logits model` from the user's `backbone`."""
    if backbone is None:
        return default_backbone
    if isinstance(backbone, keras.Model):
        # Every training needs fresh weights: clone the architecture.
        return lambda image_shape, num_classes: keras.models.clone_model(backbone)
    if callable(backbone):
        return backbone
    raise ValueError(
        "backbone must be None (small_cnn), a Keras model mapping images to C logits "
        f"(cloned for every training), or a function (image_shape, C) -> model; got "
        f"{type(backbone).__name__}.")


class _AuditProgress(keras.callbacks.Callback):
    """Progress over all of the finder's trainings.

    On an interactive stdout one `keras.utils.Progbar` advances by an epoch
    of any training; elsewhere (a log file, CI) one line is printed per
    finished training, since the bar redraws itself with carriage returns.
    """

    def __init__(self, trainings, total_epochs):
        super().__init__()
        self.trainings = trainings
        self.stage = ""
        self.finished = 0
        self.bar = None
        if sys.stdout.isatty():
            self.bar = keras.utils.Progbar(total_epochs, unit_name="epoch",
                                           stateful_metrics=["loss"])

    def next_training(self, stage):
        self.stage = stage
        return self

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.add(1, values=[("loss", float((logs or {}).get("loss", 0.0)))])

    def on_train_end(self, logs=None):
        self.finished += 1
        if self.bar is None:
            print(f"[{self.finished}/{self.trainings}] {self.stage} trained", flush=True)


def _dataset(images, labels, batch_size, seed, as_tuples):
    # Shuffled and batched with drop_remainder (tf_data.training_pipeline);
    # the batch is capped at the set size so a small fold still yields one.
    features = pipelines.example_features(images, labels)
    dataset = pipelines.training_pipeline(features, min(batch_size, len(images)), seed)
    if as_tuples:
        dataset = dataset.map(lambda batch: (batch["image"], batch["label"]))
    return dataset


def out_of_fold_probabilities(images, labels, num_classes, folds=DEFAULT_FOLDS,
                              backbone=None, epochs=DEFAULT_EPOCHS,
                              batch_size=DEFAULT_BATCH_SIZE,
                              learning_rate=DEFAULT_LEARNING_RATE, seed=0, progress=None,
                              class_names=None):
    """`p(given label | x)` of every example from a network that never trained on it.

    Args:
        images: `(n, H, W, C)` float images in [0, 1].
        labels: `(n,)` the given labels.
        num_classes: C.
        folds: k of the stratified k-fold split (`tf_data.splits.stratified_folds`).
        backbone: see `find_label_issues`.
        epochs, batch_size, learning_rate: cross-entropy training (Adam).
        seed: seed of the folds, the weights and the shuffling.
        progress: optional `_AuditProgress` told about every training.
        class_names: names for error messages.

    Returns:
        `(n, C)` float64 softmax probabilities, each row from the model
        that held its fold out.
    """
    make_backbone = _backbone_factory(backbone)
    fold_of = stratified_folds(labels, folds, num_classes, seed, class_names)
    probabilities = np.zeros((len(labels), num_classes))
    for fold in range(folds):
        held_out = fold_of == fold
        keras.utils.set_random_seed(seed * 1000 + fold)
        model = make_backbone(images.shape[1:], num_classes)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=CrossEntropy())
        model.fit(_dataset(images[~held_out], labels[~held_out], batch_size, seed + fold, True),
                  epochs=epochs, verbose=0, shuffle=False,  # the pipeline shuffles
                  callbacks=[] if progress is None else [
                      progress.next_training(f"cross-entropy, fold {fold + 1} of {folds} held out")])
        probabilities[held_out] = predict_probabilities(model, images[held_out],
                                                        from_logits=True)
    return probabilities


def _as_arrays(data, labels, class_names, files, data_options):
    """`(images, labels, class_names, files)` from arrays, an `ImageDataset` or a source name."""
    if isinstance(data, str):
        from tf_data.sources import load_dataset
        data = load_dataset(data, **(data_options or {}))
    if isinstance(data, ImageDataset):
        images, own_labels, own_files = data.all_examples()
        labels = own_labels if labels is None else labels
        class_names = class_names or data.class_names
        files = files if files is not None else own_files
    else:
        images = data
        if labels is None:
            raise ValueError("Give the labels to audit with the images "
                             "(find_label_issues(images, labels)).")
    images = validation.check_images(images, "images")
    labels = np.asarray(labels)
    if class_names:
        num_classes = len(class_names)
    else:  # C = largest label + 1; check_labels below names any bad label.
        num_classes = 2
        if (labels.ndim == 1 and labels.size and labels.dtype.kind in "iuf"
                and np.all(np.isfinite(labels))):
            num_classes = max(int(labels.max()) + 1, 2)
    labels = validation.check_labels(labels, num_classes, "labels")
    validation.check_same_length(images=images, labels=labels)
    class_names = tuple(str(n) for n in class_names) if class_names else tuple(
        str(c) for c in range(num_classes))
    present = np.unique(labels)
    if len(present) < 2:
        raise ValueError(
            f"Every label is {class_names[int(present[0])]!r}: a label audit needs at least 2 "
            "classes among the given labels.")
    if files is not None:
        files = tuple(str(f) for f in files)
        validation.check_same_length(images=images, files=files)
    return images, labels, class_names, files


def find_label_issues(data, labels=None, *, class_names=None, files=None, backbone=None,
                      folds=DEFAULT_FOLDS, epochs=DEFAULT_EPOCHS, batch_size=DEFAULT_BATCH_SIZE,
                      learning_rate=DEFAULT_LEARNING_RATE, seed=0, verbose=1,
                      data_options=None, out_of_fold_epochs=None):
    """Ranks every given label by how likely it is wrong, estimating the noise itself.

    k-fold cross-entropy gives out-of-sample probabilities; their confident
    joint estimates the noise matrix T and the clean prior; the robust CRF,
    trained on all examples with `p_aux` from that estimate, scores each
    label by Eq. 10's `q` (see the module docstring for the recipe and why).
    No true T and no clean subset is needed.

    Args:
        data: images `(n, H, W[, C])` in [0, 1] (then give `labels`), an
            `ImageDataset`, or a `tf_data.load_dataset` source name
            (`"folder:PATH"`, `"npz:PATH"`, `"digits"`, ...): all its
            examples, train and test split alike, are audited.
        labels: `(n,)` the given labels in `[0, C)`; with a dataset or
            source, overrides its labels (e.g. with planted noise).
        class_names: C class names (default: the dataset's, or "0".."C-1",
            with C = largest label + 1).
        files: the file behind every example, for the report (default: the
            dataset's, when read from a folder).
        backbone: None (`default_backbone`: small_cnn), a Keras model
            mapping images to C logits (cloned, so every training starts
            from fresh weights), or a function `(image_shape, C) -> model`.
        folds: k of the out-of-fold split, >= 2; every class needs at least
            k examples.
        epochs, batch_size, learning_rate: every training (Adam): the k
            cross-entropy ones and the CRF.
        seed: seed of the folds, weights and shuffling.
        verbose: 1 shows a progress bar over all `(folds + 1) * epochs`
            epochs; 0 is silent.
        data_options: keyword arguments of `tf_data.load_dataset` for a
            source name (`skip_bad_files`, `image_size`, `data_dir`).
        out_of_fold_epochs: epochs of the k cross-entropy trainings when
            they should differ from the CRF's (default `epochs`). Fewer
            epochs memorise less of the noise; see the README's benchmark.

    Returns:
        A `robustcrf.LabelIssueReport`: the ranked `issues`, the
        `estimated_transition`, `class_summary()`, `confused_pairs()`,
        `to_csv(path)` and the trained CRF `model`.

    Raises:
        ValueError: for labels out of range or not integers, images of the
            wrong shape or with NaNs, a single class, a class with fewer
            than `folds` examples, or an unreadable source.

    Example:

    >>> report = robustcrf.find_label_issues(images, given_labels)
    >>> report.flagged().top(20)          # the 20 most suspicious labels
    >>> report.estimated_transition       # T[i, j] = P(given=j | clean=i)
    >>> report.to_csv("label_issues.csv")
    """
    images, labels, class_names, files = _as_arrays(data, labels, class_names, files,
                                                    data_options)
    num_classes = len(class_names)
    out_of_fold_epochs = epochs if out_of_fold_epochs is None else out_of_fold_epochs
    for name, value in (("epochs", epochs), ("batch_size", batch_size),
                        ("out_of_fold_epochs", out_of_fold_epochs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}.")
    make_backbone = _backbone_factory(backbone)
    stratified_folds(labels, folds, num_classes, seed, class_names)  # fail before training
    progress = None
    if verbose:
        print(f"Auditing {len(labels)} labels of {num_classes} classes: {folds} cross-entropy "
              f"trainings (one per held-out fold), then the robust CRF; {epochs} epochs each.")
        progress = _AuditProgress(folds + 1, folds * out_of_fold_epochs + epochs)
    probabilities = out_of_fold_probabilities(
        images, labels, num_classes, folds, make_backbone, out_of_fold_epochs, batch_size,
        learning_rate, seed, progress, class_names)
    transition = confident_transition_matrix(probabilities, labels)
    prior = estimate_clean_prior(labels, transition)
    keras.utils.set_random_seed(seed * 1000 + folds)
    model = RobustCRFModel(make_backbone(images.shape[1:], num_classes),
                           AuxiliaryPosterior.from_transition_matrix(transition, prior),
                           alpha=DEFAULT_START)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    model.fit(_dataset(images, labels, batch_size, seed + folds, False), epochs=epochs,
              verbose=0, shuffle=False,
              callbacks=[AlphaAnnealing(),  # 8 -> 0.1 over 2/3 of the steps
                         ] + ([] if progress is None else [
                             progress.next_training("robust CRF with the estimated T")]))
    return LabelIssueReport(
        issues=model.label_issues(images, labels), given_labels=labels,
        estimated_transition=transition, class_prior=prior,
        out_of_fold_probabilities=probabilities, class_names=class_names, files=files,
        model=model)
