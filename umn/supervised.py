"""The supervised-only baselines "S-1" and "S-2" of Table 1."""

import keras
from keras import ops

from tf_data import augment
from tf_data import validation
from umn import architectures
from umn import losses
from umn.batches import images_of
from umn.contract import KerasContract


SUPERVISED_ARCHITECTURES = architectures.ARCHITECTURES + ("resnet",)


@keras.saving.register_keras_serializable(package="umn")
class SupervisedClassifier(KerasContract, keras.Model):
    """A classifier trained with cross-entropy on the labelled examples only.

    "S-1" is UMN's own classifier branch (paper 4.3: "for the supervised
    experiment we train only the classifier branch of the model"): the mlp
    trunk, `z_a` mean and classifier, or the 13-layer ConvNet. "S-2" is a
    residual network (`architecture="resnet"`, `umn.architectures.
    resnet_classifier`; the paper's ResNet-101 scaled down). Unlabelled
    examples (label -1) in a batch are ignored. Inputs get the same eta
    perturbation as UMN's learner. The loss is the cross-entropy of the
    logits (`tf_data.classification.cross_entropy_from_logits`).

    Keras contract (`umn.contract.KerasContract`): `fit` / `evaluate` take
    dict batches (`tf_data.batch_keys`), `(x, y)` arrays or `tf.data`, and
    `validation_data`; they log `loss` (the mean cross-entropy of the
    labelled rows), `accuracy` and the metrics given to `compile`, all
    computed on the labelled rows (label >= 0) only, from the
    classifier's probabilities (on perturbed inputs in training mode during
    `fit`). `label_issues(x, y)` ranks given labels by `1 - p(y | x)`
    (`score="with_held_out"` averages it with a label-spreading view that
    never saw the label, as UMN's default does; not measured here);
    `export(path)` writes a SavedModel whose `serve(x)` is `predict(x)`.

    Args:
        image_shape: `(H, W, K)`.
        num_classes: C.
        architecture: `"mlp"`, `"conv13"` or `"resnet"`.
        hidden_units, latent_dim, conv_width, dropout_rate: classifier-branch
            sizes (see `architectures.build_networks`).
        resnet_width, resnet_blocks: ResNet width and blocks per stage.
        max_shift, noise_stddev: eta (0 turns a part off); `max_shift=None`:
            none for the mlp, the paper's 2 px scaled to the image otherwise
            (`umn.architectures.default_max_shift`).
        seed: int seed of the perturbations.
        **kwargs: `keras.Model` arguments.

    Call arguments:
        inputs: `(B, H, W, K)` images or a dict with them under
            `tf_data.batch_keys.IMAGE_KEY`.

    Returns:
        `(B, C)` class probabilities.

    Example:

    >>> model = SupervisedClassifier((8, 8, 1), 10)
    >>> model.compile(optimizer="adam", metrics=["accuracy"])
    >>> model.fit(x_train, y_train, epochs=5, validation_data=(x_val, y_val))
    >>> model.label_issues(x_train, y_train).top(10)
    """

    def __init__(self, image_shape, num_classes, architecture="mlp",
                 hidden_units=architectures.DEFAULT_HIDDEN_UNITS,
                 latent_dim=architectures.DEFAULT_LATENT_DIM, conv_width=128, dropout_rate=0.5,
                 resnet_width=16,
                 resnet_blocks=2, max_shift=None, noise_stddev=0.15, seed=None, **kwargs):
        super().__init__(**kwargs)
        if architecture not in SUPERVISED_ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {SUPERVISED_ARCHITECTURES}, got "
                f"{architecture!r}."
            )
        self.image_shape = tuple(int(d) for d in image_shape)
        self.num_classes = validation.check_num_classes(num_classes)
        self.architecture = architecture
        self.hidden_units = hidden_units
        self.latent_dim = latent_dim
        self.conv_width = conv_width
        self.dropout_rate = dropout_rate
        self.resnet_width = resnet_width
        self.resnet_blocks = resnet_blocks
        self.max_shift = architectures.default_max_shift(self.image_shape, architecture,
                                                         max_shift)
        self.noise_stddev = validation.check_non_negative(noise_stddev, "noise_stddev")
        self.seed = seed
        if architecture == "resnet":
            self.networks = {"resnet": architectures.resnet_classifier(
                self.image_shape, self.num_classes, resnet_width, resnet_blocks)}
        else:
            self.networks = architectures.build_networks(
                architecture, self.image_shape, self.num_classes, hidden_units,
                latent_dim, conv_width=conv_width, dropout_rate=dropout_rate,
                generative=False,
            )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.built = True

    def logits(self, images, training=False):
        """Class logits of the network."""
        if self.architecture == "resnet":
            return self.networks["resnet"](images, training=training)
        return architectures.classifier_forward(
            self.networks, images, architectures.classifier_reads_latent(self.architecture),
            training=training,
        )["logits"]

    def _step(self, images, labels, training):
        """Cross-entropy on the labelled rows and the class probabilities."""
        if training:
            images = augment.perturb(images, self.seed_generator, self.max_shift,
                                     self.noise_stddev)
        logits = self.logits(images, training=training)
        loss = losses.labelled_cross_entropy(labels, logits)
        return {"loss": loss, "loss_weight": ops.sum(ops.cast(labels >= 0, "float32")),
                "probabilities": ops.softmax(logits, axis=-1), "trackers": []}

    def call(self, inputs, training=False):
        return ops.softmax(self.logits(images_of(inputs), training=training), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape, num_classes=self.num_classes,
            architecture=self.architecture, hidden_units=self.hidden_units,
            latent_dim=self.latent_dim, conv_width=self.conv_width,
            dropout_rate=self.dropout_rate, resnet_width=self.resnet_width,
            resnet_blocks=self.resnet_blocks, max_shift=self.max_shift,
            noise_stddev=self.noise_stddev, seed=self.seed,
        )
        return config
