"""RobustMultilabelCRF: training, the chain bank across steps and saves, export, bad input."""

import os

import keras
import numpy as np
import pytest
from keras import ops

from robustcrf.alpha_annealing import AlphaAnnealing
from robustcrf.multilabel import data
from robustcrf.multilabel import exact
from robustcrf.multilabel.auxiliary import train_auxiliary_rbm
from robustcrf.multilabel.losses import set_weights
from robustcrf.multilabel.model import RobustMultilabelCRF
from tf_data.multilabel_dataset import MultilabelSplit

import tensorflow as tf

C, N, H = 2, 3, 2
NUM_EXAMPLES, CLEAN = 12, np.arange(4)
IMAGE_SHAPE = (6, 6, 1)
BATCH, CLEAN_PER_BATCH = 6, 2
STEPS = 4  # noisy set: 8 examples, 4 per batch: 2 steps per pass


def _split(seed=0):
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, 2, (NUM_EXAMPLES, C)).astype(np.uint8)
    noisy = np.concatenate([clean, rng.integers(0, 2, (NUM_EXAMPLES, 1))], 1).astype(np.uint8)
    images = rng.random((NUM_EXAMPLES,) + IMAGE_SHAPE).astype(np.float32)
    return MultilabelSplit(clean, noisy, images=images)


def _backbone():
    inputs = keras.Input(IMAGE_SHAPE)
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    return keras.Model(inputs, features)


def _auxiliary(split):
    return train_auxiliary_rbm(split.noisy_labels[CLEAN], split.clean_labels[CLEAN],
                               num_hidden=H, epochs=2, batch_size=4, num_chains=8)


def _model(auxiliary=None, **kwargs):
    arguments = dict(num_examples=NUM_EXAMPLES, num_hidden=H, num_chains=3, num_sweeps=2,
                     predict_chains=2, predict_burn_in=2, predict_samples=3, seed=1)
    arguments.update(kwargs)
    model = RobustMultilabelCRF(_backbone(), C, N, auxiliary=auxiliary,
                                alpha=40.0 if auxiliary is not None else 0.0, **arguments)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False,
                  run_eagerly=kwargs.pop("run_eagerly", False))
    return model


def _batches(split, seed=0):
    return data.mixed_training_batches(split, CLEAN, BATCH, CLEAN_PER_BATCH, seed,
                                       num_clean=C, num_noisy=N)


@pytest.mark.parametrize("run_eagerly", [True, False])
def test_fit_advances_the_chains_of_each_batch_and_anneals_alpha(run_eagerly):
    split = _split()
    model = _model(_auxiliary(split))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False,
                  run_eagerly=run_eagerly)
    history = model.fit(_batches(split), epochs=2, steps_per_epoch=STEPS,
                        callbacks=[AlphaAnnealing(40.0, 5.0, 2)], verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert history.history["alpha"] == [40.0, 22.5]
    visits = ops.convert_to_numpy(model.chain_bank.visits)
    # 2 epochs x 4 steps: clean rows (4, 2 per batch) and noisy rows (8, 4 per batch)
    # are each visited once per 2 steps, so 4 times.
    np.testing.assert_array_equal(visits, np.full(NUM_EXAMPLES, 4))
    assert model.chain_bank.states.dtype == "int32"
    assert model.chain_bank.states.shape == (NUM_EXAMPLES, 3, 1)  # N=3 < C+H=4: y stored
    scores = ops.convert_to_numpy(model.predict(split.images, verbose=0))
    assert scores.shape == (NUM_EXAMPLES, C) and np.all((scores >= 0) & (scores <= 1))


def test_no_pairwise_variant_is_analytic():
    split = _split()
    model = _model(_auxiliary(split), pairwise=False, num_hidden=0, num_examples=None)
    assert model.chain_bank is None
    model.fit(_batches(split), epochs=1, steps_per_epoch=2, verbose=0)
    a, _ = model.unaries(split.images)
    np.testing.assert_allclose(ops.convert_to_numpy(model(split.images)),
                               ops.convert_to_numpy(ops.sigmoid(a)), atol=1e-6)



def test_predict_inference_exact_is_deterministic_and_gibbs_agrees():
    split = _split()
    model = _model()
    model.fit(_batches(split), epochs=1, steps_per_epoch=2, verbose=0)
    assert model.predict_inference == "auto" and model.uses_exact_inference()  # N = 3
    a, b = model.unaries(split.images)
    expected = ops.convert_to_numpy(exact.exact_marginals(model.energy, a, b)["clean"])
    first = model.predict(split.images, verbose=0)
    np.testing.assert_array_equal(first, model.predict(split.images, verbose=0))
    np.testing.assert_allclose(first, expected, atol=1e-5)
    # The paper's Gibbs estimate of the same marginals (same weights), within Monte Carlo error.
    sampled = _model(predict_inference="gibbs", predict_chains=400, predict_burn_in=10,
                     predict_samples=20)
    sampled(split.images[:1])
    sampled.set_weights(model.get_weights())
    assert not sampled.uses_exact_inference()
    np.testing.assert_allclose(sampled.predict(split.images, verbose=0), expected, atol=0.03)
    clone = RobustMultilabelCRF.from_config(sampled.get_config())
    assert clone.predict_inference == "gibbs"
    # auto samples where enumerating 2^N configurations is out of reach; exact refuses.
    assert not RobustMultilabelCRF(_backbone(), C, 17, num_examples=4).uses_exact_inference()
    with pytest.raises(ValueError, match="exceeds 16"):
        RobustMultilabelCRF(_backbone(), C, 17, num_examples=4, predict_inference="exact")
    with pytest.raises(ValueError, match="predict_inference must be one of"):
        RobustMultilabelCRF(_backbone(), C, N, num_examples=4, predict_inference="sampled")


def test_clean_weighting_per_set_and_per_example_weights():
    is_clean = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    # The paper's Eq. 8: each set's mean, so a clean example weighs m_n / m_c = 2 noisy ones.
    np.testing.assert_allclose(ops.convert_to_numpy(set_weights(is_clean, 2.0, 4.0)),
                               [0.5, 0.5, 0.25, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(ops.convert_to_numpy(set_weights(is_clean, 0.0, 4.0)),
                               [0.0, 0.0, 0.25, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(
        ops.convert_to_numpy(set_weights(is_clean, 2.0, 4.0, "per_example")), np.full(6, 1 / 6))
    with pytest.raises(ValueError, match="clean_weighting must be one of"):
        set_weights(is_clean, 2.0, 4.0, "per_class")
    with pytest.raises(ValueError, match="clean_weighting must be one of"):
        RobustMultilabelCRF(_backbone(), C, N, num_examples=4, clean_weighting="equal")
    # The model hands its batch's weights to the loss under its own setting.
    split = _split()
    batch = next(iter(_batches(split)))
    for weighting, expected in (("per_set", [1 / CLEAN_PER_BATCH, 1 / (BATCH - CLEAN_PER_BATCH)]),
                                ("per_example", [1 / BATCH, 1 / BATCH])):
        model = _model(clean_weighting=weighting)
        a, b = model.unaries(batch["image"])
        weights = ops.convert_to_numpy(model.phase_statistics(a, b, batch)["weights"])
        clean = ops.convert_to_numpy(batch["is_clean"]) > 0
        np.testing.assert_allclose(weights[clean], expected[0], rtol=1e-6)
        np.testing.assert_allclose(weights[~clean], expected[1], rtol=1e-6)
        clone = RobustMultilabelCRF.from_config(model.get_config())
        assert clone.clean_weighting == weighting

def _trained(tmp_path):
    split = _split()
    model = _model(_auxiliary(split))
    model.fit(_batches(split), epochs=1, steps_per_epoch=STEPS, verbose=0)
    return split, model


def test_keras_file_round_trip_keeps_bank_alpha_and_predictions(tmp_path):
    split, model = _trained(tmp_path)
    model.alpha.assign(7.5)
    path = os.path.join(tmp_path, "crf.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for name in ("states", "visits"):
        np.testing.assert_array_equal(ops.convert_to_numpy(getattr(loaded.chain_bank, name)),
                                      ops.convert_to_numpy(getattr(model.chain_bank, name)))
    assert float(ops.convert_to_numpy(loaded.alpha)) == 7.5
    assert loaded.get_config()["num_chains"] == 3 and loaded.auxiliary.trainable is False
    assert not loaded.auxiliary.trainable_weights
    assert len(loaded.trainable_weights) == len(model.trainable_weights)
    # The sampler's random stream is saved too, so predictions are identical.
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(split.images)),
                               ops.convert_to_numpy(model(split.images)), atol=1e-6)
    clone = RobustMultilabelCRF.from_config(model.get_config())
    assert clone.get_config() == dict(model.get_config(), name=clone.name)


def test_checkpoint_resume_continues_the_same_chains(tmp_path):
    split, model = _trained(tmp_path)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    path = checkpoint.save(os.path.join(tmp_path, "ckpt"))
    batch = next(iter(_batches(split, seed=5)))
    one_batch = tf.data.Dataset.from_tensors(batch)
    model.fit(one_batch, epochs=1, verbose=0)

    restored = _model(_auxiliary(split))
    restored.optimizer.build(restored.trainable_variables)
    tf.train.Checkpoint(model=restored, optimizer=restored.optimizer).restore(path)
    np.testing.assert_array_equal(ops.convert_to_numpy(restored.chain_bank.visits),
                                  np.full(NUM_EXAMPLES, 2))
    restored.fit(one_batch, epochs=1, verbose=0)
    np.testing.assert_array_equal(ops.convert_to_numpy(restored.chain_bank.states),
                                  ops.convert_to_numpy(model.chain_bank.states))
    for ours, theirs in zip(restored.trainable_variables, model.trainable_variables):
        np.testing.assert_allclose(ops.convert_to_numpy(ours), ops.convert_to_numpy(theirs),
                                   atol=1e-5)


def test_saved_model_export_round_trip(tmp_path):
    split, model = _trained(tmp_path)
    path = os.path.join(tmp_path, "exported")
    model.export(path, verbose=False,
                 input_signature=[tf.TensorSpec((None,) + IMAGE_SHAPE, tf.float32)])
    reloaded = tf.saved_model.load(path)
    served = reloaded.serve(tf.constant(split.images)).numpy()
    np.testing.assert_allclose(served, ops.convert_to_numpy(model(split.images)), atol=1e-6)


def test_bad_input_raises_clear_value_errors():
    split = _split()
    auxiliary = _auxiliary(split)
    with pytest.raises(ValueError, match="vocabularies"):
        RobustMultilabelCRF(_backbone(), C, N + 1, num_examples=4, auxiliary=auxiliary,
                            alpha=1.0)
    with pytest.raises(ValueError, match="num_hidden"):
        RobustMultilabelCRF(_backbone(), C, N, num_examples=4, auxiliary=auxiliary,
                            num_hidden=H + 1, alpha=1.0)
    with pytest.raises(ValueError, match="auxiliary is None"):
        RobustMultilabelCRF(_backbone(), C, N, num_examples=4, alpha=1.0)
    with pytest.raises(ValueError, match="num_examples"):
        RobustMultilabelCRF(_backbone(), C, N)
    for name in ("num_chains", "num_sweeps"):
        with pytest.raises(ValueError, match=name):
            RobustMultilabelCRF(_backbone(), C, N, num_examples=4, **{name: 0})
    with pytest.raises(ValueError, match="vocabulary sizes do not match"):
        data.mixed_training_batches(split, CLEAN, BATCH, CLEAN_PER_BATCH, 0, num_noisy=N + 1)
    with pytest.raises(ValueError, match="chain bank holds 8"):
        data.mixed_training_batches(split, CLEAN, BATCH, CLEAN_PER_BATCH, 0, num_examples=8)
    small = _model(num_examples=8, num_hidden=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="chain bank"):
        small.fit(_batches(split), epochs=1, steps_per_epoch=STEPS, verbose=0)
    with pytest.raises(ValueError, match="clean set is empty"):
        data.mixed_training_batches(split, [], BATCH, CLEAN_PER_BATCH, 0)
    with pytest.raises(ValueError, match="clean set, which is empty"):
        train_auxiliary_rbm(np.zeros((0, N)), np.zeros((0, C)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        train_auxiliary_rbm(np.full((4, N), 2), np.zeros((4, C)))
    wide = RobustMultilabelCRF(_backbone(), C, N + 1, num_examples=NUM_EXAMPLES)
    wide.compile(optimizer="adam", jit_compile=False)
    with pytest.raises(ValueError, match="vocabulary sizes must match"):
        wide.fit(_batches(split), epochs=1, steps_per_epoch=1, verbose=0)


def test_labels_other_than_zero_and_one_are_refused_before_they_reach_the_energy():
    split = _split()
    model = _model()
    bad_batches = _batches(split).map(lambda batch: dict(batch, label=batch["label"] * 2))
    with pytest.raises(tf.errors.InvalidArgumentError, match="label must contain only 0 and 1"):
        model.fit(bad_batches, epochs=1, steps_per_epoch=1, verbose=0)
    test_x = split.images[:4]
    with pytest.raises(ValueError, match="y must contain only 0 and 1"):
        model.evaluate(test_x, np.full((4, C), 2.0), verbose=0)
    with pytest.raises(ValueError, match="y contains NaN"):
        model.evaluate(test_x, np.full((4, C), np.nan), verbose=0)
    evaluation = tf.data.Dataset.from_tensor_slices((test_x, np.full((4, C), 2.0))).batch(2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="y must contain only 0 and 1"):
        model.evaluate(evaluation, verbose=0)
    auxiliary = _auxiliary(split)
    with pytest.raises(ValueError, match="verified_label must contain only 0 and 1"):
        auxiliary.fit({"label": split.noisy_labels[CLEAN],
                       "verified_label": 3 * split.clean_labels[CLEAN]}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="num_examples"):
        RobustMultilabelCRF(_backbone(), C, N, num_examples=0, pairwise=False)
    # Batches may not hold one example twice: 5 clean rows from a clean set of 4.
    with pytest.raises(ValueError, match="appear twice"):
        data.mixed_training_batches(split, CLEAN, BATCH, 5, 0)
    with pytest.raises(ValueError, match="appear twice"):
        data.mixed_training_batches(split, CLEAN, 11, 2, 0)  # 9 noisy rows from 8


def test_proportional_clean_per_batch_keeps_each_sets_share():
    assert data.proportional_clean_per_batch(50, 300, 1200) == 10
    assert data.proportional_clean_per_batch(50, 75, 1425) == 2   # a 5% clean set
    assert data.proportional_clean_per_batch(50, 1, 10_000) == 1  # at least one of each
    assert data.proportional_clean_per_batch(50, 10_000, 1) == 49


def test_mixed_batches_join_labels_by_index_and_hide_noisy_clean_labels():
    split = _split()
    for batch in _batches(split).take(3):
        index = batch["index"].numpy()
        is_clean = batch["is_clean"].numpy().astype(bool)
        assert is_clean.tolist() == [True] * CLEAN_PER_BATCH + [False] * (BATCH - CLEAN_PER_BATCH)
        assert set(index[is_clean]) <= set(CLEAN) and not set(index[~is_clean]) & set(CLEAN)
        np.testing.assert_array_equal(batch["label"].numpy(), split.noisy_labels[index])
        np.testing.assert_array_equal(batch["image"].numpy(), split.images[index])
        verified = batch["verified_label"].numpy()
        np.testing.assert_array_equal(verified[is_clean], split.clean_labels[index[is_clean]])
        assert not verified[~is_clean].any()


@pytest.mark.parametrize("noisy_from_image", [False, True])
def test_start_from_auxiliary_makes_q_start_at_p_aux(noisy_from_image):
    split = _split()
    auxiliary = _auxiliary(split)
    rng = np.random.default_rng(3)
    for weight in auxiliary.weights:  # arbitrary RBM parameters, not the trained ones
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    model = _model(auxiliary, noisy_from_image=noisy_from_image)
    model.start_from_auxiliary()
    energy, aux_energy = model.energy, auxiliary.energy
    for mine, theirs in ((energy.clean_noisy_kernel, aux_energy.clean_noisy_kernel),
                         (energy.hidden_noisy_kernel, aux_energy.hidden_noisy_kernel),
                         (energy.hidden_bias, aux_energy.hidden_bias),
                         (model.clean_head.bias, auxiliary.clean_bias)):
        np.testing.assert_array_equal(ops.convert_to_numpy(mine), ops.convert_to_numpy(theirs))
    noisy_bias = model.noisy_head.bias if noisy_from_image else model.noisy_bias
    np.testing.assert_array_equal(ops.convert_to_numpy(noisy_bias),
                                  ops.convert_to_numpy(auxiliary.noisy_bias))
    # With a zero clean kernel, a(x) = a_aux: the CRF's own posterior is p_aux's
    # (Eq. 10 at alpha = 0), sigmoid(a_aux + W y) by hand.
    model.clean_head.kernel.assign(np.zeros(model.clean_head.kernel.shape, np.float32))
    model.alpha.assign(0.0)
    y = split.noisy_labels.astype(np.float32)
    expected = 1.0 / (1.0 + np.exp(-(ops.convert_to_numpy(auxiliary.clean_bias)
                                     + y @ ops.convert_to_numpy(aux_energy.clean_noisy_kernel).T)))
    np.testing.assert_allclose(ops.convert_to_numpy(model.posterior_clean(split.images, y)),
                               expected, rtol=1e-5, atol=1e-6)


def test_start_from_auxiliary_needs_an_auxiliary_rbm():
    with pytest.raises(ValueError, match="auxiliary RBM"):
        _model().start_from_auxiliary()
