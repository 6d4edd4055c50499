"""Small-image classification sources: digits, TFDS datasets and user data.

`load_dataset(name)` is the one entry point every script uses:

* `digits`: scikit-learn's `load_digits`, 1,797 real 8x8 handwritten digits
  that ship inside the package (no download). The embedded default.
* `mnist`, `svhn_cropped`, `cifar10`: through tensorflow-datasets, loaded
  with `download=False` unless asked, so an offline user gets an immediate
  error naming the download command instead of ~200 s of retries.
* `npz:PATH`: a NumPy archive with `x`/`y` or `images`/`labels`, optionally
  `x_test`/`y_test` (else a seeded stratified test split is made).
* `folder:PATH`: one sub-folder per class of image files, like
  `keras.utils.image_dataset_from_directory`.
"""

import os
import warnings

import numpy as np

from tf_data import validation
from tf_data.image_dataset import ImageDataset

TFDS_DATASETS = {
    # name: (train split, test split, class names)
    "mnist": ("train", "test", tuple(str(d) for d in range(10))),
    "svhn_cropped": ("train", "test", tuple(str(d) for d in range(10))),
    "cifar10": (
        "train",
        "test",
        (
            "airplane", "automobile", "bird", "cat", "deer",
            "dog", "frog", "horse", "ship", "truck",
        ),
    ),
}
BUILTIN_DATASETS = ("digits",) + tuple(TFDS_DATASETS)
DIGITS_TEST_FRACTION = 0.25
DIGITS_SPLIT_SEED = 0
USER_TEST_FRACTION = 0.2
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def _stratified_test_split(labels, test_fraction, seed):
    """Seeded stratified split; returns sorted (train_idx, test_idx)."""
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        test.append(members[: int(round(test_fraction * len(members)))])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test


def _split_into_dataset(name, images, labels, class_names, seed, files=None):
    labels = np.asarray(labels)
    train, test = _stratified_test_split(labels, USER_TEST_FRACTION, seed)
    if len(test) == 0 or len(train) == 0:
        raise ValueError(
            f"{name!r} has too few examples ({len(labels)}) to hold out a "
            f"{USER_TEST_FRACTION:.0%} test split; supply a test set (x_test/y_test)."
        )
    paths = {} if files is None else {
        "train_files": tuple(files[i] for i in train),
        "test_files": tuple(files[i] for i in test)}
    return ImageDataset(
        name, images[train], labels[train], images[test], labels[test],
        len(class_names), class_names, **paths,
    )


def load_digits():
    """scikit-learn's handwritten digits as an `ImageDataset`.

    1,797 images of 8x8 pixels, 17 grey levels scaled to [0, 1]; a fixed
    stratified split (seed 0) keeps 25% (450 images) for testing and 1,347
    for training.
    """
    from sklearn import datasets as sk_datasets

    bunch = sk_datasets.load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., None]
    labels = bunch.target.astype(np.int64)
    train, test = _stratified_test_split(labels, DIGITS_TEST_FRACTION, DIGITS_SPLIT_SEED)
    return ImageDataset(
        "digits", images[train], labels[train], images[test], labels[test],
        10, tuple(str(d) for d in range(10)),
    )


def tfds_download_command(name, data_dir=None):
    """The shell command that downloads a TFDS dataset for `load_dataset`."""
    target = f" --data_dir={data_dir}" if data_dir else ""
    return f"tfds build {name}{target}"


def missing_tfds_data_error(name, searched_dir, data_dir=None, download=False, size_note=""):
    """The ValueError for TFDS data that is not prepared.

    Args:
        name: TFDS name, e.g. `"cifar10"` or `"coco_captions/2014"`.
        searched_dir: the directory TFDS looked in (`builder.data_dir`).
        data_dir: the user's `--data_dir` (None: TFDS's default).
        download: whether downloading was on.
        size_note: e.g. `" (tens of GB)"`.

    Returns:
        A ValueError naming the dataset, the directory searched and the
        exact command that downloads it.
    """
    return ValueError(
        f"Dataset {name!r} is not prepared under {str(searched_dir)!r} and "
        f"downloading is {'on but failed' if download else 'off'}. Download it "
        f"once{size_note} with\n    {tfds_download_command(name, data_dir)}\n"
        "or pass --download (download=True)."
    )


def read_tfds_split(builder, split, download, data_dir=None, **as_dataset_kwargs):
    """`builder.as_dataset(split)`, failing fast when the data is missing.

    TFDS raises an AssertionError at once when a prepared dataset is not
    found (whereas `tfds.load` may retry for minutes offline); we turn it
    into a ValueError naming the dataset, the directory searched and the
    command that downloads it.
    """
    try:
        return builder.as_dataset(split=split, **as_dataset_kwargs)
    except AssertionError as error:
        if "could not find data" not in str(error):
            raise
        raise missing_tfds_data_error(builder.name, builder.data_dir, data_dir, download) from None


def load_tfds(name, data_dir=None, download=False):
    """Loads `mnist`, `svhn_cropped` or `cifar10` into an `ImageDataset`.

    Args:
        name: a key of `TFDS_DATASETS`.
        data_dir: TFDS data directory (default: TFDS's own, usually
            `~/tensorflow_datasets`).
        download: fetch and prepare the data if it is missing.

    Raises:
        ValueError: data is missing and `download` is False; the message
            names the directory searched and the command that downloads it.
    """
    import tensorflow_datasets as tfds

    if name not in TFDS_DATASETS:
        raise ValueError(
            f"Unknown TFDS dataset {name!r}; choose one of {tuple(TFDS_DATASETS)}."
        )
    train_split, test_split, class_names = TFDS_DATASETS[name]
    builder = tfds.builder(name, data_dir=data_dir)
    if download:
        builder.download_and_prepare()
    arrays = {}
    for split in (train_split, test_split):
        # These datasets fit in memory (CIFAR-10 train is 150 MB as uint8).
        # Fixed-size batches, not batch_size=-1, which sizes one batch from
        # split metadata that mocked or partial datasets may lack.
        data = read_tfds_split(builder, split, download, data_dir, batch_size=4096,
                               as_supervised=True)
        batches = list(tfds.as_numpy(data))
        images = np.concatenate([b[0] for b in batches])
        labels = np.concatenate([b[1] for b in batches])
        arrays[split] = (images.astype(np.float32) / 255.0, labels.astype(np.int64))
    return ImageDataset(
        name, *arrays[train_split], *arrays[test_split], len(class_names), class_names
    )


def load_npz(path, seed=0):
    """Loads user data from a `.npz` archive.

    Keys: `x`/`y` or `images`/`labels`; optional `x_test`/`y_test` (or
    `images_test`/`labels_test`) and `class_names`. Integer images are taken
    as 0-255; float images must already lie in [0, 1]. Without test arrays a
    seeded stratified 20% test split is made.
    """
    if not os.path.isfile(path):
        raise ValueError(f"npz file {path!r} does not exist.")
    with np.load(path, allow_pickle=False) as archive:
        keys = set(archive.files)
        for x_key, y_key in (("x", "y"), ("images", "labels")):
            if {x_key, y_key} <= keys:
                break
        else:
            raise ValueError(
                f"{path!r} must hold arrays 'x' and 'y' (or 'images' and "
                f"'labels'); found {sorted(keys)}."
            )
        images = _scale_user_images(archive[x_key], path)
        labels = np.asarray(archive[y_key])
        test = None
        if {f"{x_key}_test", f"{y_key}_test"} <= keys:
            test = (_scale_user_images(archive[f"{x_key}_test"], path),
                    np.asarray(archive[f"{y_key}_test"]))
        class_names = tuple(archive["class_names"]) if "class_names" in keys else ()
    for x_part, y_part in [(images, labels)] + ([test] if test is not None else []):
        if y_part.ndim != 1:
            raise ValueError(
                f"Labels in {path!r} must be 1-D class indices, got shape {y_part.shape}."
            )
        validation.check_same_length(images=x_part, labels=y_part)
    all_labels = labels if test is None else np.concatenate([labels, test[1]])
    validation.check_labels(all_labels, len(class_names) or max(int(np.max(all_labels)) + 1, 2))
    num_classes = len(class_names) or max(int(all_labels.max()) + 1, 2)
    class_names = class_names or tuple(str(c) for c in range(num_classes))
    name = f"npz:{path}"
    if test is None:
        return _split_into_dataset(name, images, labels, class_names, seed)
    return ImageDataset(name, images, labels, *test, num_classes, class_names)


def _scale_user_images(images, source):
    images = np.asarray(images)
    checked = validation.check_images(images, f"images in {source!r}")
    if images.dtype.kind in "iu":
        return checked / 255.0
    if checked.min() < 0.0 or checked.max() > 1.0:
        raise ValueError(
            f"Float images in {source!r} must lie in [0, 1], got range "
            f"[{checked.min():.3g}, {checked.max():.3g}]. Store uint8 0-255 "
            "images or divide by 255."
        )
    return checked


def _decode_image_files(files):
    """Decodes every file; returns `(images, bad)` with `bad` as `(path, reason)` pairs."""
    import tensorflow as tf
    images, bad = [], []
    for file_name in files:
        try:
            images.append(tf.io.decode_image(tf.io.read_file(file_name),
                                             expand_animations=False).numpy())
        except (tf.errors.OpError, ValueError) as error:
            reason = str(getattr(error, "message", error)).strip()
            bad.append((file_name, reason.split("\n")[0] or "unreadable"))
            images.append(None)
    return images, bad


def _list_bad_files(bad, limit=10):
    lines = [f"  {path}: {reason}" for path, reason in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"  ... and {len(bad) - limit} more")
    return "\n".join(lines)


def load_folder(path, image_size=None, seed=0, skip_bad_files=False):
    """Loads `PATH/<class name>/<image>` files; classes sorted by name.

    Images are decoded with `tf.io.decode_image` (PNG, JPEG, BMP, GIF), as
    `keras.utils.image_dataset_from_directory` does. Greyscale folders stay
    one-channel; if any image has colour, all are converted to RGB. The
    returned dataset keeps the path of every row (`train_files`,
    `test_files`), so an index from `label_issues` names its file.

    Args:
        path: the root folder.
        image_size: `(H, W)` to resize to; default: the size of the first
            image, and every image must share it.
        seed: seed of the stratified 20% test split.
        skip_bad_files: files that cannot be read or decoded (truncated,
            not an image) raise a ValueError listing them (False, the
            default), or are left out with a warning giving their number
            and paths (True).
    """
    import tensorflow as tf
    if not os.path.isdir(path):
        raise ValueError(f"Image folder {path!r} does not exist.")
    class_names = tuple(
        sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    )
    if len(class_names) < 2:
        raise ValueError(
            f"{path!r} must have one sub-folder per class (at least 2), found "
            f"{len(class_names)}."
        )
    files, labels = [], []
    for label, class_name in enumerate(class_names):
        folder = os.path.join(path, class_name)
        names = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS))
        if not names:
            raise ValueError(f"Class folder {folder!r} holds no images {IMAGE_EXTENSIONS}.")
        files += [os.path.join(folder, name) for name in names]
        labels += [label] * len(names)
    decoded, bad = _decode_image_files(files)
    if bad and not skip_bad_files:
        raise ValueError(
            f"{len(bad)} of {len(files)} files in {path!r} cannot be read as images:\n"
            f"{_list_bad_files(bad)}\nRemove or replace them, or leave them out with "
            "--skip_bad_files (table scripts) or skip_bad_files=True (tf_data.load_dataset, "
            "load_folder).")
    if bad:
        warnings.warn(f"Skipped {len(bad)} of {len(files)} files in {path!r} that cannot be "
                      f"read as images:\n{_list_bad_files(bad)}", stacklevel=2)
        kept = [i for i, image in enumerate(decoded) if image is not None]
        files, labels, decoded = ([files[i] for i in kept], [labels[i] for i in kept],
                                  [decoded[i] for i in kept])
    channels = 3 if any(image.shape[-1] >= 3 for image in decoded) else 1
    images = []
    for file_name, image in zip(files, decoded):
        image = image[..., :3] if image.shape[-1] >= 3 else image[..., :1]
        if channels == 3 and image.shape[-1] == 1:
            image = np.repeat(image, 3, axis=-1)
        if image_size is not None:
            image = tf.image.resize(image, image_size, antialias=True).numpy()
            image = np.clip(np.round(image), 0, 255).astype(np.uint8)
        if images and image.shape != images[0].shape:
            raise ValueError(
                f"Image {file_name!r} has shape {image.shape} but earlier images have "
                f"{images[0].shape}; resize them all with image_size=(H, W) "
                "(--image_size=H,W in the table scripts)."
            )
        images.append(image)
    images = _scale_user_images(np.stack(images), path)
    return _split_into_dataset(f"folder:{path}", images, np.asarray(labels), class_names, seed,
                               files=files)


def load_dataset(name, data_dir=None, download=False, seed=0, skip_bad_files=False,
                 image_size=None):
    """Loads a dataset by the name every script's `--dataset` flag takes.

    Args:
        name: `digits`, `mnist`, `svhn_cropped`, `cifar10`, `npz:PATH` or
            `folder:PATH`.
        data_dir: TFDS data directory.
        download: let TFDS download missing data.
        seed: seed of the test split made for user data without one.
        skip_bad_files: `folder:PATH` only: leave unreadable files out with a
            warning instead of raising (see `load_folder`).
        image_size: `folder:PATH` only: `(H, W)` to resize every image to
            (needed when the images differ in size).

    Returns:
        An `ImageDataset`.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"Dataset name must be a non-empty string, got {name!r}.")
    if name == "digits":
        return load_digits()
    if name in TFDS_DATASETS:
        return load_tfds(name, data_dir=data_dir, download=download)
    if name.startswith("npz:"):
        return load_npz(name[4:], seed=seed)
    if name.startswith("folder:"):
        return load_folder(name[7:], image_size=image_size, seed=seed,
                           skip_bad_files=skip_bad_files)
    if image_size is not None:
        raise ValueError(f"image_size applies to folder:PATH sources only, not {name!r}.")
    raise ValueError(
        f"Unknown dataset {name!r}. Choose one of {BUILTIN_DATASETS}, "
        "'npz:PATH' or 'folder:PATH'."
    )
