"""Network builders for UMN and its baselines (paper 4.1, Table 4, Figure 6).

Two architectures, chosen by name:

* `"mlp"` (MNIST / digits, paper 4.1): every encoder, decoder and the
  classifier is one ReLU hidden layer plus a linear output layer. The
  classifier reads `z_a`.
* `"conv13"` (SVHN / CIFAR-10, Table 4): the 13-layer ConvNet of Tarvainen &
  Valpola. Its first 9 convolutions (3x conv3x3-w, pool, dropout, 3x
  conv3x3-w, pool, dropout, conv3x3-4w valid) are the trunk shared by the
  classifier and the M1 encoder; the classifier continues with conv1x1-2w,
  conv1x1-w, global average pooling and a dense softmax layer, so it reads
  the trunk features `h(x)` (from which `z_a` is also drawn). The M1 head is
  conv3x3-32 -> flatten -> dense to `z_a`; the decoder mirrors Figure 6
  (dense, reshape, transposed conv, two upsample-and-conv stages). Batch
  normalisation and LeakyReLU(0.1) follow every convolution, as in the
  Mean Teacher ConvNet. `conv_width` is 128 in the paper.

The M2 networks `q(z_b | z_a, y)` and `p(z_a | z_b, y)` are one-hidden-layer
MLPs in both (Table 4: "M2 is composed of only fully connected layers").

`build_networks` returns a dict of functional `keras.Model`s:
`trunk` (x -> h), `latent_head` (h -> [mean, log_var] of z_a),
`classifier` (z_a or h -> logits), `decoder` (z_a -> pixel parameters),
`zb_encoder` ([z_a, one-hot y] -> [mean, log_var] of z_b) and
`za_decoder` ([z_b, one-hot y] -> [mean, log_var] of z_a).
"""

import math

import keras
from keras import layers
from keras import ops
from keras import random as keras_random

from tf_data import augment
from tf_data.distribute import global_batch_draw
from tf_data.distribute import batch_normalization

ARCHITECTURES = ("mlp", "conv13")
# The MLP sizes every UMN model defaults to: Kingma et al.'s M1+M2 width
# (500), a 10-d z_a and an 8-d z_b (see `umn.run_settings` for what they
# were measured against).
DEFAULT_HIDDEN_UNITS = 500
DEFAULT_LATENT_DIM = 10
DEFAULT_CLASS_LATENT_DIM = 8
CLASSIFIER_NETWORKS = ("trunk", "latent_head", "classifier")
LOG_VAR_LIMIT = 10.0
LEAKY_SLOPE = 0.1


def check_image_shape(image_shape, architecture):
    """Returns `image_shape` as an `(H, W, K)` tuple the architecture takes.

    Raises:
        ValueError: unknown architecture, or a shape it cannot take (conv13
            needs H and W divisible by 4 and at least 12, e.g. 32x32).
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture {architecture!r}; choose one of {ARCHITECTURES}."
        )
    try:
        shape = tuple(int(d) for d in image_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"image_shape must be (height, width, channels), got {image_shape!r}."
        ) from None
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"image_shape must be three positive sizes (height, width, channels), "
            f"got {image_shape!r}."
        )
    if architecture == "conv13":
        height, width = shape[:2]
        if height % 4 or width % 4 or height < 12 or width < 12:
            raise ValueError(
                f"The conv13 architecture pools twice by 2 and then applies a "
                f"valid 3x3 convolution, so height and width must be multiples "
                f"of 4 and at least 12 (32x32 for SVHN / CIFAR-10); got "
                f"{height}x{width}. Use architecture='mlp' for small images "
                "such as the 8x8 digits."
            )
    return shape


def split_gaussian(params):
    """Splits `[mean, log_var]` on the last axis; log_var clipped to +-10."""
    mean, log_var = ops.split(params, 2, axis=-1)
    return mean, ops.clip(log_var, -LOG_VAR_LIMIT, LOG_VAR_LIMIT)


def _mlp(input_dim, hidden_units, output_dim, name):
    inputs = keras.Input((input_dim,))
    hidden = layers.Dense(hidden_units, activation="relu")(inputs)
    return keras.Model(inputs, layers.Dense(output_dim)(hidden), name=name)


def _conv_block(x, filters, kernel, padding):
    x = layers.Conv2D(filters, kernel, padding=padding)(x)
    x = batch_normalization()(x)
    return layers.LeakyReLU(LEAKY_SLOPE)(x)


def _mlp_networks(image_shape, num_classes, hidden_units, latent_dim):
    pixels = math.prod(image_shape)
    inputs = keras.Input(image_shape)
    hidden = layers.Dense(hidden_units, activation="relu")(layers.Flatten()(inputs))
    trunk = keras.Model(inputs, hidden, name="trunk")
    latent_head = _dense_head(hidden_units, 2 * latent_dim, "latent_head")
    classifier = _mlp(latent_dim, hidden_units, num_classes, "classifier")
    z = keras.Input((latent_dim,))
    decoded = layers.Dense(hidden_units, activation="relu")(z)
    decoded = layers.Reshape(image_shape)(layers.Dense(pixels)(decoded))
    decoder = keras.Model(z, decoded, name="decoder")
    return {"trunk": trunk, "latent_head": latent_head, "classifier": classifier,
            "decoder": decoder}


def _dense_head(input_dim, output_dim, name):
    inputs = keras.Input((input_dim,))
    return keras.Model(inputs, layers.Dense(output_dim)(inputs), name=name)


def _conv_networks(image_shape, num_classes, latent_dim, width, dropout_rate):
    height, image_width, channels = image_shape
    inputs = keras.Input(image_shape)
    x = inputs
    for _ in range(3):
        x = _conv_block(x, width, 3, "same")
    x = layers.Dropout(dropout_rate)(layers.MaxPooling2D(2)(x))
    for _ in range(3):
        x = _conv_block(x, width, 3, "same")
    x = layers.Dropout(dropout_rate)(layers.MaxPooling2D(2)(x))
    x = _conv_block(x, 4 * width, 3, "valid")
    trunk = keras.Model(inputs, x, name="trunk")
    feature_shape = tuple(x.shape[1:])

    features = keras.Input(feature_shape)
    head = _conv_block(features, 32, 3, "same")
    head = layers.Dense(2 * latent_dim)(layers.Flatten()(head))
    latent_head = keras.Model(features, head, name="latent_head")

    features = keras.Input(feature_shape)
    logits = _conv_block(features, 2 * width, 1, "valid")
    logits = _conv_block(logits, width, 1, "valid")
    logits = layers.Dense(num_classes)(layers.GlobalAveragePooling2D()(logits))
    classifier = keras.Model(features, logits, name="classifier")

    z = keras.Input((latent_dim,))
    small_h, small_w = feature_shape[0], feature_shape[1]
    y = layers.Dense(small_h * small_w * 32, activation="relu")(z)
    y = layers.Reshape((small_h, small_w, 32))(y)
    y = layers.Conv2DTranspose(width, 3, padding="valid")(y)
    y = layers.LeakyReLU(LEAKY_SLOPE)(y)
    for _ in range(2):
        y = layers.UpSampling2D(2)(y)
        for _ in range(2):
            y = layers.LeakyReLU(LEAKY_SLOPE)(layers.Conv2D(width, 3, padding="same")(y))
    y = layers.Conv2D(channels, 1)(y)
    decoder = keras.Model(z, y, name="decoder")
    return {"trunk": trunk, "latent_head": latent_head, "classifier": classifier,
            "decoder": decoder}


def build_networks(architecture, image_shape, num_classes, hidden_units=DEFAULT_HIDDEN_UNITS,
                   latent_dim=DEFAULT_LATENT_DIM, class_latent_dim=DEFAULT_CLASS_LATENT_DIM,
                   conv_width=128,
                   dropout_rate=0.5, generative=True):
    """Builds the UMN networks as a dict of functional `keras.Model`s.

    Args:
        architecture: `"mlp"` or `"conv13"`.
        image_shape: `(H, W, K)`.
        num_classes: C.
        hidden_units: width of every MLP hidden layer (M2, and all of the
            mlp architecture).
        latent_dim: size of `z_a`.
        class_latent_dim: size of `z_b`.
        conv_width: filters of the conv13 trunk (128 in Table 4).
        dropout_rate: dropout after each conv13 pooling (0.5 in Table 4).
        generative: also build `decoder`, `zb_encoder` and `za_decoder`;
            False gives only the classifier branch (`CLASSIFIER_NETWORKS`).

    Returns:
        A dict of models keyed as in the module docstring.
    """
    image_shape = check_image_shape(image_shape, architecture)
    if architecture == "mlp":
        networks = _mlp_networks(image_shape, num_classes, hidden_units, latent_dim)
    else:
        networks = _conv_networks(image_shape, num_classes, latent_dim, conv_width,
                                  dropout_rate)
    if not generative:
        return {name: networks[name] for name in CLASSIFIER_NETWORKS}
    networks["zb_encoder"] = _mlp(latent_dim + num_classes, hidden_units,
                                  2 * class_latent_dim, "zb_encoder")
    networks["za_decoder"] = _mlp(class_latent_dim + num_classes, hidden_units,
                                  2 * latent_dim, "za_decoder")
    return networks


def default_max_shift(image_shape, architecture, max_shift=None):
    """The translation range of eta / eta' for an architecture.

    Table 4 translates the input of the conv architecture by up to 2 px
    (`tf_data.augment.scaled_max_shift` scales that to the image). The MLP
    architecture is not translated by default: its VAE reconstructs pixels
    at fixed positions, and on 28x28 digits (mnist5k, 30% noise, two seeds)
    a 2 px translation of its input raised UMN's test error from 15.7 / 11.8%
    to 19.6 / 20.4%; its eta is Gaussian input noise only. An int
    `max_shift` is returned as it is (validated).
    """
    if max_shift is None and architecture == "mlp":
        return 0
    return augment.scaled_max_shift(image_shape, max_shift)


def classifier_reads_latent(architecture):
    """True when the classifier reads `z_a` (mlp), False when `h(x)` (conv13)."""
    return architecture == "mlp"


def classifier_forward(networks, images, reads_latent, training=False, seed=None):
    """Runs the classifier branch: trunk, `q(z_a | x)` and `q(y | .)`.

    Shared by the UMN learner and guider, Mean Teacher and the supervised
    baseline, so all of them compute exactly the same function.

    Args:
        networks: dict with `trunk`, `latent_head` and `classifier`.
        images: `(B, H, W, K)`.
        reads_latent: whether the classifier reads `z_a` (else `h`).
        training: passed to the layers (dropout, batch norm).
        seed: a `keras.random.SeedGenerator` to draw `z_a ~ q(z_a | x)` by
            reparameterisation; None uses the mean.

    Returns:
        A dict with `features` (h), `za_mean`, `za_log_var`, `za` and
        `logits`.
    """
    features = networks["trunk"](images, training=training)
    za_mean, za_log_var = split_gaussian(networks["latent_head"](features, training=training))
    za = za_mean
    if seed is not None:
        noise = global_batch_draw(keras_random.normal, ops.shape(za_mean), seed=seed)
        za = za_mean + ops.exp(0.5 * za_log_var) * noise
    classifier_input = za if reads_latent else features
    logits = networks["classifier"](classifier_input, training=training)
    return {"features": features, "za_mean": za_mean, "za_log_var": za_log_var,
            "za": za, "logits": logits}


def classifier_model(architecture, image_shape, num_classes, hidden_units=DEFAULT_HIDDEN_UNITS,
                     latent_dim=DEFAULT_LATENT_DIM, conv_width=128, dropout_rate=0.5,
                     name="classifier_branch"):
    """The classifier branch as one functional model, images -> logits.

    The network of the supervised baseline S-1 (`z_a` at its mean), as a
    backbone for the wrappers that train any backbone their own way
    (`robustcrf.LearningToReweight`, `robustcrf.MentoredModel`), so the
    Table 1 baselines share S-1's network.

    Returns:
        A `keras.Model` from `(B,) + image_shape` images to `(B, C)` logits.
    """
    networks = build_networks(architecture, image_shape, num_classes, hidden_units, latent_dim,
                              conv_width=conv_width, dropout_rate=dropout_rate,
                              generative=False)
    inputs = keras.Input(tuple(image_shape))
    # training=None: the layers follow the training flag of each call.
    logits = classifier_forward(networks, inputs, classifier_reads_latent(architecture),
                                training=None)["logits"]
    return keras.Model(inputs, logits, name=name)


def _residual_block(x, filters, stride):
    shortcut = x
    y = batch_normalization()(x)
    y = layers.ReLU()(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(y)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(y)
    y = batch_normalization()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    return layers.Add()([shortcut, y])


def resnet_classifier(image_shape, num_classes, width=16, blocks_per_stage=2):
    """A pre-activation ResNet classifier, the paper's "S-2" baseline.

    The paper uses ResNet-101; this keeps its design (residual basic blocks
    in three stages of widths w, 2w, 4w, global pooling, dense softmax) at
    a depth chosen by `blocks_per_stage` (`6 * blocks + 2` layers). Stages
    downsample by 2 while the feature map is at least 4 pixels wide, so 8x8
    digits and 32x32 colour images both fit.

    Args:
        image_shape: `(H, W, K)`.
        num_classes: C.
        width: filters of the first stage.
        blocks_per_stage: residual blocks per stage.

    Returns:
        A functional `keras.Model` from images to logits.
    """
    image_shape = check_image_shape(image_shape, "mlp")
    inputs = keras.Input(image_shape)
    x = layers.Conv2D(width, 3, padding="same", use_bias=False)(inputs)
    size = min(image_shape[:2])
    for stage, filters in enumerate((width, 2 * width, 4 * width)):
        for block in range(blocks_per_stage):
            stride = 2 if (stage > 0 and block == 0 and size >= 4) else 1
            if stride == 2:
                size //= 2
            x = _residual_block(x, filters, stride)
    x = layers.ReLU()(batch_normalization()(x))
    logits = layers.Dense(num_classes)(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, logits, name="resnet")
