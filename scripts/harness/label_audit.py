"""`scripts.find_label_issues` as importable logic: audit a dataset's labels, write the report.

`run_audit` loads any `tf_data.load_dataset` source, optionally plants
synthetic noise (so the truth is known and the run scores itself), runs
`robustcrf.find_label_issues` on every example (train and test split
alike) and writes into the output directory:

* `label_issues.csv`: the flagged labels, most suspicious first, with the
  suggested label, class names and, for folder data, the file;
* `suspects.png`: the top suspects as an image grid;
* `noise_matrix.png`: the estimated T (and the planted one beside it);
* `summary.json`: per-class figures, the most confused pairs, T, and with
  planted noise the flags' `precision`, `recall`, `f1` and `roc_auc`.
"""

import dataclasses
import json
import os
import time

import numpy as np

import tf_data
from robustcrf import label_issue_finder
from scripts.harness import crf_table2
from scripts.harness import label_detection
from scripts.harness import plots
from scripts.harness import presets
from tf_data import validation

OUTPUT_FILES = ("label_issues.csv", "suspects.png", "noise_matrix.png", "summary.json")


@dataclasses.dataclass(frozen=True)
class Preset:
    """Settings of one audit.

    Attributes:
        folds: k of the out-of-fold cross-entropy trainings.
        epochs: epochs of each cross-entropy training.
        crf_epochs: epochs of the robust CRF (alpha annealed over all).
        batch_size, learning_rate: every training (Adam).
        max_examples: audit at most this many examples (a seeded subset;
            None for all).
        suspects: images in `suspects.png`.
    """

    folds: int = label_issue_finder.DEFAULT_FOLDS
    epochs: int = label_issue_finder.DEFAULT_EPOCHS
    crf_epochs: int = label_issue_finder.DEFAULT_CRF_EPOCHS
    batch_size: int = label_issue_finder.DEFAULT_BATCH_SIZE
    learning_rate: float = label_issue_finder.DEFAULT_LEARNING_RATE
    max_examples: int = None
    suspects: int = 25


PRESETS = {
    "default": Preset(),
    "smoke": Preset(folds=2, epochs=1, crf_epochs=1, batch_size=32, max_examples=200,
                    suspects=9),
}


def plant_noise(labels, num_classes, noise_kind, noise_rate, seed, dataset_name):
    """`(given labels, NoisyLabels or None)`: the labels with synthetic noise planted.

    No noise (rate 0 and no kind) audits the labels as they are. A rate
    without a kind uses the Table 2 default for the dataset
    (`crf_table2.default_noise_kind`).
    """
    rate = validation.check_rate(noise_rate, "noise_rate")
    if rate == 0.0:
        if noise_kind:
            raise ValueError(f"--noise={noise_kind} plants nothing at --noise_rate=0; give a "
                             "rate in (0, 1], or drop --noise to audit the labels as given.")
        return labels, None
    kind = noise_kind or crf_table2.default_noise_kind(dataset_name)
    noisy = tf_data.corrupt_labels(labels, tf_data.transition_matrix(kind, num_classes, rate),
                                   seed=seed, exact=True)
    return noisy.labels, noisy


def transition_error(estimated, true):
    """Mean over clean classes of the L1 distance between rows of two matrices."""
    return float(np.abs(np.asarray(estimated) - np.asarray(true)).sum(axis=1).mean())


def run_audit(dataset, noise_kind=None, noise_rate=0.0, seed=0, preset="default",
              output_dir="runs/find_label_issues", data_dir=None, download=False,
              source_options=None, verbose=1, **overrides):
    """Audits the labels of `dataset`; writes `OUTPUT_FILES` into `output_dir`.

    Args:
        dataset: a `tf_data.load_dataset` name (`digits`, `npz:PATH`,
            `folder:PATH`, ...) or an `ImageDataset`.
        noise_kind, noise_rate: synthetic noise to plant first (see
            `plant_noise`); the summary then scores the flags.
        seed: seed of the noise, the folds and the trainings.
        preset: a `PRESETS` name.
        output_dir: where the files go.
        data_dir, download, source_options: passed to `tf_data.load_dataset`.
        verbose: progress bar (1) or silent (0).
        **overrides: `Preset` fields, e.g. `epochs=5`.

    Returns:
        `(report, summary)`: the `robustcrf.LabelIssueReport` and the dict
        written to `summary.json`.
    """
    config = presets.resolve(PRESETS, preset, **overrides)
    validation.check_positive_int(config.suspects, "suspects")
    data = dataset if isinstance(dataset, tf_data.ImageDataset) else tf_data.load_dataset(
        dataset, data_dir=data_dir, download=download, **(source_options or {}))
    images, labels, files = data.all_examples()
    rows = crf_table2.subset_rows(len(labels), config.max_examples, seed)
    if rows is not None:
        images, labels = images[rows], labels[rows]
        files = None if files is None else tuple(files[i] for i in rows)
    given, noisy = plant_noise(labels, data.num_classes, noise_kind, noise_rate, seed,
                               data.name)
    start = time.time()
    report = label_issue_finder.find_label_issues(
        images, given, class_names=data.class_names, files=files, folds=config.folds,
        epochs=config.epochs, crf_epochs=config.crf_epochs, batch_size=config.batch_size,
        learning_rate=config.learning_rate, seed=seed, verbose=verbose)
    summary = {"dataset": data.name, "seed": seed, "preset": preset,
               "settings": dataclasses.asdict(config), **report.summary(),
               "seconds": round(time.time() - start, 1)}
    truth = None
    if noisy is not None:
        truth = noisy.is_corrupted
        summary.update(label_detection.flag_detection_scores(
            truth, report.flags_by_example(), report.scores_by_example()))
        summary.update({
            "noise_kind": noise_kind or crf_table2.default_noise_kind(data.name),
            "noise_rate": float(noise_rate), "planted_wrong_labels": int(truth.sum()),
            "true_transition": np.round(noisy.transition, 4).tolist(),
            "transition_error": transition_error(report.estimated_transition,
                                                 noisy.transition)})
    os.makedirs(output_dir, exist_ok=True)
    report.to_csv(os.path.join(output_dir, "label_issues.csv"))
    plots.write_png(plots.suspects_figure(images, report.flagged(), report.class_names,
                                          config.suspects, truth),
                    os.path.join(output_dir, "suspects.png"))
    plots.write_png(plots.noise_matrix_figure(
        report.estimated_transition, report.class_names,
        None if noisy is None else noisy.transition),
        os.path.join(output_dir, "noise_matrix.png"))
    with open(os.path.join(output_dir, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, allow_nan=True)
    return report, summary


def format_summary(summary, top_classes=5):
    """A few lines for the terminal: flagged count, dirtiest classes, scores if known."""
    lines = [f"{summary['flagged']} of {summary['examples']} labels flagged "
             f"({100 * summary['flagged_share']:.1f}%)."]
    dirtiest = sorted(summary["classes"], key=lambda row: -row["flagged_share"])[:top_classes]
    lines.append("Most flagged classes: " + ", ".join(
        f"{row['class']} {100 * row['flagged_share']:.0f}% (T: "
        f"{100 * row['estimated_wrong_share']:.0f}%)" for row in dirtiest))
    if summary["confused_pairs"]:
        lines.append("Most common suggestions: " + ", ".join(
            f"{pair['given']} -> {pair['suggested']} ({pair['count']})"
            for pair in summary["confused_pairs"][:5]))
    if "f1" in summary:
        lines.append(
            f"Against the {summary['planted_wrong_labels']} planted errors: precision "
            f"{summary['precision']:.3f}, recall {summary['recall']:.3f}, F1 {summary['f1']:.3f}, "
            f"ROC AUC {summary['roc_auc']:.3f}; T error (mean row L1) "
            f"{summary['transition_error']:.3f}.")
    return "\n".join(lines)
