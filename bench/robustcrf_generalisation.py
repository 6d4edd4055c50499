"""Table 2 of the robust CRF on data the defaults were not tuned on, with wall time.

Cross-entropy, forward correction (true T) and the robust CRF with the
default preset, under Patrini's `mnist` noise at 0.1-0.5 and `symmetric`
noise at 0.2 and 0.4, 3 seeds. Prints prediction accuracy (clean test set),
recovery accuracy (noisy training set) and the F1 of each method's
suspected labels (recovered != given, against the true corruption), mean ±
std over seeds, the collapsed classes seen, and the median wall time of one
training run per method.

    python -m bench.robustcrf_generalisation                  # mnist5k, ~45 min on 2 cores
    python -m bench.robustcrf_generalisation --dataset=digits # ~5 min

`../shared/data/mnist5k.npz` is development data (5,000 real MNIST digits:
4,000 to train, 1,000 to test); it does not ship with the package.
"""

import collections

from absl import app
from absl import flags

from scripts.harness import runtime as environment

from scripts.harness import crf_table2 as table2  # noqa: E402
from scripts.harness import reporting  # noqa: E402

flags.DEFINE_string("dataset", "npz:../shared/data/mnist5k.npz", "tf_data.load_dataset name.")
flags.DEFINE_list("settings", ["mnist:0.1", "mnist:0.2", "mnist:0.3", "mnist:0.4", "mnist:0.5",
                               "symmetric:0.2", "symmetric:0.4"],
                  "Noise settings KIND:RATE (the table's columns).")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds.")
flags.DEFINE_list("methods", ["cross_entropy", "forward", "robustcrf"], "Rows.")
FLAGS = flags.FLAGS


def f1_score(row):
    """F1 of a row's suspected labels from its precision and recall."""
    precision, recall = row["flag_precision"], row["flag_recall"]
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def main(argv):
    del argv
    environment.enable_determinism()
    rows, collapsed = [], []
    for setting in FLAGS.settings:
        kind, rate = setting.split(":")
        runs, _ = table2.run_table2(FLAGS.dataset, noise_kind=kind, noise_rates=[float(rate)],
                                    methods=FLAGS.methods, seeds=[int(s) for s in FLAGS.seeds])
        for row in runs:
            row["setting"] = setting
            row["flag_f1"] = f1_score(row)
            if row["collapsed_classes"]:
                collapsed.append(f"{row['method']} {setting} seed {row['seed']}: "
                                 f"{row['collapsed_classes']}")
        rows.extend(runs)
    for key, title in (("prediction_accuracy", "Prediction accuracy (%), clean test set"),
                       ("recovery_accuracy", "Recovery accuracy (%), noisy training set"),
                       ("flag_f1", "Suspected-label F1 (x100) against the true corruption")):
        print(reporting.format_table(rows, "method", "setting", key,
                                     f"{title}, {FLAGS.dataset}, {len(FLAGS.seeds)} seed(s)"))
        print()
    print("Collapsed classes: " + ("; ".join(collapsed) if collapsed else "none"))
    seconds = collections.defaultdict(list)
    for row in rows:
        seconds[row["method"]].append(row["seconds"])
    print(reporting.wall_time_line(seconds))


if __name__ == "__main__":
    app.run(main)
