"""Reproduces Table 2 of the robust CRF paper (Vahdat 2017, Section 4.3).

Prediction accuracy on the clean test set and recovery accuracy on the noisy
training set of cross-entropy, Patrini's backward/forward corrections and the
analytic robust CRF, per noise rate, mean ± std over seeds. Writes
`results.json` and, per CRF run, a ranked CSV of suspected label errors.

    python -m scripts.robustcrf_table2                       # digits, ~1.5 min on 2 busy CPUs
    python -m scripts.robustcrf_table2 --preset=smoke        # seconds
    python -m scripts.robustcrf_table2 --dataset=cifar10 --preset=paper --seeds=0,1,2
    python -m scripts.robustcrf_table2 --backup_dir=runs/backup   # killed? run it again
"""

from absl import app
from absl import flags

from scripts.harness import runtime  # first: quiet TF import
from scripts.harness import crf_table2 as table2
from scripts.harness import training

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "digits",
                    "digits, cifar10, mnist, svhn_cropped, npz:PATH or folder:PATH.")
flags.DEFINE_string("data_dir", None, "TFDS data directory (passed to tf_data.load_dataset).")
flags.DEFINE_bool("download", False, "Let TFDS download a missing dataset.")
flags.DEFINE_string("noise", None,
                    "Noise kind for tf_data.transition_matrix; default mnist on digits/mnist, "
                    "cifar10 on cifar10, symmetric otherwise.")
flags.DEFINE_list("noise_rates", ["0.1", "0.2", "0.3", "0.4", "0.5"], "Noise rates (columns).")
flags.DEFINE_list("methods", list(table2.DEFAULT_METHODS),
                  f"Methods (rows), from {', '.join(table2.METHODS)}.")
flags.DEFINE_list("seeds", ["0"], "Seeds; one run per method, noise rate and seed.")
flags.DEFINE_enum("preset", "default", list(table2.PRESETS),
                  "default: checked on digits and 28x28 digits on CPU; paper: ResNet-32, 200 epochs, alpha 8->1 "
                  "in 10 epochs; smoke: a few seconds, for tests.")
flags.DEFINE_integer("epochs", None, "Override the preset's epochs.")
flags.DEFINE_integer("batch_size", None, "Override the preset's batch size.")
flags.DEFINE_float("learning_rate", None, "Override the preset's Adam learning rate.")
flags.DEFINE_float("alpha_start", None, "Override the CRF's initial alpha.")
flags.DEFINE_float("alpha_end", None, "Override the CRF's final alpha.")
flags.DEFINE_integer("alpha_epochs", None,
                     "Anneal alpha over this many epochs (the paper's clock) instead of the "
                     "preset's schedule.")
flags.DEFINE_float("alpha_fraction", None,
                   "Anneal alpha over this share of all optimiser steps (the step clock).")
flags.DEFINE_float("class_balance", None,
                   "Weight of the class-collapse guard of the CRF and forward correction "
                   "(0: the papers' exact objectives).")
flags.DEFINE_enum("noisy_bias", None, ["constant", "head"],
                  "Override the CRF's noisy-side bias: constant (no x-y link) or head (b(x)).")
runtime.define_determinism_flag()
flags.DEFINE_string("output_dir", "runs/robustcrf_table2",
                    "Where results.json and the suspected-label CSVs go.")
training.define_flags()
training.define_source_flags()


def parse_floats(values, name):
    """Floats from a flag list, or a ValueError naming the flag."""
    try:
        return [float(value) for value in values]
    except ValueError:
        raise ValueError(f"--{name} must be comma-separated numbers, got {values}.") from None


def main(argv):
    del argv
    runtime.start_run(FLAGS)
    seeds = [int(value) for value in parse_floats(FLAGS.seeds, "seeds")]
    run_training = training.from_flags(FLAGS)
    rows, skipped = table2.run_table2(
        FLAGS.dataset, noise_kind=FLAGS.noise,
        noise_rates=parse_floats(FLAGS.noise_rates, "noise_rates"),
        methods=FLAGS.methods, seeds=seeds, preset=FLAGS.preset,
        output_dir=FLAGS.output_dir, data_dir=FLAGS.data_dir, download=FLAGS.download,
        source_options=training.source_options(FLAGS), training=run_training,
        epochs=FLAGS.epochs, batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate,
        alpha_start=FLAGS.alpha_start, alpha_end=FLAGS.alpha_end,
        alpha_epochs=FLAGS.alpha_epochs, alpha_fraction=FLAGS.alpha_fraction,
        class_balance=FLAGS.class_balance, noisy_bias=FLAGS.noisy_bias)
    print()
    print(table2.format_table2(rows, skipped))
    if run_training.is_chief:
        print(f"\nWrote {FLAGS.output_dir}/results.json")


if __name__ == "__main__":
    app.run(main)
