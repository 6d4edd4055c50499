"""`MentoredModel`: a StudentNet trained under MentorNet's curriculum, predefined or learned.

Jiang, Zhou, Leung, Li and Fei-Fei, "MentorNet: Learning Data-Driven
Curriculum for Very Deep Neural Networks on Corrupted Labels", ICML 2018.
The student minimises `sum_i v_i l_i / B` (the paper's objective with the weights held
fixed in a step), each `v_i` from the curriculum of `robustcrf.curriculum`
against the moving loss percentile `lambda`, which is a non-trainable
variable updated with `.assign` inside the step (saved with the model).

Settings, against the authors' code, and why:

* decay 0.9 of the moving percentile (theirs); percentile 75 is ours (it
  is about the share of labels one believes correct, so lower it for
  noisier data);
* burn-in: for the first `burn_in_epochs` every weight is 1 (plain
  cross-entropy), so the losses mean something before they are judged;
  the authors burn in for 10-20% of training;
* not kept: their example dropout (a random share of the kept examples
  dropped each step), a regulariser this project has not measured.
"""

import tensorflow as tf
import keras
import numpy as np
from keras import ops

from robustcrf import curriculum as curricula
from robustcrf.backbone_model import BackboneModel
from robustcrf.mentor_net import EPOCH_FRACTION
from robustcrf.mentor_net import LABEL
from robustcrf.mentor_net import LOSS
from robustcrf.mentor_net import LOSS_DIFF
from robustcrf.mentor_net import MentorNet
from tf_data import validation
from tf_data.classification import cross_entropy_from_logits
from tf_data.distribute import replica_mean_share
from tf_data.distribute import replica_share
from tf_data.keras_contract import predict_probabilities
from tf_data.label_issues import rank_label_issues


class _EpochClock(keras.callbacks.Callback):
    """Tells the model which epoch runs and how many there are (burn-in, MentorNet)."""

    def on_train_begin(self, logs=None):
        self.model.total_epochs.assign(max(int(self.params.get("epochs") or 1), 1))

    def on_epoch_begin(self, epoch, logs=None):
        self.model.epoch.assign(epoch)


@keras.saving.register_keras_serializable(package="robustcrf")
class MentoredModel(BackboneModel):
    """A backbone trained with MentorNet's predefined (self-paced) curriculum.

    Implements MentorNet's weighted objective with the predefined curriculum:
    examples whose loss is above the moving percentile `lambda` get weight 0
    (`"self_paced"`) or a weight falling linearly to 0 at `lambda`
    (`"linear"`); or, with a trained `mentor`, the data-driven curriculum:
    the `robustcrf.MentorNet`'s weight from the loss, the loss minus
    `lambda`, the label and the training progress.

    Args:
        backbone: a Keras model mapping images to C logits.
        curriculum: `"self_paced"` or `"linear"`.
        percentile: the batch-loss percentile `lambda` follows, in (0, 100).
        decay: the EMA decay of `lambda`, in [0, 1).
        burn_in_epochs: epochs of plain cross-entropy (every weight 1) first.
        mentor: None (the predefined `curriculum`) or a trained
            `robustcrf.MentorNet` (frozen here), the data-driven curriculum.
        **kwargs: `keras.Model` arguments (`name`).

    Call arguments:
        inputs: images `(B, ...)`, or a dict with key `image`.
        training: whether the backbone runs in training mode.

    Returns:
        Class probabilities `(B, C)`.

    Example:

    >>> model = MentoredModel(add_logits_head(small_cnn((32, 32, 3)), 10),
    ...                       percentile=60, burn_in_epochs=5)
    >>> model.compile(optimizer="adam")
    >>> model.fit(x_train, noisy_labels, epochs=40, batch_size=128)
    """

    def __init__(self, backbone, curriculum="self_paced", percentile=curricula.DEFAULT_PERCENTILE,
                 decay=curricula.DEFAULT_DECAY, burn_in_epochs=0, mentor=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(backbone, keras.layers.Layer):
            raise ValueError(
                f"backbone must be a Keras model/layer, got {type(backbone).__name__}.")
        if curriculum not in curricula.CURRICULA:
            raise ValueError(
                f"curriculum must be one of {curricula.CURRICULA}, got {curriculum!r}.")
        validation.check_decay(decay, "decay")
        if isinstance(burn_in_epochs, bool) or not isinstance(burn_in_epochs, int) or (
                burn_in_epochs < 0):
            raise ValueError(f"burn_in_epochs must be an integer >= 0, got {burn_in_epochs!r}.")
        self.backbone = backbone
        self.curriculum = curriculum
        self.percentile = curricula.check_percentile(percentile)
        self.decay = float(decay)
        self.burn_in_epochs = burn_in_epochs
        if mentor is not None and not isinstance(mentor, MentorNet):
            raise ValueError(
                f"mentor must be a trained robustcrf.MentorNet (or None for the predefined "
                f"curriculum), got {type(mentor).__name__}.")
        self.mentor = mentor
        if mentor is not None:
            mentor.trainable = False  # the mentor weights the student; it does not learn here
        self.loss_threshold = self.add_weight(shape=(), name="loss_threshold", trainable=False,
                                              initializer="zeros", aggregation="mean")
        self.epoch = self.add_weight(shape=(), name="epoch", trainable=False,
                                     initializer="zeros", aggregation="only_first_replica")
        self.total_epochs = self.add_weight(shape=(), name="total_epochs", trainable=False,
                                            initializer="ones",
                                            aggregation="only_first_replica")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.kept_tracker = keras.metrics.Mean(name="mean_weight")

    def example_weights(self, losses, labels):
        """The weights of a batch at the current `lambda`: the MentorNet's if there is one,
        else the predefined curriculum's; 1 during the burn-in."""
        losses = ops.cast(losses, "float32")
        if self.mentor is None:
            weights = curricula.curriculum_weights(losses, self.loss_threshold, self.curriculum)
        else:
            progress = ops.ones_like(losses) * (self.epoch / self.total_epochs)
            weights = self.mentor({LOSS: losses, LOSS_DIFF: losses - self.loss_threshold,
                                   LABEL: labels, EPOCH_FRACTION: progress})
        return ops.where(self.epoch < self.burn_in_epochs, ops.ones_like(weights), weights)

    def train_step(self, data):
        _, images, labels = self._labelled_batch(data)
        with tf.GradientTape() as tape:
            logits = self._backbone_logits(images, training=True)
            losses = cross_entropy_from_logits(labels, logits)
            self.loss_threshold.assign(curricula.moving_threshold(
                self.loss_threshold, ops.stop_gradient(losses), self.percentile, self.decay,
                first=self.optimizer.iterations == 0))
            weights = ops.stop_gradient(self.example_weights(losses, labels))
            loss = replica_mean_share(weights * losses)
            total = loss + (replica_share(ops.sum(self.losses)) if self.losses else 0.0)
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(total, variables), variables)
        self.kept_tracker.update_state(ops.mean(weights))
        return self._report(images, labels, logits, loss)

    def test_step(self, data):
        return self._evaluate_batch(*self._labelled_batch(data)[1:])

    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit`; keeps the model's epoch counter for the burn-in."""
        self._build_from_backbone()
        callbacks = list(kwargs.pop("callbacks", None) or []) + [_EpochClock()]
        return super().fit(x, y, callbacks=callbacks, **kwargs)

    def label_issues(self, x, y, batch_size=256):
        """Ranks the given labels by their loss against the curriculum's `lambda`.

        The score is `l_i - lambda`: positive scores are the labels the
        curriculum currently drops (`"self_paced"`); the suggested label is
        the model's prediction.

        Returns:
            A `tf_data.LabelIssues`, `score_name` `"loss_minus_threshold"`.
        """
        images = validation.check_inputs(x, "x")
        probabilities = predict_probabilities(self, images, batch_size=batch_size)
        labels = validation.check_labels(y, probabilities.shape[1], "y")
        validation.check_same_length(x=images, y=labels)
        losses = curricula.given_label_losses(probabilities, labels)
        return rank_label_issues(labels, probabilities.argmax(axis=1).astype(np.int64),
                                 losses - float(self.loss_threshold.numpy()),
                                 score_name="loss_minus_threshold")

    def get_config(self):
        config = super().get_config()
        config.update({"curriculum": self.curriculum, "percentile": self.percentile,
                       "decay": self.decay, "burn_in_epochs": self.burn_in_epochs,
                       "mentor": (None if self.mentor is None
                                  else keras.saving.serialize_keras_object(self.mentor))})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("mentor") is not None:
            config["mentor"] = keras.saving.deserialize_keras_object(config["mentor"])
        return super().from_config(config)
