"""Estimators of the noise transition matrix `T` from a noisy-label classifier.

Two estimators, both reading `T[i, j] = P(noisy=j | clean=i)` off the class
probabilities of a network trained on the noisy labels:

* `estimate_transition_matrix`: Patrini et al.'s (2017) anchor points, below.
* `confident_transition_matrix`: Northcutt et al.'s (2021) confident joint,
  which also uses the given labels; see its docstring.

Patrini's anchor-point estimator:

Train a network on the noisy labels with cross-entropy; its softmax then
approximates `p(y | x) = sum_i T[i, y] p(y_hat = i | x)`. An "anchor point"
of clean class i is an x with `p(y_hat = i | x) = 1`, where `p(y | x)` is
row i of T. The estimator takes, for every class i, the example with the
largest `p(y = i | x)` as class i's anchor and reads off `T[i, :]`. With the
outlier filter (Patrini's default), examples at or above the 97th percentile
of `p(y = i | x)` are ignored first, because the very top scores are often
over-confident memorised noise.
"""

import numpy as np

from tf_data import validation

ANCHOR_PERCENTILE = 97.0


def estimate_transition_matrix(noisy_probabilities, filter_outliers=True,
                               percentile=ANCHOR_PERCENTILE):
    """Estimates `T[i, j] = P(noisy=j | clean=i)` from noisy-class probabilities.

    Args:
        noisy_probabilities: `(n, C)` softmax outputs of a network trained on
            the noisy labels (rows summing to 1).
        filter_outliers: drop examples at or above the `percentile`-th
            percentile of each class's score before picking the anchor
            (Patrini's `filter_outlier=True`; percentile taken with
            `method="higher"` as in their code).
        percentile: the percentile, in (0, 100].

    Returns:
        `(C, C)` float64 row-stochastic estimate of T.

    Example:

    >>> probabilities = keras.ops.softmax(cross_entropy_model.predict(x_train))
    >>> T_hat = estimate_transition_matrix(probabilities)
    """
    probabilities = _check_probabilities(noisy_probabilities)
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile must lie in (0, 100], got {percentile!r}.")
    num_classes = probabilities.shape[1]
    estimate = np.empty((num_classes, num_classes))
    for clean in range(num_classes):
        scores = probabilities[:, clean].copy()
        if filter_outliers:
            threshold = np.percentile(scores, percentile, method="higher")
            below = scores < threshold
            if np.any(below):  # All-equal scores leave nothing below; keep them.
                scores[~below] = -np.inf
        estimate[clean] = probabilities[int(np.argmax(scores))]
    return estimate / estimate.sum(axis=1, keepdims=True)


def _check_probabilities(noisy_probabilities):
    """`(n, C)` float64 probabilities, or a ValueError saying what is wrong."""
    probabilities = np.asarray(noisy_probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        raise ValueError(
            f"noisy_probabilities must be (n, C) with C >= 2, got shape {probabilities.shape}."
        )
    if probabilities.shape[0] == 0:
        raise ValueError("noisy_probabilities is empty: pass the network's outputs on the "
                         "training set.")
    if (not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0)
            or np.any(np.abs(probabilities.sum(axis=1) - 1.0) > 1e-3)):
        raise ValueError(
            "noisy_probabilities must be finite, non-negative rows summing to 1; apply softmax "
            "to logits first."
        )
    return probabilities


def confident_joint(noisy_probabilities, given_labels):
    """Counts of (given label, clean label) pairs: Northcutt et al.'s confident joint.

    Confident learning (Northcutt, Jiang and Chuang, JAIR 2021, Sec. 3.1):
    class j's threshold `t_j` is the mean of `p(y = j | x)` over the examples
    *labelled* j (its average self-confidence). An example counts towards
    the clean class `k` whose probability is largest among the classes it
    clears (`p(y = k | x) >= t_k`); examples that clear no threshold are not
    counted. Each row is then rescaled to the number of examples given that
    label (their Eq. 2's calibration), so the table sums to `n`.

    Out-of-sample probabilities (k-fold) are what the method assumes: on
    its own training examples a network memorises the given labels. The
    counts under-estimate a flip when the flipped examples' confidence in
    their clean class sits evenly around its threshold (only those above
    it count, while the row calibration assumes all correct labels were
    counted alike); trained networks' confidences are skewed towards 1,
    which keeps the bias small (see `bench/label_issue_detection.py` for
    the measured error of T).

    Args:
        noisy_probabilities: `(n, C)` softmax outputs of a network trained on
            the given labels, ideally out of fold.
        given_labels: `(n,)` the given (noisy) labels; every class must
            occur.

    Returns:
        `(C, C)` float64 counts, `joint[j, k]` ~ examples given label j whose
        clean label is k.

    Example:

    >>> counts = confident_joint(out_of_fold_probabilities, noisy_labels)
    >>> counts[7, 1]     # about how many examples labelled 7 are really 1s
    """
    probabilities = _check_probabilities(noisy_probabilities)
    num_classes = probabilities.shape[1]
    labels = validation.check_labels(given_labels, num_classes, "given_labels")
    validation.check_same_length(noisy_probabilities=probabilities, given_labels=labels)
    given_counts = np.bincount(labels, minlength=num_classes)
    if np.any(given_counts == 0):
        missing = np.flatnonzero(given_counts == 0).tolist()
        raise ValueError(f"No example is labelled with class(es) {missing}; the confident "
                         "joint needs every class among the given labels.")
    thresholds = (np.bincount(labels, weights=probabilities[np.arange(len(labels)), labels],
                              minlength=num_classes) / given_counts)
    clears = probabilities >= thresholds
    counted = clears.any(axis=1)
    clean = np.where(clears, probabilities, -np.inf).argmax(axis=1)
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (labels[counted], clean[counted]), 1.0)
    row_totals = counts.sum(axis=1, keepdims=True)
    # A label none of whose examples clears a threshold keeps its count on
    # the diagonal: nothing says its examples belong elsewhere.
    counts[np.flatnonzero(row_totals[:, 0] == 0), np.flatnonzero(row_totals[:, 0] == 0)] = 1.0
    return counts / counts.sum(axis=1, keepdims=True) * given_counts[:, None]


def confident_transition_matrix(noisy_probabilities, given_labels):
    """Estimates `T[i, j] = P(noisy=j | clean=i)` from the confident joint.

    `T[i, j]` is the share of the examples whose clean label is i (column i
    of `confident_joint`) that were given label j. A clean class that no
    example is counted towards keeps an identity row.

    Unlike `estimate_transition_matrix`, which reads each row of T off a
    single anchor example, every example with a confident prediction
    contributes. On the digits (4-fold out-of-sample probabilities, 3
    seeds, `bench/label_issue_detection.py`) its error was a quarter to a
    half of the anchor estimate's under `mnist` and `symmetric` noise at
    rates 0.1-0.3 and under `symmetric` 0.4, and 0.7 of it under `mnist`
    0.4.

    Args:
        noisy_probabilities: `(n, C)` class probabilities of a network trained
            on the given labels, ideally out of fold.
        given_labels: `(n,)` the given labels.

    Returns:
        `(C, C)` float64 row-stochastic estimate of T.

    Example:

    >>> T_hat = confident_transition_matrix(out_of_fold_probabilities, noisy_labels)
    """
    joint = confident_joint(noisy_probabilities, given_labels)
    clean_totals = joint.sum(axis=0)
    transition = np.eye(len(joint))
    seen = clean_totals > 0
    transition[seen] = (joint[:, seen] / clean_totals[seen]).T
    return transition


def estimated_wrong_shares(class_prior, transition):
    """`(C,)` share of the examples given each label whose clean class differs.

    From the noise model alone: `1 - P(clean = j | given = j)` with
    `P(clean = i | given = j) ∝ prior_i T[i, j]`, whichever examples those
    are. A label no clean class produces (a zero column of T) gets 0: the
    model says nothing about it.

    Args:
        class_prior: `(C,)` clean-class shares (e.g. `estimate_clean_prior`).
        transition: row-stochastic `T[i, j] = P(given=j | clean=i)`.

    Returns:
        `(C,)` float64 in [0, 1].

    Example:

    >>> estimated_wrong_shares([0.5, 0.5], [[0.8, 0.2], [0.0, 1.0]])
    array([0.        , 0.16666667])   # given 1: 0.1 of its 0.6 are clean 0s
    """
    transition = validation.check_transition_matrix(transition)
    prior = np.asarray(class_prior, dtype=np.float64).reshape(-1)
    if prior.shape != (transition.shape[0],):
        raise ValueError(f"class_prior must have {transition.shape[0]} entries (one per "
                         f"class of T), got shape {prior.shape}.")
    given_share = prior @ transition
    correct = prior * np.diag(transition)
    return 1.0 - np.divide(correct, given_share, out=np.ones_like(correct),
                           where=given_share > 0)


def estimated_wrong_count(given_labels, class_prior, transition):
    """How many of `given_labels` the noise model expects to be wrong, rounded.

    The sum over examples of `estimated_wrong_shares` of their given label.

    Args:
        given_labels: `(n,)` int labels in `[0, C)`.
        class_prior, transition: as in `estimated_wrong_shares`.

    Returns:
        An int in `[0, n]`.
    """
    shares = estimated_wrong_shares(class_prior, transition)
    labels = validation.check_labels(given_labels, len(shares), "given_labels")
    return int(np.clip(np.rint(shares[labels].sum()), 0, len(labels)))


def clean_class_probabilities(noisy_probabilities, transition, tolerance=1e-7,
                              max_iterations=1000):
    """Undoes the noise in a noisy-label classifier's outputs, example by example.

    A network trained on noisy labels estimates `p(noisy | x) = sum_i
    p(clean=i | x) T[i, noisy]`. For every row this finds the clean
    distribution `pi` on the simplex that explains it best, maximising
    `sum_j p(noisy=j | x) log (pi T)_j` (a concave problem: the
    maximum-likelihood mixture weights of T's rows) by EM's fixed point
    `pi_i <- pi_i sum_j T[i, j] p(noisy=j | x) / (pi T)_j`, from uniform
    `pi`, until no entry moves by more than `tolerance`.

    Where clean class 0 is labelled 1 at rate r, an output `(1 - r, r)` is
    what a clean 0 looks like: it comes back near `(1, 0)`, where the
    outputs alone would give 0 only `1 - r`.

    Args:
        noisy_probabilities: `(n, C)` probability rows of a network trained
            on the given labels (ideally out of fold).
        transition: row-stochastic `T[i, j] = P(noisy=j | clean=i)`, e.g.
            `confident_transition_matrix`.
        tolerance: stop once no probability changes by more than this.
        max_iterations: stop after this many EM steps in any case.

    Returns:
        `(n, C)` float64 rows summing to 1: `p(clean | x)`.

    Example:

    >>> T = np.array([[0.8, 0.2], [0.1, 0.9]])
    >>> clean_class_probabilities([[0.59, 0.41]], T).round(3)   # = (0.7, 0.3) T
    array([[0.7, 0.3]])
    """
    probabilities = _check_probabilities(noisy_probabilities)
    transition = validation.check_transition_matrix(transition)
    if transition.shape[0] != probabilities.shape[1]:
        raise ValueError(f"transition is {transition.shape} but the probabilities have "
                         f"{probabilities.shape[1]} classes; they must match.")
    if not tolerance > 0 or int(max_iterations) < 1:
        raise ValueError(f"tolerance must be > 0 and max_iterations >= 1, got {tolerance!r} "
                         f"and {max_iterations!r}.")
    clean = np.full_like(probabilities, 1.0 / probabilities.shape[1])
    for _ in range(int(max_iterations)):
        explained = np.maximum(clean @ transition, np.finfo(np.float64).tiny)
        updated = clean * ((probabilities / explained) @ transition.T)
        updated /= updated.sum(axis=1, keepdims=True)
        change = np.max(np.abs(updated - clean))
        clean = updated
        if change <= tolerance:
            break
    return clean


def clean_label_posterior(noisy_probabilities, given_labels, transition):
    """`P(clean = i | x, given label)` from a noisy-label classifier and T.

    Bayes' rule with the network's outputs made clean first
    (`clean_class_probabilities`): `P(clean = i | x, given = j) ∝ p(clean =
    i | x) T[i, j]`, the held-out counterpart of the robust CRF's posterior
    (Vahdat 2017, Eq. 10, with the network and T in place of the CRF's
    couplings). A row whose given label no clean class explains (every
    product 0) keeps `p(clean | x)`.

    Args:
        noisy_probabilities: `(n, C)` probability rows of a network trained
            on the given labels, out of fold (a network that trained on an
            example's label has learnt it).
        given_labels: `(n,)` int labels in `[0, C)`.
        transition: row-stochastic `T[i, j] = P(given=j | clean=i)`.

    Returns:
        `(n, C)` float64 rows summing to 1.

    Example:

    >>> T = np.array([[0.8, 0.2], [0.1, 0.9]])
    >>> clean_label_posterior([[0.59, 0.41]], [1], T).round(3)  # ∝ (0.7 * 0.2, 0.3 * 0.9)
    array([[0.341, 0.659]])
    """
    clean = clean_class_probabilities(noisy_probabilities, transition)
    labels = validation.check_labels(given_labels, clean.shape[1], "given_labels")
    if len(labels) != len(clean):
        raise ValueError(f"given_labels has {len(labels)} entries for {len(clean)} rows of "
                         "probabilities; pass one label per row.")
    transition = np.asarray(transition, dtype=np.float64)
    joint = clean * transition[:, labels].T
    totals = joint.sum(axis=1, keepdims=True)
    return np.where(totals > 0, joint / np.where(totals > 0, totals, 1.0), clean)
