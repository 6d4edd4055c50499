"""The labels of one run: a balanced labelled subset, corrupted, the rest unlabelled."""

import dataclasses

import numpy as np

import tf_data
from tf_data.noise import corrupt_within_classes


@dataclasses.dataclass(frozen=True)
class NoisySplit:
    """Labels of one run.

    Attributes:
        labels: `(n_train,)` observed labels, -1 for unlabelled images.
        labelled_indices: sorted indices of the labelled images.
        noisy: the `tf_data.NoisyLabels` of the labelled subset (its
            `clean_labels` and `is_corrupted` are for evaluation only).
    """

    labels: np.ndarray
    labelled_indices: np.ndarray
    noisy: object

    @property
    def is_corrupted(self):
        """Ground-truth corruption mask of the labelled subset (evaluation only)."""
        return self.noisy.is_corrupted

    def without_corrupted(self):
        """The same split with its corrupted labels made unlabelled (-1): an oracle.

        Uses the ground truth, so only the `clean_labels` bound of the UMN
        tables may call it: eps = 0 on the right labels and no weight at all
        on the wrong ones from the first step, what UMN would reach with an
        eps that knew the wrong labels. The wrong labels' images stay in the
        training set as unlabelled images; `labelled_indices` and `noisy`
        are kept.
        """
        labels = self.labels.copy()
        labels[self.labelled_indices[self.is_corrupted]] = -1
        return NoisySplit(labels, self.labelled_indices, self.noisy)


def make_noisy_split(data, num_labels, noise_rate, seed):
    """Balanced labelled subset of `num_labels`, corrupted at `noise_rate`."""
    num_classes = data.num_classes
    if num_labels % num_classes:
        raise ValueError(
            f"num_labels={num_labels} must be a multiple of the {num_classes} "
            "classes (the labelled set is class-balanced)."
        )
    labelled, _ = tf_data.labelled_unlabelled_split(
        data.y_train, num_labels // num_classes, num_classes, seed
    )
    noisy = corrupt_within_classes(data.y_train[labelled], noise_rate, num_classes, seed)
    labels = np.full(len(data.y_train), -1, dtype=np.int64)
    labels[labelled] = noisy.labels
    return NoisySplit(labels, labelled, noisy)
