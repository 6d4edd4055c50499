"""The in-memory container every small-image source returns."""

import dataclasses

import numpy as np

from tf_data import validation


@dataclasses.dataclass(frozen=True)
class ImageDataset:
    """Train and test images with clean integer labels, validated.

    Images are float32 `(n, H, W, C)` scaled to [0, 1]; labels int64 in
    `[0, num_classes)`. Noise is injected later (`tf_data.noise`), so these
    labels are the dataset's own.

    Attributes:
        name: dataset name, e.g. `"digits"`.
        x_train, y_train, x_test, y_test: the arrays.
        num_classes: C.
        class_names: C names, for reports.
        train_files, test_files: for data read from files (`folder:PATH`),
            the path of every row of `x_train` / `x_test`, so a row index
            (e.g. from `label_issues`) names its file; `None` otherwise.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    class_names: tuple
    train_files: tuple = None
    test_files: tuple = None

    def __post_init__(self):
        set_ = lambda key, value: object.__setattr__(self, key, value)  # noqa: E731
        num_classes = validation.check_num_classes(self.num_classes)
        for split in ("train", "test"):
            images = validation.check_images(getattr(self, f"x_{split}"), f"x_{split}")
            labels = validation.check_labels(
                getattr(self, f"y_{split}"), num_classes, f"y_{split}"
            )
            validation.check_same_length(**{f"x_{split}": images, f"y_{split}": labels})
            set_(f"x_{split}", images)
            set_(f"y_{split}", labels)
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"Train images {self.x_train.shape[1:]} and test images "
                f"{self.x_test.shape[1:]} have different shapes."
            )
        names = tuple(str(n) for n in self.class_names) or tuple(
            str(c) for c in range(num_classes)
        )
        if len(names) != num_classes:
            raise ValueError(
                f"{len(names)} class names given for {num_classes} classes."
            )
        set_("class_names", names)
        set_("num_classes", num_classes)
        for split in ("train", "test"):
            files = getattr(self, f"{split}_files")
            if files is None:
                continue
            files = tuple(str(f) for f in files)
            if len(files) != len(getattr(self, f"y_{split}")):
                raise ValueError(
                    f"{split}_files names {len(files)} files for "
                    f"{len(getattr(self, f'y_{split}'))} {split} examples; give one per row.")
            set_(f"{split}_files", files)

    @property
    def image_shape(self):
        """`(H, W, C)` of one image."""
        return tuple(self.x_train.shape[1:])

    def subset(self, train_rows=None, test_rows=None):
        """The dataset restricted to some rows, each kept with its file path.

        Args:
            train_rows, test_rows: integer row indices (or boolean masks)
                into the train / test split; None keeps the whole split.

        Returns:
            A new `ImageDataset` (same name, classes and class names).
        """
        def pick(values, rows):
            if values is None or rows is None:
                return values
            picked = np.asarray(values)[np.asarray(rows)]
            return tuple(picked) if isinstance(values, tuple) else picked

        return dataclasses.replace(
            self, x_train=pick(self.x_train, train_rows), y_train=pick(self.y_train, train_rows),
            x_test=pick(self.x_test, test_rows), y_test=pick(self.y_test, test_rows),
            train_files=pick(self.train_files, train_rows),
            test_files=pick(self.test_files, test_rows))

    def all_examples(self):
        """`(images, labels, files)` of the train then the test split, joined.

        What a label audit scores: every labelled example, whichever split
        it landed in. `files` is None for data not read from files.
        """
        files = None
        if self.train_files is not None and self.test_files is not None:
            files = self.train_files + self.test_files
        return (np.concatenate([self.x_train, self.x_test]),
                np.concatenate([self.y_train, self.y_test]), files)

    def class_counts(self, split="train"):
        """Examples per class in `split`."""
        labels = self.y_train if split == "train" else self.y_test
        return np.bincount(labels, minlength=self.num_classes)
