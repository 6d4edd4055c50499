"""Shared reporting for the table scripts: JSON results, tables, CSVs.

Every script writes `results.json` as
`{"table": ..., "dataset": ..., "rows": [{...}, ...]}` with one row per
(method, setting, seed), prints a mean ± std table over seeds, and may
write a ranked CSV of suspected label errors.
"""

import json
import os
import sys
import time

import keras
import numpy as np
from sklearn import metrics as sk_metrics


def mean_std(values):
    """Mean and population std of a list (std 0 for a single value)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std())


def format_mean_std(values, scale=1.0, digits=1):
    """`"91.2 ± 0.4"`; with one value just `"91.2"` (never `"-0.0"`)."""
    mean, std = mean_std(np.asarray(values) * scale)
    mean = round(mean, digits) + 0.0  # -0.0 + 0.0 is 0.0
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def format_table(rows, row_key, column_key, value_key, title, scale=100.0, digits=1):
    """Formats rows as a text table of mean ± std over repeated rows.

    Args:
        rows: list of dicts, e.g. the `rows` of results.json.
        row_key: field naming the table's rows (e.g. `"method"`).
        column_key: field naming its columns (e.g. `"noise"`).
        value_key: field averaged in each cell.
        title: first line of the table.
        scale: multiply values (100 for percent).
        digits: decimals shown.
    """
    row_names = list(dict.fromkeys(r[row_key] for r in rows))
    columns = list(dict.fromkeys(r[column_key] for r in rows))
    cells = {}
    for r in rows:
        cells.setdefault((r[row_key], r[column_key]), []).append(r[value_key])
    header = [row_key] + [str(c) for c in columns]
    body = [
        [str(name)]
        + [
            format_mean_std(cells[(name, c)], scale, digits) if (name, c) in cells else "-"
            for c in columns
        ]
        for name in row_names
    ]
    return _text_table(title, header, body)


def format_paired_differences(rows, row_key, column_key, value_key, pair_key, method,
                              baselines, title, digits=1):
    """Text table of `method` minus each baseline, paired by `pair_key`, or "".

    For each baseline and column: the mean ± std over the pairs (rows that
    share `pair_key`, e.g. the seed) of `method`'s value minus the
    baseline's, and how many pairs `method` is below ("-" where the column
    has no pair). Repeated rows of one method, column and pair are
    averaged first, as `format_table` averages them. Runs of one seed that
    share their random draws (common random numbers: UMN, its eps = 0
    ablation and the M-VAE, `umn.model.guider_stream_seed`) differ less
    from each other than from other seeds, so the paired difference
    resolves what the per-method spreads hide.

    Args:
        rows: list of dicts (results.json rows).
        row_key: field naming the method (e.g. `"method"`).
        column_key: field naming the column (e.g. `"noise"`).
        value_key: field compared (e.g. `"error_rate"`).
        pair_key: field that pairs the runs (e.g. `"seed"`).
        method: the row compared (e.g. `"umn"`).
        baselines: the rows it is compared against; those absent are skipped.
        title: first line of the table.
        digits: decimals shown.

    Returns:
        The table, or "" when `method` or every baseline is absent.
    """
    repeated = {}
    for r in rows:
        repeated.setdefault((r[row_key], r[column_key], r[pair_key]), []).append(r[value_key])
    values = {key: float(np.mean(v)) for key, v in repeated.items()}
    columns = list(dict.fromkeys(r[column_key] for r in rows))
    present = {r[row_key] for r in rows}
    baselines = [b for b in baselines if b in present and b != method]
    if method not in present or not baselines:
        return ""
    body = []
    for baseline in baselines:
        line = [f"{method} - {baseline}"]
        for column in columns:
            differences = [value - values[(baseline, column, pair)]
                           for (name, col, pair), value in values.items()
                           if name == method and col == column
                           and (baseline, column, pair) in values]
            if not differences:
                line.append("-")
                continue
            below = sum(d < 0 for d in differences)
            line.append(f"{format_mean_std(differences, digits=digits)} "
                        f"({below}/{len(differences)} below)")
        body.append(line)
    return _text_table(title, [f"paired by {pair_key}"] + [str(c) for c in columns], body)


def _text_table(title, header, body):
    """`title`, then `header` and the `body` lines in left-aligned columns."""
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in body]
    return "\n".join(lines)


def format_per_category_table(rows, title, scale=100.0, digits=1):
    """Formats per-category test AP, averaged over seeds, one line per category.

    Categories are sorted by how often they are present in the test split
    (most frequent first; the frequency is averaged over every row given);
    one column per method, each AP averaged over the rows (seeds) where the
    category had a test positive. Where a method gains or loses against
    another shows here, not in the mAP alone.

    Args:
        rows: results rows with `method`, `average_precision` (a list, None
            where the category had no test positive) and
            `test_label_frequency` (a list); rows without them are skipped.
        title: first line of the table.
        scale: multiply APs (100 for percent).
        digits: decimals shown.

    Returns:
        The table as text, or None if no row has per-category APs.
    """
    rows = [row for row in rows if row.get("average_precision") is not None]
    if not rows:
        return None
    methods = list(dict.fromkeys(row["method"] for row in rows))
    frequency = np.mean([row["test_label_frequency"] for row in rows], axis=0)
    means = {}
    for method in methods:
        values = np.array([[np.nan if ap is None else ap for ap in row["average_precision"]]
                           for row in rows if row["method"] == method], dtype=np.float64)
        defined = np.sum(~np.isnan(values), axis=0)
        means[method] = np.where(defined > 0,
                                 np.nansum(values, axis=0) / np.maximum(defined, 1), np.nan)
    header = ["category", "test frequency"] + methods
    body = [[str(k), f"{frequency[k]:.2f}"]
            + ["-" if np.isnan(means[m][k]) else f"{scale * means[m][k]:.{digits}f}"
               for m in methods]
            for k in np.argsort(-frequency, kind="stable")]
    return _text_table(title, header, body)


def write_results_json(output_dir, table, dataset, rows, **extra):
    """Writes `output_dir/results.json`; returns its path."""
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, "results.json")
    payload = {"table": table, "dataset": dataset, "rows": list(rows), **extra}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, default=_json_default)
    return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Cannot serialise {type(value)} to JSON.")


def flagged_label_scores(is_corrupted, flagged):
    """How well a set of flagged labels matches the truly corrupted ones.

    Only for synthetic noise, where the truth is known; it scores a ranking,
    it never feeds a model.

    Args:
        is_corrupted: `(n,)` bool, the labels that were changed.
        flagged: `(n,)` bool, the labels a method calls wrong.

    Returns:
        Dict with `precision` (flagged that are corrupted), `recall`
        (corrupted that are flagged), `f1` (scikit-learn's, 0 where a
        denominator is empty) and `flagged` (count).
    """
    truth = np.asarray(is_corrupted, dtype=bool)
    flagged = np.asarray(flagged, dtype=bool)
    if truth.shape != flagged.shape:
        raise ValueError(
            f"is_corrupted {truth.shape} and flagged {flagged.shape} must have the same shape."
        )
    precision, recall, f1, _ = sk_metrics.precision_recall_fscore_support(
        truth, flagged, average="binary", zero_division=0)
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1),
            "flagged": int(flagged.sum())}


def wall_time_line(seconds_by_method):
    """`"Wall time of one run (median s): a 3, b 5"` from `{method: [seconds, ...]}`."""
    return "Wall time of one run (median s): " + ", ".join(
        f"{method} {np.median(values):.0f}" for method, values in seconds_by_method.items())


class Progress:
    """Progress over a table's runs, one line per finished run.

    In a terminal the line names the run and a `keras.utils.Progbar` below it
    shows runs done, elapsed time, ETA and that run's numbers; elsewhere (a
    log file, CI) each line carries the numbers and the elapsed time, since
    the bar redraws itself with carriage returns.

    Args:
        total: runs in the table.
        stream: where the lines go (default stdout); the bar is drawn only on
            an interactive stdout.
    """

    def __init__(self, total, stream=None):
        self.total = total
        self.done = 0
        self.start = time.time()
        self.stream = stream or sys.stdout
        interactive = self.stream is sys.stdout and sys.stdout.isatty()
        self.bar = keras.utils.Progbar(total, unit_name="run") if interactive else None

    def update(self, **fields):
        """Marks one run done; `fields` name it and give its numbers."""
        self.done += 1
        numbers = {k: float(v) for k, v in fields.items()
                   if isinstance(v, (float, np.floating))}
        if self.bar is None:
            elapsed = int(time.time() - self.start)
            described = " ".join(
                f"{k}={v:.4f}" if k in numbers else f"{k}={v}" for k, v in fields.items())
            print(f"[{self.done}/{self.total} {elapsed // 60}:{elapsed % 60:02d}] {described}",
                  file=self.stream, flush=True)
            return
        described = " ".join(f"{k}={v}" for k, v in fields.items() if k not in numbers)
        print(f"\r\x1b[Krun {self.done}/{self.total}: {described}", file=self.stream, flush=True)
        self.bar.stateful_metrics.update(numbers)  # each run's value, not a running mean
        self.bar.update(self.done, values=list(numbers.items()))

    def note(self, text, label="WARNING"):
        """Prints a line `label: text` between progress lines (a warning by default)."""
        print(f"{label}: {text}", file=self.stream, flush=True)
