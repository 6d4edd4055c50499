"""How well `umn.estimate_noise_rate` recovers the share of wrong labels.

For every noise rate and seed the UMN tables' split is made (a class-
balanced labelled subset corrupted with symmetric within-class noise, the
rest unlabelled) and the rate is estimated from the images and the noisy
labels alone. Prints, as mean ± std over seeds, the estimated rate (%), the
held-out disagreement `d` (%) and the halves' implied accuracy `a` (%),
then the median seconds per estimate. No training: seconds per set.

    python -m bench.noise_rate_estimate                                    # mnist5k
    python -m bench.noise_rate_estimate --dataset=digits --num_labels=50

`../shared/data/mnist5k.npz` is development data (5,000 real MNIST digits);
it does not ship with the package.
"""

import collections
import time

from absl import app
from absl import flags

from scripts.harness import runtime as environment  # noqa: F401  (quiet TensorFlow import)
import numpy as np  # noqa: E402

from scripts.harness import reporting  # noqa: E402
from scripts.harness import umn_tables as experiment  # noqa: E402
from scripts.harness.umn_split import make_noisy_split  # noqa: E402
from umn.noise_rate import estimate_noise_rate  # noqa: E402

flags.DEFINE_string("dataset", "npz:../shared/data/mnist5k.npz", "tf_data.load_dataset name.")
flags.DEFINE_integer("num_labels", 100, "Labelled training images (class-balanced).")
flags.DEFINE_list("noise_rates", ["0", "0.1", "0.2", "0.3", "0.4", "0.5"],
                  "Label corruption rates.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds (labelled subset, noise, estimator).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    data = experiment.load_experiment_dataset(FLAGS.dataset)
    rows, seconds = [], collections.defaultdict(list)
    for rate in (float(r) for r in FLAGS.noise_rates):
        for seed in (int(s) for s in FLAGS.seeds):
            split = make_noisy_split(data, FLAGS.num_labels, rate, seed)
            start = time.time()
            estimate = estimate_noise_rate(data.x_train, split.labels, data.num_classes,
                                           seed=seed)
            seconds["estimate_noise_rate"].append(time.time() - start)
            for name, value in (("estimated rate", estimate.rate),
                                ("held-out disagreement d", estimate.held_out_disagreement),
                                ("implied accuracy a", estimate.classifier_accuracy)):
                rows.append({"quantity": name, "noise": rate, "seed": seed, "value": value})
    print(reporting.format_table(
        rows, "quantity", "noise", "value",
        f"umn.estimate_noise_rate on {FLAGS.dataset}: {FLAGS.num_labels} labels, "
        f"{len(FLAGS.seeds)} seed(s), values in %"))
    print(reporting.wall_time_line(seconds))
    true_rates = np.array([r["noise"] for r in rows if r["quantity"] == "estimated rate"])
    estimated = np.array([r["value"] for r in rows if r["quantity"] == "estimated rate"])
    print(f"Mean error of the estimate: {100 * np.mean(estimated - true_rates):+.1f} points "
          f"(mean absolute {100 * np.mean(np.abs(estimated - true_rates)):.1f})")


if __name__ == "__main__":
    app.run(main)
