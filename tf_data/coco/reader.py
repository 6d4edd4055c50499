"""Reading TFDS `coco_captions/2014`: label features of every record, streamed images."""

import numpy as np

from tf_data.coco.categories import COCO_CATEGORIES
from tf_data.coco.categories import MAX_NAMES_IN_MESSAGE
from tf_data.coco.text import caption_words
from tf_data.sources import missing_tfds_data_error
from tf_data.sources import tfds_download_command

TFDS_NAME = "coco_captions/2014"
TRAIN2014_TFDS_SPLITS = ("train",)
VAL2014_TFDS_SPLITS = ("val", "test", "restval")
TFDS_SPLITS = TRAIN2014_TFDS_SPLITS + VAL2014_TFDS_SPLITS
READ_BATCH_SIZE = 1024


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
    import tensorflow as tf
    import tensorflow_datasets as tfds

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
        import tensorflow as tf
        import tensorflow_datasets as tfds

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
