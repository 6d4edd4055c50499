"""Mean Teacher and the supervised baselines: schedule, EMA, saving, inputs."""

import numpy as np
import pytest

import keras
from keras import ops

from umn import streams
from umn.contract import KerasContract
from umn.mean_teacher import MeanTeacher
from umn.model import UncertaintyMiningNet
from umn.supervised import SupervisedClassifier

import tensorflow as tf

SHAPE = (8, 8, 1)


def toy_data(n=40, labelled=10, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(size=(n,) + SHAPE).astype("float32")
    labels = np.full(n, -1, np.int64)
    labels[:labelled] = rng.integers(0, 10, labelled)
    return images, labels


def compiled(model):
    model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.9, beta_2=0.99))
    return model


def weights_of(networks):
    return [ops.convert_to_numpy(w) for name in sorted(networks) for w in networks[name].weights]


def test_mean_teacher_decay_schedule():
    model = MeanTeacher(SHAPE, 10, hidden_units=8, latent_dim=4, rampup_steps=100)
    decays = [float(model.teacher_decay(t)) for t in (0, 1, 50, 99, 100, 5000)]
    # min(ramp-up or final decay, 1 - 1/(t + 1)); the ramp-up ends at step 100.
    np.testing.assert_allclose(decays, [0.0, 0.5, 1 - 1 / 51, 0.99, 1 - 1 / 101, 0.999],
                               rtol=1e-6)


def test_mean_teacher_teacher_is_exact_ema_and_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    model = compiled(MeanTeacher(SHAPE, 10, hidden_units=8, latent_dim=4, rampup_steps=10,
                                 rampup_ema_decay=0.3, seed=0))
    images, labels = toy_data()
    stream, _ = streams.semi_supervised_stream(images, labels, 10, 5, 15, 0)
    model.fit(stream, epochs=1, steps_per_epoch=2, verbose=0)
    teacher_1 = weights_of(model.guider.networks)
    model.fit(stream, epochs=1, steps_per_epoch=1, verbose=0)
    decay = min(0.3, 1 - 1 / 3)  # step 2, inside the ramp-up
    for t1, s2, t2 in zip(teacher_1, weights_of(model.networks),
                          weights_of(model.guider.networks)):
        np.testing.assert_allclose(t2, decay * t1 + (1 - decay) * s2, rtol=1e-6, atol=1e-7)
    path = str(tmp_path / "mt.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert restored.get_config() == model.get_config()
    np.testing.assert_allclose(restored.predict(images, verbose=0),
                               model.predict(images, verbose=0), atol=1e-6)
    model.export(str(tmp_path / "teacher"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "teacher"))
    np.testing.assert_allclose(loaded.serve(tf.constant(images[:4])).numpy(),
                               model.predict(images[:4], verbose=0), atol=1e-6)


@pytest.mark.parametrize("architecture", ["mlp", "resnet"])
def test_supervised_classifier_learns_its_labelled_examples(architecture, tmp_path):
    keras.utils.set_random_seed(0)
    model = compiled(SupervisedClassifier(SHAPE, 10, architecture=architecture,
                                          hidden_units=32, latent_dim=8, resnet_width=4,
                                          resnet_blocks=1, max_shift=0, noise_stddev=0.0))
    model.optimizer.learning_rate.assign(1e-2)
    images, labels = toy_data()
    stream, _ = streams.labelled_stream(images, labels, 10, 10, 0)
    history = model.fit(stream, epochs=1, steps_per_epoch=60, verbose=0)
    assert history.history["loss"][-1] < 1.0
    assert model.predict(images[:10], verbose=0).shape == (10, 10)
    assert SupervisedClassifier.from_config(model.get_config()).get_config() == model.get_config()


def test_supervised_ignores_unlabelled_rows_in_mixed_batches():
    keras.utils.set_random_seed(0)
    model = compiled(SupervisedClassifier(SHAPE, 10, hidden_units=8, latent_dim=4))
    images, labels = toy_data()
    stream, _ = streams.semi_supervised_stream(images, labels, 10, 5, 15, 0)
    history = model.fit(stream, epochs=1, steps_per_epoch=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("build, message", [
    (lambda: MeanTeacher(SHAPE, 10, ema_decay=1.0), r"\[0, 1\)"),
    (lambda: MeanTeacher(SHAPE, 10, rampup_ema_decay=1.5), r"\[0, 1\)"),
    (lambda: MeanTeacher(SHAPE, 10, consistency_weight=-1.0), ">= 0"),
    (lambda: MeanTeacher((8, 8, 3), 10, architecture="conv13"), "multiples of 4"),
    (lambda: SupervisedClassifier(SHAPE, 10, architecture="vgg"), "architecture"),
])
def test_baselines_reject_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("build", [
    lambda: SupervisedClassifier(SHAPE, 10, hidden_units=8, latent_dim=4),
    lambda: MeanTeacher(SHAPE, 10, hidden_units=8, latent_dim=4),
    lambda: UncertaintyMiningNet(SHAPE, 10, hidden_units=8, latent_dim=4, class_latent_dim=2),
], ids=["supervised", "mean_teacher", "umn"])
def test_every_model_evaluates_accuracy_with_the_shared_test_step(build):
    keras.utils.set_random_seed(0)
    model = compiled(build())
    assert type(model).test_step is KerasContract.test_step
    images, _ = toy_data(n=30)
    probs = np.array(model.predict(images, verbose=0))
    labels = np.arange(30) % 10
    labels[:12] = np.argmax(probs[:12], axis=-1)  # at least 12 right
    expected = np.mean(np.argmax(probs, axis=-1) == labels)
    result = model.evaluate(images, labels, batch_size=7, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["accuracy"], expected, rtol=1e-6)
