"""Container for multilabel data with clean and noisy label vocabularies.

The robust CRF's multilabel task (COCO, Section 4.1) has two label sets per
image: clean labels `y_hat` in {0,1}^C over a small set of categories, and
noisy labels `y` in {0,1}^N over a larger vocabulary (caption words, user
tags). Label matrices live in memory; images either live in memory (the
embedded `digit_mosaics`) or are streamed (COCO), so a split exposes them
through `image_dataset`, which yields `{"image", "index"}` elements where
`index` is the row of the split's label matrices. Consumers join labels by
gathering on `index`, so shuffled or streamed images stay matched.
"""

import dataclasses
from typing import Callable, Optional

import numpy as np

from tf_data import validation


@dataclasses.dataclass(frozen=True)
class MultilabelSplit:
    """One split (train, validation or test) of a `MultilabelDataset`.

    Attributes:
        clean_labels: `(n, C)` uint8 {0, 1}.
        noisy_labels: `(n, N)` uint8 {0, 1}.
        images: the inputs in memory: `(n, H, W, ch)` float32 images in
            [0, 1] or `(n, D)` float32 feature vectors; None when streamed.
        image_source: when `images` is None, a function
            `image_size -> tf.data.Dataset` of `{"image", "index"}` with
            float32 images resized to `image_size` (None: native size).
    """

    clean_labels: np.ndarray
    noisy_labels: np.ndarray
    images: Optional[np.ndarray] = None
    image_source: Optional[Callable] = None

    def __post_init__(self):
        clean = validation.check_binary_labels(self.clean_labels, name="clean_labels")
        noisy = validation.check_binary_labels(self.noisy_labels, name="noisy_labels")
        validation.check_same_length(clean_labels=clean, noisy_labels=noisy)
        object.__setattr__(self, "clean_labels", clean)
        object.__setattr__(self, "noisy_labels", noisy)
        if (self.images is None) == (self.image_source is None):
            raise ValueError("Give exactly one of `images` or `image_source`.")
        if self.images is not None:
            images = validation.check_inputs(self.images, "images")
            validation.check_same_length(images=images, clean_labels=clean)
            object.__setattr__(self, "images", images)

    def __len__(self):
        return len(self.clean_labels)

    def image_dataset(self, image_size=None):
        """`tf.data.Dataset` of `{"image", "index"}` in row order."""
        if self.image_source is not None:
            return self.image_source(image_size)
        import tensorflow as tf
        dataset = tf.data.Dataset.from_tensor_slices(
            {"image": self.images, "index": np.arange(len(self), dtype=np.int64)}
        )
        if self.images.ndim == 2:
            if image_size is not None:
                raise ValueError("image_size applies to images; these inputs are feature "
                                 f"vectors of shape {self.images.shape}.")
            return dataset
        if image_size is not None and tuple(image_size) != self.images.shape[1:3]:
            dataset = dataset.map(
                lambda e: {"image": tf.image.resize(e["image"], image_size), "index": e["index"]},
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        return dataset


@dataclasses.dataclass(frozen=True)
class MultilabelDataset:
    """Clean/noisy multilabel data: vocabularies and three splits.

    Attributes:
        name: e.g. `"coco_captions"`, `"digit_mosaics"`.
        clean_vocabulary: C names of the clean categories.
        noisy_vocabulary: N names of the noisy labels (words, tags).
        train, validation, test: `MultilabelSplit`s; `validation` may be None.
        clean_to_noisy: optional `(C, N)` {0,1} mapping from a clean category
            to the noisy labels that name it (for the "cross-entropy on
            noisy labels mapped to clean categories" baseline).
        description: how labels were made, for reports.
    """

    name: str
    clean_vocabulary: tuple
    noisy_vocabulary: tuple
    train: MultilabelSplit
    validation: Optional[MultilabelSplit]
    test: MultilabelSplit
    clean_to_noisy: Optional[np.ndarray] = None
    description: str = ""

    def __post_init__(self):
        num_clean, num_noisy = len(self.clean_vocabulary), len(self.noisy_vocabulary)
        for split_name in ("train", "validation", "test"):
            split = getattr(self, split_name)
            if split is None and split_name == "validation":
                continue
            validation.check_binary_labels(split.clean_labels, num_clean, f"{split_name} clean_labels")
            validation.check_binary_labels(split.noisy_labels, num_noisy, f"{split_name} noisy_labels")
        if self.clean_to_noisy is not None:
            mapping = validation.check_binary_labels(self.clean_to_noisy, num_noisy, "clean_to_noisy")
            if len(mapping) != num_clean:
                raise ValueError(
                    f"clean_to_noisy must have {num_clean} rows (one per clean "
                    f"category), got {len(mapping)}."
                )
            object.__setattr__(self, "clean_to_noisy", mapping)

    @property
    def same_vocabulary(self):
        """True when clean and noisy labels name the same categories, in order."""
        return tuple(self.clean_vocabulary) == tuple(self.noisy_vocabulary)

    @property
    def num_clean(self):
        return len(self.clean_vocabulary)

    @property
    def num_noisy(self):
        return len(self.noisy_vocabulary)
