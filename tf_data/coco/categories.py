"""COCO object categories: names, plurals, synonyms, clean labels and mapping."""

import numpy as np

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
