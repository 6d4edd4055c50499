"""UMN Table 1 on real 28x28 digits the defaults were not tuned on, with wall time.

Rows: UMN, M-VAE, UMN without uncertainty (eps = 0), the supervised MLP and
scikit-learn's `LabelSpreading` (kNN kernel, 7 neighbours, on 50 PCA
components of the pixels): the reference a user would try first. Every row
sees the same labelled subset, corrupted with symmetric within-class noise
(`tf_data.noise.corrupt_within_classes`), and the same unlabelled images.
Prints test error (%) as mean ± std over seeds, then the median wall time of
one training run per method. `--methods=clean_labels` adds an oracle bound
(eps = 0 with the wrong labels made unlabelled: UMN with an eps that knew
the wrong labels from the first step and gave them no weight; it reads the
ground truth, so it is not a method).

    python -m bench.umn_fidelity                      # mnist5k, 3 seeds, ~1 h on 2 cores
    python -m bench.umn_fidelity --dataset=digits --num_labels=50
    python -m bench.umn_fidelity --seeds=0 --noise_rates=0.3 --epochs=20   # quick look
    python -m bench.umn_fidelity --methods=umn --uncertainty_warmup=0   # the paper's eps schedule
    python -m bench.umn_fidelity --methods=umn --learning_rate=2e-3     # README: Adam's rate
    python -m bench.umn_fidelity --preset=paper --epochs=150   # the paper's batches and latents
    python -m bench.umn_fidelity --label_weight=0.3   # README: the labelled term's weight
    python -m bench.umn_fidelity --scale_by_noise_rate=estimate   # README: scaled by the rate
    python -m bench.umn_fidelity --m1_warmup=0   # the previous default: no M1 warm-up
    python -m bench.umn_fidelity --uncertainty_estimate=guider   # the paper's eps (Eq. 11)
    python -m bench.umn_fidelity --methods=umn --held_out_view=shuffled   # README: a useless view
    python -m bench.umn_fidelity --methods=umn --held_out_view=label_spreading   # README

`--held_out_view` (as the table scripts take it) changes the held-out half
of UMN's default eps, by default the eps = 0 model cross-fitted on folds
of the labels (`umn.cross_fitted`): `label_spreading` takes label
spreading's view (`umn.label_spreading.held_out_disbelief`, the default
before session 40, with the warm-up's weights uniform); `shuffled` fits
that view on the training images shuffled against their labels, a view
that carries no information about any label, the limit of images whose
pixel neighbours seldom share a class. It changes only the `umn` row under
the default eps, and is refused elsewhere.

`../shared/data/mnist5k.npz` is development data (5,000 real MNIST digits:
4,000 to train, 1,000 to test); it does not ship with the package.
"""

import collections
import time

from absl import app
from absl import flags

from scripts.harness import runtime as environment  # noqa: F401  (quiet TensorFlow import)
import numpy as np  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.semi_supervised import LabelSpreading  # noqa: E402

from scripts.harness import reporting  # noqa: E402
from scripts.harness import umn_flags  # noqa: E402
from scripts.harness import umn_settings  # noqa: E402
from scripts.harness import umn_tables as experiment  # noqa: E402
from scripts.harness.umn_split import make_noisy_split  # noqa: E402
from umn.uncertainty_warmup import NOISE_CORRECTED_WARMUP_WEIGHTS  # noqa: E402
from umn.uncertainty_warmup import UNIFORM_WARMUP_WEIGHTS  # noqa: E402

flags.DEFINE_string("dataset", "npz:../shared/data/mnist5k.npz", "tf_data.load_dataset name.")
flags.DEFINE_integer("num_labels", 100, "Labelled training images (class-balanced).")
flags.DEFINE_list("noise_rates", ["0.1", "0.2", "0.3", "0.4", "0.5"], "Label corruption rates.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds (labelled subset, noise, weights).")
flags.DEFINE_list("methods", ["umn", "m_vae", "umn_semi", "supervised", "label_spreading"],
                  "Rows: UMN table methods and label_spreading.")
umn_flags.define_settings_flags()  # --preset and its overrides, as the table scripts take them
FLAGS = flags.FLAGS

PCA_COMPONENTS = 50
NEIGHBOURS = 7


def label_spreading_error(data, labels, seed):
    """Test error of LabelSpreading (kNN graph on PCA features) on `labels` (-1 unlabelled)."""
    flat_train = data.x_train.reshape(len(data.x_train), -1)
    flat_test = data.x_test.reshape(len(data.x_test), -1)
    pca = PCA(min(PCA_COMPONENTS, flat_train.shape[1]), random_state=seed).fit(flat_train)
    model = LabelSpreading(kernel="knn", n_neighbors=NEIGHBOURS)
    with np.errstate(divide="ignore", invalid="ignore"):
        model.fit(pca.transform(flat_train), labels)
        predicted = model.predict(pca.transform(flat_test))
    return float(np.mean(predicted != data.y_test))


def settings_note(settings):
    """What the title says about `--uncertainty_estimate`, `--held_out_view`,
    `--scale_by_noise_rate`, `--scale_by_labelled_share`, `--m1_warmup` and
    `--warmup_weights` (nothing when off)."""
    note = ""
    if settings.eps_name != umn_settings.RunSettings().eps_name:
        note += f", UMN's eps: {settings.eps_name}"
    if settings.model_noise_rate is not None:
        note += f", labelled term scaled by noise rate {settings.scale_by_noise_rate}"
    if settings.model_labelled_share is not None:
        note += f", labelled term scaled by labelled share {settings.scale_by_labelled_share}"
    if settings.m1_warmup:
        note += f", M1 alone for the first {settings.m1_warmup:g} of the steps"
    weights = settings.warmup_weights   # given: not the view's own
    if weights == NOISE_CORRECTED_WARMUP_WEIGHTS:
        note += (", UMN's warm-up weights each label by its chance of being wrong given its "
                 "held-out view and the estimated noise rate")
    elif weights == UNIFORM_WARMUP_WEIGHTS:
        note += ", UMN's warm-up weights every label alike"
    elif weights is not None:
        note += ", UMN's warm-up weights each label by its held-out view"
    return note


def main(argv):
    del argv
    settings = umn_flags.settings_from_flags(FLAGS)
    methods = list(FLAGS.methods)
    umn_flags.check_umn_only_settings(settings, methods)
    data = experiment.load_experiment_dataset(FLAGS.dataset)
    rates = [float(r) for r in FLAGS.noise_rates]
    seeds = [int(s) for s in FLAGS.seeds]
    progress = reporting.Progress(len(methods) * len(rates) * len(seeds))
    rows, seconds = [], collections.defaultdict(list)
    for rate in rates:
        for seed in seeds:
            split = make_noisy_split(data, FLAGS.num_labels, rate, seed)
            for method in methods:
                start = time.time()
                model = None
                if method == "label_spreading":
                    error = label_spreading_error(data, split.labels, seed)
                else:
                    model = experiment.train_method(method, data, split, settings, seed, rate)
                    error = experiment.error_rate(model, data.x_test, data.y_test)
                seconds[method].append(time.time() - start)
                rows.append(experiment.run_row(method, rate, seed, FLAGS.num_labels, error, model))
                progress.update(method=method, noise=rate, seed=seed, error=100.0 * error)
    print(reporting.format_table(
        rows, "method", "noise", "error_rate",
        f"UMN Table 1 on {FLAGS.dataset}: test error (%), {FLAGS.num_labels} labels, "
        f"{len(seeds)} seed(s), {FLAGS.preset} preset, {settings.epochs} epochs, "
        f"label weight {settings.label_weight:g}{settings_note(settings)}",
        scale=1.0)
        + experiment.paired_difference_table(rows, "noise", "Table 1")
        + experiment.label_noise_rate_table(rows, "noise", "Table 1"))
    print(reporting.wall_time_line(seconds))


if __name__ == "__main__":
    app.run(main)
