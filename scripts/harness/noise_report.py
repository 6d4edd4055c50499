"""A printable summary of a dataset after synthetic label noise."""

import numpy as np

from tf_data import noise as noise_lib
from tf_data import sources


def noise_summary(dataset, kind, rate, seed=0, exact=False):
    """Corrupts `dataset`'s training labels and describes the result.

    Args:
        dataset: an `ImageDataset`.
        kind: a noise kind of `tf_data.noise.NOISE_KINDS`.
        rate: noise rate in [0, 1].
        seed: corruption seed.
        exact: hit the pair counts exactly (see `corrupt_labels`).

    Returns:
        `(text, noisy)`: the report and the `NoisyLabels`.
    """
    matrix = noise_lib.transition_matrix(kind, dataset.num_classes, rate)
    noisy = noise_lib.corrupt_labels(dataset.y_train, matrix, seed, exact=exact)
    counts = dataset.class_counts("train")
    noisy_counts = np.bincount(noisy.labels, minlength=dataset.num_classes)
    width = max(5, max(len(n) for n in dataset.class_names))
    lines = [
        f"Dataset {dataset.name}: {len(dataset.x_train)} train / {len(dataset.x_test)} test "
        f"images of shape {dataset.image_shape}, {dataset.num_classes} classes.",
        f"Noise: kind={kind} rate={rate:g} seed={seed} exact={exact}. Convention: "
        "T[i, j] = P(noisy=j | clean=i), rows sum to 1.",
        "",
        "class".ljust(width) + "  clean  noisy  flipped",
    ]
    for c, name in enumerate(dataset.class_names):
        flipped = int(np.sum(noisy.is_corrupted & (noisy.clean_labels == c)))
        lines.append(f"{name.ljust(width)}  {counts[c]:5d}  {noisy_counts[c]:5d}  {flipped:7d}")
    lines += ["", "Realised noise matrix (row = clean class, column = noisy label):"]
    lines += ["  " + " ".join(f"{v:4.2f}" for v in row) for row in noisy.realised_matrix]
    lines += [
        "",
        f"Realised noise rate: {noisy.realised_rate:.4f} "
        f"({int(noisy.is_corrupted.sum())} of {len(noisy.labels)} labels changed); "
        f"nominal rate under this class prior: {noisy.nominal_rate:.4f}.",
    ]
    return "\n".join(lines), noisy


def summarize(name="digits", kind="mnist", rate=0.3, seed=0, exact=False, data_dir=None,
              download=False, source_options=None):
    """Loads dataset `name` (`source_options`: more `load_dataset` arguments) and returns
    `noise_summary`'s text."""
    dataset = sources.load_dataset(name, data_dir=data_dir, download=download,
                                   **(source_options or {}))
    return noise_summary(dataset, kind, rate, seed, exact)[0]
