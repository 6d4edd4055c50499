"""UMN Table 3: how well eps identifies corrupted labels.

Flags a label as corrupted when its final-epoch eps exceeds --threshold
("auto", the default: 0.5 for an eps that is the probability of a wrong
label, the default's and the disbelief's, Otsu's two-mode split of the eps
distribution for the paper's; "otsu"; or a number). Writes results.json,
per-rate eps histograms per epoch (PNG) and ranked CSVs of suspected
labels.

    python -m scripts.umn_table3                   # digits, 120 epochs, seed 0
    python -m scripts.umn_table3 --threshold=0.05 --seeds=0,1,2

With `--preset=default` and no `--epochs`, the model trains 120 epochs
(`scripts.harness.umn_tables.TABLE3_EPOCHS`; Tables 1-2 train the preset's
150), and eps is read at the final one: by default 1 - mean(guider,
held-out view)(y_obs), the held-out view the eps = 0 model cross-fitted on
folds of the labels (`umn.cross_fitted`; `issues_*` read its posterior
too; with `--held_out_view=label_spreading` label spreading's), with
`--uncertainty_estimate=disbelief`
the guider's 1 - q'(y_obs | x) alone, with `--uncertainty_estimate=guider`
the paper's |guider - learner| (Eq. 11). Each row also reports
`disbelief_auc`, the ROC AUC of the guider's 1 - q'(y_obs | x).
"""

from absl import app
from absl import flags

from scripts.harness import runtime
from scripts.harness import umn_tables as experiment
from scripts.harness import training
from scripts.harness import umn_flags as script_flags

script_flags.define_common_flags("runs/umn_table3")
flags.DEFINE_list("noise_rates", [str(r) for r in experiment.PAPER_NOISE_RATES],
                  "Label corruption rates.")
flags.DEFINE_string("threshold", experiment.AUTO_THRESHOLD,
                    "'auto' (0.5 for an eps that is a probability of a wrong label, Otsu's "
                    "threshold for the paper's), 'otsu' or a number: flag labels with eps "
                    "above it.")
flags.DEFINE_integer("num_labels", None, "Labelled examples (default: the paper's).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    runtime.quiet_tensorflow_logs()
    experiment.run_table3(
        dataset=FLAGS.dataset,
        noise_rates=script_flags.resolve_list(FLAGS, "noise_rates",
                                              experiment.SMOKE_NOISE_RATES, float),
        seeds=script_flags.seeds_from_flags(FLAGS),
        settings=script_flags.settings_from_flags(
            FLAGS, default_epochs=experiment.TABLE3_EPOCHS), threshold=FLAGS.threshold,
        output_dir=FLAGS.output_dir, num_labels=FLAGS.num_labels,
        architecture=FLAGS.architecture, data_dir=FLAGS.data_dir, download=FLAGS.download,
        source_options=training.source_options(FLAGS), training=training.from_flags(FLAGS),
    )


if __name__ == "__main__":
    app.run(main)
