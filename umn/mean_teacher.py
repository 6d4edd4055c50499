"""Mean Teacher (Tarvainen & Valpola 2017), a semi-supervised baseline of Table 1."""

import keras
from keras import ops

from tf_data import augment
from tf_data import environment
from tf_data import validation
from umn import architectures
from umn import losses
from umn.batches import AccuracyTestStep
from umn.batches import check_batch_images
from umn.batches import images_of
from umn.batches import unpack_batch
from umn.guider import Guider
from umn.model import check_ema_decay
from umn.model import check_non_negative

tf = environment.import_tensorflow_quietly()


@keras.saving.register_keras_serializable(package="umn")
class MeanTeacher(AccuracyTestStep, keras.Model):
    """A student classifier and its EMA teacher with a consistency cost.

    loss = CE(student(eta(x_L)), y_obs) + w(t) * mean_B ||student(eta(x)) -
    teacher(eta'(x))||^2 / C, with `w(t) = consistency_weight *
    exp(-5 (1 - t / rampup_steps)^2)` (sigmoid ramp-up). The teacher (a
    `Guider`, Eq. 10 of UMN) is updated after every step with decay
    `rampup_ema_decay` during the ramp-up and `ema_decay` after it, both
    capped by `1 - 1/(t + 1)`. Defaults are the paper's: decay 0.99 then
    0.999, consistency up to 100, input noise 0.15 plus 2-pixel
    translations. The student is UMN's classifier branch, so both see the
    same architecture.

    Args:
        image_shape: `(H, W, K)`.
        num_classes: C.
        architecture: `"mlp"` or `"conv13"`.
        hidden_units, latent_dim, conv_width, dropout_rate: network sizes.
        ema_decay: teacher decay after the ramp-up, in [0, 1).
        rampup_ema_decay: teacher decay during the ramp-up, in [0, 1).
        consistency_weight: the maximum consistency weight.
        rampup_steps: length of the sigmoid ramp-up in optimiser steps.
        max_shift, noise_stddev: eta and eta'; `max_shift=None`: none for the mlp,
            the paper's 2 px scaled to the image otherwise
            (`umn.architectures.default_max_shift`).
        seed: int seed.
        **kwargs: `keras.Model` arguments.

    Call arguments:
        inputs: `(B, H, W, K)` images or a dict with `"image"`.

    Returns:
        `(B, C)` teacher class probabilities.

    Example:

    >>> model = MeanTeacher((8, 8, 1), 10, rampup_steps=500)
    """

    def __init__(self, image_shape, num_classes, architecture="mlp",
                 hidden_units=architectures.DEFAULT_HIDDEN_UNITS,
                 latent_dim=architectures.DEFAULT_LATENT_DIM, conv_width=128, dropout_rate=0.5,
                 ema_decay=0.999,
                 rampup_ema_decay=0.99, consistency_weight=100.0, rampup_steps=1000,
                 max_shift=None, noise_stddev=0.15, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.num_classes = validation.check_num_classes(num_classes)
        self.architecture = architecture
        self.hidden_units = hidden_units
        self.latent_dim = latent_dim
        self.conv_width = conv_width
        self.dropout_rate = dropout_rate
        self.ema_decay = check_ema_decay(ema_decay, allow_none=False)
        self.rampup_ema_decay = check_ema_decay(rampup_ema_decay, allow_none=False)
        self.consistency_weight = check_non_negative(consistency_weight, "consistency_weight")
        self.rampup_steps = int(rampup_steps)
        self.max_shift = architectures.default_max_shift(self.image_shape, architecture,
                                                         max_shift)
        self.noise_stddev = float(noise_stddev)
        self.seed = seed
        self.reads_latent = architectures.classifier_reads_latent(architecture)
        self.networks = architectures.build_networks(
            architecture, self.image_shape, self.num_classes, hidden_units, latent_dim,
            conv_width=conv_width, dropout_rate=dropout_rate, generative=False,
        )
        self.guider = Guider.from_networks(self.networks, self.reads_latent, name="teacher")
        self.guider.copy_from(self.networks)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.consistency_tracker = keras.metrics.Mean(name="consistency")
        self.accuracy_tracker = keras.metrics.Mean(name="accuracy")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.consistency_tracker, self.accuracy_tracker]

    def _perturb(self, images):
        return augment.perturb(images, self.seed_generator, self.max_shift, self.noise_stddev)

    def teacher_decay(self, step):
        """Decay at 0-based step: ramp-up value, then `ema_decay`, warmed up."""
        step = ops.cast(step, "float32")
        decay = ops.where(step < self.rampup_steps, self.rampup_ema_decay, self.ema_decay)
        return ops.minimum(decay, losses.warmed_up_decay(step, 1.0))

    def train_step(self, data):
        images, labels = unpack_batch(data)
        images = check_batch_images(images, self.image_shape)
        labels = ops.cast(labels, "int32")
        labelled = labels >= 0
        step = self.optimizer.iterations
        teacher_probs = ops.stop_gradient(self.guider(self._perturb(images)))
        student_input = self._perturb(images)
        with tf.GradientTape() as tape:
            student = architectures.classifier_forward(
                self.networks, student_input, self.reads_latent, training=True)
            probs = ops.softmax(student["logits"], axis=-1)
            classification = losses.masked_mean(
                losses.sparse_cross_entropy(probs, ops.where(labelled, labels, 0)), labelled)
            consistency = ops.mean(losses.consistency_mse(probs, teacher_probs))
            weight = self.consistency_weight * losses.sigmoid_rampup(step, self.rampup_steps)
            loss = classification + weight * consistency
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.guider.update(self.networks, self.teacher_decay(step))
        self.loss_tracker.update_state(loss)
        self.consistency_tracker.update_state(consistency)
        return {"loss": self.loss_tracker.result(),
                "consistency": self.consistency_tracker.result()}

    def call(self, inputs, training=False):
        return self.guider(images_of(inputs))

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape, num_classes=self.num_classes,
            architecture=self.architecture, hidden_units=self.hidden_units,
            latent_dim=self.latent_dim, conv_width=self.conv_width,
            dropout_rate=self.dropout_rate, ema_decay=self.ema_decay,
            rampup_ema_decay=self.rampup_ema_decay,
            consistency_weight=self.consistency_weight, rampup_steps=self.rampup_steps,
            max_shift=self.max_shift, noise_stddev=self.noise_stddev, seed=self.seed,
        )
        return config
