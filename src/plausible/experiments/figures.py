"""The figures of the learning experiments: learning curves with intervals over repeats, and the
spread of predicted probabilities over refits. Each `draw_*` draws on given axes (a demo combines
them); each `plot_*` makes its own figure and writes it atomically (PNG, or the suffix's format)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..tasks.plots import save_figure

# one colour per contender, the generative ones in blues and greens, the discriminative in warm colours
COLOURS = {"gaussian": "tab:blue", "naive_bayes": "tab:cyan", "independent": "tab:green", "gmm": "tab:purple",
           "logistic": "tab:orange", "logistic_unpenalized": "tab:brown", "logit": "tab:red"}
SPARE = ("tab:pink", "tab:gray", "tab:olive", "gold")


def colour(name: str, names) -> str:
    """A contender's colour: its own, or a spare one by its place among `names`."""
    if name in COLOURS:
        return COLOURS[name]
    others = [n for n in names if n not in COLOURS]
    return SPARE[others.index(name) % len(SPARE)] if name in others else "black"


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_learning_curves(axes, summary: pd.DataFrame, title: str | None = None, crossover: float | None = None):
    """Mean test error by training size (log scale) per classifier, shaded 95% interval over the
    repeats (`summary`: `learning.summarize` of the curves); a classifier that failed some fits says
    how many in the legend; `crossover` (a size) is marked with a dotted line."""
    names = list(dict.fromkeys(summary["classifier"]))
    for name in names:
        part = summary[summary["classifier"] == name]
        failed, fits = int(part["failed"].sum()), int(part["fits"].sum())
        label = name if not failed else f"{name} (failed {failed}/{fits})"
        shown = part[np.isfinite(part["error"])]
        line = axes.plot(shown["train_size"], shown["error"], marker="o", markersize=3, linewidth=1.4,
                         color=colour(name, names), label=label)[0]
        if not len(shown):
            line.set_linestyle("none")      # in the legend only: every fit failed
        axes.fill_between(shown["train_size"], shown["low"].fillna(shown["error"]),
                          shown["high"].fillna(shown["error"]), color=colour(name, names), alpha=0.18, linewidth=0)
    if crossover:
        axes.axvline(crossover, color="gray", linestyle=":", linewidth=1, label=f"crossover ~{crossover:.0f} rows")
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    axes.set_xscale("log")
    axes.xaxis.set_major_locator(FixedLocator(sorted(summary["train_size"].unique())))
    axes.xaxis.set_major_formatter(ScalarFormatter())
    axes.xaxis.set_minor_locator(NullLocator())
    axes.tick_params(axis="x", labelsize=8)
    axes.set_xlabel("training rows")
    axes.set_ylabel("test error")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    if title:
        axes.set_title(title, fontsize=10)
    axes.legend(fontsize=7)


def plot_learning_curves(summary: pd.DataFrame, path, title: str | None = None):
    """One panel of learning curves (`draw_learning_curves`), or one per data set when `summary` has
    a `data` column."""
    plt = _pyplot()
    groups = list(summary.groupby("data", sort=False)) if "data" in summary.columns else [(title, summary)]
    figure, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups), 3.8), squeeze=False)
    for ax, (name, part) in zip(axes[0], groups):
        draw_learning_curves(ax, part, title=name)
    figure.tight_layout()
    return save_figure(figure, path)


def draw_spread(axes, spreads: dict, title: str | None = None):
    """Bars of the median, over test rows, of each row's central 90% range of predicted
    probability over refits, with the rows' interquartile range as whiskers. `spreads`:
    {(setting, classifier): the Spread table, or a failure's text}; settings side by side,
    classifiers within each, a failed one marked with a cross."""
    settings = list(dict.fromkeys(setting for setting, _ in spreads))
    names = list(dict.fromkeys(name for _, name in spreads))
    width = 0.8 / max(len(names), 1)
    for i, setting in enumerate(settings):
        for j, name in enumerate(names):
            place = i + (j - (len(names) - 1) / 2) * width
            result = spreads.get((setting, name))
            if result is None:
                continue
            if isinstance(result, str):
                axes.plot([place], [0.03], marker="x", color=colour(name, names), markersize=9, mew=2)
                continue
            low, middle, high = np.quantile(result["range"].to_numpy(), [0.25, 0.5, 0.75])
            axes.bar(place, middle, width=width * 0.9, color=colour(name, names), alpha=0.75)
            axes.errorbar(place, middle, yerr=[[middle - low], [high - middle]], color="black", capsize=3,
                          linewidth=1)
    for name in names:
        axes.bar([0], [0], width=0, color=colour(name, names), alpha=0.75, label=name)
    if any(isinstance(result, str) for result in spreads.values()):
        axes.plot([], [], "x", color="gray", mew=2, label="fit failed")
    axes.set_xticks(range(len(settings)))
    axes.set_xticklabels(settings, fontsize=8)
    axes.set_ylabel("90% range of P(class) over refits\n(median test row; whiskers: quartiles)", fontsize=8)
    axes.set_ylim(0, 1.05)
    axes.grid(alpha=0.3, axis="y")
    if title:
        axes.set_title(title, fontsize=10)
    axes.legend(fontsize=7, loc="upper left")


def plot_spread(spreads: dict, path, title: str | None = None):
    """`draw_spread` on a figure of its own."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5.6, 3.9))
    draw_spread(axes, spreads, title=title)
    figure.tight_layout()
    return save_figure(figure, path)
