"""Learning to Reweight and MentorNet runs for the table scripts.

Both need a small trusted set: as in the original papers' protocols it is
taken, with its true labels, from training images the method does not
otherwise train on, `trusted_per_class` images of every class (stated next
to every table that uses it). The two runs:

* `reweight`: `robustcrf.LearningToReweight` on the noisy examples, a batch
  of the trusted set beside every noisy batch;
* `mentornet`: the data-driven MentorNet. Noise of the run's kind and rate
  is planted in a copy of the trusted set; a StudentNet trains on it with
  plain cross-entropy while `robustcrf.MentorDataRecorder` records every
  epoch's (loss, loss - lambda, label, progress); `robustcrf.MentorNet`
  learns from them which labels are correct; the final StudentNet
  (`robustcrf.MentoredModel` with that mentor, a burn-in of a fifth of the
  epochs as the authors do) trains on the noisy examples.
"""

import dataclasses

import keras
import numpy as np

import tf_data
from robustcrf.learning_to_reweight import LearningToReweight
from robustcrf.mentor_data import MentorDataRecorder
from robustcrf.mentor_net import MentorNet
from robustcrf.mentored_model import MentoredModel
from scripts.harness.training import Training
from tf_data import validation

METHODS = ("reweight", "mentornet")
MENTOR_EPOCHS = 20
BURN_IN_SHARE = 0.2


@dataclasses.dataclass(frozen=True)
class TrustedSet:
    """The trusted images of a run and their true labels."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self):
        return len(self.labels)


def choose_trusted(true_labels, per_class, num_classes, seed, excluded=()):
    """Sorted rows of `per_class` examples of every class, none of them in `excluded`.

    Raises:
        ValueError: a class has fewer than `per_class` candidates.
    """
    per_class = validation.check_positive_int(per_class, "trusted_per_class")
    candidates = np.setdiff1d(np.arange(len(true_labels)), np.asarray(excluded, dtype=np.int64))
    rng = np.random.default_rng(seed + 7919)
    rows = []
    for c in range(num_classes):
        pool = candidates[np.asarray(true_labels)[candidates] == c]
        if len(pool) < per_class:
            raise ValueError(
                f"The trusted set needs {per_class} images of class {c} outside the training "
                f"examples, but only {len(pool)} are left; lower trusted_per_class.")
        rows.append(rng.permutation(pool)[:per_class])
    return np.sort(np.concatenate(rows))


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How one reweighting run trains: epochs, steps, batch, Adam, augmentation."""

    epochs: int
    steps_per_epoch: int
    batch_size: int
    learning_rate: float
    augmentation: object = None
    beta_2: float = 0.999


def _compile(model, schedule):
    model.compile(optimizer=keras.optimizers.Adam(schedule.learning_rate, beta_1=0.9,
                                                  beta_2=schedule.beta_2))
    return model


def _labelled_stream(images, labels, schedule, seed):
    features = tf_data.example_features(images, labels)
    return tf_data.training_pipeline(features, min(schedule.batch_size, len(labels)), seed,
                                     schedule.augmentation, repeat=True)


def train_reweight(make_backbone, images, labels, trusted, num_classes, schedule, seed,
                   training=None, run=None):
    """Learning to Reweight on `(images, labels)` with batches of `trusted` beside them."""
    training = training or Training()
    keras.utils.set_random_seed(seed)
    with training.scope():
        model = _compile(LearningToReweight(make_backbone()), schedule)
    stream = tf_data.trusted_pipeline(
        tf_data.example_features(images, labels), trusted.images, trusted.labels,
        min(schedule.batch_size, len(labels)), min(schedule.batch_size, len(trusted)), seed,
        num_classes=num_classes, augmentation=schedule.augmentation, repeat=True)
    training.fit(model, stream, schedule.epochs, schedule.steps_per_epoch, run=run)
    return model


def train_mentor(make_backbone, trusted, planted_labels, num_classes, schedule, seed):
    """A `MentorNet` learned from a StudentNet's statistics on the planted trusted set."""
    keras.utils.set_random_seed(seed)
    recorder = MentorDataRecorder(trusted.images, planted_labels,
                                  planted_labels == trusted.labels)
    student = _compile(MentoredModel(make_backbone(), burn_in_epochs=schedule.epochs),
                       schedule)  # plain cross-entropy throughout
    student.fit(_labelled_stream(trusted.images, planted_labels, schedule, seed),
                epochs=schedule.epochs, steps_per_epoch=schedule.steps_per_epoch, verbose=0,
                shuffle=False, callbacks=[recorder])
    features, targets = recorder.dataset()
    mentor = MentorNet(num_classes)
    mentor.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    mentor.fit(features, targets, batch_size=256, epochs=MENTOR_EPOCHS, verbose=0)
    return mentor


def train_method(method, make_backbone, images, labels, trusted, plant, num_classes, schedule,
                 seed, training=None, run=None):
    """Trains `reweight` or `mentornet` on `(images, labels)` with the `trusted` set.

    Args:
        plant: `(trusted labels, seed) -> labels` with the run's noise, for the
            MentorNet's training set (unused by `reweight`).
    """
    if method == "reweight":
        return train_reweight(make_backbone, images, labels, trusted, num_classes, schedule,
                              seed, training, run)
    if method == "mentornet":
        return train_mentornet(make_backbone, images, labels, trusted,
                               plant(trusted.labels, seed + 1), num_classes, schedule, seed,
                               training, run)
    raise ValueError(f"Unknown reweighting method {method!r}; choose from {METHODS}.")


def train_mentornet(make_backbone, images, labels, trusted, planted_labels, num_classes,
                    schedule, seed, training=None, run=None):
    """The data-driven MentorNet run: learn the mentor on the trusted set, then the student."""
    training = training or Training()
    mentor = train_mentor(make_backbone, trusted, planted_labels, num_classes, schedule, seed)
    keras.utils.set_random_seed(seed)
    with training.scope():
        model = _compile(MentoredModel(make_backbone(), mentor=mentor,
                                       burn_in_epochs=int(BURN_IN_SHARE * schedule.epochs)),
                         schedule)
    training.fit(model, _labelled_stream(images, labels, schedule, seed), schedule.epochs,
                 schedule.steps_per_epoch, run=run)
    return model
