"""Label spreading on the images' principal components: a view of each label from the others.

UMN's learner and guider are trained on the labels they are asked to judge
and come to believe many of the wrong ones (README, "Uncertainty Mining
Net", Table 3). A classifier that never sees a row's own label cannot
memorise it. Zhou et al.'s label spreading (scikit-learn's
`LabelSpreading`, a kNN graph over labelled and unlabelled rows) is such a
classifier that also uses the unlabelled images, and it is cheap enough to
refit once per fold. Its users: `umn.noise_rate.estimate_noise_rate` (how
many labels are wrong), `held_out_label_posterior` (which ones, through
`label_issues(score="with_held_out")`) and `held_out_disbelief`, half of
UMN's default eps (`uncertainty="with_held_out"`) under
`held_out_view="label_spreading"` and where the default cross-fitted view's
fold models learned too little (`umn.cross_fitted.or_label_spreading`).
"""

import dataclasses

import numpy as np
from sklearn.decomposition import PCA
from sklearn.semi_supervised import LabelSpreading

from tf_data import validation
from umn.partial_labels import check_partial_labels
from umn.partial_labels import disbelief_of_labels

DEFAULT_COMPONENTS = 50
DEFAULT_NEIGHBOURS = 7
DEFAULT_MAX_UNLABELLED = 10_000
DEFAULT_FOLDS = 5


def principal_components(images, num_components, seed):
    """The first `num_components` principal components of flattened images.

    Args:
        images: `(n, ...)` images or feature vectors.
        num_components: at most this many components (fewer if the rows or
            the pixels are fewer).
        seed: int seed of the (randomised) PCA solver.

    Returns:
        `(n, k)` float array.
    """
    flat = np.asarray(images).reshape(len(images), -1)
    components = min(num_components, flat.shape[1], len(flat))
    return PCA(components, random_state=seed).fit_transform(flat)


def _fitted_label_spreading(features, labels, num_neighbours):
    """Zhou et al.'s label spreading (scikit-learn's `LabelSpreading`) fitted on a kNN graph.

    Its `label_distributions_` has one column per class present in `labels`
    (`classes_`) and all-zero rows where a kNN component holds no label.
    """
    return LabelSpreading(kernel="knn", n_neighbors=num_neighbours).fit(features, labels)


def label_spreading_predictions(features, labels, num_neighbours):
    """Every row's most probable class under label spreading.

    Args:
        features: `(n, D)` features of every row.
        labels: `(n,)` labels, -1 for the rows to predict.
        num_neighbours: k of the kNN graph.

    Returns:
        `(n,)` int64 classes among those present in `labels` (a row left
        without mass gets the lowest of them).
    """
    model = _fitted_label_spreading(features, labels, num_neighbours)
    return model.classes_[np.argmax(model.label_distributions_, axis=1)].astype(np.int64)


def label_spreading_distributions(features, labels, num_neighbours, num_classes):
    """Every row's class distribution under label spreading, over all C classes.

    Args:
        features: `(n, D)` features of every row.
        labels: `(n,)` labels in `[0, C)`, -1 for the rows to predict.
        num_neighbours: k of the kNN graph.
        num_classes: C.

    Returns:
        `(n, C)` float64 rows summing to 1; classes absent from `labels` get
        0, and a row the graph leaves without mass (a kNN component
        holding no label) is uniform.
    """
    model = _fitted_label_spreading(features, labels, num_neighbours)
    distributions = np.zeros((len(features), num_classes))
    distributions[:, model.classes_] = model.label_distributions_
    totals = distributions.sum(axis=1, keepdims=True)
    return np.where(totals > 0, distributions / np.where(totals > 0, totals, 1.0),
                    1.0 / num_classes)


def balanced_parts(observed, num_parts, rng, in_one_run=False):
    """Deals the labelled rows into `num_parts` parts, every class spread evenly.

    Each class's rows are shuffled and dealt round-robin, starting at a
    random part so that leftover rows do not pile up in part 0. With fewer
    rows than parts in every class a part can stay empty (callers check).
    `in_one_run=True` deals the classes' shuffled rows one class after the
    other in a single round-robin from one random part instead: every part
    gets `n // num_parts` or one more rows (none is empty when
    `n >= num_parts`).

    Args:
        observed: `(n,)` labels of the labelled rows.
        num_parts: how many parts.
        rng: a `np.random.Generator`.
        in_one_run: one round-robin over all classes instead of one per class.

    Returns:
        `(n,)` int64 part index in `[0, num_parts)` per row.
    """
    part = np.empty(len(observed), dtype=np.int64)
    shuffled = []
    for label in np.unique(observed):
        members = rng.permutation(np.flatnonzero(observed == label))
        if in_one_run:
            shuffled.append(members)
        else:   # each class's start drawn right after its shuffle
            part[members] = (np.arange(len(members)) + rng.integers(num_parts)) % num_parts
    if in_one_run:
        order = np.concatenate(shuffled)
        part[order] = (np.arange(len(order)) + rng.integers(num_parts)) % num_parts
    return part


def nonempty_balanced_parts(observed, num_parts, rng):
    """`balanced_parts`, dealt again in one run where a part came out empty.

    Classes with fewer rows than parts can leave a part empty (each class
    starts at its own random part); then every row is dealt in one
    round-robin instead (`in_one_run=True`), which fills every part when
    there are at least `num_parts` rows.

    Args:
        observed: `(n,)` labels of the labelled rows.
        num_parts: how many parts.
        rng: a `np.random.Generator`.

    Returns:
        `(n,)` int64 part index in `[0, num_parts)` per row.
    """
    part = balanced_parts(observed, num_parts, rng)
    if np.any(np.bincount(part, minlength=num_parts) == 0):
        part = balanced_parts(observed, num_parts, rng, in_one_run=True)
    return part


def checked_graph_inputs(images, labels, num_classes, **sizes):
    """Images and partial labels checked at the boundary, and sizes that must be positive ints.

    Args:
        images: `(n, ...)` images or feature vectors.
        labels: `(n,)` labels in `[0, C)`, -1 for unlabelled rows.
        num_classes: C.
        **sizes: `name=value` settings that must be positive ints.

    Returns:
        `(features, labels)`: the checked arrays (labels as int64).

    Raises:
        ValueError: labels out of range or not 1-D, no labelled row, images
            that do not match the labels, or a size that is not a positive int.
    """
    features = validation.check_inputs(images, "images")
    labels = check_partial_labels(labels, num_classes)
    validation.check_same_length(images=features, labels=labels)
    for name, value in sizes.items():
        validation.check_positive_int(value, name)
    return features, labels


@dataclasses.dataclass(frozen=True)
class SpreadingGraph:
    """The rows label spreading runs on: every labelled row first, then unlabelled ones.

    Attributes:
        observed: `(m,)` labels of the labelled rows (in position order).
        features: `(m + u, k)` principal components of the graph's rows.
        num_neighbours: k of the kNN graph (capped at the rows less one).
    """

    observed: np.ndarray
    features: np.ndarray
    num_neighbours: int

    def labels_where(self, keep):
        """`(m + u,)` graph labels: the observed label where `keep` (`(m,)` bool), else -1."""
        graph_labels = np.full(len(self.features), -1, dtype=np.int64)
        graph_labels[:len(self.observed)][keep] = self.observed[keep]
        return graph_labels


def spreading_graph(features, labels, num_components, num_neighbours, max_unlabelled, rng,
                    seed):
    """The graph of every labelled row and at most `max_unlabelled` unlabelled ones.

    Args:
        features: `(n, ...)` checked images or feature vectors.
        labels: `(n,)` checked labels, -1 unlabelled.
        num_components: principal components kept.
        num_neighbours: k of the kNN graph.
        max_unlabelled: cap on the unlabelled rows (a random subset drawn
            from `rng`, which bounds the cost on large sets).
        rng: a `np.random.Generator`.
        seed: int seed of the PCA.

    Returns:
        A `SpreadingGraph`.
    """
    labelled = np.flatnonzero(labels >= 0)
    unlabelled = np.flatnonzero(labels < 0)
    if len(unlabelled) > max_unlabelled:
        unlabelled = np.sort(rng.choice(unlabelled, max_unlabelled, replace=False))
    rows = np.concatenate([labelled, unlabelled])
    return SpreadingGraph(labels[labelled], principal_components(features[rows], num_components,
                                                                 seed),
                          min(num_neighbours, len(rows) - 1))


def held_out_label_posterior(images, labels, num_classes, folds=DEFAULT_FOLDS,
                             num_components=DEFAULT_COMPONENTS,
                             num_neighbours=DEFAULT_NEIGHBOURS,
                             max_unlabelled=DEFAULT_MAX_UNLABELLED, seed=0):
    """Each labelled row's class distribution from label spreading that never saw its label.

    The labelled rows are dealt into `folds` class-balanced parts; for each
    part, label spreading (kNN graph on the images' first `num_components`
    principal components, with up to `max_unlabelled` unlabelled rows in
    the graph) is fitted on the labels of the other parts and read on the
    part's rows. (Where classes have fewer rows than folds and the
    class-by-class dealing leaves a part empty, the rows are dealt in one
    run instead, `balanced_parts(in_one_run=True)`.) A row's
    output therefore depends on its image and on the other rows' labels,
    never on its own label: a wrong label cannot vouch for itself, as it
    does in a model trained on it.

    Averaged with a UMN guider's posterior it is UMN's default eps and
    `UncertaintyMiningNet.label_issues`' default detector under
    `held_out_view="label_spreading"` (README, "Uncertainty Mining Net").

    Args:
        images: `(n, H, W[, K])` images or `(n, D)` feature vectors.
        labels: `(n,)` observed labels in `[0, C)`, -1 for unlabelled rows.
        num_classes: C.
        folds: parts the labels are dealt into (>= 2).
        num_components: principal components the classifier works on.
        num_neighbours: k of the kNN graph.
        max_unlabelled: at most this many unlabelled rows (a random subset)
            enter the graph.
        seed: int seed of the folds, the subset and the PCA.

    Returns:
        `(m, C)` float64 rows summing to 1, one per labelled row in the
        order of `np.flatnonzero(labels >= 0)`.

    Raises:
        ValueError: labels out of range, no labelled row, fewer labelled
            rows than folds, `folds < 2`, a non-positive `num_components`,
            `num_neighbours` or `max_unlabelled`, or images that do not
            match the labels.

    Example:

    >>> posterior = held_out_label_posterior(x_train, labels, 10)  # labels: -1 unlabelled
    >>> wrong = 1.0 - posterior[np.arange(len(posterior)), labels[labels >= 0]]
    """
    features, labels = checked_graph_inputs(
        images, labels, num_classes, num_components=num_components,
        num_neighbours=num_neighbours, max_unlabelled=max_unlabelled, folds=folds)
    if folds < 2:
        raise ValueError(f"folds must be at least 2 (one part held out, the rest "
                         f"labelled), got {folds}.")
    num_labelled = int(np.sum(labels >= 0))
    if num_labelled < folds:
        raise ValueError(f"held_out_label_posterior needs at least folds={folds} labelled "
                         f"rows, got {num_labelled}; pass fewer folds.")
    rng = np.random.default_rng(seed)
    graph = spreading_graph(features, labels, num_components, num_neighbours, max_unlabelled,
                            rng, seed)
    part = nonempty_balanced_parts(graph.observed, folds, rng)
    posterior = np.empty((num_labelled, num_classes))
    for fold in range(folds):
        held = part == fold
        distributions = label_spreading_distributions(
            graph.features, graph.labels_where(~held), graph.num_neighbours, num_classes)
        posterior[held] = distributions[:num_labelled][held]
    return posterior


def held_out_posterior_of_labels(images, labels, num_classes, seed=0):
    """`held_out_label_posterior` with as many folds as the labels allow (at most 5).

    Args:
        images: `(n, H, W[, K])` images, labelled and unlabelled.
        labels: `(n,)` observed labels in `[0, C)`, -1 for unlabelled rows.
        num_classes: C.
        seed: int seed of the folds, the subset and the PCA.

    Returns:
        `(m, C)` float64, one row per labelled row in the order of
        `np.flatnonzero(labels >= 0)`.

    Raises:
        ValueError: fewer than 2 labelled rows (each is judged from the
            others' labels), or as `held_out_label_posterior`.
    """
    num_labelled = int(np.sum(np.asarray(labels) >= 0))
    if num_labelled < 2:
        raise ValueError(
            f"A held-out label posterior needs at least 2 labelled rows (each is judged from "
            f"the others' labels), got {num_labelled}; score such labels with the model "
            "alone (score='disbelief', uncertainty='disbelief').")
    return held_out_label_posterior(images, labels, num_classes,
                                    folds=min(DEFAULT_FOLDS, num_labelled), seed=seed)


def held_out_disbelief(images, labels, num_classes, seed=0):
    """Each row's `1 - p(y_obs | x)` under a posterior that never saw its own label.

    The held-out half of UMN's default eps (`uncertainty="with_held_out"`)
    under `held_out_view="label_spreading"`: `held_out_posterior_of_labels`
    read at each row's given label. Computed once, before training, from
    the whole training set (the unlabelled images shape the kNN graph);
    `umn.semi_supervised_stream` carries it in the batches under
    `tf_data.batch_keys.HELD_OUT_DISBELIEF_KEY` by default.

    Args:
        images: `(n, H, W[, K])` training images, labelled and unlabelled.
        labels: `(n,)` observed labels in `[0, C)`, -1 for unlabelled rows.
        num_classes: C.
        seed: int seed of the folds, the subset and the PCA.

    Returns:
        `(n,)` float32 in [0, 1]; 0 on unlabelled rows (never read).

    Raises:
        ValueError: fewer than 2 labelled rows, labels out of range, or
            images that do not match the labels.

    Example:

    >>> disbelief = held_out_disbelief(x_train, labels, 10)   # labels: -1 unlabelled
    >>> stream, steps = umn.semi_supervised_stream(x_train, labels, 10, 5, 95, seed=0,
    ...                                            held_out_disbelief=disbelief)
    """
    labels = check_partial_labels(labels, num_classes)
    return disbelief_of_labels(
        held_out_posterior_of_labels(images, labels, num_classes, seed=seed), labels)
