"""Time to save and restore a `TrainingBackup` at COCO scale, against Keras' own weights file.

The multilabel CRF at the paper's sizes holds a chain bank of 70K examples x
50 chains x 273 units, bit-packed into 9 int32 words per chain (126 MB). One
backup writes every model and optimizer variable (bank, weights, Adam slots,
seed states) to one `.npz`, flushed to disk and renamed over the previous one.
The baseline, measured in the same run on the same model, is
`model.save_weights` / `load_weights` (Keras' `.weights.h5`, which
`keras.callbacks.BackupAndRestore` writes; it misses the seed-generator
states). Median of `--repeats` alternating rounds.

    python -m bench.backup                     # COCO sizes
    python -m bench.backup --preset=smoke      # seconds
"""

import os
import statistics
import sys
import tempfile
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scripts.harness import runtime  # noqa: E402

runtime.import_tensorflow_quietly()

import keras  # noqa: E402

from robustcrf.multilabel.model import RobustMultilabelCRF  # noqa: E402
from tf_data.training_backup import TrainingBackup  # noqa: E402

SIZES = {
    # examples, chains, clean C, noisy N, hidden H (units per chain = C + H = 273)
    "coco": dict(num_examples=70000, num_chains=50, num_clean=73, num_noisy=1000,
                 num_hidden=200),
    "smoke": dict(num_examples=500, num_chains=5, num_clean=7, num_noisy=20, num_hidden=5),
}
flags.DEFINE_enum("preset", "coco", list(SIZES), "coco: the paper's sizes; smoke: seconds.")
flags.DEFINE_integer("repeats", 3, "Alternating rounds (median reported).")
FLAGS = flags.FLAGS


def build_model(num_examples, num_chains, num_clean, num_noisy, num_hidden):
    """The multilabel CRF on a small CNN, built and with its Adam slots created."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(64, 3)(inputs))
    model = RobustMultilabelCRF(keras.Model(inputs, features), num_clean, num_noisy,
                                num_examples=num_examples, num_hidden=num_hidden,
                                num_chains=num_chains, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.optimizer.build(model.trainable_variables)
    return model


def backup_times(model, directory, repeats):
    """Median seconds of (backup save, backup restore, Keras save_weights, load_weights)."""
    backup = TrainingBackup(os.path.join(directory, "backup"), delete_on_finish=False)
    backup.set_model(model)
    weights = os.path.join(directory, "model.weights.h5")
    times = {"backup_save": [], "backup_restore": [], "keras_save": [], "keras_load": []}
    for _ in range(repeats):
        start = time.perf_counter()
        backup.on_epoch_end(0, {"loss": 0.0})
        times["backup_save"].append(time.perf_counter() - start)
        start = time.perf_counter()
        backup.on_train_begin()
        times["backup_restore"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model.save_weights(weights, overwrite=True)
        times["keras_save"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model.load_weights(weights)
        times["keras_load"].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def report_backup(preset, repeats):
    """Prints backup save/restore times and their ratio to Keras' weights file."""
    model = build_model(**SIZES[preset])
    bank_mb = model.chain_bank.nbytes / 1e6
    with tempfile.TemporaryDirectory() as directory:
        times = backup_times(model, directory, repeats)
        size_mb = os.path.getsize(os.path.join(directory, "backup", "backup.npz")) / 1e6
    print(f"Backup at {preset} sizes: chain bank {bank_mb:.1f} MB, backup file {size_mb:.1f} MB")
    print(f"  save    {times['backup_save']:.3f} s  (Keras save_weights "
          f"{times['keras_save']:.3f} s: {times['backup_save'] / times['keras_save']:.2f}x)")
    print(f"  restore {times['backup_restore']:.3f} s  (Keras load_weights "
          f"{times['keras_load']:.3f} s: {times['backup_restore'] / times['keras_load']:.2f}x)")
    return times


def main(argv):
    del argv
    report_backup(FLAGS.preset, FLAGS.repeats)


if __name__ == "__main__":
    app.run(main)
