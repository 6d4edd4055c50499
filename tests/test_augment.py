"""Augmentations against NumPy, drawn by keras.random and by tf.data."""

import keras
import numpy as np

from tf_data import augment


def _numpy_translate(images, shifts):
    out = np.zeros_like(images)
    height, width = images.shape[1:3]
    for b, (dy, dx) in enumerate(shifts):
        for i in range(height):
            for j in range(width):
                if 0 <= i - dy < height and 0 <= j - dx < width:
                    out[b, i, j] = images[b, i - dy, j - dx]
    return out


def test_translate_matches_numpy_for_every_shift():
    rng = np.random.default_rng(0)
    images = rng.random((25, 5, 6, 2)).astype(np.float32)
    shifts = np.array([(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)])
    result = keras.ops.convert_to_numpy(augment.translate_images(images, shifts))
    np.testing.assert_allclose(result, _numpy_translate(images, shifts))


def test_flip_and_noise_cores():
    images = np.arange(8, dtype=np.float32).reshape(2, 1, 4, 1)
    flipped = keras.ops.convert_to_numpy(augment.flip_images(images, np.array([True, False])))
    np.testing.assert_array_equal(flipped[0], images[0, :, ::-1])
    np.testing.assert_array_equal(flipped[1], images[1])


def test_keras_random_perturbation_statistics_and_seeding():
    images = np.zeros((256, 8, 8, 1), np.float32)
    noisy = keras.ops.convert_to_numpy(augment.gaussian_input_noise(images, seed=1))
    assert abs(noisy.std() - 0.15) < 0.005 and abs(noisy.mean()) < 0.005
    generator = keras.random.SeedGenerator(3)
    a = keras.ops.convert_to_numpy(augment.perturb(images + 1.0, generator))
    b = keras.ops.convert_to_numpy(augment.perturb(images + 1.0, generator))
    assert not np.allclose(a, b), "an owned SeedGenerator advances"
    c = keras.ops.convert_to_numpy(augment.perturb(images + 1.0, 5))
    d = keras.ops.convert_to_numpy(augment.perturb(images + 1.0, 5))
    np.testing.assert_array_equal(c, d)


def test_random_translate_shifts_stay_within_two_pixels():
    images = np.zeros((200, 9, 9, 1), np.float32)
    images[:, 4, 4] = 1.0
    moved = keras.ops.convert_to_numpy(augment.random_translate(images, seed=0))
    rows, cols = np.nonzero(moved[..., 0].reshape(200, 81))[1] // 9, np.nonzero(moved[..., 0].reshape(200, 81))[1] % 9
    assert set(rows - 4) == {-2, -1, 0, 1, 2} and set(cols - 4) == {-2, -1, 0, 1, 2}
