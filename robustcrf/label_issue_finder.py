"""`find_label_issues`: which of my labels are wrong, without knowing the noise.

A user's own data comes with no noise matrix, so the finder estimates it
before the robust CRF (Vahdat 2017, Section 4.3) can use it:

1. **Out-of-fold probabilities.** The backbone is trained with
   cross-entropy on the given labels `folds` times, each time holding out
   one stratified fold, and predicts `p(given label | x)` on the held-out
   examples after every epoch; the finder keeps the mean of those
   predictions over all epochs but the first (`HeldOutAverage`). A
   network memorises the labels it trains on, so only held-out
   predictions say anything about their errors; and the last epoch's
   alone lean toward whichever given label is commoner among an example's
   neighbours (a network trained on noisy labels copies the noise of its
   neighbourhood), while their mean over the run (a temporal ensemble)
   does so much less.
2. **The noise.** Northcutt et al.'s confident joint of those
   probabilities and the given labels estimates `T[i, j] = P(given=j |
   clean=i)` (`confident_transition_matrix`) and, with the label counts,
   the clean-class prior (`estimate_clean_prior`).
3. **The robust CRF** is trained on all examples with `p_aux` built from
   the estimate (`AuxiliaryPosterior.from_transition_matrix`), alpha
   annealed 8 -> 0.1 over all of its `crf_epochs`, and read as soon as
   alpha reaches its end: its `q(clean | given, x)` (Eq. 10). Once alpha
   is small, every further epoch only lets the network memorise more of
   the given labels, so the CRF stops there.
4. **The held-out posterior.** The out-of-fold probabilities estimate the
   *noisy* label's distribution, `p(given | x) = sum_i p(clean = i | x)
   T[i, given]`; `clean_class_probabilities` inverts that per example
   (maximum likelihood, EM), and Bayes' rule with T gives `P(clean | x,
   given)` (`clean_label_posterior`) from networks that never saw the
   example's label.
5. **The flags.** Each label's score is `1 - P(given | x, given)` under
   the mean of the two posteriors (3 and 4), the probability that it is
   wrong: the CRF saw every label (it learns from all the data but has
   begun to fit the wrong labels too), the held-out networks saw none of
   an example's own (but each learnt from `(folds - 1) / folds` of the
   data, through the noise), and their errors differ. The noise estimate
   says how many to flag: the `k` highest scores, `k` the number of wrong
   labels the estimated T and class shares imply (`estimated_wrong_count`),
   each with the most probable other class as its suggestion
   (`tf_data.suggest_for_most_suspicious`). Where alpha's annealing ends,
   `q` ranks well but is not yet sharp, so a fixed cut (`argmax q` differs
   from the label, or score > 1/2) flags too few or too many.

Development measurements behind these choices (scratch runs, not a
shipped benchmark; `bench/label_issue_detection.py` measures the result;
T's error is the mean row L1 distance). On mnist5k (5,000 real 28x28
digits) under Patrini's class-dependent `mnist` noise, seeds 0-2: T's
error from the last epoch's held-out predictions 0.10-0.13 at 30% and
0.12-0.16 at 40%, from their mean over epochs 2-15 0.030-0.034 and
0.058-0.064 (on the digits 0.04-0.13 against 0.03-0.08). With that T
the CRF's F1 at 40% (flags `argmax q`) was 0.63-0.70 after the earlier
recipe's 15 epochs (alpha annealed over the first 10, then 5 at 0.1),
0.78-0.87 when read where the annealing
ends at epoch 10, 0.67-0.86 with 8 epochs annealed throughout, and 0.71
(seed 0) with 15 (the network memorises during a slow annealing too); on
the digits 0.66 / 0.74 / 0.69 with 6 / 10 / 20 epochs. The flag rule of
step 5 (mean F1 over seeds 0-2, same CRFs), top-k / score > 1/2 /
`argmax q`: digits `symmetric` 40% 0.968 / 0.800 / 0.903, mnist5k
`symmetric` 40% (seed 0) 0.963 / 0.963 / 0.849, `mnist` 30-40% within
0.01 of each other on both sets (digits 40%: 0.745 / 0.736 / 0.736).
Per-class counts (the `k` split by given label) did worse at `mnist`
noise (mnist5k 40%: 0.776 against 0.831).
Step 5's score, on the same CRFs and probabilities (top-k F1, mean of
seeds 0-2; scored by `q` / by the held-out posterior without undoing the
noise, i.e. `p(given | x)` taken as `p(clean | x)` / by
`clean_label_posterior` / by the mean of `q` and it): digits `mnist` 30%
0.886 / 0.891 / 0.933 / 0.949, 40% 0.745 / 0.736 / 0.882 / 0.892;
mnist5k `mnist` 30% 0.930 / 0.886 / 0.934 / 0.946, 40% (8 CRF epochs)
0.747 / 0.698 / 0.873 / 0.889; digits `symmetric` 40% 0.968 / 0.968 /
0.969 / 0.979; mnist5k `symmetric` 40% (seed 0) 0.963 / 0.963 / 0.963 /
0.971; digits `mnist` 10% 0.948 for all four.

Why in-sample in step 3: in a development comparison on the digits, an
out-of-fold CRF (k more trainings, twice the time) found more wrong labels
under `symmetric` noise 0.4 (F1 0.985 against 0.941) but was worse under
`mnist` noise 0.3 (0.869 against 0.906) and no better at 0.4 (0.651
against 0.663, 3 seeds), where most users' noise (confusable classes)
lives (measured with the earlier recipe: last-epoch probabilities, 15
CRF epochs); in-sample costs half as much. Step 4 brings the
out-of-sample view in at no cost: its probabilities are those step 1
computed for T.
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
from robustcrf.transition_estimation import clean_label_posterior
from robustcrf.transition_estimation import confident_transition_matrix
from robustcrf.transition_estimation import estimated_wrong_count
from tf_data import pipelines
from tf_data import validation
from tf_data.image_dataset import ImageDataset
from tf_data.keras_contract import predict_probabilities
from tf_data.label_issues import rank_label_issues
from tf_data.label_issues import suggest_for_most_suspicious
from tf_data.label_issues import wrong_label_probabilities
from tf_data.splits import stratified_folds

DEFAULT_FOLDS = 4
DEFAULT_EPOCHS = 15
DEFAULT_CRF_EPOCHS = 10
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


class HeldOutAverage(keras.callbacks.Callback):
    """Mean of a model's held-out softmax predictions over the epochs of a `fit`.

    After every epoch but the first `skip` (which start from random
    weights) the model predicts `images` in inference mode and the
    probabilities join a running sum; `probabilities()` is their mean: a
    temporal ensemble of the held-out predictions, less tied to where the
    last epoch happened to stop than its predictions alone (the module
    docstring says what it measured). A `fit` of no more than `skip`
    epochs keeps its last epoch's predictions.

    Args:
        images: `(n, ...)` the held-out inputs.
        from_logits: the model outputs logits (apply the softmax).
        skip: leading epochs left out of the mean, >= 0.

    Example:

    >>> held_out = HeldOutAverage(x_val, from_logits=True)
    >>> model.fit(train, epochs=15, callbacks=[held_out])
    >>> p = held_out.probabilities()          # (n, C), mean of epochs 2-15
    """

    def __init__(self, images, from_logits=True, skip=1):
        super().__init__()
        if isinstance(skip, bool) or not isinstance(skip, (int, np.integer)) or skip < 0:
            raise ValueError(f"skip must be an integer >= 0, got {skip!r}.")
        self.images = images
        self.from_logits = from_logits
        self.skip = int(skip)
        self.total = None
        self.epochs_seen = 0

    def on_epoch_end(self, epoch, logs=None):
        epochs = (self.params or {}).get("epochs") or epoch + 1
        if epoch < min(self.skip, epochs - 1):
            return
        predicted = predict_probabilities(self.model, self.images, from_logits=self.from_logits)
        self.total = predicted if self.total is None else self.total + predicted
        self.epochs_seen += 1

    def probabilities(self):
        """`(n, C)` float64 mean of the predictions averaged so far."""
        if self.total is None:
            raise ValueError("HeldOutAverage has averaged no epoch yet: fit the model with this "
                             "callback first.")
        return self.total / self.epochs_seen


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
    """`p(given label | x)` of every example from networks that never trained on it.

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
        `(n, C)` float64 softmax probabilities, each row the mean over
        epochs 2 to `epochs` of the predictions of the model that held its
        fold out (`HeldOutAverage`).
    """
    make_backbone = _backbone_factory(backbone)
    fold_of = stratified_folds(labels, folds, num_classes, seed, class_names)
    probabilities = np.zeros((len(labels), num_classes))
    for fold in range(folds):
        held_out = fold_of == fold
        keras.utils.set_random_seed(seed * 1000 + fold)
        model = make_backbone(images.shape[1:], num_classes)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=CrossEntropy())
        held_out_average = HeldOutAverage(images[held_out], from_logits=True)
        model.fit(_dataset(images[~held_out], labels[~held_out], batch_size, seed + fold, True),
                  epochs=epochs, verbose=0, shuffle=False,  # the pipeline shuffles
                  callbacks=[held_out_average] + ([] if progress is None else [
                      progress.next_training(f"cross-entropy, fold {fold + 1} of {folds} held out")]))
        probabilities[held_out] = held_out_average.probabilities()
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
                      folds=DEFAULT_FOLDS, epochs=DEFAULT_EPOCHS, crf_epochs=DEFAULT_CRF_EPOCHS,
                      batch_size=DEFAULT_BATCH_SIZE, learning_rate=DEFAULT_LEARNING_RATE, seed=0,
                      verbose=1, data_options=None):
    """Ranks every given label by how likely it is wrong, estimating the noise itself.

    k-fold cross-entropy gives out-of-sample probabilities (each held-out
    prediction averaged over the epochs); their confident joint estimates
    the noise matrix T and the clean prior; the robust CRF is trained on all
    examples with `p_aux` from that estimate and alpha annealed over all
    its epochs; each label is scored by the mean of the CRF's posterior
    (Eq. 10's `q`) and the held-out one (`clean_label_posterior`); see the
    module docstring for the recipe and why.
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
        epochs: epochs of each of the k cross-entropy trainings.
        crf_epochs: epochs of the robust CRF; alpha anneals 8 -> 0.1 over
            all of them and `q` is read at the end.
        batch_size, learning_rate: every training (Adam).
        seed: seed of the folds, weights and shuffling.
        verbose: 1 shows a progress bar over all `folds * epochs +
            crf_epochs` epochs; 0 is silent.
        data_options: keyword arguments of `tf_data.load_dataset` for a
            source name (`skip_bad_files`, `image_size`, `data_dir`).

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
    for name, value in (("epochs", epochs), ("crf_epochs", crf_epochs),
                        ("batch_size", batch_size)):
        validation.check_positive_int(value, name)
    validation.check_positive(learning_rate, "learning_rate")
    make_backbone = _backbone_factory(backbone)
    stratified_folds(labels, folds, num_classes, seed, class_names)  # fail before training
    progress = None
    if verbose:
        print(f"Auditing {len(labels)} labels of {num_classes} classes: {folds} cross-entropy "
              f"trainings of {epochs} epochs (one per held-out fold), then the robust CRF "
              f"({crf_epochs} epochs).")
        progress = _AuditProgress(folds + 1, folds * epochs + crf_epochs)
    probabilities = out_of_fold_probabilities(
        images, labels, num_classes, folds, make_backbone, epochs, batch_size,
        learning_rate, seed, progress, class_names)
    transition = confident_transition_matrix(probabilities, labels)
    prior = estimate_clean_prior(labels, transition)
    keras.utils.set_random_seed(seed * 1000 + folds)
    model = RobustCRFModel(make_backbone(images.shape[1:], num_classes),
                           AuxiliaryPosterior.from_transition_matrix(transition, prior),
                           alpha=DEFAULT_START)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    model.fit(_dataset(images, labels, batch_size, seed + folds, False), epochs=crf_epochs,
              verbose=0, shuffle=False,
              callbacks=[AlphaAnnealing(fraction=1.0),  # 8 -> 0.1, reached at the last step
                         ] + ([] if progress is None else [
                             progress.next_training("robust CRF with the estimated T")]))
    posterior = 0.5 * (model.regularised_posteriors(images, labels)
                       + clean_label_posterior(probabilities, labels, transition))
    flag_count = estimated_wrong_count(labels, prior, transition)
    issues = rank_label_issues(labels, suggest_for_most_suspicious(posterior, labels, flag_count),
                               wrong_label_probabilities(posterior, labels),
                               score_name="wrong_label_probability")
    return LabelIssueReport(
        issues=issues, given_labels=labels,
        estimated_transition=transition, class_prior=prior,
        out_of_fold_probabilities=probabilities, class_names=class_names, files=files,
        model=model)
