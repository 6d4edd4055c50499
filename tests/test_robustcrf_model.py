"""RobustCRFModel: training, exact predictions, recovery, persistence, export, errors."""

import keras
import numpy as np
import pytest
from keras import ops

import tf_data
from robustcrf import AlphaAnnealing
from robustcrf import AuxiliaryPosterior
from robustcrf import RobustCRFModel
from robustcrf import crf_layer
import tensorflow as tf

C = 3
SHAPE = (4, 4, 1)


def tiny_backbone(outputs=C):
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(),
                             keras.layers.Dense(outputs)], name="tiny")


def auxiliary():
    return AuxiliaryPosterior.from_transition_matrix(
        tf_data.transition_matrix("pairflip", C, 0.2), np.full(C, 1 / C))


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n,) + SHAPE).astype("float32"), rng.integers(0, C, size=n)


def trained_model(epochs=2, **compile_kwargs):
    keras.utils.set_random_seed(0)
    model = RobustCRFModel(tiny_backbone(), auxiliary(), alpha=4.0)
    model.compile(optimizer=keras.optimizers.Adam(0.05), **compile_kwargs)
    x, y = data()
    history = model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0,
                        callbacks=[AlphaAnnealing(4.0, 1.0, 4)])
    return model, history


def test_fit_reports_losses_and_predict_is_exact_clean_marginal():
    model, history = trained_model()
    assert {"loss", "noisy_nll", "accuracy", "alpha"} <= set(history.history)
    assert np.all(np.isfinite(history.history["loss"]))
    x, _ = data()
    logits = model.backbone(x)
    expected = crf_layer.clean_marginal(logits, model.crf.noisy_bias_vector, model.crf.pairwise)
    assert np.abs(ops.convert_to_numpy(model.crf.pairwise)).max() > 0  # W has trained.
    np.testing.assert_allclose(model.predict(x, verbose=0), ops.convert_to_numpy(expected),
                               atol=1e-5)
    results = model.evaluate(x, data()[1], verbose=0, return_dict=True)
    assert set(results) == {"loss", "noisy_nll", "accuracy"}


def test_dict_batches_with_index_and_verified_labels_train():
    keras.utils.set_random_seed(0)
    x, y = data()
    verified = np.where(np.arange(len(y)) < 8, y, -1)
    features = tf_data.example_features(x, y, verified_label=verified)
    dataset = tf_data.training_pipeline(features, 8, seed=0)
    model = RobustCRFModel(tiny_backbone(), auxiliary())
    model.compile(optimizer="adam")
    history = model.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    predictions = model.predict(tf_data.evaluation_pipeline(x, batch_size=16), verbose=0)
    assert predictions.shape == (len(x), C)


def test_eager_and_compiled_training_agree():
    weights = {}
    for name, kwargs in (("eager", {"run_eagerly": True}), ("graph", {"jit_compile": False}),
                         ("xla", {"jit_compile": True})):
        model, history = trained_model(**kwargs)
        weights[name] = [ops.convert_to_numpy(w) for w in model.weights]
        weights[name + "_loss"] = history.history["loss"]
    for name in ("graph", "xla"):
        np.testing.assert_allclose(weights[name + "_loss"], weights["eager_loss"], rtol=1e-4)
        for got, expected in zip(weights[name], weights["eager"]):
            np.testing.assert_allclose(got, expected, atol=1e-4)


def recovered_labels(model, x, y):
    issues = model.label_issues(x, y)
    recovered = np.empty(len(y), np.int64)
    recovered[issues.indices] = issues.suggested_labels
    return recovered


def test_label_issues_rank_by_regularised_posterior_of_the_given_label():
    model, _ = trained_model()
    x, y = data()
    issues = model.label_issues(x, y, batch_size=10)
    logits = model.backbone(x)
    q = ops.convert_to_numpy(crf_layer.regularised_posterior(
        logits, model.crf.pairwise, np.eye(C)[y].astype("float32"), model.auxiliary(y),
        model.alpha))
    assert sorted(issues.indices.tolist()) == list(range(len(y)))
    np.testing.assert_array_equal(issues.given_labels, y[issues.indices])
    np.testing.assert_array_equal(issues.suggested_labels, q.argmax(1)[issues.indices])
    np.testing.assert_allclose(issues.scores, 1.0 - q[issues.indices, y[issues.indices]],
                               atol=1e-6)
    assert np.all(np.diff(issues.scores) <= 0)
    model.alpha.assign(1e6)  # q -> p_aux, whose argmax is the given label here.
    np.testing.assert_array_equal(recovered_labels(model, x, y), y)


def test_keras_round_trip_keeps_predictions_config_and_alpha(tmp_path):
    model, _ = trained_model()
    assert float(model.alpha) == pytest.approx(4.0 - 2 * 0.75)  # After 2 of 4 epochs, 4 -> 1.
    path = str(tmp_path / "crf.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    x, y = data()
    assert isinstance(restored, RobustCRFModel)
    assert float(restored.alpha) == pytest.approx(float(model.alpha))
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    np.testing.assert_array_equal(recovered_labels(restored, x, y), recovered_labels(model, x, y))
    assert restored.get_config()["noisy_bias"] == "constant"
    clone = RobustCRFModel.from_config(model.get_config())
    assert clone.initial_alpha == 4.0 and clone.num_classes == C


def test_alpha_survives_checkpoint_restore(tmp_path):
    model, _ = trained_model()
    path = str(tmp_path / "crf.weights.h5")
    model.save_weights(path)
    keras.utils.set_random_seed(1)
    fresh = RobustCRFModel(tiny_backbone(), auxiliary(), alpha=8.0)
    fresh(data()[0][:1])
    fresh.load_weights(path)
    assert float(fresh.alpha) == pytest.approx(float(model.alpha))


def test_savedmodel_export_serves_clean_probabilities(tmp_path):
    model, _ = trained_model()
    path = str(tmp_path / "exported")
    model.export(path, verbose=False)
    reloaded = tf.saved_model.load(path)  # Keep a reference: it owns the variables.
    served = reloaded.serve(tf.constant(data()[0]))
    np.testing.assert_allclose(served.numpy(), model.predict(data()[0], verbose=0), atol=1e-5)


def test_exporting_unbuilt_model_builds_it_or_explains(tmp_path):
    model = RobustCRFModel(tiny_backbone(), auxiliary())
    model.export(str(tmp_path / "built"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "built"))
    served = reloaded.serve(tf.zeros((2,) + SHAPE))
    np.testing.assert_allclose(served.numpy().sum(axis=1), 1.0, atol=1e-6)

    class Unshaped(keras.Model):
        def __init__(self):
            super().__init__()
            self.head = keras.layers.Dense(C)

        def call(self, x):
            return self.head(ops.reshape(x, (ops.shape(x)[0], -1)))

    with pytest.raises(ValueError, match="input_signature"):
        RobustCRFModel(Unshaped(), auxiliary()).export(str(tmp_path / "no"), verbose=False)


def test_noisy_bias_head_variant_trains_and_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    model = RobustCRFModel(tiny_backbone(), auxiliary(), noisy_bias="head")
    model.compile(optimizer="adam")
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "head.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"Dense\(3\)"):
        RobustCRFModel(tiny_backbone(outputs=5), auxiliary())
    with pytest.raises(ValueError, match="alpha"):
        RobustCRFModel(tiny_backbone(), auxiliary(), alpha=-1.0)
    with pytest.raises(ValueError, match="AuxiliaryPosterior"):
        RobustCRFModel(tiny_backbone(), np.eye(C))
    model = RobustCRFModel(tiny_backbone(), auxiliary())
    model.compile(optimizer="adam")
    x, y = data()
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        model.fit(x, np.full(len(x), 7), verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)).take(0).batch(4), verbose=0)
    with pytest.raises(ValueError, match="y"):
        model.label_issues(x, np.full(len(x), -2))
    with pytest.raises(ValueError, match="alpha"):
        AlphaAnnealing(-1.0, 1.0, 3)
