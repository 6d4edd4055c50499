"""The eps histogram per epoch (the UMN paper's Figure 4b), drawn with matplotlib.

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
                         max_rows=6, epoch_numbers=None):
    """Per-epoch eps histograms as a matplotlib `Figure`.

    Args:
        eps_per_epoch: list of `(n,)` arrays, one per epoch, for the same examples.
        is_corrupted: optional `(n,)` bool ground truth; colours the bars.
        bins: histogram bins.
        value_range: `(low, high)` of the eps axis; default `(0, max eps)`.
        max_rows: at most this many epochs are drawn.
        epoch_numbers: optional labels of the epochs (default 1, 2, ...).

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
    axes[-1].set_xlabel("eps = |guider - learner| on the given label")
    figure.suptitle("Label uncertainty per epoch (counts)")
    return figure


def write_eps_histogram_png(path, eps_per_epoch, is_corrupted=None, **kwargs):
    """Writes `eps_histogram_figure(...)` to `path` as a PNG; returns the path."""
    eps_histogram_figure(eps_per_epoch, is_corrupted, **kwargs).savefig(path, dpi=100)
    return path
