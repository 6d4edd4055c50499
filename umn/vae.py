"""The stacked M1 + M2 variational autoencoder of UMN (Eq. 1-5, Appendix 6.1)."""

import keras
from keras import ops
from keras import random as keras_random

from tf_data.distribute import global_batch_draw
from umn import architectures
from umn import losses

LIKELIHOODS = ("auto", "bernoulli", "gaussian")
INITIAL_PIXEL_LOG_VAR = -2.0


def resolve_likelihood(likelihood, channels):
    """`"auto"` -> `"bernoulli"` for 1-channel (digit) images, else `"gaussian"`."""
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}.")
    if likelihood == "auto":
        return "bernoulli" if channels == 1 else "gaussian"
    return likelihood


@keras.saving.register_keras_serializable(package="umn")
class StackedVae(keras.layers.Layer):
    """Kingma et al.'s M1 VAE with the M2 class-conditional VAE on its `z_a`.

    Generative model (Eq. 2-3): `y ~ Uniform(C)`, `z_b ~ N(0, I)`,
    `z_a ~ p(z_a | z_b, y)` (Gaussian, `za_decoder`), `x ~ p(x | z_a)`
    (`decoder`). Inference (Eq. 4): `q(z_a | x) q(y | z_a) q(z_b | z_a, y)`.
    The per-example bound of Eq. 5 / Eq. 17-18, without the labelled term,
    is

        ELBO(x) = log p(x | z_a) - log q(z_a | x)
                  + sum_y q(y | z_a) [log p(z_a | z_b, y) - KL(q(z_b|z_a,y) || p(z_b))]
                  - KL(q(y | z_a) || p(y)),

    with one reparameterised `z_a ~ q(z_a | x)`, one `z_b` per class, and
    `-log q(z_a | x)` taken as the Gaussian entropy in closed form.

    Pixel likelihood: Bernoulli (cross-entropy on grey levels in [0, 1]) for
    one-channel digits; for colour images (SVHN / CIFAR-10) a Gaussian whose
    mean is the decoder output and whose log variance is one learned value
    per colour channel (initial variance exp(-2) ~ 0.14).

    Args:
        image_shape: `(H, W, K)`.
        num_classes: C.
        architecture: `"mlp"` or `"conv13"` (see `umn.architectures`).
        hidden_units, latent_dim, class_latent_dim, conv_width, dropout_rate:
            sizes passed to `architectures.build_networks`.
        likelihood: `"auto"`, `"bernoulli"` or `"gaussian"`.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        images: `(B, H, W, K)` images in [0, 1].
        training: layer mode.

    Returns:
        `(B,)` ELBO using the means of `q(z_a | x)` and `q(z_b | z_a, y)`.

    Example:

    >>> vae = StackedVae((8, 8, 1), 10)
    >>> vae(np.zeros((2, 8, 8, 1), "float32")).shape
    (2,)
    """

    def __init__(self, image_shape, num_classes, architecture="mlp",
                 hidden_units=architectures.DEFAULT_HIDDEN_UNITS,
                 latent_dim=architectures.DEFAULT_LATENT_DIM,
                 class_latent_dim=architectures.DEFAULT_CLASS_LATENT_DIM, conv_width=128,
                 dropout_rate=0.5,
                 likelihood="auto", **kwargs):
        super().__init__(**kwargs)
        self.image_shape = architectures.check_image_shape(image_shape, architecture)
        self.num_classes = int(num_classes)
        self.architecture = architecture
        self.hidden_units = int(hidden_units)
        self.latent_dim = int(latent_dim)
        self.class_latent_dim = int(class_latent_dim)
        self.conv_width = int(conv_width)
        self.dropout_rate = float(dropout_rate)
        self.likelihood = likelihood
        self.pixel_likelihood = resolve_likelihood(likelihood, self.image_shape[-1])
        self.reads_latent = architectures.classifier_reads_latent(architecture)
        self.networks = architectures.build_networks(
            architecture, self.image_shape, self.num_classes, self.hidden_units,
            self.latent_dim, self.class_latent_dim, self.conv_width, self.dropout_rate,
        )
        self.pixel_log_var = None
        if self.pixel_likelihood == "gaussian":
            self.pixel_log_var = self.add_weight(
                shape=(self.image_shape[-1],),
                initializer=keras.initializers.Constant(INITIAL_PIXEL_LOG_VAR),
                name="pixel_log_var",
            )

    def build(self, input_shape=None):
        self.built = True

    @property
    def classifier_networks(self):
        """The networks the classifier reads (what the guider copies)."""
        return {name: self.networks[name] for name in architectures.CLASSIFIER_NETWORKS}

    def classify(self, images, training=False, seed=None):
        """`architectures.classifier_forward` on this VAE's networks."""
        return architectures.classifier_forward(
            self.networks, images, self.reads_latent, training=training, seed=seed
        )

    def reconstruction_log_likelihood(self, targets, za, training=False):
        """`log p(x | z_a)` per example (Eq. 1)."""
        outputs = self.networks["decoder"](za, training=training)
        if self.pixel_likelihood == "bernoulli":
            return losses.bernoulli_log_likelihood(targets, outputs)
        return losses.gaussian_pixel_log_likelihood(targets, outputs, self.pixel_log_var)

    def class_conditional_elbo(self, za, one_hot_labels, training=False, seed=None):
        """`L(z_a, y) = log p(z_a | z_b, y) - KL(q(z_b | z_a, y) || N(0, I))`.

        Args:
            za: `(N, D)` latent codes.
            one_hot_labels: `(N, C)` classes to condition on.
            training: layer mode.
            seed: SeedGenerator for `z_b ~ q(z_b | z_a, y)`; None uses its mean.

        Returns:
            `(N,)` values.
        """
        zb_params = self.networks["zb_encoder"](
            ops.concatenate([za, one_hot_labels], axis=-1), training=training
        )
        zb_mean, zb_log_var = architectures.split_gaussian(zb_params)
        zb = zb_mean
        if seed is not None:
            zb = zb_mean + ops.exp(0.5 * zb_log_var) * global_batch_draw(
                keras_random.normal, ops.shape(zb_mean), seed=seed
            )
        prior_params = self.networks["za_decoder"](
            ops.concatenate([zb, one_hot_labels], axis=-1), training=training
        )
        prior_mean, prior_log_var = architectures.split_gaussian(prior_params)
        return losses.gaussian_log_density(za, prior_mean, prior_log_var) - (
            losses.gaussian_kl_to_standard_normal(zb_mean, zb_log_var)
        )

    def all_class_conditional_elbo(self, za, training=False, seed=None):
        """`L(z_a, y)` for every class at once: `(B, C)` (vectorised over y)."""
        batch = ops.shape(za)[0]
        repeated = ops.repeat(za, self.num_classes, axis=0)
        classes = ops.tile(ops.eye(self.num_classes, dtype=za.dtype), (batch, 1))
        values = self.class_conditional_elbo(repeated, classes, training, seed)
        return ops.reshape(values, (batch, self.num_classes))

    def elbo(self, targets, encoded, class_probs, training=False, seed=None):
        """The per-example bound of Eq. 5 without the labelled term.

        Args:
            targets: `(B, H, W, K)` images to reconstruct.
            encoded: output of `classify` (`za_mean`, `za_log_var`, `za`).
            class_probs: `(B, C)` `q(y | z_a)`.
            training: layer mode.
            seed: SeedGenerator for `z_b`; None uses means.

        Returns:
            A dict of `(B,)` tensors: `elbo`, `reconstruction`,
            `class_bound` (the M2 part of Eq. 5: the class-conditional
            bounds under `q(y | z_a)` and its KL to the uniform prior; the
            entropy of `q(z_a | x)` is added to `elbo` apart) and
            `m1_elbo`, M1's own bound with the prior `N(0, I)` on `z_a`
            in place of M2 (`losses.m1_elbo`; what `m1_warmup` trains).
        """
        za = encoded["za"]
        reconstruction = self.reconstruction_log_likelihood(targets, za, training)
        per_class = self.all_class_conditional_elbo(za, training, seed)
        class_bound = losses.unlabelled_elbo(class_probs, per_class)
        entropy = losses.gaussian_entropy(encoded["za_log_var"])
        return {"elbo": reconstruction + entropy + class_bound,
                "reconstruction": reconstruction, "class_bound": class_bound,
                "m1_elbo": losses.m1_elbo(reconstruction, za, encoded["za_log_var"])}

    def call(self, images, training=False):
        encoded = self.classify(images, training=training)
        probs = ops.softmax(encoded["logits"], axis=-1)
        return self.elbo(images, encoded, probs, training=training)["elbo"]

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape, num_classes=self.num_classes,
            architecture=self.architecture, hidden_units=self.hidden_units,
            latent_dim=self.latent_dim, class_latent_dim=self.class_latent_dim,
            conv_width=self.conv_width, dropout_rate=self.dropout_rate,
            likelihood=self.likelihood,
        )
        return config
