"""Kill and resume: a training process killed with SIGKILL mid-run and started again
ends with exactly the state of an uninterrupted run, for each model family.

Each family trains in a subprocess with a `TrainingBackup` and `resume_stream`
(as the table scripts do through `scripts.harness.training.Training`). The
interrupted process SIGKILLs itself right after epoch 2's backup was written
(a real kill, at a known point, so the test is not timing-dependent); the
same command is then run again. Deterministic ops make a seeded run repeat
bit for bit on CPU, so the comparison is exact.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 4
KILL_AFTER_EPOCH = 2

SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras
    import numpy as np
    import tensorflow as tf
    tf.config.experimental.enable_op_determinism()

    from tf_data.training_backup import TrainingBackup, completed_epochs, resume_stream

    family, backup_dir, output, kill_after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    EPOCHS = int(sys.argv[5])
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    callbacks, steps = [], None

    if family == "multiclass_crf":
        import tf_data
        from robustcrf.alpha_annealing import AlphaAnnealing
        from robustcrf.auxiliary import AuxiliaryPosterior
        from robustcrf.robust_model import RobustCRFModel, add_logits_head
        from robustcrf.backbones import build_backbone
        images = rng.random((24, 8, 8, 1)).astype("float32")
        labels = rng.integers(0, 3, 24)
        transition = tf_data.transition_matrix("symmetric", 3, 0.2)
        auxiliary = AuxiliaryPosterior.from_transition_matrix(transition, np.full(3, 1 / 3))
        backbone = add_logits_head(build_backbone("small_cnn", (8, 8, 1), width=4), 3)
        model = RobustCRFModel(backbone, auxiliary, alpha=4.0)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        dataset = tf_data.training_pipeline(
            tf_data.example_features(images, labels), 8, seed=0,
            augmentation=tf_data.make_pipeline_augmentation(max_shift=1, flip=True))
        callbacks = [AlphaAnnealing(4.0, 1.0, epochs=EPOCHS)]
        watched = {"alpha": lambda: model.alpha}
    elif family == "multilabel_crf":
        from robustcrf.multilabel import data
        sys.path.insert(0, "tests")
        from multi_worker_family import toy_multilabel_crf
        model, split = toy_multilabel_crf(rng, 12)
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        dataset = data.mixed_training_batches(split, np.arange(4), 6, 2, seed=0)
        steps = 2
        watched = {"chain_states": lambda: model.chain_bank.states,
                   "chain_visits": lambda: model.chain_bank.visits}
    else:
        from umn import streams
        from umn.model import UncertaintyMiningNet
        images = rng.random((40, 8, 8, 1)).astype("float32")
        labels = np.full(40, -1, np.int64)
        labels[:10] = rng.integers(0, 10, 10)
        model = UncertaintyMiningNet((8, 8, 1), 10, hidden_units=16, latent_dim=4,
                                     class_latent_dim=3, seed=0, max_shift=1,
                                     noise_rate="estimate",
                                     held_out_view="label_spreading")   # the stream's
        model.estimate_noise_rate(images, labels)  # a tracked variable, restored with the rest
        model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.9, beta_2=0.99))
        dataset, steps = streams.semi_supervised_stream(images, labels, 10, 5, 15, 0)
        watched = {"guider": lambda: model.guider.weights}

    class KillAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    stream, steps = resume_stream(dataset, completed_epochs(backup_dir), steps)
    history = model.fit(stream, epochs=EPOCHS, steps_per_epoch=steps, verbose=0, shuffle=False,
                        callbacks=[*callbacks, TrainingBackup(backup_dir), KillAfter()])
    values = {f"variable_{i}": keras.ops.convert_to_numpy(v)
              for i, v in enumerate(model.variables + model.optimizer.variables)}
    for name, get in watched.items():
        found = get()
        found = found if isinstance(found, list) else [found]
        for i, v in enumerate(found):
            values[f"{name}_{i}"] = keras.ops.convert_to_numpy(v)
    np.savez(output, **values)
    print(json.dumps({"epochs_run": history.epoch, "watched": sorted(watched)}))
""")


def train(family, backup_dir, output, kill_after=0):
    environment = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, family, str(backup_dir), str(output), str(kill_after),
         str(EPOCHS)], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["multiclass_crf", "multilabel_crf", "umn"])
def test_a_run_killed_with_sigkill_resumes_from_its_backup_and_ends_as_if_never_killed(
        family, tmp_path):
    reference = train(family, tmp_path / "reference_backup", tmp_path / "reference.npz")
    assert reference.returncode == 0, reference.stderr[-3000:]
    assert json.loads(reference.stdout.splitlines()[-1])["epochs_run"] == list(range(EPOCHS))

    backup_dir = tmp_path / "backup"
    killed = train(family, backup_dir, tmp_path / "never_written.npz", KILL_AFTER_EPOCH)
    assert killed.returncode == -signal.SIGKILL
    assert (backup_dir / "backup.npz").exists()
    assert not (backup_dir / "backup.npz.partial").exists()

    resumed = train(family, backup_dir, tmp_path / "resumed.npz")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    report = json.loads(resumed.stdout.splitlines()[-1])
    # It continued from the last backup: only the epochs after it ran.
    assert report["epochs_run"] == list(range(KILL_AFTER_EPOCH, EPOCHS))
    assert report["watched"]  # the chain bank / guider / alpha are compared below by name too
    expected = np.load(tmp_path / "reference.npz")
    actual = np.load(tmp_path / "resumed.npz")
    assert sorted(expected.files) == sorted(actual.files)
    for name in expected.files:
        np.testing.assert_array_equal(expected[name], actual[name], err_msg=name)
    # Finished: the backup was removed.
    assert not (backup_dir / "backup.npz").exists()
