"""UMN Table 1: test error (%) against the label corruption rate.

    python -m scripts.umn_table1                       # digits, 50 labels, seed 0
    python -m scripts.umn_table1 --seeds=0,1,2         # mean over 3 seeds
    python -m scripts.umn_table1 --preset=smoke
    python -m scripts.umn_table1 --methods=umn --held_out_view=label_spreading   # README
    python -m scripts.umn_table1 --dataset=mnist --preset=paper --download
"""

from absl import app
from absl import flags

from scripts.harness import runtime
from scripts.harness import umn_tables as experiment
from scripts.harness import training
from scripts.harness import umn_flags as script_flags

script_flags.define_common_flags("runs/umn_table1")
flags.DEFINE_list("methods", list(experiment.DEFAULT_TABLE1_METHODS),
                  f"Methods to compare, from: {', '.join(experiment.METHODS)}.")
flags.DEFINE_list("noise_rates", [str(r) for r in experiment.PAPER_NOISE_RATES],
                  "Label corruption rates (symmetric, within each class).")
flags.DEFINE_integer("num_labels", None, "Labelled examples (default: the paper's).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    runtime.quiet_tensorflow_logs()
    settings = script_flags.settings_from_flags(FLAGS)
    script_flags.check_umn_only_settings(settings, FLAGS.methods)
    experiment.run_table1(
        dataset=FLAGS.dataset, methods=FLAGS.methods,
        noise_rates=script_flags.resolve_list(FLAGS, "noise_rates",
                                              experiment.SMOKE_NOISE_RATES, float),
        seeds=script_flags.seeds_from_flags(FLAGS),
        settings=settings, output_dir=FLAGS.output_dir,
        num_labels=FLAGS.num_labels, architecture=FLAGS.architecture,
        data_dir=FLAGS.data_dir, download=FLAGS.download,
        source_options=training.source_options(FLAGS), training=training.from_flags(FLAGS),
    )


if __name__ == "__main__":
    app.run(main)
