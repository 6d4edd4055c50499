"""`LabelIssues`: every model's answer to "which of my labels are wrong?".

Each model of this project has `label_issues(x, y)`, which scores every given
label and returns a `LabelIssues`: example indices ranked by score (most
suspicious first), the given label, the label the model suggests and the
score. Multiclass labels are ints; multilabel ones are `(n, N)` multi-hot rows
(written to CSV as the `;`-separated indices of the present labels).
"""

import csv
import dataclasses
import os

import numpy as np

from tf_data import validation


@dataclasses.dataclass(frozen=True)
class LabelIssues:
    """Training labels ranked by a score of how likely each one is wrong.

    Build it with `rank_label_issues`; rows are sorted by `scores`,
    highest first (ties keep index order).

    Attributes:
        indices: `(k,)` int64 example indices into the data that was scored.
        given_labels: `(k,)` ints or `(k, N)` multi-hot rows: the labels given.
        suggested_labels: what the model believes instead, same layout.
        scores: `(k,)` float64, higher = more likely the given label is wrong.
        score_name: what the score is (the CSV column header), e.g.
            `"wrong_label_probability"`.

    Example:

    >>> issues = model.label_issues(x_train, y_train)
    >>> issues.indices[:10]          # the ten most suspicious examples
    >>> issues.flagged().to_csv("suspected_labels.csv")
    """

    indices: np.ndarray
    given_labels: np.ndarray
    suggested_labels: np.ndarray
    scores: np.ndarray
    score_name: str = "score"

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, rows):
        """The issues at `rows` (a slice, int array or bool mask over the ranked rows)."""
        if isinstance(rows, (int, np.integer)):
            rows = [rows]
        return dataclasses.replace(
            self, indices=self.indices[rows], given_labels=self.given_labels[rows],
            suggested_labels=self.suggested_labels[rows], scores=self.scores[rows])

    @property
    def disagrees(self):
        """`(k,)` bool: the suggested label differs from the given one."""
        differs = self.given_labels != self.suggested_labels
        return differs.any(axis=1) if differs.ndim > 1 else differs

    def flagged(self):
        """Only the rows whose suggested label differs from the given one."""
        return self[self.disagrees]

    def top(self, count):
        """The `count` most suspicious rows."""
        return self[:count]

    def to_csv(self, path, files=None, class_names=None):
        """Writes `index, given_label, suggested_label, <score_name>`, ranked; returns `path`.

        Args:
            path: the CSV file.
            files: optional path of every example of the scored data
                (`ImageDataset.train_files`), indexed like `indices`; adds a
                last column `file` naming the file behind each row.
            class_names: optional names of the classes; adds columns
                `given_class` and `suggested_class` after the score.
        """
        if files is not None and len(self.indices) and int(np.max(self.indices)) >= len(files):
            raise ValueError(
                f"files names {len(files)} examples but an index reaches "
                f"{int(np.max(self.indices))}; pass the file table of the data that was scored.")
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["index", "given_label", "suggested_label", self.score_name]
                            + ([] if class_names is None else ["given_class", "suggested_class"])
                            + ([] if files is None else ["file"]))
            for index, given, suggested, score in zip(
                    self.indices, self.given_labels, self.suggested_labels, self.scores):
                writer.writerow([int(index), _label_text(given), _label_text(suggested),
                                 f"{float(score):.6f}"]
                                + ([] if class_names is None else
                                   [_label_text(given, class_names),
                                    _label_text(suggested, class_names)])
                                + ([] if files is None else [files[int(index)]]))
        return path


def _label_text(label, names=None):
    """An int label, or the `;`-joined present labels of a multi-hot row (by name if given)."""
    label = np.asarray(label)
    present = [int(label)] if label.ndim == 0 else np.flatnonzero(label).tolist()
    return ";".join(str(k) if names is None else str(names[k]) for k in present)


def rank_label_issues(given_labels, suggested_labels, scores, indices=None,
                      score_name="score"):
    """Ranks given labels by `scores`, most suspicious first.

    Args:
        given_labels: `(n,)` int labels or `(n, N)` multi-hot rows.
        suggested_labels: the model's labels, same shape.
        scores: `(n,)` finite floats, higher = more likely wrong.
        indices: `(n,)` example indices; default `arange(n)`.
        score_name: the score's name (CSV header).

    Returns:
        A `LabelIssues` with all `n` rows, sorted by score (stable).
    """
    given = np.asarray(given_labels)
    suggested = np.asarray(suggested_labels)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if given.shape != suggested.shape:
        raise ValueError(f"given_labels {given.shape} and suggested_labels {suggested.shape} "
                         "must have the same shape.")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or inf; check the model's outputs.")
    indices = np.arange(len(given)) if indices is None else np.asarray(indices).reshape(-1)
    validation.check_same_length(given_labels=given, suggested_labels=suggested,
                                 scores=scores, indices=indices)
    order = np.argsort(-scores, kind="stable")
    return LabelIssues(indices[order].astype(np.int64), given[order], suggested[order],
                       scores[order], score_name)


def _checked_posterior(posterior, given_labels):
    """`(posterior (n, C) float64, given (n,) int64)`, or a ValueError saying what is wrong."""
    posterior = np.asarray(posterior, dtype=np.float64)
    if posterior.ndim != 2:
        raise ValueError(f"posterior must be (n, classes), got shape {posterior.shape}.")
    given = validation.check_labels(given_labels, posterior.shape[1], "given_labels")
    validation.check_same_length(posterior=posterior, given_labels=given)
    return posterior, given


def wrong_label_probabilities(posterior, given_labels):
    """`1 - posterior[n, given[n]]`: the probability that each given label is wrong.

    Args:
        posterior: `(n, C)` probabilities of the clean label.
        given_labels: `(n,)` int labels in `[0, C)`.

    Returns:
        `(n,)` float64.

    Example:

    >>> wrong_label_probabilities(np.array([[0.9, 0.1], [0.3, 0.7]]), [0, 0])
    array([0.1, 0.7])
    """
    posterior, given = _checked_posterior(posterior, given_labels)
    return 1.0 - posterior[np.arange(len(given)), given]


def suggest_for_most_suspicious(posterior, given_labels, count):
    """Suggested labels that flag the `count` given labels most likely to be wrong.

    A label is wrong with probability `1 - posterior[given]`. The `count`
    highest of those are flagged, each with the most probable other class
    as its suggestion; every other label keeps its own. Separating the
    ranking (which a posterior does well) from how many to flag (which a
    noise estimate says, e.g. `robustcrf.estimated_wrong_count`) avoids
    tying the flags to the posterior's calibration: a cut at 1/2 flags too
    many labels when the posterior is not yet sharp, and "the most
    probable class differs" too few when a wrong label's mass is spread
    over several classes.

    Args:
        posterior: `(n, C)` probabilities of the clean label.
        given_labels: `(n,)` int labels in `[0, C)`.
        count: how many labels to flag, in `[0, n]`; ties at the cut keep
            the earlier example.

    Returns:
        `(n,)` int64 suggested labels, differing from the given ones at
        exactly `count` examples: those with the highest
        `1 - posterior[i, given[i]]`.

    Example:

    >>> suggest_for_most_suspicious(np.array([[0.4, 0.35, 0.25], [0.6, 0.4, 0.0]]), [0, 0], 1)
    array([1, 0])
    """
    posterior, given = _checked_posterior(posterior, given_labels)
    if (isinstance(count, bool) or not isinstance(count, (int, np.integer))
            or not 0 <= count <= len(given)):
        raise ValueError(f"count must be an integer in [0, {len(given)}] (the number of "
                         f"labels to flag), got {count!r}.")
    rows = np.arange(len(given))
    others = posterior.copy()
    others[rows, given] = -np.inf
    flagged = np.zeros(len(given), dtype=bool)
    flagged[np.argsort(posterior[rows, given], kind="stable")[:count]] = True
    return np.where(flagged, others.argmax(axis=1), given).astype(np.int64)


def issues_from_probabilities(probabilities, given_labels, indices=None):
    """Label issues from a classifier's probabilities of the clean label.

    Multiclass (`(n, C)` softmax rows, `(n,)` given ints): the suggestion is
    the most probable class and the score `1 - p(given | x)`, the probability
    that the given label is wrong. Multilabel (`(n, N)` independent
    probabilities, `(n, N)` multi-hot given rows): the suggestion is
    `p > 0.5` per label and the score `max_k |given_k - p_k|`, the
    probability that the most doubtful label of the example is wrong.

    Returns:
        A `LabelIssues` ranked by that score, `score_name` `"wrong_label_probability"`.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    given = np.asarray(given_labels)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must be (n, classes), got shape {probabilities.shape}.")
    if given.ndim == 1:
        given = validation.check_labels(given, probabilities.shape[1], "given_labels")
        validation.check_same_length(probabilities=probabilities, given_labels=given)
        scores = 1.0 - probabilities[np.arange(len(given)), given]
        suggested = probabilities.argmax(axis=1).astype(np.int64)
    else:
        if given.shape != probabilities.shape:
            raise ValueError(f"Multi-hot given_labels {given.shape} must match the "
                             f"probabilities {probabilities.shape}.")
        scores = np.abs(given - probabilities).max(axis=1)
        suggested = (probabilities > 0.5).astype(given.dtype)
    return rank_label_issues(given, suggested, scores, indices, "wrong_label_probability")
