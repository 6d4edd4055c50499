"""UMN Table 2: test error (%) against the number of labels.

    python -m scripts.umn_table2                       # digits: 20 ... 400 labels
    python -m scripts.umn_table2 --dataset=svhn_cropped --preset=paper
"""

from absl import app
from absl import flags

from scripts.harness import runtime
from scripts.harness import umn_tables as experiment
from scripts.harness import training
from scripts.harness import umn_flags as script_flags

script_flags.define_common_flags("runs/umn_table2")
flags.DEFINE_list("methods", ["supervised", "umn"],
                  f"Methods to compare: {', '.join(experiment.METHODS)}.")
flags.DEFINE_list("num_labels", None,
                  "Numbers of labels (default: the paper's for SVHN, scaled for digits).")
flags.DEFINE_float("noise_rate", 0.1, "Label corruption rate of every run.")
FLAGS = flags.FLAGS

SMOKE_NUM_LABELS = (20, 50)


def main(argv):
    del argv
    runtime.quiet_tensorflow_logs()
    settings = script_flags.settings_from_flags(FLAGS)
    script_flags.check_umn_only_settings(settings, FLAGS.methods)
    num_labels = None
    if FLAGS.num_labels is not None:
        num_labels = [int(v) for v in FLAGS.num_labels]
    elif FLAGS.preset == "smoke" and FLAGS.dataset == "digits":
        num_labels = SMOKE_NUM_LABELS
    experiment.run_table2(
        dataset=FLAGS.dataset, methods=FLAGS.methods, num_labels_list=num_labels,
        noise_rate=FLAGS.noise_rate, seeds=script_flags.seeds_from_flags(FLAGS),
        settings=settings, output_dir=FLAGS.output_dir,
        architecture=FLAGS.architecture, data_dir=FLAGS.data_dir, download=FLAGS.download,
        source_options=training.source_options(FLAGS), training=training.from_flags(FLAGS),
    )


if __name__ == "__main__":
    app.run(main)
