"""`load_coco_captions`: COCO 2014 as a `MultilabelDataset` (rules in `tf_data.coco`)."""

import numpy as np

from tf_data import flickr_tags
from tf_data.coco.categories import COCO_CATEGORIES
from tf_data.coco.categories import check_category_names
from tf_data.coco.categories import clean_label_matrix
from tf_data.coco.categories import clean_to_noisy_matrix
from tf_data.coco.categories import select_categories
from tf_data.coco.image_splits import DEFAULT_TEST_SIZE
from tf_data.coco.image_splits import DEFAULT_VALIDATION_SIZE
from tf_data.coco.image_splits import split_image_ids
from tf_data.coco.reader import TFDS_NAME
from tf_data.coco.reader import TFDS_SPLITS
from tf_data.coco.reader import TRAIN2014_TFDS_SPLITS
from tf_data.coco.reader import VAL2014_TFDS_SPLITS
from tf_data.coco.reader import _open_builder
from tf_data.coco.reader import make_image_source
from tf_data.coco.reader import read_label_records
from tf_data.validation import check_positive_int
from tf_data.coco.vocabulary import build_vocabulary
from tf_data.coco.vocabulary import multi_hot
from tf_data.multilabel_dataset import MultilabelDataset, MultilabelSplit

DEFAULT_NUM_WORDS = 1000
DEFAULT_NUM_TAGS = 1024


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
    `tf_data.coco` package docstring.

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
    num_words = check_positive_int(num_words, "num_words")
    num_tags = check_positive_int(num_tags, "num_tags")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}.")
    check_positive_int(validation_size, "validation_size")
    check_positive_int(test_size, "test_size")
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
