"""Fan charts of forecast paths, written atomically as PNG, SVG or PDF.
"""
from __future__ import annotations

import numpy as np

from ..data.io import _publish
from ..evaluation.series_metrics import LEVELS


# ---------------------------------------------------------------------- fan chart
def plot_fan(history, paths, path_png, future=None, title: str | None = None, n_show: int = 5,
             history_points: int | None = None, times=None, seed: int = 0):
    """Draw a fan chart: the history, the median path, 50/80/95% bands and a few sample paths.

    `future`: the realised values, drawn as a dashed line when given; `history_points`: how many
    of the last history values to show (default: max(4 x horizon, 60), at most all); `times`:
    x values for history + horizon (default 0..). Writes `path_png` atomically; returns its path.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = np.asarray(history, dtype=float)
    paths = np.asarray(paths, dtype=float)
    horizon = paths.shape[1]
    shown = history_points or min(len(history), max(4 * horizon, 60))
    x_all = np.arange(len(history) + horizon) if times is None else np.asarray(times)
    x_history, x_future = x_all[len(history) - shown:len(history)], x_all[len(history):]
    # the fan starts at the last observed value so the bands join the history line
    x_fan = np.concatenate([x_all[len(history) - 1:len(history)], x_future])
    anchor = np.full((paths.shape[0], 1), history[-1])
    fan = np.concatenate([anchor, paths], axis=1)
    figure, axes = plt.subplots(figsize=(9, 4.5))
    axes.plot(x_history, history[-shown:], color="black", linewidth=1.2, label="history")
    for level, alpha in zip(sorted(LEVELS, reverse=True), (0.15, 0.25, 0.35)):
        low, high = np.quantile(fan, [(1 - level) / 2, (1 + level) / 2], axis=0)
        axes.fill_between(x_fan, low, high, color="tab:blue", alpha=alpha, linewidth=0,
                          label=f"{round(level * 100)}% interval")
    picks = np.random.default_rng(seed).choice(paths.shape[0], size=min(n_show, paths.shape[0]), replace=False)
    for i, p in enumerate(picks):
        axes.plot(x_fan, fan[p], color="tab:orange", linewidth=0.8, alpha=0.9,
                  label="sample paths" if i == 0 else None)
    axes.plot(x_fan, np.median(fan, axis=0), color="tab:blue", linewidth=1.6, label="median")
    if future is not None:
        axes.plot(x_future, np.asarray(future, dtype=float)[:horizon], color="black", linestyle="--",
                  linewidth=1.2, label="realised")
    axes.set_title(title or f"{paths.shape[0]} sample paths, {horizon} steps ahead")
    axes.legend(loc="upper left", fontsize=8, ncol=2)
    figure.tight_layout()
    return save_figure(figure, path_png)


def figure_format(path) -> str:
    """The format a figure path asks for (its suffix; none: PNG), or ValueError when matplotlib
    cannot write it: checked before the work that draws the figure."""
    from pathlib import Path

    from matplotlib.backend_bases import FigureCanvasBase

    kind = Path(path).suffix.lstrip(".").lower() or "png"
    supported = FigureCanvasBase.get_supported_filetypes()
    if kind not in supported:
        raise ValueError(f"cannot write a figure as {Path(path).suffix!r}; use one of "
                         f"{', '.join('.' + k for k in sorted(supported))}")
    return kind


def save_figure(figure, path_png):
    """Write a matplotlib figure atomically (a temporary file, then a rename) and close it; the
    format follows the file's suffix (.png, .pdf, .svg, .jpg, ...; none: PNG)."""
    import os
    import tempfile
    from pathlib import Path

    import matplotlib.pyplot as plt

    path_png = Path(path_png)
    try:
        kind = figure_format(path_png)
    except ValueError:
        plt.close(figure)
        raise
    path_png.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path_png.name}.", suffix=f".{kind}", dir=path_png.parent)
    os.close(handle)
    try:
        figure.savefig(temp, dpi=110, format=kind)
        _publish(temp, path_png)
    finally:
        plt.close(figure)
        if os.path.exists(temp):
            os.unlink(temp)
    return path_png
