"""The eps histogram per epoch (the paper's Figure 4b) as a PNG, without matplotlib.

Drawn with NumPy into an RGB array and encoded with `tf.io.encode_png`.
Layout: one horizontal strip per epoch, first epoch at the top; within a
strip, bars over eps bins from `value_range[0]` (left) to
`value_range[1]` (right), heights relative to the tallest bin of that
epoch (so late, spread-out epochs stay visible next to the first ones,
where every eps is near 0). With ground truth, each bar stacks clean labels (blue, bottom) and
corrupted labels (red, top), so the separation the paper describes shows as
red mass drifting right.
"""

import tensorflow as tf
import numpy as np



CLEAN_COLOUR = (52, 101, 164)
CORRUPTED_COLOUR = (204, 0, 0)
AXIS_COLOUR = (0, 0, 0)
SEPARATOR_COLOUR = (200, 200, 200)
BACKGROUND = 255


def eps_histogram_image(eps_per_epoch, is_corrupted=None, bins=40, value_range=None,
                        max_rows=30, row_height=28, bin_width=8, margin=6):
    """Draws per-epoch eps histograms into a `(H, W, 3)` uint8 array.

    Args:
        eps_per_epoch: list of `(n,)` arrays, one per epoch.
        is_corrupted: optional `(n,)` bool ground truth for colouring.
        bins: histogram bins.
        value_range: `(low, high)` of the eps axis; default `(0, max eps)`.
        max_rows: at most this many epochs are drawn (evenly spaced, the
            last one always included).
        row_height, bin_width, margin: pixel sizes.

    Returns:
        The image array.
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
    rows = np.unique(np.linspace(0, len(stacked) - 1, min(max_rows, len(stacked))).round()
                     ).astype(int)
    counts = []
    for index in rows:
        clean, _ = np.histogram(stacked[index][~corrupted], bins, value_range)
        noisy, _ = np.histogram(stacked[index][corrupted], bins, value_range)
        counts.append((clean, noisy))
    height = len(rows) * row_height + 2 * margin
    width = bins * bin_width + 2 * margin
    image = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    usable = row_height - 4
    for row, (clean, noisy) in enumerate(counts):
        tallest = max(1, int((clean + noisy).max()))
        base = margin + (row + 1) * row_height - 2
        image[base, margin:width - margin] = AXIS_COLOUR
        if row:
            image[base - row_height + 1, margin:width - margin] = SEPARATOR_COLOUR
        for b in range(bins):
            left = margin + b * bin_width + 1
            right = left + bin_width - 2
            clean_px = int(round(usable * clean[b] / tallest))
            noisy_px = int(round(usable * noisy[b] / tallest))
            image[base - clean_px:base, left:right] = CLEAN_COLOUR
            image[base - clean_px - noisy_px:base - clean_px, left:right] = CORRUPTED_COLOUR
    return image


def write_eps_histogram_png(path, eps_per_epoch, is_corrupted=None, **kwargs):
    """Writes `eps_histogram_image(...)` to `path` as PNG; returns the path."""
    image = eps_histogram_image(eps_per_epoch, is_corrupted, **kwargs)
    tf.io.write_file(path, tf.io.encode_png(image))
    return path
