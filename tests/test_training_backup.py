"""TrainingBackup, resume_stream and StopOnNonFinite (in-process; the SIGKILL test is in test_resume.py)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_data import augment
from tf_data import pipelines
from tf_data.non_finite import NonFiniteTrainingError
from tf_data.non_finite import StopOnNonFinite
from tf_data.non_finite import non_finite_terms
from tf_data.training_backup import TrainingBackup
from tf_data.training_backup import completed_epochs
from tf_data.training_backup import resume_stream

EPOCHS = 4


class NoisyClassifier(keras.Model):
    """A classifier whose training pass draws noise from its own SeedGenerator."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(3)
        self.noise = keras.random.SeedGenerator(5)

    def call(self, inputs, training=False):
        features = self.flatten(inputs)
        if training:
            features = features + 0.1 * keras.random.normal(keras.ops.shape(features),
                                                            seed=self.noise)
        return self.dense(features)


def make_model():
    keras.utils.set_random_seed(1)
    model = NoisyClassifier()
    model(np.zeros((1, 4, 4, 1), "float32"))
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def make_dataset():
    rng = np.random.default_rng(0)
    images = rng.random((24, 4, 4, 1)).astype("float32")
    labels = rng.integers(0, 3, 24)
    dataset = pipelines.training_pipeline(
        pipelines.example_features(images, labels), 8, seed=3,
        augmentation=augment.make_pipeline_augmentation(max_shift=1, flip=True))
    return dataset.map(lambda batch: (batch["image"], batch["label"]))


def state_of(model):
    return [keras.ops.convert_to_numpy(v) for v in model.variables + model.optimizer.variables]


class EpochRecorder(keras.callbacks.Callback):
    """A stateful callback: the loss of every epoch."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def on_epoch_end(self, epoch, logs=None):
        self.losses.append(float(logs["loss"]))

    def get_state(self):
        return {"losses": self.losses}

    def set_state(self, state):
        self.losses = list(state["losses"])


class Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt


def fit(model, backup_dir, callbacks=()):
    recorder = EpochRecorder()
    stream, steps = resume_stream(make_dataset(), completed_epochs(backup_dir))
    history = model.fit(stream, epochs=EPOCHS, steps_per_epoch=steps, verbose=0, shuffle=False,
                        callbacks=[*callbacks, recorder, TrainingBackup(backup_dir, [recorder])])
    return history, recorder


def test_interrupted_and_resumed_run_ends_bit_identical_to_an_uninterrupted_one(tmp_path):
    reference = make_model()
    _, reference_recorder = fit(reference, str(tmp_path / "reference"))
    backup_dir = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        fit(make_model(), backup_dir, [Interrupt(at_epoch=2)])
    assert completed_epochs(backup_dir) == 2
    resumed = make_model()  # A fresh process would build the same model from scratch.
    history, recorder = fit(resumed, backup_dir)
    assert history.epoch == [2, 3]  # Only the missing epochs ran.
    for expected, actual in zip(state_of(reference), state_of(resumed)):
        np.testing.assert_array_equal(expected, actual)
    # The seed generator's state (not in Keras' weights file) was restored too.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reference.noise.state),
                                  keras.ops.convert_to_numpy(resumed.noise.state))
    # The stateful callback's record spans the whole run, as uninterrupted.
    assert recorder.losses == reference_recorder.losses
    # Finished: the backup is gone, so a new fit starts afresh.
    assert completed_epochs(backup_dir) == 0
    assert not os.path.exists(backup_dir)


def test_a_non_finite_step_stops_fit_naming_the_step_and_keeps_the_last_good_backup(tmp_path):
    model = make_model()
    backup_dir = str(tmp_path / "run")

    def poison(epoch, logs):
        if epoch == 2:
            model.dense.kernel.assign(np.full((16, 3), np.nan, "float32"))

    with pytest.raises(NonFiniteTrainingError) as error:
        fit(model, backup_dir, [keras.callbacks.LambdaCallback(on_epoch_begin=poison),
                                StopOnNonFinite()])
    message = str(error.value)
    assert "optimizer step 7 (epoch 3, batch 1)" in message  # 3 steps per epoch, 6 done.
    assert "loss=nan" in message
    assert completed_epochs(backup_dir) == 2
    # The kept backup is the good one: restoring it gives finite weights.
    restored = make_model()
    backup = TrainingBackup(backup_dir, [EpochRecorder()])
    backup.set_model(restored)
    backup.on_train_begin()
    assert backup.restored_epoch == 2
    assert all(np.all(np.isfinite(v)) for v in state_of(restored) if v.dtype.kind == "f")


def test_an_epoch_with_non_finite_logs_does_not_overwrite_the_backup(tmp_path):
    model = make_model()
    backup = TrainingBackup(str(tmp_path))
    backup.set_model(model)
    backup.on_epoch_end(0, {"loss": 1.0})
    assert completed_epochs(str(tmp_path)) == 1
    backup.on_epoch_end(1, {"loss": float("nan")})
    backup.on_epoch_end(1, {"loss": 1.0, "kl": np.array([np.inf])})
    assert completed_epochs(str(tmp_path)) == 1


def test_a_backup_of_another_model_is_refused_with_a_fix(tmp_path):
    model = make_model()
    backup = TrainingBackup(str(tmp_path))
    backup.set_model(model)
    backup.on_epoch_end(0, {"loss": 1.0})
    other = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(5)])
    other.compile(optimizer="adam", loss="mse")
    restore = TrainingBackup(str(tmp_path))
    restore.set_model(other)
    with pytest.raises(ValueError, match="different model.*delete the directory"):
        restore.on_train_begin()


def test_resume_stream_continues_a_finite_dataset_where_the_finished_epochs_stopped():
    per_epoch = []
    dataset = make_dataset()
    for _ in range(3):
        per_epoch.extend(images.numpy() for images, _ in dataset)
    stream, steps = resume_stream(make_dataset(), 2)
    assert steps == 3
    resumed = [images.numpy() for images, _ in stream.take(3)]
    for expected, actual in zip(per_epoch[6:], resumed):
        np.testing.assert_array_equal(expected, actual)


def test_resume_stream_needs_steps_for_a_stream_of_unknown_length():
    with pytest.raises(ValueError, match="pass steps_per_epoch"):
        resume_stream(tf.data.Dataset.range(5).repeat(), 1)
    with pytest.raises(ValueError, match="epochs_done must be >= 0"):
        resume_stream(tf.data.Dataset.range(5), -1)
    stream, steps = resume_stream(tf.data.Dataset.range(10).repeat(), 2, steps_per_epoch=3)
    assert steps == 3 and list(stream.take(2).as_numpy_iterator()) == [6, 7]


def test_non_finite_terms_names_only_numeric_non_finite_entries():
    logs = {"loss": 1.0, "kl": float("inf"), "eps": np.array([0.1, np.nan]), "name": "x"}
    assert non_finite_terms(logs) == ["kl", "eps"]
    assert non_finite_terms(None) == []


def test_a_stateful_callback_without_get_state_is_refused():
    with pytest.raises(ValueError, match="no get_state/set_state"):
        TrainingBackup("/tmp/unused", [keras.callbacks.History()])


def test_a_nan_image_from_tf_data_stops_the_first_step_naming_it():
    images = np.zeros((8, 4, 4, 1), "float32")
    images[3, 0, 0, 0] = np.nan  # Passes straight through a user's tf.data pipeline.
    dataset = tf.data.Dataset.from_tensor_slices((images, np.zeros(8, "int64"))).batch(8)
    model = make_model()
    with pytest.raises(NonFiniteTrainingError, match=r"optimizer step 1 \(epoch 1, batch 1\): "
                                                     r"loss=nan"):
        model.fit(dataset, epochs=3, verbose=0, callbacks=[StopOnNonFinite()])
