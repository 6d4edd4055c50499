"""`LabelIssueReport`: the answer of `robustcrf.find_label_issues`."""

import dataclasses

import numpy as np

from robustcrf.transition_estimation import estimated_wrong_shares
from tf_data.label_issues import LabelIssues


@dataclasses.dataclass(frozen=True)
class LabelIssueReport:
    """Every given label ranked by how likely it is wrong, with the noise behind it.

    Attributes:
        issues: a `tf_data.LabelIssues` over all `n` examples, most
            suspicious first: index, given label, suggested label and score
            (`1 - P(given | x, given)` under the mean of the CRF's `q`, Eq. 10,
            and the held-out `clean_label_posterior`). The highest scores are
            flagged (their suggestion differs: the most probable other
            class), as many as the estimated noise implies
            (`estimated_wrong_count`).
        given_labels: `(n,)` the labels that were audited.
        estimated_transition: `(C, C)` estimated `T[i, j] = P(given=j | clean=i)`.
        class_prior: `(C,)` estimated share of every clean class.
        out_of_fold_probabilities: `(n, C)` `p(given label | x)` of the
            cross-entropy network that did not train on the example (its
            fold was held out): the input of the noise estimate and of the
            held-out half of the scores (`clean_label_posterior`).
        class_names: C names.
        files: the file behind every example (`folder:PATH` data), or None.
        model: the trained `RobustCRFModel` (a robust classifier in its own
            right: `predict` gives `p(clean | x)`, `export` serves it). Its
            own `label_issues` scores by `q` alone, without the held-out
            half, so it ranks somewhat differently from `issues`.

    Example:

    >>> report = robustcrf.find_label_issues("folder:photos")
    >>> report.records(5)[0]   # {'index': 17, 'file': 'photos/cat/17.jpg', 'given_class': 'cat', ...}
    >>> report.to_csv("label_issues.csv")        # the flagged labels, ranked
    >>> report.class_summary()[0]                # per class: how many look wrong
    """

    issues: LabelIssues
    given_labels: np.ndarray
    estimated_transition: np.ndarray
    class_prior: np.ndarray
    out_of_fold_probabilities: np.ndarray
    class_names: tuple
    files: tuple = None
    model: object = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def num_classes(self):
        return len(self.class_names)

    def flagged(self):
        """The label issues: rows whose suggested label differs from the given one."""
        return self.issues.flagged()

    def scores_by_example(self):
        """`(n,)` scores in example order (the ranked `issues` put back in place)."""
        scores = np.empty(len(self.issues))
        scores[self.issues.indices] = self.issues.scores
        return scores

    def flags_by_example(self):
        """`(n,)` bool in example order: is the example's label flagged as wrong?"""
        flags = np.zeros(len(self.issues), dtype=bool)
        flags[self.issues.indices] = self.issues.disagrees
        return flags

    def estimated_wrong_shares(self):
        """`(C,)` share of the examples given each label whose clean class differs.

        From the estimated noise alone, `1 - P(clean = j | given = j)` with
        `P(clean = i | given = j) ∝ prior_i T[i, j]`: how dirty the noise
        model believes each label is, whichever examples those are.
        """
        return estimated_wrong_shares(self.class_prior, self.estimated_transition)

    def class_summary(self):
        """Per given label: examples, flagged ones, and the estimated share of wrong labels.

        Returns:
            A list of C dicts with keys `label`, `class`, `examples`,
            `flagged`, `flagged_share` (flagged / examples: the finder's
            count), `estimated_wrong_share` (the noise model's,
            `estimated_wrong_shares`) and `most_suggested` (the class most
            often suggested instead, or None).
        """
        flags = self.flags_by_example()
        suggested = np.empty(len(self.issues), dtype=np.int64)
        suggested[self.issues.indices] = self.issues.suggested_labels
        wrong_shares = self.estimated_wrong_shares()
        rows = []
        for label, name in enumerate(self.class_names):
            mine = self.given_labels == label
            flagged = flags & mine
            alternatives = np.bincount(suggested[flagged], minlength=self.num_classes)
            rows.append({
                "label": label, "class": name, "examples": int(mine.sum()),
                "flagged": int(flagged.sum()),
                "flagged_share": float(flagged.sum() / max(mine.sum(), 1)),
                "estimated_wrong_share": float(wrong_shares[label]),
                "most_suggested": (self.class_names[int(alternatives.argmax())]
                                   if flagged.any() else None),
            })
        return rows

    def confused_pairs(self, top=10):
        """The (given, suggested) class pairs most often flagged, most frequent first.

        Returns:
            Up to `top` dicts with keys `given`, `suggested` (class names),
            `given_label`, `suggested_label` and `count`.
        """
        flagged = self.flagged()
        counts = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        np.add.at(counts, (flagged.given_labels, flagged.suggested_labels), 1)
        order = np.argsort(-counts, axis=None, kind="stable")[:top]
        return [{"given": self.class_names[j], "suggested": self.class_names[k],
                 "given_label": int(j), "suggested_label": int(k), "count": int(counts[j, k])}
                for j, k in zip(*np.unravel_index(order, counts.shape)) if counts[j, k] > 0]

    def records(self, count=None, flagged_only=True):
        """The label issues as dicts, most suspicious first.

        Args:
            count: at most this many (None: all).
            flagged_only: only labels whose suggestion differs (the issues).

        Returns:
            Dicts with `index`, `file` (or None), `given_label`,
            `suggested_label`, `given_class`, `suggested_class` and `score`.
        """
        rows = (self.flagged() if flagged_only else self.issues)
        rows = rows if count is None else rows.top(count)
        return [{"index": int(index),
                 "file": None if self.files is None else self.files[int(index)],
                 "given_label": int(given), "suggested_label": int(suggested),
                 "given_class": self.class_names[int(given)],
                 "suggested_class": self.class_names[int(suggested)], "score": float(score)}
                for index, given, suggested, score in zip(
                    rows.indices, rows.given_labels, rows.suggested_labels, rows.scores)]

    def to_csv(self, path, all_rows=False):
        """Writes the flagged labels (all rows with `all_rows`), ranked, with class names
        and files; returns `path`."""
        rows = self.issues if all_rows else self.flagged()
        return rows.to_csv(path, files=self.files, class_names=self.class_names)

    def summary(self):
        """A JSON-ready dict: counts, the per-class summary, confused pairs and T."""
        flags = self.flags_by_example()
        return {
            "examples": len(self.given_labels),
            "flagged": int(flags.sum()),
            "flagged_share": float(flags.mean()),
            "classes": self.class_summary(),
            "confused_pairs": self.confused_pairs(),
            "estimated_transition": np.round(self.estimated_transition, 4).tolist(),
            "estimated_class_prior": np.round(self.class_prior, 4).tolist(),
            "class_names": list(self.class_names),
        }
