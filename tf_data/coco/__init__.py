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
    not established here, so this package does NOT claim to reproduce it.
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

Modules: `text` (tokenising), `vocabulary` (vocabularies, multi-hot rows),
`categories` (COCO categories, clean labels, `clean_to_noisy`),
`image_splits` (the split and `D_C`), `reader` (TFDS access) and `loader`
(`load_coco_captions`); their public names are re-exported here.
"""

from tf_data.coco.categories import CATEGORY_SYNONYMS
from tf_data.coco.categories import COCO_CATEGORIES
from tf_data.coco.categories import IRREGULAR_PLURALS
from tf_data.coco.categories import MAX_NAMES_IN_MESSAGE
from tf_data.coco.categories import category_words
from tf_data.coco.categories import check_category_names
from tf_data.coco.categories import clean_label_matrix
from tf_data.coco.categories import clean_to_noisy_matrix
from tf_data.coco.categories import plural
from tf_data.coco.categories import select_categories
from tf_data.coco.image_splits import CLEAN_FRACTION
from tf_data.coco.image_splits import DEFAULT_TEST_SIZE
from tf_data.coco.image_splits import DEFAULT_VALIDATION_SIZE
from tf_data.coco.image_splits import coco_clean_noisy_split
from tf_data.coco.image_splits import split_image_ids
from tf_data.coco.loader import DEFAULT_NUM_TAGS
from tf_data.coco.loader import DEFAULT_NUM_WORDS
from tf_data.coco.loader import load_coco_captions
from tf_data.coco.reader import READ_BATCH_SIZE
from tf_data.coco.reader import TFDS_NAME
from tf_data.coco.reader import TFDS_SPLITS
from tf_data.coco.reader import TRAIN2014_TFDS_SPLITS
from tf_data.coco.reader import VAL2014_TFDS_SPLITS
from tf_data.coco.reader import check_image_size
from tf_data.coco.reader import make_image_source
from tf_data.coco.reader import read_label_records
from tf_data.coco.text import caption_words
from tf_data.coco.text import tokenise
from tf_data.coco.vocabulary import build_vocabulary
from tf_data.coco.vocabulary import multi_hot

__all__ = [
    "CATEGORY_SYNONYMS",
    "CLEAN_FRACTION",
    "COCO_CATEGORIES",
    "DEFAULT_NUM_TAGS",
    "DEFAULT_NUM_WORDS",
    "DEFAULT_TEST_SIZE",
    "DEFAULT_VALIDATION_SIZE",
    "IRREGULAR_PLURALS",
    "MAX_NAMES_IN_MESSAGE",
    "READ_BATCH_SIZE",
    "TFDS_NAME",
    "TFDS_SPLITS",
    "TRAIN2014_TFDS_SPLITS",
    "VAL2014_TFDS_SPLITS",
    "build_vocabulary",
    "caption_words",
    "category_words",
    "check_category_names",
    "check_image_size",
    "clean_label_matrix",
    "clean_to_noisy_matrix",
    "coco_clean_noisy_split",
    "load_coco_captions",
    "make_image_source",
    "multi_hot",
    "plural",
    "read_label_records",
    "select_categories",
    "split_image_ids",
    "tokenise",
]
