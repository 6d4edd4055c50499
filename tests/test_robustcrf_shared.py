"""AlphaAnnealing and the backbones shared by both robust CRF models."""

import keras
import numpy as np
import pytest

from robustcrf import alpha_annealing
from robustcrf import backbones


class AlphaModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.alpha = self.add_weight(shape=(), initializer="zeros", trainable=False, name="alpha")

    def call(self, x):
        return self.dense(x)


def test_linear_and_geometric_schedules():
    linear = alpha_annealing.AlphaAnnealing(8.0, 1.0, 10)
    assert [linear.alpha_at(e) for e in (0, 5, 10, 50)] == [8.0, 4.5, 1.0, 1.0]
    geometric = alpha_annealing.AlphaAnnealing(40.0, 5.0, 11, "geometric")
    assert geometric.alpha_at(11) == pytest.approx(5.0)
    assert geometric.alpha_at(0) == 40.0 and 5.0 < geometric.alpha_at(5) < 22.5


def test_callback_sets_alpha_and_resumes_from_initial_epoch(tmp_path):
    model = AlphaModel()
    model.compile("sgd", "mse")
    x, y = np.zeros((8, 2)), np.zeros((8, 1))
    callback = alpha_annealing.AlphaAnnealing(8.0, 1.0, 10)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[callback])
    np.testing.assert_allclose(history.history["alpha"], [8.0, 7.3, 6.6], rtol=1e-6)
    history = model.fit(x, y, epochs=6, initial_epoch=5, verbose=0, callbacks=[callback])
    np.testing.assert_allclose(history.history["alpha"], [4.5], rtol=1e-6)  # epoch 5's alpha
    # After fit, alpha is where epoch 6 would start.
    assert float(model.alpha.numpy()) == pytest.approx(3.8)


def test_step_clock_leaves_alpha_at_its_end_when_the_schedule_ends_with_the_run():
    model = AlphaModel()
    model.compile("sgd", "mse")
    x, y = np.zeros((8, 2)), np.zeros((8, 1))
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0,
                        callbacks=[alpha_annealing.AlphaAnnealing(8.0, 0.5, fraction=1.0)])
    # 4 steps: alpha before step 3 (the last) is 8 - 7.5 * 3 / 4; after fit it is the end.
    np.testing.assert_allclose(history.history["alpha"], [8.0 - 7.5 * 1 / 4, 8.0 - 7.5 * 3 / 4],
                               rtol=1e-6)
    assert float(model.alpha.numpy()) == pytest.approx(0.5)


def test_callback_validates():
    with pytest.raises(ValueError, match=">= 0"):
        alpha_annealing.AlphaAnnealing(-1.0, 1.0, 10)
    with pytest.raises(ValueError, match="positive integer"):
        alpha_annealing.AlphaAnnealing(8.0, 1.0, 0)
    with pytest.raises(ValueError, match="positive integer"):
        alpha_annealing.AlphaAnnealing(8.0, 1.0, True)
    # A NumPy integer (e.g. from a config array) is taken as the int it holds.
    epochs = alpha_annealing.AlphaAnnealing(8.0, 1.0, np.int64(10)).epochs
    assert epochs == 10 and type(epochs) is int
    with pytest.raises(ValueError, match="geometric"):
        alpha_annealing.AlphaAnnealing(8.0, 0.0, 10, "geometric")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="non-trainable `alpha`"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0,
                  callbacks=[alpha_annealing.AlphaAnnealing(1.0, 1.0, 1)])


def test_backbones_build_pooled_features():
    assert backbones.small_cnn((8, 8, 1)).output_shape == (None, 64)
    resnet = backbones.resnet_cifar((32, 32, 3), 32)
    assert resnet.output_shape == (None, 64)
    convs = [l for l in resnet.layers if isinstance(l, keras.layers.Conv2D) and l.kernel_size == (3, 3)]
    assert len(convs) == 1 + 3 * 5 * 2
    with pytest.raises(ValueError, match="6n \\+ 2"):
        backbones.resnet_cifar((32, 32, 3), 30)
    with pytest.raises(ValueError, match="at least 32x32"):
        backbones.keras_application("vgg16", (8, 8, 1))
    with pytest.raises(ValueError, match="Unknown backbone"):
        backbones.build_backbone("alexnet", (32, 32, 3))


def test_step_clock_follows_the_share_of_all_steps_and_resumes(tmp_path):
    annealing = alpha_annealing.AlphaAnnealing(8.0, 2.0, fraction=0.5, hold=0.25)
    # 20 steps: hold 5, anneal over the next 10, then stay at the end value.
    assert [annealing.alpha_at_step(s, 20) for s in (0, 5, 10, 15, 19)] == [8, 8, 5, 2, 2]
    model = AlphaModel()
    model.compile("sgd", "mse")
    x, y = np.zeros((8, 2)), np.zeros((8, 1))
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: seen.append(float(model.alpha.numpy())))
    model.fit(x, y, batch_size=2, epochs=5, verbose=0, callbacks=[annealing, record])
    expected = [annealing.alpha_at_step(s, 20) for s in range(20)]
    np.testing.assert_allclose(seen, expected, rtol=1e-6)
    # The same call on a run twice as long spreads the same shape over twice the steps.
    twice = alpha_annealing.AlphaAnnealing(8.0, 2.0, fraction=0.5, hold=0.25)
    assert twice.alpha_at_step(20, 40) == annealing.alpha_at_step(10, 20)


def test_default_schedule_and_clock_validation():
    default = alpha_annealing.AlphaAnnealing()
    assert (default.start, default.end, default.fraction) == (8.0, 0.1, 2.0 / 3.0)
    assert default.alpha_at_step(0, 30) == 8.0
    assert default.alpha_at_step(20, 30) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="not both"):
        alpha_annealing.AlphaAnnealing(8.0, 1.0, epochs=3, fraction=0.5)
    with pytest.raises(ValueError, match="fraction must lie"):
        alpha_annealing.AlphaAnnealing(fraction=1.5)
    with pytest.raises(ValueError, match="hold is a share"):
        alpha_annealing.AlphaAnnealing(8.0, 1.0, 3, hold=0.2)
    model = AlphaModel()
    model.compile("sgd", "mse")
    data = tf_data_free_generator_dataset()
    with pytest.raises(ValueError, match="total steps"):
        model.fit(data, epochs=1, verbose=0, callbacks=[alpha_annealing.AlphaAnnealing()])


def tf_data_free_generator_dataset():
    """A stream of unknown length (no steps_per_epoch can be inferred)."""
    def batches():
        for _ in range(2):
            yield np.zeros((2, 2), "float32"), np.zeros((2, 1), "float32")
    return batches()


def test_small_cnn_pools_to_at_most_eight_pixels():
    for size, pooled in ((8, 4), (16, 8), (28, 7), (32, 8)):
        model = backbones.small_cnn((size, size, 1), width=4)
        pools = [l for l in model.layers if isinstance(l, keras.layers.MaxPooling2D)]
        assert pools[-1].output.shape[1] == pooled
    for size, convolutions in ((8, 4), (16, 4), (28, 6)):
        model = backbones.small_cnn((size, size, 1))
        assert len([l for l in model.layers if isinstance(l, keras.layers.Conv2D)]) == convolutions
