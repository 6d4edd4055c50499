"""Input validation shared by every loader, noise model, split and pipeline.

Each check raises a `ValueError` that says what is wrong and how to fix it.
Nothing is clipped or dropped silently.
"""

import numpy as np

ROW_SUM_TOLERANCE = 1e-6


def check_num_classes(num_classes):
    """Returns `num_classes` as an int >= 2, or raises ValueError."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(
            f"num_classes must be an integer >= 2, got {num_classes!r}."
        )
    if num_classes < 2:
        raise ValueError(
            f"num_classes must be >= 2 (one class is not a classification "
            f"problem), got {num_classes}."
        )
    return int(num_classes)


def check_rate(rate, name="rate"):
    """Returns `rate` as a float in [0, 1], or raises ValueError."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1], got {rate!r}.") from None
    if not np.isfinite(value) or value < 0.0 or value > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1] (a probability), got {rate!r}. "
            "Pass e.g. 0.2 for 20% noise, not 20."
        )
    return value


def check_decay(value, name, meaning=""):
    """Returns `value` as a float in [0, 1) (a moving-average decay or momentum), or
    raises a ValueError naming it; `meaning` is appended to the message."""
    hint = f" ({meaning})" if meaning else ""
    try:
        decay = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1){hint}, got {value!r}.") from None
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"{name} must lie in [0, 1){hint}, got {value!r}.")
    return decay


def _check_number(value, name, meaning, allow_zero):
    """`value` as a finite float above 0 (or at least 0), or a ValueError naming it."""
    hint = f" ({meaning})" if meaning else ""
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number {bound}{hint}, got {value!r}.")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        qualifier = "finite and " if allow_zero else ""
        raise ValueError(f"{name} must be {qualifier}{bound}{hint}, got {value!r}.")
    return float(value)


def check_non_negative(value, name, meaning=""):
    """Returns `value` as a finite float >= 0, or raises a ValueError naming it.

    `meaning` is appended to the message (what 0 and large values do).
    """
    return _check_number(value, name, meaning, allow_zero=True)


def check_positive(value, name, meaning=""):
    """Returns `value` as a finite float > 0, or raises a ValueError naming it.

    `meaning` is appended to the message (e.g. what the value is for).
    """
    return _check_number(value, name, meaning, allow_zero=False)


def check_positive_int(value, name):
    """Returns `value` as an int >= 1 (bools refused), or raises ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_non_negative_int(value, name):
    """Returns `value` as an int >= 0 (bools refused), or raises ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}.")
    return int(value)


def integer_indices(array, name="labels"):
    """`array` as int64 when it holds integers (floats with integer values too), else raises.

    Raises:
        ValueError: NaN or infinite values, non-integer floats, or a dtype
            that is not numeric.
    """
    array = np.asarray(array)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values.")
        if not np.all(array == np.round(array)):
            raise ValueError(
                f"{name} must hold integer class indices, got non-integer "
                "floats."
            )
    elif array.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must hold integer class indices, got dtype {array.dtype}."
        )
    return array.astype(np.int64)


def check_labels(labels, num_classes, name="labels"):
    """Returns integer class labels as a 1-D int64 array, or raises ValueError.

    Args:
        labels: array-like of shape `(n,)` with values in `[0, num_classes)`.
        num_classes: number of classes C.
        name: how the array is called in error messages.
    """
    num_classes = check_num_classes(num_classes)
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of class indices, got shape "
            f"{array.shape}. For one-hot labels pass `labels.argmax(-1)`."
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty: at least one example is needed.")
    array = integer_indices(array, name)
    bad = (array < 0) | (array >= num_classes)
    if np.any(bad):
        raise ValueError(
            f"{name} must lie in [0, {num_classes}), but {int(bad.sum())} "
            f"value(s) do not (e.g. {int(array[bad][0])} at position "
            f"{int(np.flatnonzero(bad)[0])}). Check num_classes or remap the "
            "labels to 0..C-1."
        )
    return array


def check_binary_labels(labels, num_labels=None, name="labels"):
    """Returns a `(n, K)` {0, 1} label matrix as uint8, or raises ValueError."""
    array = np.asarray(labels)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (examples, labels) binary matrix, got "
            f"shape {array.shape}."
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: at least one example is needed.")
    if num_labels is not None and array.shape[1] != num_labels:
        raise ValueError(
            f"{name} has {array.shape[1]} labels per example but "
            f"{num_labels} were expected; the vocabulary sizes do not match."
        )
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    if not np.all((array == 0) | (array == 1)):
        raise ValueError(
            f"{name} must contain only 0 and 1 (a binary indicator matrix); "
            "threshold or binarise it first."
        )
    return array.astype(np.uint8)


def check_images(images, name="images"):
    """Returns images as a float32 array of shape `(n, H, W, C)`, or raises.

    A `(n, H, W)` array gets a channel axis. Values must be finite.
    """
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise ValueError(
            f"{name} must have shape (n, height, width[, channels]), got "
            f"{array.shape}."
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: at least one image is needed.")
    return _finite_float32(array, name, "pixels", "image(s)")


def _finite_float32(array, name, values, examples):
    """`array` as float32, or a ValueError naming the examples with NaN/inf `values`."""
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}.")
    array = array.astype(np.float32, copy=False)
    finite = np.isfinite(array).reshape(len(array), -1).all(axis=1)
    if not np.all(finite):
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"{name} contains NaN or infinite {values} in {len(bad)} {examples} "
            f"(first at index {int(bad[0])}). Clean or drop them before "
            "building the dataset."
        )
    return array


def check_inputs(inputs, name="inputs"):
    """Images `(n, H, W[, C])` as `check_images` does, or feature vectors `(n, D)`.

    Returns a float32 array: `(n, H, W, C)` images or `(n, D)` vectors.
    Values must be finite.
    """
    array = np.asarray(inputs)
    if array.ndim != 2:
        return check_images(array, name)
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} is empty: got shape {array.shape}.")
    return _finite_float32(array, name, "values", "row(s)")


def check_same_length(**arrays):
    """Raises ValueError unless every named array has the same first dim."""
    lengths = {name: len(value) for name, value in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ValueError(
            f"Arrays must have the same number of examples, got {described}."
        )


def check_class_distributions(distributions, num_rows, num_classes, name="posterior"):
    """Returns `(num_rows, num_classes)` class distributions as float64, else ValueError.

    Each row must be finite, non-negative and sum to 1 within 1e-3 (float32
    softmax outputs pass).
    """
    array = np.asarray(distributions, dtype=np.float64)
    if array.shape != (num_rows, num_classes):
        raise ValueError(f"{name} must be ({num_rows}, {num_classes}): one class distribution "
                         f"per labelled row, got shape {array.shape}.")
    if (not np.all(np.isfinite(array)) or np.any(array < 0.0)
            or np.any(np.abs(array.sum(axis=1) - 1.0) > 1e-3)):
        raise ValueError(f"{name} must hold class distributions (finite, non-negative, each "
                         "row summing to 1).")
    return array


def check_transition_matrix(transition, num_classes=None):
    """Returns a validated row-stochastic matrix `T[i, j] = P(noisy=j|clean=i)`.

    Args:
        transition: array-like `(C, C)`.
        num_classes: if given, the C the matrix must have.

    Raises:
        ValueError: not square, wrong size, non-finite, negative entries, or
            rows that do not sum to 1 within 1e-6.
    """
    matrix = np.asarray(transition, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            f"A transition matrix must be square (C, C), got shape "
            f"{matrix.shape}."
        )
    if matrix.shape[0] < 2:
        raise ValueError("A transition matrix needs at least 2 classes.")
    if num_classes is not None and matrix.shape[0] != num_classes:
        raise ValueError(
            f"The transition matrix is {matrix.shape[0]}x{matrix.shape[0]} "
            f"but the data has {num_classes} classes."
        )
    if not np.all(np.isfinite(matrix)):
        raise ValueError("The transition matrix contains NaN or inf entries.")
    if np.any(matrix < 0):
        raise ValueError(
            "The transition matrix has negative entries; probabilities must "
            "be >= 0."
        )
    row_sums = matrix.sum(axis=1)
    if np.any(np.abs(row_sums - 1.0) > ROW_SUM_TOLERANCE):
        worst = int(np.argmax(np.abs(row_sums - 1.0)))
        raise ValueError(
            "Transition matrices are row-stochastic here, "
            "T[i, j] = P(noisy=j | clean=i), so every row must sum to 1; row "
            f"{worst} sums to {row_sums[worst]:.6g}. If your matrix is "
            "column-stochastic, pass its transpose."
        )
    return matrix
