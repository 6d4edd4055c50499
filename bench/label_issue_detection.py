"""Which labels are wrong? The finder against cross-entropy disagreement and cleanlab.

For every noise setting and seed, noise is planted in all examples of the
dataset (train and test split alike, as `scripts.find_label_issues` audits
them) and three detectors score the same noisy labels:

* `finder`: `robustcrf.find_label_issues` (4-fold out-of-fold cross-entropy,
  each held-out prediction averaged over the epochs; confident-joint
  estimate of T; robust CRF): ranks by `1 - P(given | x, given)` under the
  mean of the CRF's `q` and the held-out `clean_label_posterior`, flags
  the top k, k the number of wrong labels the estimated T implies;
* `cross_entropy`: the same out-of-fold probabilities: flags
  `argmax p != given`, ranks by `1 - p(given | x)`;
* `cleanlab`: `cleanlab.filter.find_label_issues` on those same out-of-fold
  probabilities (its default, `prune_by_noise_rate`), ranked by
  `1 - cleanlab.rank.get_label_quality_scores` (self-confidence).

All three share one backbone (small_cnn) and one set of out-of-fold
probabilities (the finder's, averaged over epochs; they serve cleanlab
better than the last epoch's predictions its usual cross-validation would
give it), so the comparison isolates what is done with them. Prints
F1 of the flags and ROC AUC of the ranking against the planted errors, mean
± std over seeds, and the error (mean row L1) of the confident-joint and of
Patrini's anchor estimate of T on the same probabilities.

cleanlab is installed only where this benchmark runs (`pip install
cleanlab`); it is never a dependency of the package. Without it its rows
are skipped with a message.

    python -m bench.label_issue_detection --dataset=digits    # ~20 min on 2 cores
    python -m bench.label_issue_detection                     # mnist5k, ~80 min

`../shared/data/mnist5k.npz` is development data (5,000 real MNIST digits);
it does not ship with the package.
"""

import collections
import time

from absl import app
from absl import flags

from scripts.harness import runtime

import numpy as np  # noqa: E402

import tf_data  # noqa: E402
from robustcrf import label_issue_finder  # noqa: E402
from robustcrf.transition_estimation import estimate_transition_matrix  # noqa: E402
from scripts.harness import label_audit  # noqa: E402
from scripts.harness import label_detection  # noqa: E402
from scripts.harness import reporting  # noqa: E402

flags.DEFINE_string("dataset", "npz:../shared/data/mnist5k.npz", "tf_data.load_dataset name.")
flags.DEFINE_list("settings", ["mnist:0.1", "mnist:0.2", "mnist:0.3", "mnist:0.4",
                               "symmetric:0.1", "symmetric:0.2", "symmetric:0.3",
                               "symmetric:0.4"],
                  "Noise settings KIND:RATE (the table's columns).")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds of the noise, folds and trainings.")
flags.DEFINE_integer("epochs", label_issue_finder.DEFAULT_EPOCHS,
                     "Epochs of each out-of-fold cross-entropy training that every row shares.")
flags.DEFINE_integer("crf_epochs", label_issue_finder.DEFAULT_CRF_EPOCHS,
                     "Epochs of the finder's robust CRF.")
FLAGS = flags.FLAGS


def cleanlab_detector():
    """`(labels, probabilities) -> (flags, scores)` with cleanlab, or None when absent."""
    try:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        return None

    def detect(labels, probabilities):
        flagged = find_label_issues(labels, probabilities, n_jobs=1)
        return flagged, 1.0 - get_label_quality_scores(labels, probabilities)

    return detect


def main(argv):
    del argv
    runtime.enable_determinism()
    runtime.quiet_tensorflow_logs()
    cleanlab = cleanlab_detector()
    if cleanlab is None:
        print("cleanlab is not installed: its rows are skipped (pip install cleanlab).")
    data = tf_data.load_dataset(FLAGS.dataset)
    images, clean_labels, _ = data.all_examples()
    rows, seconds = [], collections.defaultdict(list)
    for setting in FLAGS.settings:
        kind, rate = setting.split(":")
        for seed in (int(s) for s in FLAGS.seeds):
            given, noisy = label_audit.plant_noise(clean_labels, data.num_classes, kind,
                                                   float(rate), seed, data.name)
            start = time.time()
            report = label_issue_finder.find_label_issues(
                images, given, class_names=data.class_names, seed=seed, verbose=0,
                epochs=FLAGS.epochs, crf_epochs=FLAGS.crf_epochs)
            seconds["finder"].append(time.time() - start)
            probabilities = report.out_of_fold_probabilities
            detectors = {
                "finder": (report.flags_by_example(), report.scores_by_example()),
                "cross_entropy": (probabilities.argmax(axis=1) != given,
                                  1.0 - probabilities[np.arange(len(given)), given]),
            }
            if cleanlab is not None:
                detectors["cleanlab"] = cleanlab(given, probabilities)
            for method, (flagged, scores) in detectors.items():
                result = label_detection.flag_detection_scores(noisy.is_corrupted, flagged,
                                                               scores)
                rows.append({"method": method, "setting": setting, "seed": seed, **result})
            for method, estimate in (
                    ("confident joint", report.estimated_transition),
                    ("anchor (Patrini)", estimate_transition_matrix(probabilities))):
                rows.append({"method": method, "setting": setting, "seed": seed,
                             "transition_error": label_audit.transition_error(
                                 estimate, noisy.transition)})
            print(f"{setting} seed {seed}: " + ", ".join(
                f"{r['method']} F1 {r['f1']:.3f}" for r in rows[-len(detectors) - 2:-2]),
                flush=True)
    detection = [r for r in rows if "f1" in r]
    estimates = [r for r in rows if "transition_error" in r]
    suffix = f"{FLAGS.dataset}, {len(FLAGS.seeds)} seed(s)"
    if (FLAGS.epochs, FLAGS.crf_epochs) != (label_issue_finder.DEFAULT_EPOCHS,
                                            label_issue_finder.DEFAULT_CRF_EPOCHS):
        suffix += (f", out-of-fold networks trained {FLAGS.epochs} epochs, the CRF "
                   f"{FLAGS.crf_epochs}")
    print()
    print(reporting.format_table(detection, "method", "setting", "f1",
                                 f"F1 (x100) of the flagged labels, {suffix}"))
    print()
    print(reporting.format_table(detection, "method", "setting", "roc_auc",
                                 f"ROC AUC (x100) of the ranking, {suffix}"))
    print()
    print(reporting.format_table(estimates, "method", "setting", "transition_error",
                                 f"Error of the estimated T (mean row L1, x100), {suffix}"))
    print()
    print(reporting.wall_time_line(seconds))


if __name__ == "__main__":
    app.run(main)
