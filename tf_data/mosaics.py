"""`digit_mosaics`: a small multilabel dataset with caption-like noisy tags.

Built from scikit-learn's 1,797 real handwritten 8x8 digits (shipped with
the package, no download), so the robust CRF's multilabel experiment
(Section 4.1) runs anywhere in seconds.

* Images: a `grid x grid` mosaic of 8x8 cells (16x16x1 by default). Each
  cell holds a digit with probability `fill_rate` (at least one per image),
  drawn from sklearn's train digits for the train and validation splits
  and from its held-out test digits for the test split, so test images
  never reuse a training digit image.
* Clean labels `y_hat` (C = 10): which digits appear.
* Noisy labels `y` (N = 35): tags over a larger vocabulary, made the way
  captions and user tags err: the digit's word ("seven") or numeral ("7")
  or both (synonyms); attributes ("even", "odd", "prime", "square",
  "small", "large"); counts ("single", "pair", "many"); unrelated tags
  ("handwritten", "scan", ...). Like captions (Misra et al.'s "human
  reporting bias"), the digits are read in reading order and the k-th
  digit of an image is omitted with probability 0.1, 0.4, 0.6, 0.8 for
  k = 1..4, so omissions depend on the image, not only on the label; a
  mentioned digit is named as a look-alike digit (1<->7, 3<->8, 4<->9,
  5<->6, 0->6, 2->7) with probability 0.1; an absent digit is tagged with
  probability 0.02; a true attribute is tagged with probability 0.4 and
  a false one with 0.05; the true count with 0.3; each unrelated tag
  with 0.15.
* `clean_to_noisy` maps a digit to its word and its numeral (the
  "cross-entropy on noisy labels" baseline's mapping).

Everything is drawn from `numpy.random.default_rng(seed)`.
"""

import numpy as np

from tf_data import sources
from tf_data import validation
from tf_data.multilabel_dataset import MultilabelDataset
from tf_data.multilabel_dataset import MultilabelSplit

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
NUMERALS = tuple(str(d) for d in range(10))
ATTRIBUTES = {
    "even": (0, 2, 4, 6, 8), "odd": (1, 3, 5, 7, 9), "prime": (2, 3, 5, 7),
    "square": (0, 1, 4, 9), "small": (0, 1, 2, 3, 4), "large": (5, 6, 7, 8, 9),
}
COUNT_TAGS = ("single", "pair", "many")
UNRELATED_TAGS = ("handwritten", "scan", "number", "photo", "blurry", "ink")
LOOK_ALIKE = {1: 7, 7: 1, 3: 8, 8: 3, 4: 9, 9: 4, 5: 6, 6: 5, 0: 6, 2: 7}
NOISY_VOCABULARY = DIGIT_WORDS + NUMERALS + tuple(ATTRIBUTES) + COUNT_TAGS + UNRELATED_TAGS
CELL = 8

OMIT_BY_READING_ORDER = (0.1, 0.4, 0.6, 0.8)
CONFUSE_DIGIT = 0.1
SPURIOUS_DIGIT = 0.02
WORD_ONLY, NUMERAL_ONLY = 0.5, 0.35  # remaining 0.15: both forms
TAG_TRUE_ATTRIBUTE = 0.4
SPURIOUS_ATTRIBUTE = 0.05
TAG_COUNT = 0.3
UNRELATED_RATE = 0.15


def _mosaics(num_images, pool_images, pool_labels, grid, fill_rate, rng):
    images = np.zeros((num_images, grid * CELL, grid * CELL, 1), np.float32)
    clean = np.zeros((num_images, 10), np.uint8)
    layout = np.full((num_images, grid * grid), -1, np.int64)
    for n in range(num_images):
        filled = rng.random(grid * grid) < fill_rate
        if not filled.any():
            filled[rng.integers(grid * grid)] = True
        for cell in np.flatnonzero(filled):
            pick = rng.integers(len(pool_images))
            row, col = divmod(int(cell), grid)
            images[n, row * CELL:(row + 1) * CELL, col * CELL:(col + 1) * CELL] = pool_images[pick]
            clean[n, pool_labels[pick]] = 1
            layout[n, cell] = pool_labels[pick]
    return images, clean, layout


def noisy_tags(layout, rng):
    """Caption-like noisy tags `(n, 35)` for mosaics.

    Args:
        layout: `(n, cells)` digit of each cell in reading order, -1 if empty.
        rng: a `numpy.random.Generator`.
    """
    index = {tag: k for k, tag in enumerate(NOISY_VOCABULARY)}
    noisy = np.zeros((len(layout), len(NOISY_VOCABULARY)), np.uint8)
    omit = np.asarray(OMIT_BY_READING_ORDER)
    for n, cells in enumerate(layout):
        shown = cells[cells >= 0]
        named = [LOOK_ALIKE[d] if rng.random() < CONFUSE_DIGIT else d
                 for rank, d in enumerate(shown) if rng.random() >= omit[min(rank, len(omit) - 1)]]
        named += [d for d in range(10) if d not in shown and rng.random() < SPURIOUS_DIGIT]
        for digit in named:
            form = rng.random()
            if form < WORD_ONLY + (1.0 - WORD_ONLY - NUMERAL_ONLY):
                noisy[n, index[DIGIT_WORDS[digit]]] = 1
            if form >= WORD_ONLY:
                noisy[n, index[NUMERALS[digit]]] = 1
        present = np.zeros(10, bool)
        present[shown] = True
        digits = set(np.flatnonzero(present))
        for tag, members in ATTRIBUTES.items():
            rate = TAG_TRUE_ATTRIBUTE if digits & set(members) else SPURIOUS_ATTRIBUTE
            noisy[n, index[tag]] = rng.random() < rate
        count_tag = COUNT_TAGS[min(len(digits), 3) - 1]
        noisy[n, index[count_tag]] = rng.random() < TAG_COUNT
        for tag in UNRELATED_TAGS:
            noisy[n, index[tag]] = rng.random() < UNRELATED_RATE
    return noisy


def clean_to_noisy_mapping():
    """`(10, 35)` {0,1}: digit -> its word and its numeral."""
    mapping = np.zeros((10, len(NOISY_VOCABULARY)), np.uint8)
    for digit in range(10):
        mapping[digit, NOISY_VOCABULARY.index(DIGIT_WORDS[digit])] = 1
        mapping[digit, NOISY_VOCABULARY.index(NUMERALS[digit])] = 1
    return mapping


def load_digit_mosaics(num_train=3000, num_validation=500, num_test=1000, grid=2,
                       fill_rate=0.4, seed=0):
    """Builds `digit_mosaics` as a `MultilabelDataset` with in-memory images.

    Args:
        num_train, num_validation, num_test: mosaics per split (>= 1).
        grid: cells per side (images are `8 * grid` pixels square).
        fill_rate: probability that a cell holds a digit, in (0, 1].
        seed: int seed of everything random.

    Returns:
        A `MultilabelDataset` named `"digit_mosaics"`.
    """
    for name, value in (("num_train", num_train), ("num_validation", num_validation),
                        ("num_test", num_test), ("grid", grid)):
        validation.check_positive_int(value, name)
    if not 0.0 < fill_rate <= 1.0:
        raise ValueError(f"fill_rate must lie in (0, 1], got {fill_rate!r}.")
    digits = sources.load_digits()
    rng = np.random.default_rng(seed)
    splits = {}
    for split, size, (pool_x, pool_y) in (
        ("train", num_train, (digits.x_train, digits.y_train)),
        ("validation", num_validation, (digits.x_train, digits.y_train)),
        ("test", num_test, (digits.x_test, digits.y_test)),
    ):
        images, clean, layout = _mosaics(size, pool_x, pool_y, grid, fill_rate, rng)
        splits[split] = MultilabelSplit(clean, noisy_tags(layout, rng), images=images)
    return MultilabelDataset(
        "digit_mosaics", tuple(str(d) for d in range(10)), NOISY_VOCABULARY,
        splits["train"], splits["validation"], splits["test"],
        clean_to_noisy=clean_to_noisy_mapping(),
        description=(f"{grid}x{grid} mosaics of sklearn digits (fill rate {fill_rate}); clean: "
                     "digits present; noisy: caption-like tags (synonyms, attributes, counts, "
                     f"unrelated), omitted/confused/spurious; seed {seed}."),
    )
