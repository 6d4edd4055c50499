"""The project's pictures, drawn with matplotlib: the eps histogram per epoch
(the UMN paper's Figure 4b) and eps's ROC AUC per epoch, and the
label-issue finder's suspects grid and noise-matrix heat map.

The eps histogram:

One panel per recorded epoch (at most `max_rows`, evenly spaced, the last
always included), first epoch at the top, sharing the eps axis. With ground
truth, each bar stacks the clean labels (blue, bottom) and the corrupted
ones (red, top), so the separation the paper describes shows as red mass
drifting right over the epochs. Each panel has its own count axis: early
epochs, where every eps is near 0, would otherwise flatten the later ones.

The figures use matplotlib's object-oriented API (`matplotlib.figure.Figure`
with the Agg canvas that `savefig` picks), so drawing touches no global
pyplot state and needs no display.
"""

import numpy as np
from matplotlib.figure import Figure

CLEAN_COLOUR = "#3465a4"
CORRUPTED_COLOUR = "#cc0000"


def _epochs_to_draw(num_epochs, max_rows):
    return np.unique(np.linspace(0, num_epochs - 1, min(max_rows, num_epochs)).round()
                     ).astype(int)


def eps_histogram_figure(eps_per_epoch, is_corrupted=None, bins=40, value_range=None,
                         max_rows=6, epoch_numbers=None, eps_name=None):
    """Per-epoch eps histograms as a matplotlib `Figure`.

    Args:
        eps_per_epoch: list of `(n,)` arrays, one per epoch, for the same examples.
        is_corrupted: optional `(n,)` bool ground truth; colours the bars.
        bins: histogram bins.
        value_range: `(low, high)` of the eps axis; default `(0, max eps)`.
        max_rows: at most this many epochs are drawn.
        epoch_numbers: optional labels of the epochs (default 1, 2, ...).
        eps_name: what eps is, for the x axis (e.g. the guider's disbelief);
            default just "eps".

    Returns:
        The `Figure` (one `Axes` per drawn epoch).
    """
    if not len(eps_per_epoch):
        raise ValueError("eps_per_epoch is empty: record at least one epoch.")
    stacked = [np.asarray(e, dtype=np.float64).ravel() for e in eps_per_epoch]
    n = len(stacked[0])
    if any(len(e) != n for e in stacked):
        raise ValueError("Every epoch must record eps for the same examples.")
    corrupted = np.zeros(n, bool) if is_corrupted is None else np.asarray(is_corrupted, bool)
    if len(corrupted) != n:
        raise ValueError(f"is_corrupted has {len(corrupted)} entries for {n} examples.")
    if value_range is None:
        top = max(float(np.max(e)) for e in stacked)
        value_range = (0.0, top if top > 0 else 1.0)
    numbers = list(epoch_numbers) if epoch_numbers is not None else range(1, len(stacked) + 1)
    rows = _epochs_to_draw(len(stacked), max_rows)
    figure = Figure(figsize=(6.0, 1.2 * len(rows) + 0.8), layout="constrained")
    axes = figure.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    for ax, index in zip(axes, rows):
        eps = stacked[index]
        ax.hist([eps[~corrupted], eps[corrupted]], bins=bins, range=value_range,
                stacked=True, color=[CLEAN_COLOUR, CORRUPTED_COLOUR],
                label=["clean label", "corrupted label"])
        ax.set_ylabel(f"epoch {numbers[index]}", rotation=0, ha="right", va="center")
        ax.tick_params(axis="y", labelsize="small")
    if corrupted.any():
        axes[0].legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel(f"eps = {eps_name} on the given label" if eps_name
                        else "eps on the given label")
    figure.suptitle("Label uncertainty per epoch (counts)")
    return figure


def write_eps_histogram_png(path, eps_per_epoch, is_corrupted=None, **kwargs):
    """Writes `eps_histogram_figure(...)` to `path` as a PNG; returns the path."""
    return write_png(eps_histogram_figure(eps_per_epoch, is_corrupted, **kwargs), path)


def eps_auc_figure(auc_by_rate):
    """ROC AUC of eps against the epoch, one line per noise rate (Table 3).

    Args:
        auc_by_rate: dict `{noise rate: (seeds, epochs) array of ROC AUC}`;
            each line is the mean over seeds, shaded by its range.

    Returns:
        A matplotlib `Figure`; the epoch axis is logarithmic, and the dashed
        line at 0.5 is chance (below it eps ranks the clean labels first).
    """
    if not auc_by_rate:
        raise ValueError("auc_by_rate is empty: give at least one noise rate's curves.")
    figure = Figure(figsize=(6.0, 3.6), layout="constrained")
    ax = figure.subplots()
    for rate, curves in sorted(auc_by_rate.items()):
        curves = np.atleast_2d(np.asarray(curves, dtype=np.float64))
        epochs = np.arange(1, curves.shape[1] + 1)
        line, = ax.plot(epochs, np.nanmean(curves, axis=0), label=f"{100 * rate:g}% noise")
        if len(curves) > 1:
            ax.fill_between(epochs, np.nanmin(curves, axis=0), np.nanmax(curves, axis=0),
                            color=line.get_color(), alpha=0.15, linewidth=0)
    ax.axhline(0.5, color="#555753", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("ROC AUC of eps")
    ax.legend(fontsize="small")
    figure.suptitle("eps as a detector of the corrupted labels, per epoch")
    return figure


def write_eps_auc_png(path, auc_by_rate):
    """Writes `eps_auc_figure(auc_by_rate)` to `path` as a PNG; returns the path."""
    return write_png(eps_auc_figure(auc_by_rate), path)


# -------------------------------------------------------- label-issue finder
WRONG_LABEL_COLOUR = CORRUPTED_COLOUR
FALSE_FLAG_COLOUR = "#555753"


def _show_image(ax, image):
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    ax.imshow(np.clip(image, 0.0, 1.0), cmap="gray" if image.ndim == 2 else None,
              vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def suspects_figure(images, issues, class_names, count=25, is_corrupted=None, columns=5):
    """The top suspects as an image grid, each captioned `given -> suggested` and score.

    Args:
        images: `(n, H, W, C)` images in [0, 1], indexed like `issues.indices`.
        issues: a `tf_data.LabelIssues` ranked most suspicious first (the
            flagged rows, usually).
        class_names: C names for the captions.
        count: how many suspects to draw.
        is_corrupted: optional `(n,)` bool truth (synthetic noise): captions
            of truly wrong labels are red, of correct ones (false flags) grey.
        columns: images per row.

    Returns:
        A matplotlib `Figure` (a one-line note when nothing was flagged).
    """
    shown = issues.top(count)
    if len(shown) == 0:
        figure = Figure(figsize=(4, 1))
        figure.text(0.5, 0.5, "No label was flagged.", ha="center", va="center")
        return figure
    columns = min(columns, len(shown))
    rows = int(np.ceil(len(shown) / columns))
    figure = Figure(figsize=(1.9 * columns, 2.1 * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for ax, index, given, suggested, score in zip(
            axes, shown.indices, shown.given_labels, shown.suggested_labels, shown.scores):
        _show_image(ax, images[index])
        colour = "black"
        if is_corrupted is not None:
            colour = WRONG_LABEL_COLOUR if is_corrupted[index] else FALSE_FLAG_COLOUR
        ax.set_title(f"#{index}: {class_names[given]} -> {class_names[suggested]}\n"
                     f"score {score:.2f}", fontsize="small", color=colour)
    for ax in axes[len(shown):]:
        ax.set_axis_off()
    title = f"Top {len(shown)} suspected labels: given -> suggested"
    if is_corrupted is not None:
        title += " (red: planted error, grey: label was right)"
    figure.suptitle(title, fontsize="medium")
    return figure


def _matrix_panel(figure, ax, matrix, class_names, title):
    image = ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=1.0)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=90 if len(class_names) > 10 else 0,
                  fontsize="small")
    ax.set_yticks(ticks, class_names, fontsize="small")
    ax.set_xlabel("given label j")
    ax.set_ylabel("clean label i")
    ax.set_title(title)
    if len(class_names) <= 12:
        for (i, j), value in np.ndenumerate(matrix):
            if value >= 0.005:
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize="x-small",
                        color="black" if value > 0.5 else "white")
    return image


def noise_matrix_figure(estimated, class_names, true=None):
    """The estimated `T[i, j] = P(given=j | clean=i)` as a heat map, the true T beside it.

    Args:
        estimated: `(C, C)` row-stochastic estimate.
        class_names: C names for the axes.
        true: optional `(C, C)` true matrix (synthetic noise).

    Returns:
        A matplotlib `Figure`.
    """
    panels = [("Estimated T", np.asarray(estimated))]
    if true is not None:
        panels.append(("True T (planted)", np.asarray(true)))
    side = max(4.0, 0.45 * len(class_names) + 2.0)
    figure = Figure(figsize=(side * len(panels) + 1.0, side), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(panels)))
    for ax, (title, matrix) in zip(axes, panels):
        image = _matrix_panel(figure, ax, matrix, class_names, title)
    figure.colorbar(image, ax=list(axes), shrink=0.8, label="P(given = j | clean = i)")
    return figure


def write_png(figure, path):
    """Saves a matplotlib `Figure` to `path` as a PNG; returns the path."""
    figure.savefig(path, dpi=100)
    return path
