"""UMN Table 1: test error (%) against the label corruption rate.

    python scripts/umn_table1.py                       # digits, 50 labels, seed 0
    python scripts/umn_table1.py --seeds=0,1,2         # mean over 3 seeds
    python scripts/umn_table1.py --preset=smoke
    python scripts/umn_table1.py --dataset=mnist --preset=paper --download
"""

import os
import sys

from absl import app
from absl import flags

# Runnable as `python scripts/umn_tableN.py` from a checkout without install.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from umn import experiment  # noqa: E402
from umn import script_flags  # noqa: E402

script_flags.define_common_flags("runs/umn_table1", default_seeds=("0",))
flags.DEFINE_list("methods", list(experiment.DEFAULT_TABLE1_METHODS),
                  f"Methods to compare, from: {', '.join(experiment.METHODS)}.")
flags.DEFINE_list("noise_rates", [str(r) for r in experiment.PAPER_NOISE_RATES],
                  "Label corruption rates (symmetric, within each class).")
flags.DEFINE_integer("num_labels", None, "Labelled examples (default: the paper's).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    script_flags.quiet_tensorflow_logs()
    experiment.run_table1(
        dataset=FLAGS.dataset, methods=FLAGS.methods,
        noise_rates=script_flags.resolve_list(FLAGS, "noise_rates",
                                              experiment.SMOKE_NOISE_RATES, float),
        seeds=script_flags.seeds_from_flags(FLAGS),
        settings=script_flags.settings_from_flags(FLAGS), output_dir=FLAGS.output_dir,
        num_labels=FLAGS.num_labels, architecture=FLAGS.architecture,
        data_dir=FLAGS.data_dir, download=FLAGS.download,
    )


if __name__ == "__main__":
    app.run(main)
