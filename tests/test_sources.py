"""Dataset sources: digits offline, TFDS through mock_data, npz and folders."""

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tf_data
from tf_data import sources

import tensorflow as tf


def test_digits_loads_offline_with_fixed_split():
    data = tf_data.load_dataset("digits")
    assert data.x_train.shape == (1347, 8, 8, 1) and data.x_test.shape == (450, 8, 8, 1)
    assert data.x_train.dtype == np.float32
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert data.num_classes == 10 and data.class_counts("test").min() >= 44
    again = tf_data.load_dataset("digits")
    np.testing.assert_array_equal(data.y_train, again.y_train)


@pytest.mark.parametrize("name, shape", [("mnist", (28, 28, 1)), ("svhn_cropped", (32, 32, 3)),
                                         ("cifar10", (32, 32, 3))])
def test_tfds_sources_load_through_mock_data(name, shape):
    with tfds.testing.mock_data(num_examples=12):
        data = tf_data.load_dataset(name)
    assert data.image_shape == shape
    assert len(data.x_train) == 12 and len(data.x_test) == 12
    assert data.x_train.dtype == np.float32 and data.x_train.max() <= 1.0
    assert data.num_classes == 10 and len(data.class_names) == 10


def test_missing_tfds_data_fails_fast_with_the_download_command(tmp_path):
    with pytest.raises(ValueError) as error:
        tf_data.load_dataset("cifar10", data_dir=str(tmp_path))
    message = str(error.value)
    assert "cifar10" in message and str(tmp_path) in message
    assert f"tfds build cifar10 --data_dir={tmp_path}" in message


def test_unknown_dataset_lists_choices():
    with pytest.raises(ValueError, match="Unknown dataset 'imagenet'.*digits"):
        tf_data.load_dataset("imagenet")


def _write_npz(path, **arrays):
    np.savez(path, **arrays)
    return f"npz:{path}"


def test_npz_with_and_without_test_split(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (50, 6, 6), dtype=np.uint8)
    y = np.arange(50) % 5
    data = tf_data.load_dataset(_write_npz(tmp_path / "a.npz", x=x, y=y))
    assert len(data.x_train) == 40 and len(data.x_test) == 10
    assert data.image_shape == (6, 6, 1) and data.x_train.max() <= 1.0
    np.testing.assert_array_equal(data.class_counts("test"), 2)
    data = tf_data.load_dataset(_write_npz(
        tmp_path / "b.npz", images=x, labels=y, images_test=x[:7], labels_test=y[:7]))
    assert len(data.x_train) == 50 and len(data.x_test) == 7


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"a": np.zeros(3)}, "must hold arrays 'x' and 'y'"),
        ({"x": np.full((4, 3, 3), np.nan), "y": np.arange(4) % 2}, "NaN"),
        ({"x": np.zeros((4, 3, 3)), "y": np.array([0, 1, 2])}, "same number"),
        ({"x": np.zeros((4, 3, 3)), "y": np.array([0, 1, -1, 1])}, r"\[0, "),
        ({"x": np.full((4, 3, 3), 3.0), "y": np.arange(4) % 2}, r"\[0, 1\]"),
        ({"x": np.zeros((0, 3, 3)), "y": np.zeros(0, int)}, "empty"),
        ({"x": np.zeros((4, 3, 3)), "y": np.zeros((4, 2), int)}, "1-D"),
    ],
)
def test_bad_npz_inputs(tmp_path, arrays, message):
    with pytest.raises(ValueError, match=message):
        tf_data.load_dataset(_write_npz(tmp_path / "bad.npz", **arrays))


def test_missing_npz_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        tf_data.load_dataset(f"npz:{tmp_path}/nothing.npz")


def _write_folder(root, sizes=((5, 5),) * 2, per_class=5, channels=3):
    rng = np.random.default_rng(0)
    for c, size in enumerate(sizes):
        os.makedirs(root / f"class_{c}", exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, size + (channels,), dtype=np.uint8)
            tf.io.write_file(str(root / f"class_{c}" / f"{i}.png"), tf.io.encode_png(pixels))


def test_folder_source(tmp_path):
    _write_folder(tmp_path)
    data = tf_data.load_dataset(f"folder:{tmp_path}")
    assert data.class_names == ("class_0", "class_1")
    assert data.image_shape == (5, 5, 3) and len(data.x_train) + len(data.x_test) == 10
    first = tf.io.decode_png(tf.io.read_file(str(tmp_path / "class_0" / "0.png"))).numpy()
    all_images = np.concatenate([data.x_train, data.x_test])
    assert np.any(np.all(np.isclose(all_images, first / 255.0), axis=(1, 2, 3)))


def test_folder_of_mixed_sizes_needs_image_size(tmp_path):
    _write_folder(tmp_path, sizes=((5, 5), (6, 4)))
    with pytest.raises(ValueError, match=r"image_size=\(H, W\) \(--image_size=H,W"):
        sources.load_folder(str(tmp_path))
    assert sources.load_folder(str(tmp_path), image_size=(4, 4)).image_shape == (4, 4, 3)


def test_bad_folders(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        tf_data.load_dataset(f"folder:{tmp_path}/missing")
    os.makedirs(tmp_path / "only")
    with pytest.raises(ValueError, match="at least 2"):
        tf_data.load_dataset(f"folder:{tmp_path}")
    os.makedirs(tmp_path / "empty")
    with pytest.raises(ValueError, match="holds no images"):
        tf_data.load_dataset(f"folder:{tmp_path}")


def test_folder_rows_keep_their_file_paths(tmp_path):
    _write_folder(tmp_path)
    data = sources.load_folder(str(tmp_path))
    assert len(data.train_files) == len(data.x_train) and len(data.test_files) == len(data.x_test)
    for images, labels, files in ((data.x_train, data.y_train, data.train_files),
                                  (data.x_test, data.y_test, data.test_files)):
        for image, label, path in zip(images, labels, files):
            assert os.path.basename(os.path.dirname(path)) == data.class_names[label]
            decoded = tf.io.decode_png(tf.io.read_file(path)).numpy()
            np.testing.assert_allclose(image, decoded / 255.0, rtol=1e-6)


def _plant_bad_files(root):
    """A truncated PNG and a text file named .png; returns their paths."""
    good = tf.io.encode_png(np.zeros((5, 5, 3), np.uint8)).numpy()
    truncated = root / "class_0" / "truncated.png"
    truncated.write_bytes(good[: len(good) // 2])
    not_an_image = root / "class_1" / "notes.png"
    not_an_image.write_text("not an image")
    return sorted([str(truncated), str(not_an_image)])


def test_unreadable_files_are_listed_or_skipped(tmp_path):
    _write_folder(tmp_path)
    bad = _plant_bad_files(tmp_path)
    with pytest.raises(ValueError, match="2 of 12 files") as raised:
        tf_data.load_dataset(f"folder:{tmp_path}")
    assert all(path in str(raised.value) for path in bad)
    assert "skip_bad_files=True" in str(raised.value)
    with pytest.warns(UserWarning, match="Skipped 2 of 12 files") as caught:
        data = tf_data.load_dataset(f"folder:{tmp_path}", skip_bad_files=True)
    assert all(path in str(caught[0].message) for path in bad)
    kept = set(data.train_files) | set(data.test_files)
    assert len(kept) == 10 and not kept & set(bad)


def test_image_dataset_validates():
    x = np.zeros((4, 2, 2, 1), np.float32)
    with pytest.raises(ValueError, match="different shapes"):
        tf_data.ImageDataset("t", x, np.arange(4) % 2, np.zeros((2, 3, 3, 1)), [0, 1], 2, ())
    with pytest.raises(ValueError, match="class names"):
        tf_data.ImageDataset("t", x, np.arange(4) % 2, x, np.arange(4) % 2, 2, ("a",))


def test_table2_script_reads_a_messy_folder_with_its_flags_and_names_files(
        tmp_path, run_script):
    """Mixed sizes and unreadable files: the script's error says which flags fix it;
    with them, the suspected-label CSV names each row's file."""
    import csv

    folder = tmp_path / "images"
    _write_folder(folder, sizes=((5, 5), (6, 4), (5, 5)), per_class=12)
    bad = _plant_bad_files(folder)
    arguments = [f"--dataset=folder:{folder}", "--preset=smoke", "--noise=symmetric",
                 "--noise_rates=0.4", "--methods=robustcrf", f"--output_dir={tmp_path / 'out'}"]
    with pytest.raises(ValueError, match="--skip_bad_files"):
        run_script("robustcrf_table2", *arguments)
    with pytest.warns(UserWarning, match="Skipped 2 of 38"), \
            pytest.raises(ValueError, match="--image_size=H,W"):
        run_script("robustcrf_table2", *arguments, "--skip_bad_files")
    with pytest.raises(ValueError, match="two positive integers"):
        run_script("robustcrf_table2", *arguments, "--skip_bad_files", "--image_size=4")
    with pytest.warns(UserWarning, match="Skipped 2 of 38"):
        run_script("robustcrf_table2", *arguments, "--skip_bad_files", "--image_size=4,4")
    with open(tmp_path / "out" / "suspected_labels_robustcrf_noise0.4_seed0.csv") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames[-1] == "file"
    for row in rows:  # (a one-epoch smoke run may flag none)
        assert row["file"].startswith(str(folder)) and row["file"] not in bad
        assert os.path.exists(row["file"])


def test_label_issues_csv_names_the_file_of_each_row(tmp_path):
    import csv

    from tf_data.label_issues import rank_label_issues

    issues = rank_label_issues(np.array([0, 1, 1]), np.array([1, 1, 0]),
                               np.array([0.9, 0.1, 0.5]))
    files = ("a.png", "b.png", "c.png")
    with open(issues.to_csv(tmp_path / "issues.csv", files=files)) as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["index"], row["file"]) for row in rows] == [("0", "a.png"), ("2", "c.png"),
                                                             ("1", "b.png")]
    with pytest.raises(ValueError, match="files names 2 examples"):
        issues.to_csv(tmp_path / "other.csv", files=files[:2])


def test_subset_keeps_each_rows_file(tmp_path):
    _write_folder(tmp_path)
    data = sources.load_folder(str(tmp_path))
    rows = np.array([2, 0])
    part = data.subset(train_rows=rows)
    assert part.train_files == (data.train_files[2], data.train_files[0])
    np.testing.assert_array_equal(part.x_train, data.x_train[rows])
    assert part.test_files == data.test_files and len(part.x_test) == len(data.x_test)
