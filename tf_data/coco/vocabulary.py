"""Noisy-label vocabularies: the most common words (or tags) and multi-hot rows."""

from collections import Counter

import numpy as np

from tf_data.validation import check_positive_int


def build_vocabulary(word_sets, size, size_name="num_words", what="caption words"):
    """The `size` words present in the most images; ties alphabetical.

    Args:
        word_sets: iterable with one collection of words per (training)
            image; a word counts once per image.
        size: number of words to keep.
        size_name: the option that sets `size`, for error messages.
        what: what the words are, for error messages.

    Returns:
        Tuple of `size` words, most common first; equal counts are ordered
        alphabetically, so the result is deterministic.

    Raises:
        ValueError: `size` is not a positive integer or fewer than `size`
            distinct words exist.

    Example:
        >>> build_vocabulary([{"a", "dog"}, {"a", "cat"}, {"cat"}], 2)
        ('a', 'cat')
    """
    size = check_positive_int(size, size_name)
    counts = Counter()
    for words in word_sets:
        counts.update(set(words))
    if len(counts) < size:
        raise ValueError(
            f"{size_name}={size} but the training images have only "
            f"{len(counts)} distinct {what}; lower {size_name} to at most "
            f"{len(counts)}."
        )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(word for word, _ in ranked[:size])


def multi_hot(word_sets, vocabulary):
    """Binary label matrix: row i has 1 at the vocabulary words of set i.

    Words outside the vocabulary are not labels and leave no trace.

    Args:
        word_sets: sequence of n collections of words.
        vocabulary: sequence of N distinct words (column order).

    Returns:
        `(n, N)` uint8 {0, 1} matrix.

    Example:
        >>> multi_hot([{"dog", "zzz"}, set()], ("cat", "dog")).tolist()
        [[0, 1], [0, 0]]
    """
    column = {word: j for j, word in enumerate(vocabulary)}
    if len(column) != len(vocabulary):
        raise ValueError("The vocabulary has repeated words; make them unique.")
    rows, cols = [], []
    for i, words in enumerate(word_sets):
        hits = [column[w] for w in words if w in column]
        rows.extend([i] * len(hits))
        cols.extend(hits)
    matrix = np.zeros((len(word_sets), len(vocabulary)), dtype=np.uint8)
    matrix[np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)] = 1
    return matrix
