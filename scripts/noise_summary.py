r"""Prints a dataset's class counts and its realised label-noise matrix.

Example:

    python -m scripts.noise_summary --dataset=digits --noise=mnist --rate=0.3

It trains nothing and runs in seconds, so unlike the table scripts it has no
`--preset`, `--strategy` or `--backup_dir`.
"""

from absl import app
from absl import flags

from scripts.harness import runtime  # noqa: F401  (first: quiet TF import)
from tf_data import noise
from scripts.harness import noise_report
from scripts.harness import training

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "digits", "digits, mnist, svhn_cropped, cifar10, npz:PATH, folder:PATH.")
flags.DEFINE_enum("noise", "mnist", list(noise.NOISE_KINDS), "Noise kind.")
flags.DEFINE_float("rate", 0.3, "Noise rate in [0, 1].")
flags.DEFINE_integer("seed", 0, "Corruption seed.")
flags.DEFINE_bool("exact", False, "Hit every (clean, noisy) pair count exactly.")
flags.DEFINE_string("data_dir", None, "TFDS data directory.")
flags.DEFINE_bool("download", False, "Let TFDS download missing data.")
training.define_source_flags()


def main(argv):
    del argv
    print(noise_report.summarize(FLAGS.dataset, FLAGS.noise, FLAGS.rate, FLAGS.seed, FLAGS.exact,
                                 FLAGS.data_dir, FLAGS.download,
                                 training.source_options(FLAGS)))


if __name__ == "__main__":
    app.run(main)
