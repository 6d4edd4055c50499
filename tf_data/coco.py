"""COCO 2014 multilabel data: caption words (or Flickr tags) vs. objects.

The robust CRF's COCO experiments (Vahdat 2017, Sections 4.1 and 4.2,
following Misra et al. 2016) label every image twice:

* noisy labels `y`: a binary vector over the 1,000 most common caption words
  (Section 4.1), or over the 1,024 most common Flickr tags (Section 4.2,
  user-supplied JSON file, see `tf_data.flickr_tags`);
* clean labels `y_hat`: a binary vector over COCO object categories, 1 when
  the image has at least one object annotation of the category.

`load_coco_captions` reads TFDS `coco_captions/2014` and returns a
`MultilabelDataset` whose splits stream images through `image_source`.

Data source
    TFDS `coco_captions/2014` (Karpathy and Li splits `train` 82,783,
    `val` 5,000, `test` 5,000, `restval` 30,504: together the 123,287 COCO
    train2014 + val2014 images). It is opened with `download=False` unless
    the caller passes `download=True`: when the data is missing a ValueError
    names the dataset, the data_dir searched and the command
    `tfds build coco_captions/2014 [--data_dir=...]` that prepares it
    (tens of GB: TFDS downloads the full COCO 2014 image archives).

Tokenisation (captions only; tags are not tokenised)
    A caption is lowercased (`str.lower`) and its words are the maximal runs
    of the ASCII letters a-z (`re.findall("[a-z]+", text.lower())`). Every
    other character (space, digit, punctuation, apostrophe, hyphen,
    accented letter) separates words and belongs to none, so "man's" gives
    "man", "s" and "t-shirt" gives "t", "shirt". No stop words are removed
    and no stemming is done: following the paper's wording ("the 1000 most
    common words"), "a", "on" and "of" are labels too. An image's
    caption words are the union of the words of all its captions (5 per
    image in COCO).

Vocabulary
    A word's count is the number of *training* images whose captions
    contain it (counted once per image, so the count is the label's number
    of positive training images). The vocabulary is the `num_words` words
    with the highest count, ties broken alphabetically; it is built from
    the training split only, so validation and test captions never shape
    it. Words outside the vocabulary are not labels. Asking for more words
    than the training captions hold is an error. Tags use the same rule
    with `num_tags`.

Clean categories (the "73 categories" of Misra et al.)
    Misra et al. 2016 use 73 of the 80 COCO categories; their exact list is
    not established here, so this module does NOT claim to reproduce it.
    Instead the rule is: a category is kept when at least one of its
    *category words* is in the caption vocabulary, where the category
    words are its name when the name is a single word, the name's plural
    (`plural`), and the single-word synonyms of `CATEGORY_SYNONYMS`
    (chosen as words that, in a caption, name the object itself; e.g.
    "bike" for bicycle, "hydrant" for fire hydrant; "stop sign" has no
    such word and is therefore never kept). Kept categories stay in COCO
    label order. The caption vocabulary decides even when the noisy labels
    are Flickr tags, so both experiments share the clean label set. The
    number kept at full scale (with 1,000 words) cannot be checked offline;
    the loader reports kept and dropped categories in the dataset's
    `description`. Pass `categories=` (names from `COCO_CATEGORIES`, kept
    in the given order) to fix the list instead, e.g. all 80 or Misra's
    list if you have it.

`clean_to_noisy` (default mapping for the multilabel CRF)
    `(C, N)` {0,1}: entry (c, n) is 1 when noisy label n is one of category
    c's category words (name, plural or listed synonym). With captions every
    kept category has at least one 1 in its row; with tags a row may be all
    zero (no tag names the category).

Split (Misra et al.: 87K/20K/20K; reproduced as 83,287/20,000/20,000)
    train2014 and val2014 images are told apart by their TFDS split
    (`train` = train2014; `val`, `test`, `restval` = val2014). The val2014
    image ids are sorted and permuted with `np.random.default_rng(seed)`;
    the first `test_size` (20,000) are the test split, the next
    `validation_size` (20,000) the validation split, and the rest (504)
    join all train2014 images in the training split: 83,287 / 20,000 /
    20,000 with the defaults. 87K + 20K + 20K exceeds the 123,287 images,
    so Misra's train size cannot be matched together with two 20K
    evaluation splits; we keep the evaluation sizes exact and keep every
    train2014 image in training (drawing evaluation images from val2014
    only is the usual COCO practice; that Misra did so is an assumption). Rows of every split are in ascending image id.
    `coco_clean_noisy_split` draws the paper's clean set `D_C`: a seeded
    20% of the training rows (`tf_data.splits.clean_noisy_split`); the
    dataset container has no field for it, so callers draw it with that
    function.

Images with no object annotation keep an all-zero clean vector and images
are never dropped. Nothing is cached: every call reads the label features
of all 123,287 records once (images are skipped, not decoded).
"""

import re
from collections import Counter

import numpy as np

from tf_data import environment
from tf_data import flickr_tags
from tf_data import splits
from tf_data.multilabel_dataset import MultilabelDataset, MultilabelSplit
from tf_data.sources import missing_tfds_data_error
from tf_data.sources import tfds_download_command

TFDS_NAME = "coco_captions/2014"
TRAIN2014_TFDS_SPLITS = ("train",)
VAL2014_TFDS_SPLITS = ("val", "test", "restval")
TFDS_SPLITS = TRAIN2014_TFDS_SPLITS + VAL2014_TFDS_SPLITS
DEFAULT_NUM_WORDS = 1000
DEFAULT_NUM_TAGS = 1024
DEFAULT_VALIDATION_SIZE = 20000
DEFAULT_TEST_SIZE = 20000
CLEAN_FRACTION = 0.2
READ_BATCH_SIZE = 1024
MAX_NAMES_IN_MESSAGE = 5

# The 80 COCO object categories in TFDS label order (= ascending COCO
# category id), exactly as named in the COCO 2014 annotation files.
COCO_CATEGORIES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train",
    "truck", "boat", "traffic light", "fire hydrant", "stop sign",
    "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard",
    "sports ball", "kite", "baseball bat", "baseball glove", "skateboard",
    "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop",
    "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
    "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)

# Plurals that do not follow `plural`'s suffix rules.
IRREGULAR_PLURALS = {
    "person": "people",
    "mouse": "mice",
    "knife": "knives",
    "sheep": "sheep",
    "skis": "skis",
    "scissors": "scissors",
    "broccoli": "broccoli",
}

# Single-word synonyms (with their plurals) that name the category's object
# in a caption. A word appears under at most one category. Multi-word names
# contribute only these words, never their parts ("hot dog" is not "dog").
CATEGORY_SYNONYMS = {
    "person": (
        "man", "men", "woman", "women", "boy", "boys", "girl", "girls",
        "child", "children", "kid", "kids", "guy", "guys", "lady", "ladies",
        "baby", "babies", "player", "players", "persons",
    ),
    "bicycle": ("bike", "bikes"),
    "car": ("automobile", "automobiles"),
    "motorcycle": ("motorbike", "motorbikes"),
    "airplane": (
        "plane", "planes", "jet", "jets", "airliner", "airliners", "aircraft",
    ),
    "bus": ("busses",),
    "train": ("locomotive", "locomotives"),
    "boat": ("ship", "ships", "sailboat", "sailboats", "canoe", "canoes",
             "kayak", "kayaks"),
    "traffic light": ("stoplight", "stoplights"),
    "fire hydrant": ("hydrant", "hydrants"),
    "parking meter": ("meter", "meters"),
    "bird": ("pigeon", "pigeons", "seagull", "seagulls", "duck", "ducks",
             "goose", "geese", "parrot", "parrots"),
    "cat": ("kitten", "kittens", "kitty"),
    "dog": ("puppy", "puppies"),
    "horse": ("pony", "ponies"),
    "sheep": ("lamb", "lambs"),
    "cow": ("cattle", "bull", "bulls", "calf", "calves"),
    "handbag": ("purse", "purses"),
    "tie": ("necktie", "neckties"),
    "suitcase": ("luggage",),
    "skis": ("ski",),
    "sports ball": ("ball", "balls"),
    "baseball bat": ("bat", "bats"),
    "baseball glove": ("glove", "gloves", "mitt", "mitts"),
    "tennis racket": ("racket", "rackets", "racquet", "racquets"),
    "wine glass": ("glass", "wineglass", "wineglasses"),
    "cup": ("mug", "mugs"),
    "sandwich": ("burger", "burgers", "hamburger", "hamburgers"),
    "hot dog": ("hotdog", "hotdogs"),
    "donut": ("doughnut", "doughnuts"),
    "cake": ("cupcake", "cupcakes"),
    "couch": ("sofa", "sofas"),
    "potted plant": ("plant", "plants", "houseplant", "houseplants"),
    "dining table": ("table", "tables"),
    "tv": ("television", "televisions"),
    "remote": ("controller", "controllers"),
    "cell phone": ("phone", "phones", "cellphone", "cellphones",
                   "smartphone", "smartphones"),
    "oven": ("stove", "stoves"),
    "refrigerator": ("fridge", "fridges"),
    "teddy bear": ("teddy", "teddies"),
    "hair drier": ("drier", "driers", "dryer", "dryers", "hairdryer",
                   "hairdryers"),
}

_WORD = re.compile("[a-z]+")


def tokenise(text):
    """Splits a caption into lowercase words (see the module docstring).

    Args:
        text: a caption (`str`, or UTF-8 `bytes` as TFDS yields them).

    Returns:
        Tuple of words: maximal runs of a-z after lowercasing, in order.

    Example:
        >>> tokenise("A man's T-shirt, 2 dogs!")
        ('a', 'man', 's', 't', 'shirt', 'dogs')
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if not isinstance(text, str):
        raise ValueError(
            f"A caption must be a string, got {type(text).__name__} {text!r}."
        )
    return tuple(_WORD.findall(text.lower()))


def caption_words(captions):
    """The set of words of all captions of one image.

    Args:
        captions: iterable of caption strings (or bytes).

    Returns:
        frozenset of words.

    Example:
        >>> sorted(caption_words(["A dog.", "Two dogs run"]))
        ['a', 'dog', 'dogs', 'run', 'two']
    """
    words = set()
    for caption in captions:
        words.update(tokenise(caption))
    return frozenset(words)


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


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
    size = _check_positive_int(size, size_name)
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


def clean_label_matrix(object_labels, categories):
    """Binary clean labels: 1 when the image has an object of the category.

    Args:
        object_labels: sequence of n integer arrays, the TFDS
            `objects/label` values (indices into `COCO_CATEGORIES`) of each
            image; repeated objects count once, an empty array gives an
            all-zero row.
        categories: names (from `COCO_CATEGORIES`) of the C clean columns;
            objects of other categories are outside the clean label set.

    Returns:
        `(n, C)` uint8 {0, 1} matrix.

    Raises:
        ValueError: an object label is outside [0, 80).

    Example:
        >>> clean_label_matrix([[0, 16, 16], []], ("person", "dog")).tolist()
        [[1, 1], [0, 0]]
    """
    check_category_names(categories)
    column = np.full(len(COCO_CATEGORIES), -1, dtype=np.int64)
    column[[COCO_CATEGORIES.index(c) for c in categories]] = np.arange(len(categories))
    rows, labels = [], []
    for i, image_labels in enumerate(object_labels):
        image_labels = np.asarray(image_labels, dtype=np.int64).reshape(-1)
        rows.append(np.full(len(image_labels), i, dtype=np.int64))
        labels.append(image_labels)
    labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    bad = (labels < 0) | (labels >= len(COCO_CATEGORIES))
    if np.any(bad):
        raise ValueError(
            f"Object label {int(labels[bad][0])} of image row "
            f"{int(rows[bad][0])} is outside [0, {len(COCO_CATEGORIES)}); "
            "COCO object labels index COCO_CATEGORIES. The data is not COCO "
            "2014 object annotations."
        )
    cols = column[labels]
    keep = cols >= 0
    matrix = np.zeros((len(object_labels), len(categories)), dtype=np.uint8)
    matrix[rows[keep], cols[keep]] = 1
    return matrix


def plural(name):
    """English plural of a single-word category name.

    `IRREGULAR_PLURALS` first; else "-es" after s, x, z, ch, sh; "-ies" for
    a consonant + y; else "-s".

    Example:
        >>> plural("bus"), plural("person"), plural("giraffe")
        ('buses', 'people', 'giraffes')
    """
    if name in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[name]
    if name.endswith(("s", "x", "z", "ch", "sh")):
        return name + "es"
    if name.endswith("y") and len(name) > 1 and name[-2] not in "aeiou":
        return name[:-1] + "ies"
    return name + "s"


def check_category_names(categories):
    """Returns `categories` as a tuple of distinct COCO names, or raises.

    Example:
        >>> check_category_names(["dog", "cat"])
        ('dog', 'cat')
    """
    categories = tuple(categories)
    if not categories:
        raise ValueError(
            "The clean category list is empty; give at least one name from "
            "tf_data.coco.COCO_CATEGORIES."
        )
    unknown = [c for c in categories if c not in COCO_CATEGORIES]
    if unknown:
        raise ValueError(
            f"Unknown COCO categories {unknown[:MAX_NAMES_IN_MESSAGE]}; use "
            "names from tf_data.coco.COCO_CATEGORIES (e.g. 'tv', "
            "'dining table')."
        )
    if len(set(categories)) != len(categories):
        raise ValueError(f"Clean categories {categories} repeat a name.")
    return categories


def category_words(category):
    """The caption words that name a COCO category.

    The name itself when it is one word, its plural, and its listed
    synonyms (`CATEGORY_SYNONYMS`); a multi-word name contributes only its
    synonyms.

    Example:
        >>> category_words("bicycle")
        ('bicycle', 'bicycles', 'bike', 'bikes')
        >>> category_words("fire hydrant")
        ('hydrant', 'hydrants')
    """
    check_category_names([category])
    words = []
    if " " not in category:
        words += [category, plural(category)]
    words += list(CATEGORY_SYNONYMS.get(category, ()))
    return tuple(dict.fromkeys(words))


def select_categories(vocabulary, categories=COCO_CATEGORIES):
    """The categories with at least one category word in `vocabulary`.

    Args:
        vocabulary: the caption vocabulary (noisy label words).
        categories: candidates, default all 80 COCO categories.

    Returns:
        Tuple of kept category names, in the order of `categories`.

    Raises:
        ValueError: no category is named by the vocabulary.

    Example:
        >>> select_categories(("a", "dogs", "bike"), ("dog", "bicycle", "cat"))
        ('dog', 'bicycle')
    """
    categories = check_category_names(categories)
    words = set(vocabulary)
    kept = tuple(c for c in categories if words.intersection(category_words(c)))
    if not kept:
        raise ValueError(
            f"None of the {len(categories)} COCO categories is named by the "
            f"{len(words)}-word caption vocabulary, so there would be no clean "
            "labels. Raise num_words or pass categories= explicitly."
        )
    return kept


def clean_to_noisy_matrix(categories, vocabulary):
    """Default `(C, N)` mapping: 1 where noisy label n names category c.

    A noisy label names a category when it is one of `category_words(c)`
    (the name, its plural or a listed synonym).

    Args:
        categories: C COCO category names.
        vocabulary: N noisy labels (caption words or tags).

    Returns:
        `(C, N)` uint8 {0, 1} matrix.

    Example:
        >>> clean_to_noisy_matrix(("dog", "bicycle"), ("a", "dogs", "bike")).tolist()
        [[0, 1, 0], [0, 0, 1]]
    """
    categories = check_category_names(categories)
    column = {word: j for j, word in enumerate(vocabulary)}
    matrix = np.zeros((len(categories), len(vocabulary)), dtype=np.uint8)
    for i, category in enumerate(categories):
        for word in category_words(category):
            if word in column:
                matrix[i, column[word]] = 1
    return matrix


def _check_unique_ids(image_ids, name):
    ids = np.asarray(image_ids, dtype=np.int64).reshape(-1)
    unique, counts = np.unique(ids, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(
            f"{name} repeat image id {int(unique[counts > 1][0])}; every COCO "
            "image must appear once. The prepared data is corrupt: rebuild "
            "it with `tfds build coco_captions/2014`."
        )
    return ids


def split_image_ids(
    train2014_ids, val2014_ids, seed=0,
    validation_size=DEFAULT_VALIDATION_SIZE, test_size=DEFAULT_TEST_SIZE,
):
    """Misra-style train/validation/test split of COCO 2014 image ids.

    The sorted val2014 ids are permuted with `np.random.default_rng(seed)`;
    the first `test_size` are test, the next `validation_size` validation
    and the rest join every train2014 id in train.

    Args:
        train2014_ids: ids of the train2014 images (TFDS split `train`).
        val2014_ids: ids of the val2014 images (TFDS `val`, `test`,
            `restval`).
        seed: int seed of the permutation.
        validation_size, test_size: evaluation split sizes.

    Returns:
        dict `{"train", "validation", "test"}` of sorted int64 id arrays,
        disjoint and together all ids.

    Raises:
        ValueError: empty or overlapping id sets, repeated ids, bad sizes,
            or fewer val2014 images than `validation_size + test_size`.

    Example:
        >>> parts = split_image_ids([1, 2], [3, 4, 5, 6], 0, 1, 2)
        >>> [len(parts[k]) for k in ("train", "validation", "test")]
        [3, 1, 2]
    """
    validation_size = _check_positive_int(validation_size, "validation_size")
    test_size = _check_positive_int(test_size, "test_size")
    train_ids = _check_unique_ids(train2014_ids, "train2014 ids")
    val_ids = _check_unique_ids(val2014_ids, "val2014 ids")
    if len(train_ids) == 0:
        raise ValueError(
            "There are no train2014 images (TFDS split 'train' is empty); "
            "rebuild the data with `tfds build coco_captions/2014`."
        )
    overlap = np.intersect1d(train_ids, val_ids)
    if len(overlap):
        raise ValueError(
            f"Image id {int(overlap[0])} is in both train2014 and val2014; "
            "the prepared data is corrupt, rebuild it."
        )
    if len(val_ids) < validation_size + test_size:
        raise ValueError(
            f"validation_size={validation_size} + test_size={test_size} "
            f"exceeds the {len(val_ids)} val2014 images they are drawn from; "
            "lower them (the defaults 20,000 + 20,000 need the full COCO "
            "2014 data)."
        )
    rng = np.random.default_rng(seed)
    permuted = rng.permutation(np.sort(val_ids))
    test = permuted[:test_size]
    valid = permuted[test_size:test_size + validation_size]
    extra_train = permuted[test_size + validation_size:]
    return {
        "train": np.sort(np.concatenate([train_ids, extra_train])),
        "validation": np.sort(valid),
        "test": np.sort(test),
    }


def coco_clean_noisy_split(num_train, seed=0, clean_fraction=CLEAN_FRACTION):
    """The paper's clean set `D_C`: a seeded 20% of the training rows.

    Args:
        num_train: number of training images (`len(dataset.train)`).
        seed: int seed.
        clean_fraction: fraction in (0, 1) kept clean (paper: 0.2).

    Returns:
        `(clean_rows, noisy_rows)`: disjoint sorted int64 row indices into
        the training split's label matrices.

    Example:
        >>> clean, noisy = coco_clean_noisy_split(10, seed=0)
        >>> len(clean), len(noisy)
        (2, 8)
    """
    num_train = _check_positive_int(num_train, "num_train")
    return splits.clean_noisy_split(num_train, clean_fraction, seed)


def check_image_size(image_size):
    """Returns None or `(height, width)` positive ints, or raises.

    Example:
        >>> check_image_size([224, 224])
        (224, 224)
    """
    if image_size is None:
        return None
    try:
        size = tuple(image_size)
    except TypeError:
        size = ()
    if len(size) != 2 or any(
        isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
        for s in size
    ):
        raise ValueError(
            f"image_size must be None (native size) or (height, width) "
            f"positive integers, got {image_size!r}."
        )
    return int(size[0]), int(size[1])


def _open_builder(data_dir, download):
    """The prepared TFDS builder, or a ValueError telling how to get it."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(TFDS_NAME, data_dir=data_dir)
    if download:
        builder.download_and_prepare()
    elif not builder.is_prepared():
        raise missing_tfds_data_error(
            TFDS_NAME, builder.data_dir, data_dir, size_note=" (tens of GB)"
        )
    names = list(builder.info.features["objects"]["label"].names)
    default_names = [str(i) for i in range(len(COCO_CATEGORIES))]
    if names != default_names and names != list(COCO_CATEGORIES):
        raise ValueError(
            f"The object categories of {TFDS_NAME} under "
            f"{str(builder.data_dir)!r} are not the 80 COCO 2014 categories "
            f"in their usual order (got {names[:MAX_NAMES_IN_MESSAGE]}...); "
            "rebuild the data with "
            f"`{tfds_download_command(TFDS_NAME, data_dir)}`."
        )
    return builder


def read_label_records(builder, tfds_split):
    """Reads ids, caption word sets and object labels of one TFDS split.

    Images are not decoded: `SkipDecoding` leaves them as JPEG bytes, which
    are dropped at once; only `image/id`, `captions/text` and
    `objects/label` are kept.

    Args:
        builder: a prepared `coco_captions/2014` builder.
        tfds_split: `"train"`, `"val"`, `"test"` or `"restval"`.

    Returns:
        `(ids, word_sets, object_labels)`: int64 array of n ids, list of n
        frozensets of caption words, list of n int64 label arrays.

    Raises:
        ValueError: the split holds no images.
    """
    import tensorflow_datasets as tfds

    tf = environment.import_tensorflow_quietly()
    # SkipDecoding rather than PartialDecoding: the latter logs a TFDS-internal
    # deprecation warning per feature, and the skipped JPEG bytes cost only a
    # copy, never a decode.
    dataset = builder.as_dataset(
        split=tfds_split,
        decoders={"image": tfds.decode.SkipDecoding()},
        shuffle_files=False,
    )
    dataset = dataset.map(
        lambda e: {
            "id": e["image/id"],
            "text": e["captions"]["text"],
            "label": e["objects"]["label"],
        },
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    # ragged_batch: caption and object counts vary per image; batching cuts
    # the per-element Python overhead of the 123K-record pass.
    dataset = dataset.ragged_batch(READ_BATCH_SIZE).prefetch(tf.data.AUTOTUNE)
    ids, word_sets, object_labels = [], [], []
    for batch in dataset.as_numpy_iterator():
        ids.append(np.asarray(batch["id"], dtype=np.int64))
        word_sets.extend(caption_words(texts) for texts in batch["text"])
        object_labels.extend(np.asarray(labels, dtype=np.int64) for labels in batch["label"])
    if not ids:
        raise ValueError(
            f"TFDS split {tfds_split!r} of {TFDS_NAME} holds no images; the "
            "prepared data is incomplete. Rebuild it with "
            f"`{tfds_download_command(TFDS_NAME)}`."
        )
    return np.concatenate(ids), word_sets, object_labels


def make_image_source(builder, tfds_splits, image_ids):
    """An `image_size -> tf.data.Dataset` of `{"image", "index"}` elements.

    `index` is the row of `image_ids` (the split's label rows); elements
    come in TFDS record order, not row order.

    Args:
        builder: a prepared `coco_captions/2014` builder.
        tfds_splits: TFDS splits that hold the images of `image_ids`.
        image_ids: sorted int64 ids of the split's rows.

    Returns:
        Function `image_size -> tf.data.Dataset`; images are float32
        `(H, W, 3)` in [0, 1], bilinearly resized to `image_size` or at
        their native size when it is None.
    """
    image_ids = np.asarray(image_ids, dtype=np.int64)

    def image_source(image_size=None):
        import tensorflow_datasets as tfds

        tf = environment.import_tensorflow_quietly()
        size = check_image_size(image_size)
        rows = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(image_ids), tf.range(len(image_ids), dtype=tf.int64)
            ),
            default_value=-1,
        )
        datasets = [
            # SkipDecoding keeps the JPEG bytes so images of other splits
            # are filtered out before paying for their decoding.
            builder.as_dataset(
                split=split,
                decoders={"image": tfds.decode.SkipDecoding()},
                shuffle_files=False,
            )
            for split in tfds_splits
        ]
        dataset = datasets[0]
        for more in datasets[1:]:
            dataset = dataset.concatenate(more)
        # A hash lookup is cheap, so this map stays sequential.
        dataset = dataset.map(
            lambda e: {"jpeg": e["image"], "index": rows.lookup(e["image/id"])}
        )
        dataset = dataset.filter(lambda e: e["index"] >= 0)

        def decode(element):
            # decode_image, not decode_jpeg, so a stored file that is not a
            # JPEG (PNG, BMP, GIF) still decodes; expand_animations=False
            # keeps the rank at 3.
            image = tf.io.decode_image(
                element["jpeg"], channels=3, expand_animations=False
            )
            image = tf.image.convert_image_dtype(image, tf.float32)
            if size is not None:
                image = tf.image.resize(image, size)
            return {"image": image, "index": element["index"]}

        # Decoding and resizing dominate; run them in parallel.
        return dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE)

    return image_source


def _by_image_id(records, field):
    """Maps image id -> one field of `read_label_records`' output."""
    return {
        image_id: value
        for split_records in records.values()
        for image_id, value in zip(split_records[0].tolist(), split_records[field])
    }


def _tfds_splits_holding(records, image_ids):
    """The TFDS splits (in `TFDS_SPLITS` order) that hold any of `image_ids`."""
    return tuple(
        split for split in TFDS_SPLITS if np.isin(records[split][0], image_ids).any()
    )


def _describe(name, parts, noisy, clean_vocabulary, rule, seed):
    sizes = "/".join(f"{len(parts[k]):,}" for k in ("train", "validation", "test"))
    dropped = [c for c in COCO_CATEGORIES if c not in clean_vocabulary]
    return (
        f"{name}: COCO 2014 (TFDS {TFDS_NAME}), train/validation/test "
        f"{sizes} images (split seed {seed}). Noisy labels: {noisy}. Clean "
        f"labels: {len(clean_vocabulary)} COCO object categories ({rule}); "
        f"dropped: {', '.join(dropped) or 'none'}."
    )


def load_coco_captions(
    data_dir=None, download=False, num_words=DEFAULT_NUM_WORDS, seed=0,
    tags_file=None, num_tags=DEFAULT_NUM_TAGS,
    validation_size=DEFAULT_VALIDATION_SIZE, test_size=DEFAULT_TEST_SIZE,
    categories=None,
):
    """COCO 2014 with caption-word (or Flickr-tag) noisy labels.

    Rules (tokenisation, vocabulary, clean categories, split) are in the
    module docstring.

    Args:
        data_dir: TFDS data directory (default: TFDS's own).
        download: let TFDS download and prepare missing data.
        num_words: size of the caption vocabulary (paper: 1,000).
        seed: seed of the validation/test split.
        tags_file: optional JSON file image id -> tags (Section 4.2); when
            given, the noisy labels are the `num_tags` most common tags.
        num_tags: size of the tag vocabulary (paper: 1,024).
        validation_size, test_size: evaluation split sizes (20,000 each).
        categories: optional explicit clean categories (COCO names);
            default: the caption-vocabulary rule.

    Returns:
        `MultilabelDataset` named `coco_captions` (or `coco_flickr_tags`)
        with `clean_to_noisy`; splits stream images via `image_source`.

    Raises:
        ValueError: data missing with `download=False` (names the dataset,
            the data_dir and the download command), bad arguments, a bad
            tags file, or vocabularies larger than the data allows.

    Example:
        >>> data = load_coco_captions(data_dir="~/tensorflow_datasets")  # doctest: +SKIP
        >>> clean_rows, noisy_rows = coco_clean_noisy_split(len(data.train))  # doctest: +SKIP
    """
    num_words = _check_positive_int(num_words, "num_words")
    num_tags = _check_positive_int(num_tags, "num_tags")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}.")
    _check_positive_int(validation_size, "validation_size")
    _check_positive_int(test_size, "test_size")
    if categories is not None:
        categories = check_category_names(categories)
    tags_by_id = flickr_tags.read_tags_file(tags_file) if tags_file is not None else None

    builder = _open_builder(data_dir, download)
    records = {split: read_label_records(builder, split) for split in TFDS_SPLITS}
    train2014 = np.concatenate([records[s][0] for s in TRAIN2014_TFDS_SPLITS])
    val2014 = np.concatenate([records[s][0] for s in VAL2014_TFDS_SPLITS])
    parts = split_image_ids(train2014, val2014, seed, validation_size, test_size)
    word_sets = _by_image_id(records, 1)
    object_labels = _by_image_id(records, 2)

    words_of = {k: [word_sets[i] for i in parts[k].tolist()] for k in parts}
    caption_vocabulary = build_vocabulary(words_of["train"], num_words)
    if categories is None:
        clean_vocabulary = select_categories(caption_vocabulary)
        rule = "those named by the caption vocabulary"
    else:
        clean_vocabulary, rule = categories, "given by the caller"
    if tags_by_id is None:
        name, noisy_vocabulary, noisy_sets = "coco_captions", caption_vocabulary, words_of
        noisy = f"the {num_words} most common caption words"
    else:
        source = f"Tags file {str(tags_file)!r}"
        all_ids = np.concatenate([parts[k] for k in parts]).tolist()
        tags_of = dict(
            zip(all_ids, flickr_tags.tag_sets_for_images(tags_by_id, all_ids, source))
        )
        noisy_sets = {k: [tags_of[i] for i in parts[k].tolist()] for k in parts}
        noisy_vocabulary = build_vocabulary(
            noisy_sets["train"], num_tags, size_name="num_tags", what="Flickr tags"
        )
        name, noisy = "coco_flickr_tags", f"the {num_tags} most common Flickr tags of {tags_file}"

    made = {}
    for k in ("train", "validation", "test"):
        made[k] = MultilabelSplit(
            clean_labels=clean_label_matrix(
                [object_labels[i] for i in parts[k].tolist()], clean_vocabulary
            ),
            noisy_labels=multi_hot(noisy_sets[k], noisy_vocabulary),
            image_source=make_image_source(
                builder, _tfds_splits_holding(records, parts[k]), parts[k]
            ),
        )
    return MultilabelDataset(
        name=name,
        clean_vocabulary=tuple(clean_vocabulary),
        noisy_vocabulary=tuple(noisy_vocabulary),
        train=made["train"],
        validation=made["validation"],
        test=made["test"],
        clean_to_noisy=clean_to_noisy_matrix(clean_vocabulary, noisy_vocabulary),
        description=_describe(name, parts, noisy, clean_vocabulary, rule, seed),
    )
