"""Mean Teacher (Tarvainen & Valpola 2017), a semi-supervised baseline of Table 1."""

import keras
from keras import ops

from tf_data import augment
from tf_data import validation
from tf_data.distribute import global_value
from tf_data.distribute import replica_mean_share
from umn import architectures
from umn import losses
from umn.batches import images_of
from umn.contract import KerasContract
from umn.guider import Guider
from umn.model import check_ema_decay


@keras.saving.register_keras_serializable(package="umn")
class MeanTeacher(KerasContract, keras.Model):
    """A student classifier and its EMA teacher with a consistency cost.

    loss = CE(student(eta(x_L)), y_obs) + w(t) * mean_B ||student(eta(x)) -
    teacher(eta'(x))||^2 / C, with `w(t) = consistency_weight *
    exp(-5 (1 - t / rampup_steps)^2)` (sigmoid ramp-up). The teacher (a
    `Guider`, Eq. 10 of UMN) is updated after every step with decay
    `rampup_ema_decay` during the ramp-up and `ema_decay` after it, both
    capped by `1 - 1/(t + 1)`. Defaults are the paper's: decay 0.99 then
    0.999, consistency up to 100, input noise 0.15, plus 2-pixel
    translations for the conv architectures (none for the default MLP;
    `max_shift` sets it). The student is UMN's classifier branch, so both see the
    same architecture. CE is computed from the student's logits.

    Keras contract (`umn.contract.KerasContract`): `fit` / `evaluate` take
    dict batches (`tf_data.batch_keys`), `(x, y)` arrays or `tf.data`, and
    `validation_data`; they log `loss`, `consistency`, `accuracy` and the
    metrics given to `compile`. The compiled metrics and `accuracy` see the
    labelled rows (label >= 0) only, against the student's probabilities
    of the training forward pass in `fit` and the teacher's (what
    `predict` returns) in `evaluate` / validation, where the objective is
    computed on unperturbed inputs. `label_issues(x, y)` ranks given labels
    by the teacher's `1 - p(y | x)` (`score="with_held_out"` averages the
    teacher with a label-spreading view that never saw the label, as UMN's
    default does; not measured for the Mean Teacher); `export(path)` writes
    a SavedModel whose `serve(x)` is `predict(x)`.

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
        inputs: `(B, H, W, K)` images or a dict with them under
            `tf_data.batch_keys.IMAGE_KEY`.

    Returns:
        `(B, C)` teacher class probabilities.

    Example:

    >>> model = MeanTeacher((8, 8, 1), 10, rampup_steps=500)
    >>> model.compile(optimizer="adam", metrics=["accuracy"])
    >>> model.fit(stream, steps_per_epoch=50, validation_data=(x_val, y_val))
    >>> model.label_issues(x_labelled, y_labelled).top(10)
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
        self.consistency_weight = validation.check_non_negative(
            consistency_weight, "consistency_weight")
        self.rampup_steps = validation.check_non_negative_int(rampup_steps, "rampup_steps")
        self.max_shift = architectures.default_max_shift(self.image_shape, architecture,
                                                         max_shift)
        self.noise_stddev = validation.check_non_negative(noise_stddev, "noise_stddev")
        self.seed = seed
        self.reads_latent = architectures.classifier_reads_latent(architecture)
        self.networks = architectures.build_networks(
            architecture, self.image_shape, self.num_classes, hidden_units, latent_dim,
            conv_width=conv_width, dropout_rate=dropout_rate, generative=False,
        )
        self.guider = Guider.from_networks(self.networks, self.reads_latent, name="teacher")
        self.guider.copy_from(self.networks)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.consistency_tracker = keras.metrics.Mean(name="consistency")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.built = True

    def _perturb(self, images):
        return augment.perturb(images, self.seed_generator, self.max_shift, self.noise_stddev)

    def teacher_decay(self, step):
        """Decay at 0-based step: ramp-up value, then `ema_decay`, warmed up."""
        step = ops.cast(step, "float32")
        decay = ops.where(step < self.rampup_steps, self.rampup_ema_decay, self.ema_decay)
        return ops.minimum(decay, losses.warmed_up_decay(step, 1.0))

    def _step(self, images, labels, training):
        """Student CE + ramped consistency; student (training) or teacher probabilities."""
        step = self.optimizer.iterations
        teacher_input = self._perturb(images) if training else images
        teacher_probs = ops.stop_gradient(self.guider(teacher_input))
        student_input = self._perturb(images) if training else images
        logits = architectures.classifier_forward(
            self.networks, student_input, self.reads_latent, training=training)["logits"]
        probs = ops.softmax(logits, axis=-1)
        classification = losses.labelled_cross_entropy(labels, logits)
        consistency = replica_mean_share(losses.consistency_mse(probs, teacher_probs))
        weight = self.consistency_weight * losses.sigmoid_rampup(step, self.rampup_steps)
        return {"loss": classification + weight * consistency,
                "probabilities": probs if training else teacher_probs,
                "trackers": [(self.consistency_tracker, global_value(consistency),
                              ops.shape(labels)[0])]}

    def _after_optimizer_step(self):
        self.guider.update(self.networks, self.teacher_decay(self.optimizer.iterations - 1))

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
