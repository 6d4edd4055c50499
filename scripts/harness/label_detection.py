"""Pure metrics of label-error detection: Table 3's eps flags and any flagged set."""

import numpy as np
from sklearn import metrics as sk_metrics

from scripts.harness import reporting


def otsu_threshold(values, bins=256):
    """Otsu's threshold of a 1-D sample: the cut maximising between-class variance.

    Table 3's rule for the paper's eps (for an eps that is a probability
    of a wrong label it cuts at 0.5). The paper's rule, "corrupted if eps > 0",
    is scored beside it (`f1_eps_positive`), but it is a statement about
    float precision rather than a ranking: in float32, eps is exactly 0
    only where the label's probability is exactly 1.0 (in the guider for
    the disbelief; in learner and guider both for the
    paper's Eq. 11), so the rule flags every label not saturated on.
    The paper's Figure 4b shows eps becoming bimodal, so we split the
    final eps at the threshold that best separates two modes. It needs no
    knowledge of the noise rate and no clean set.

    Args:
        values: eps values.
        bins: histogram resolution.

    Returns:
        A float threshold; labels with `eps > threshold` are flagged. For a
        constant sample, that constant (nothing flagged).
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return high
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    centres = 0.5 * (edges[:-1] + edges[1:])
    weight_below = np.cumsum(counts)[:-1]
    weight_above = len(values) - weight_below
    sum_below = np.cumsum(counts * centres)[:-1]
    mean_below = sum_below / np.maximum(weight_below, 1)
    mean_above = (np.sum(counts * centres) - sum_below) / np.maximum(weight_above, 1)
    between = weight_below * weight_above * np.square(mean_below - mean_above)
    # Well separated modes leave a flat maximum over the empty gap between
    # them; cut in the middle of it rather than at its first edge.
    best = np.flatnonzero(between >= between.max() * (1.0 - 1e-9))
    return float(edges[1:-1][best[len(best) // 2]])


def resolve_threshold(threshold, eps):
    """`"otsu"` -> `otsu_threshold(eps)`; a number -> that float."""
    if isinstance(threshold, str):
        if threshold.lower() == "otsu":
            return otsu_threshold(eps)
        try:
            threshold = float(threshold)
        except ValueError:
            raise ValueError(
                f"threshold must be 'otsu' or a number (Table 3 also takes 'auto'), got "
                f"{threshold!r}."
            ) from None
    value = float(threshold)
    if not np.isfinite(value):
        raise ValueError(f"threshold must be finite, got {threshold!r}.")
    return value


def flag_detection_scores(is_corrupted, flagged, scores):
    """Precision, recall, F1 of a set of flagged labels and ROC AUC of their scores.

    Args:
        is_corrupted: `(n,)` bool ground truth (evaluation only).
        flagged: `(n,)` bool, the labels a method calls wrong.
        scores: `(n,)` floats, higher = more suspicious (ranks every label).

    Returns:
        Dict with `precision`, `recall`, `f1`, `flagged` (count) and
        `roc_auc` (NaN when only one class is present).
    """
    result = reporting.flagged_label_scores(np.asarray(is_corrupted, dtype=bool), flagged)
    result["roc_auc"] = roc_auc(is_corrupted, scores)
    return result


def roc_auc(is_corrupted, scores):
    """ROC AUC of `scores` (higher = more suspicious) for the corrupted labels; NaN if one class."""
    truth = np.asarray(is_corrupted, dtype=bool)
    if not 0 < truth.sum() < len(truth):
        return float("nan")
    return float(sk_metrics.roc_auc_score(truth, np.asarray(scores, dtype=np.float64).ravel()))


def detection_scores(is_corrupted, eps, threshold):
    """Precision, recall, F1 (flag = `eps > threshold`) and ROC AUC of eps.

    Args:
        is_corrupted: `(n,)` bool ground truth (evaluation only).
        eps: `(n,)` label uncertainties.
        threshold: float.

    Returns:
        Dict with `precision`, `recall`, `f1`, `roc_auc` (NaN when only one
        class is present), `threshold` and `flagged` (count).
    """
    eps = np.asarray(eps, dtype=np.float64)
    scores = flag_detection_scores(is_corrupted, eps > threshold, eps)
    return {"precision": scores["precision"], "recall": scores["recall"], "f1": scores["f1"],
            "roc_auc": scores["roc_auc"], "threshold": float(threshold),
            "flagged": scores["flagged"]}


def roc_auc_by_epoch(is_corrupted, eps_per_epoch):
    """ROC AUC of eps as a score for the corrupted labels, at every recorded epoch.

    Tests the paper's reading of its Figure 4b (eps separates the corrupted
    labels more and more as training goes on): an AUC above 0.5 ranks them
    first, below 0.5 ranks the clean labels first.

    Args:
        is_corrupted: `(n,)` bool ground truth (evaluation only).
        eps_per_epoch: list of `(n,)` eps arrays, one per epoch.

    Returns:
        A list of floats, one per epoch (NaN when only one class is present).

    Example:

    >>> roc_auc_by_epoch([True, False], [[0.9, 0.1], [0.1, 0.9]])
    [1.0, 0.0]
    """
    return [roc_auc(is_corrupted, eps) for eps in eps_per_epoch]


def log_spaced_epochs(num_epochs, count=5):
    """About `count` epochs (1-based) from the first to the last, evenly spaced in log scale.

    >>> log_spaced_epochs(120)
    [1, 3, 11, 36, 120]
    """
    return [int(e) for e in np.unique(np.geomspace(1, max(1, num_epochs), count).round())]
