r"""Which of my labels are wrong? Audits a dataset's labels without knowing the noise.

Trains the backbone k times with cross-entropy for out-of-fold
probabilities, estimates the noise matrix from them (confident joint),
trains the robust CRF with it and ranks every label by the probability that
it is wrong under the mean of the CRF's posterior `q` (Eq. 10) and the
held-out one (`robustcrf.find_label_issues`). Writes `label_issues.csv`, `suspects.png`,
`noise_matrix.png` and `summary.json` into `--output_dir`.

    python -m scripts.find_label_issues                           # digits as given, ~30 s
    python -m scripts.find_label_issues --dataset=folder:photos   # one sub-folder per class
    python -m scripts.find_label_issues --noise=mnist --noise_rate=0.3   # plant errors, score
    python -m scripts.find_label_issues --preset=smoke            # seconds
"""

from absl import app
from absl import flags

from scripts.harness import runtime  # first: quiet TF import
from scripts.harness import label_audit
from scripts.harness import training
from tf_data import noise

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "digits",
                    "digits, mnist, svhn_cropped, cifar10, npz:PATH or folder:PATH.")
flags.DEFINE_string("data_dir", None, "TFDS data directory (passed to tf_data.load_dataset).")
flags.DEFINE_bool("download", False, "Let TFDS download a missing dataset.")
flags.DEFINE_enum("noise", None, list(noise.NOISE_KINDS),
                  "Plant synthetic noise of this kind first (needs --noise_rate), so the run "
                  "scores itself; default with a rate: mnist on digits/mnist, cifar10 on "
                  "cifar10, symmetric otherwise.")
flags.DEFINE_float("noise_rate", 0.0, "Rate of the planted noise; 0 audits the labels as given.")
flags.DEFINE_integer("seed", 0, "Seed of the planted noise, the folds and the trainings.")
flags.DEFINE_enum("preset", "default", list(label_audit.PRESETS),
                  "default: 4 folds of 15 epochs, then 10 CRF epochs (checked on digits and "
                  "28x28 digits); smoke: 2 folds, 1 epoch each, 200 examples, for tests.")
flags.DEFINE_integer("folds", None, "Override the preset's number of folds (>= 2).")
flags.DEFINE_integer("epochs", None,
                     "Override the preset's epochs of each out-of-fold cross-entropy training.")
flags.DEFINE_integer("crf_epochs", None, "Override the preset's epochs of the robust CRF.")
flags.DEFINE_integer("batch_size", None, "Override the preset's batch size.")
flags.DEFINE_integer("suspects", None, "Images in suspects.png.")
runtime.define_determinism_flag()
flags.DEFINE_string("output_dir", "runs/find_label_issues", "Where the four files go.")
training.define_source_flags()


def main(argv):
    del argv
    runtime.start_run(FLAGS)
    _, summary = label_audit.run_audit(
        FLAGS.dataset, noise_kind=FLAGS.noise, noise_rate=FLAGS.noise_rate, seed=FLAGS.seed,
        preset=FLAGS.preset, output_dir=FLAGS.output_dir, data_dir=FLAGS.data_dir,
        download=FLAGS.download, source_options=training.source_options(FLAGS),
        folds=FLAGS.folds, epochs=FLAGS.epochs, crf_epochs=FLAGS.crf_epochs,
        batch_size=FLAGS.batch_size,
        suspects=FLAGS.suspects)
    print()
    print(label_audit.format_summary(summary))
    print(f"\nWrote {', '.join(label_audit.OUTPUT_FILES)} to {FLAGS.output_dir}/")


if __name__ == "__main__":
    app.run(main)
