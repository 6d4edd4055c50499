"""Feature extractors that produce the CRF's unary terms `a(x)`, `b(x)`.

Each builder returns a `keras.Model` mapping images to a pooled feature
vector; models add linear heads on top (robust CRF Section 4.1: spatially
average-pooled final features through a fully connected layer). Any user
backbone that maps images to a vector (or directly to logits) works too.
"""

import keras
from keras import layers

from tf_data.distribute import batch_normalization


BACKBONES = ("small_cnn", "resnet32", "resnet50", "vgg16")
# Keras' BatchNormalization default (0.99) moves the inference statistics too
# slowly when an epoch is a few dozen steps (digits: 21 steps of 64), and
# test accuracy then lags training by many epochs. 0.9 is also the momentum of
# the Torch/Caffe ResNets the papers trained (Torch's 0.1 = Keras' 0.9).
BATCH_NORM_MOMENTUM = 0.9
SMALL_CNN_POOLED_SIZE = 8


def small_cnn(input_shape, width=32, batch_norm_momentum=BATCH_NORM_MOMENTUM, name="small_cnn"):
    """Pairs of 3x3 conv layers (BN, ReLU) with 2x2 max-pooling, global average pool.

    Sized by the input: a pair of `width` filters and a 2x2 max-pool, then
    pairs of `2 * width` filters, pooling again while the map is larger than
    `SMALL_CNN_POOLED_SIZE` (8) pixels, so the global average pool sees at
    most 8x8. The 8x8 digits and 16x16 mosaics get the original design
    (two pairs, one pool); 28x28 and 32x32 images get a second pool and a
    third pair. With one pool, a 28x28 digit left 14x14 maps of local
    stroke detectors under the average pool: 93.6% test accuracy with clean
    labels on 4,000 real 28x28 digits, against 98.5% with the second pool.

    Args:
        input_shape: `(H, W, channels)`.
        width: filters of the first pair; later pairs have `2 * width`.
        batch_norm_momentum: momentum of the BatchNormalization layers.
        name: model name.

    Returns:
        A `keras.Model` from images to `2 * width` features.
    """
    inputs = keras.Input(input_shape)
    x = inputs
    size = min(input_shape[:2])
    filters = width
    while True:
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = batch_normalization(momentum=batch_norm_momentum)(x)
            x = layers.ReLU()(x)
        if filters == 2 * width and size <= SMALL_CNN_POOLED_SIZE:
            break
        filters = 2 * width
        x = layers.MaxPooling2D(2)(x)
        size //= 2
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, x, name=name)


def _basic_block(x, filters, stride, momentum):
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False,
                      kernel_initializer="he_normal")(x)
    y = batch_normalization(momentum=momentum)(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                      kernel_initializer="he_normal")(y)
    y = batch_normalization(momentum=momentum)(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False,
                                 kernel_initializer="he_normal")(shortcut)
        shortcut = batch_normalization(momentum=momentum)(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))


def resnet_cifar(input_shape, depth=32, batch_norm_momentum=BATCH_NORM_MOMENTUM, name=None):
    """He et al. 2016's CIFAR ResNet: 3 stages of (depth-2)/6 basic blocks.

    Depth 32 gives 3 stages x 5 blocks with 16/32/64 filters, as the robust
    CRF paper trains on CIFAR-10 (Table 2). Returns 64 pooled features.
    """
    if (depth - 2) % 6 != 0 or depth < 8:
        raise ValueError(f"CIFAR ResNet depth must be 6n + 2 (20, 32, 44, ...), got {depth}.")
    blocks = (depth - 2) // 6
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(inputs)
    x = layers.ReLU()(batch_normalization(momentum=batch_norm_momentum)(x))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(blocks):
            x = _basic_block(x, filters, 2 if stage > 0 and block == 0 else 1,
                             batch_norm_momentum)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, x, name=name or f"resnet{depth}")


def keras_application(name, input_shape, weights=None):
    """ResNet-50 or VGG-16 from `keras.applications`, average-pooled.

    Args:
        name: `"resnet50"` or `"vgg16"`.
        input_shape: `(H, W, 3)`, at least 32x32.
        weights: None (random init; nothing is downloaded), a local weights
            file, or `"imagenet"` (downloads; needs network access).
    """
    if len(input_shape) != 3 or input_shape[-1] != 3 or min(input_shape[:2]) < 32:
        raise ValueError(
            f"{name} needs RGB images of at least 32x32, got input_shape {input_shape}."
        )
    applications = {"resnet50": keras.applications.ResNet50, "vgg16": keras.applications.VGG16}
    if name not in applications:
        raise ValueError(f"Unknown keras.applications backbone {name!r}; choose resnet50 or vgg16.")
    return applications[name](include_top=False, weights=weights, input_shape=tuple(input_shape),
                              pooling="avg")


def build_backbone(name, input_shape, weights=None, **options):
    """Builds a backbone by name: one of `BACKBONES`.

    Args:
        name: `small_cnn`, `resnet32`, `resnet50` or `vgg16`.
        input_shape: `(H, W, channels)`.
        weights: for `keras.applications` backbones (see
            `keras_application`).
        **options: extra arguments of `small_cnn` / `resnet_cifar` (e.g.
            `width`, `batch_norm_momentum`).
    """
    if name == "small_cnn":
        return small_cnn(input_shape, **options)
    if name == "resnet32":
        return resnet_cifar(input_shape, 32, **options)
    if name in ("resnet50", "vgg16"):
        if options:
            raise ValueError(f"{name} takes no options {sorted(options)}.")
        return keras_application(name, input_shape, weights)
    raise ValueError(f"Unknown backbone {name!r}; choose one of {BACKBONES}.")
