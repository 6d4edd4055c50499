"""Input perturbations the papers use, as composable functions.

Each augmentation has a pure core that takes the random values it needs
(`translate_images`, `add_gaussian_noise`, `flip_images`) and two thin
drawers:

* `random_translate`, `gaussian_input_noise`, `random_horizontal_flip`
  draw with `keras.random` from an int seed or an owned
  `keras.random.SeedGenerator`; use these inside models (UMN's `eta`,
  Mean Teacher's input noise).
* `make_pipeline_augmentation` draws statelessly from a per-element seed
  that `tf.data` supplies, so an input pipeline is deterministic given its
  seed (see `tf_data.pipelines`).

Paper settings: translation by up to 2 px and Gaussian noise with sigma 0.15
(UMN, Mean Teacher), horizontal flips for CIFAR-10.

Why not Keras's preprocessing layers: `keras.layers.RandomTranslation`
draws a continuous shift and resamples the image (nearest or bilinear), so
its integer shifts are not uniform on `[-2, 2]` (the end points get half
the mass under "nearest") and its bilinear default blurs; the papers shift by
whole pixels with zero fill. `RandomFlip` and `GaussianNoise` do match, but
each owns its own seed generator, while UMN needs the translated image
before the noise is added (`perturb_stages`) and every draw of a model from
a `SeedGenerator` the model owns (checkpointed with it; UMN has one for the
learner and one for the guider's eta'), and the `tf.data`
pipeline needs stateless per-batch seeds to be reproducible. The cores
below are three lines each and are checked against NumPy in
`tests/test_augment.py`.
"""

from keras import ops
from keras import random as keras_random

from tf_data.distribute import global_batch_draw

MAX_SHIFT = 2
NOISE_STDDEV = 0.15


def translate_images(images, shifts, max_shift=MAX_SHIFT):
    """Translates each image by an integer shift, filling with zeros.

    Computed as a one-hot weighted sum of the `2 * max_shift + 1` row crops,
    then of the column crops, of the zero-padded batch: float maths only,
    no integer gathers, and separable so it costs `2(2m + 1)` image copies.

    Args:
        images: `(B, H, W, C)` float tensor.
        shifts: `(B, 2)` int tensor of (dy, dx), each in
            `[-max_shift, max_shift]`.
        max_shift: the largest |shift| allowed.

    Returns:
        `(B, H, W, C)`: `out[b, i, j] = images[b, i - dy, j - dx]`, zero where
        that falls outside the image.
    """
    height, width = images.shape[1], images.shape[2]
    pad = [[0, 0], [max_shift, max_shift], [max_shift, max_shift], [0, 0]]
    padded = ops.pad(images, pad)
    offsets = ops.arange(-max_shift, max_shift + 1, dtype="int32")
    shifts = ops.cast(shifts, "int32")
    # one_hot[b, k] = 1 where shift == offsets[k]; shape (B, 2m + 1, 1, 1, 1).
    row_weights = ops.cast(ops.equal(shifts[:, :1], offsets[None]), images.dtype)
    col_weights = ops.cast(ops.equal(shifts[:, 1:], offsets[None]), images.dtype)
    rows = 0.0
    for k in range(2 * max_shift + 1):
        start = 2 * max_shift - k  # = max_shift - offset
        rows = rows + row_weights[:, k, None, None, None] * padded[:, start:start + height]
    out = 0.0
    for k in range(2 * max_shift + 1):
        start = 2 * max_shift - k
        out = out + col_weights[:, k, None, None, None] * rows[:, :, start:start + width]
    return out


def scaled_max_shift(image_shape, max_shift=None):
    """The translation range for images of `image_shape` `(H, W, ...)`.

    The papers translate 28-32 px images by up to 2 px; `None` scales that
    to the image, `round(2 * min(H, W) / 28)`: 2 px on MNIST, SVHN and
    CIFAR-10, 1 px on the 8x8 digits (2 px there moves a quarter of the
    image, and every VAE model of UMN then stayed at ~90% error). An int is
    returned as it is.
    """
    if max_shift is not None:
        if isinstance(max_shift, bool) or int(max_shift) != max_shift or max_shift < 0:
            raise ValueError(f"max_shift must be a non-negative integer or None, got {max_shift!r}.")
        return int(max_shift)
    return int(round(MAX_SHIFT * min(image_shape[:2]) / 28.0))


def add_gaussian_noise(images, noise):
    """Returns `images + noise` (kept as a function so cores compose)."""
    return images + noise


def flip_images(images, flip):
    """Flips image b left-right where `flip[b]` is true."""
    flip = ops.reshape(ops.cast(flip, images.dtype), (-1, 1, 1, 1))
    return flip * ops.flip(images, axis=2) + (1.0 - flip) * images


def random_translate(images, seed, max_shift=MAX_SHIFT):
    """Translates every image by a uniform random shift in [-m, m]^2 pixels."""
    batch = ops.shape(images)[0]
    shifts = global_batch_draw(keras_random.randint, (batch, 2), minval=-max_shift,
                               maxval=max_shift + 1, seed=seed)
    return translate_images(images, shifts, max_shift)


def gaussian_input_noise(images, seed, stddev=NOISE_STDDEV):
    """Adds i.i.d. `N(0, stddev^2)` noise to every pixel."""
    noise = global_batch_draw(keras_random.normal, ops.shape(images), stddev=stddev, seed=seed)
    return add_gaussian_noise(images, ops.cast(noise, images.dtype))


def random_horizontal_flip(images, seed):
    """Flips each image left-right with probability 1/2."""
    batch = ops.shape(images)[0]
    flip = global_batch_draw(keras_random.uniform, (batch,), seed=seed) < 0.5
    return flip_images(images, flip)


def perturb_stages(images, seed, max_shift=MAX_SHIFT, stddev=NOISE_STDDEV, flip=False):
    """The perturbation `eta` in two stages: `(moved, moved + noise)`.

    `moved` is the geometric part (flip, then translation); the second
    element adds Gaussian noise to it. UMN's VAE reconstructs `moved` from
    the noisy version, so it needs both. A zero `max_shift` or `stddev`
    skips that part.
    """
    if flip:
        images = random_horizontal_flip(images, seed)
    if max_shift:
        images = random_translate(images, seed, max_shift)
    noisy = gaussian_input_noise(images, seed, stddev) if stddev else images
    return images, noisy


def perturb(images, seed, max_shift=MAX_SHIFT, stddev=NOISE_STDDEV, flip=False):
    """The UMN / Mean Teacher perturbation `eta`: translate, noise, flip.

    A zero `max_shift` or `stddev` skips that part.
    """
    return perturb_stages(images, seed, max_shift, stddev, flip)[1]


def make_pipeline_augmentation(max_shift=0, stddev=0.0, flip=False):
    """Builds a `(images, seed) -> images` function for `tf.data` batches.

    `seed` is a `(2,)` int64 stateless seed; `tf_data.pipelines` supplies a
    different one for every batch from `tf.data.Dataset.random(seed)`, so
    the whole stream of augmentations is reproducible.
    """
    import tensorflow as tf  # tf.random.stateless_* is the tf.data idiom.

    def augment(images, seed):
        seeds = tf.random.experimental.stateless_split(seed, 3)
        batch = tf.shape(images)[0]
        if flip:
            draw = tf.random.stateless_uniform([batch], seeds[0]) < 0.5
            images = flip_images(images, draw)
        if max_shift:
            shifts = tf.random.stateless_uniform(
                [batch, 2], seeds[1], -max_shift, max_shift + 1, dtype=tf.int32
            )
            images = translate_images(images, shifts, max_shift)
        if stddev:
            noise = tf.random.stateless_normal(tf.shape(images), seeds[2], stddev=stddev)
            images = add_gaussian_noise(images, noise)
        return images

    return augment
