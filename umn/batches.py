"""Batch unpacking shared by UMN and its baselines (`tf_data.batch_keys` format)."""

import keras

from tf_data.batch_keys import IMAGE_KEY
from tf_data.batch_keys import LABEL_KEY
from tf_data.batch_keys import SAMPLE_WEIGHT_KEY
from tf_data.batch_keys import UNLABELLED


def unpack_batch(data):
    """`(images, labels)` of one training or evaluation batch.

    Accepts the project's one batch format (`tf_data.batch_keys`): a dict
    with `IMAGE_KEY` and `LABEL_KEY` (extra keys such as `INDEX_KEY` are
    ignored), or an `(x, y)` tuple as `fit(x, y)` and `evaluate(x, y)` give,
    `x` being images or such a dict. Labels of unlabelled examples are
    `UNLABELLED` (-1).

    Args:
        data: one batch.

    Returns:
        `(images, labels)`.

    Raises:
        ValueError: no labels, no images, or sample weights (the UMN
            objectives have no per-example weights; give unwanted labels
            the value -1 instead).

    Example:

    >>> images, labels = unpack_batch({"image": x, "label": y, "index": i})
    """
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if isinstance(x, dict):
        if IMAGE_KEY not in x:
            raise ValueError(f"Dict batches need the key {IMAGE_KEY!r} (tf_data.batch_keys), "
                             f"got {sorted(x)}.")
        if sample_weight is None:
            sample_weight = x.get(SAMPLE_WEIGHT_KEY)
        y = x.get(LABEL_KEY, y)
        x = x[IMAGE_KEY]
    if y is None:
        raise ValueError(
            f"Training and evaluation batches need labels: dicts with {IMAGE_KEY!r} and "
            f"{LABEL_KEY!r} (see tf_data.mixed_pipeline) or (images, labels) tuples, "
            f"label {UNLABELLED} for an unlabelled example."
        )
    if sample_weight is not None:
        raise ValueError(
            "UMN models take no sample weights (nor class_weight): their objectives have "
            f"no per-example weights. Give an example the label {UNLABELLED} to leave it "
            "out of the labelled term and the metrics."
        )
    return x, y


def batch_feature(data, key):
    """The tensor under `key` of a dict batch (or of its dict `x`), else None.

    Example:

    >>> batch_feature({"image": x, "label": y, "held_out_disbelief": d}, "held_out_disbelief")
    """
    x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    return x.get(key) if isinstance(x, dict) else None


def check_batch_images(images, image_shape):
    """Raises ValueError when a batch's static image shape is not `image_shape`.

    Runs while the train step is traced, so a wrong input shape fails with a
    clear message instead of a shape error deep inside a layer.
    """
    shape = tuple(images.shape[1:])
    if None not in shape and shape != tuple(image_shape):
        raise ValueError(
            f"The model was built for images of shape {tuple(image_shape)} but got "
            f"{shape}. Rebuild it with image_shape={shape} or resize the images."
        )
    return images


def images_of(inputs):
    """The `IMAGE_KEY` tensor of a dict batch, or `inputs` itself."""
    return inputs[IMAGE_KEY] if isinstance(inputs, dict) else inputs
