"""`plausible demo`: the first lesson of generative modelling, on data whose truth is known.

Fit `histogram` (one parameter per combination), `independent` (naive Bayes) and `bayesnet`
(a learned tree of dependencies) on N draws of the `fashion` avatars, then measure exactly how
far each learned distribution is from the truth over all 4,032 combinations. The numbers show
the bias-variance trade-off: with 50 rows the histogram barely moves off uniform and mostly
invents combinations at random, naive Bayes is wrong but stable, and the Bayesian network is
stable *and* captures the strongest dependencies; with tens of thousands of rows the histogram,
the only model without assumptions, overtakes it, while the tree stalls (the truth has nodes with
two parents, which no tree can represent).
"""
from __future__ import annotations

import sys
import time

import pandas as pd

from . import datasets
from .core.registry import make
from .evaluation import metrics

MODELS = ("histogram", "independent", "bayesnet")
SATURATED = MODELS[0]   # one parameter per combination: the model the explanation follows
SIZES = (50, 500, 5000, 50000)
N_SAMPLES = 2000  # synthetic rows drawn to measure the share never seen in training


def run(sizes=SIZES, models=MODELS, seed: int = 0, show: int = 10, stream=None) -> pd.DataFrame:
    """Fit each model at each size; print samples and tables to `stream` (default: sys.stdout at
    call time); return the results."""
    stream = stream if stream is not None else sys.stdout     # not bound at import: callers may redirect it
    truth = datasets.truth("fashion")
    rows = []
    print(f"fashion: {len(truth):,} combinations of 5 avatar features, true distribution known "
          f"(entropy {metrics.entropy(truth['probability']):.2f} nats).", file=stream)
    # every feature's labels are known in advance (a few rows need not show them all): declared, so
    # that each model can give a label it has not seen yet some probability
    labels = {c: {"kind": "categorical", "categories": list(pd.unique(truth[c]))}
              for c in truth.columns if c != "probability"}
    for size in sizes:
        train = datasets.load("fashion", n=size, seed=seed)
        for name in models:
            start = time.perf_counter()
            model = make(name, seed=seed).fit(train, schema=labels)
            seconds = time.perf_counter() - start
            synthetic = model.sample(N_SAMPLES, seed=seed + 1)
            rows.append({"N": size, "model": name,
                         "KL(truth||model)": metrics.kl_to_truth(model, truth),
                         "TV distance": metrics.tv_to_truth(model, truth),
                         "unseen share": metrics.unseen_share(synthetic, train),
                         "fit seconds": seconds})
            if size == sizes[0] and show:
                print(f"\n{show} new avatars from `{name}` fitted on N={size}:", file=stream)
                print(synthetic.head(show).to_string(index=False), file=stream)
    results = pd.DataFrame(rows)
    print(file=stream)
    for size, table in results.groupby("N", sort=False):
        best = table.loc[table["KL(truth||model)"].idxmin(), "model"]
        print(f"N = {size:,} training rows (best: {best})", file=stream)
        print(table.drop(columns="N").to_string(index=False, float_format=lambda v: f"{v:.3f}"), file=stream)
        print(file=stream)
    print(explain(results), file=stream)
    return results


def explain(results: pd.DataFrame) -> str:
    """A few sentences read off the numbers (not written in advance)."""
    lines = ["How to read this: KL and TV measure the distance to the true distribution (lower is better);",
             "'unseen share' is the share of samples whose combination never occurs in the training rows."]
    for size, table in results.groupby("N", sort=False):
        ranked = table.sort_values("KL(truth||model)")["model"].tolist()
        lines.append(f"- N = {size:,}: {' < '.join(ranked)} (by KL).")
    kl = results.pivot(index="N", columns="model", values="KL(truth||model)")
    if SATURATED in kl and len(kl) >= 2:
        small, large = kl.index.min(), kl.index.max()
        lines.append(f"The histogram's KL falls from {kl.loc[small, SATURATED]:.2f} to {kl.loc[large, SATURATED]:.2f} "
                     f"nats as N grows from {small:,} to {large:,}: one parameter per combination (4,032 here) "
                     "needs many more rows than combinations.")
        structured = [m for m in kl.columns if m != SATURATED]
        wins = [n for n in kl.index if kl.loc[n, SATURATED] < kl.loc[n, structured].min()]
        if wins:
            best = kl.loc[wins[0], structured].idxmin()
            lines.append(f"From N = {wins[0]:,} it beats every model that assumes structure: `{best}` stalls at "
                         f"{kl.loc[large, best]:.2f} nats because its assumption (a tree, or independence) is "
                         "wrong for this truth, and more data cannot fix a wrong assumption.")
        else:
            lines.append("Models that assume structure win at every size shown: their assumptions cost less than "
                         "the histogram's hunger for data (try --sizes 50000 to see the histogram win).")
    return "\n".join(lines)


def to_markdown(results: pd.DataFrame) -> str:
    header = "| " + " | ".join(results.columns) + " |\n|" + "---|" * len(results.columns) + "\n"
    body = "".join("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |\n"
                   for row in results.itertuples(index=False))
    return "# plausible demo: fashion\n\n" + header + body + "\n" + explain(results) + "\n"


# ---------------------------------------------------------------------- plausible demo forecast
def forecast_demo(n: int = 50, horizon: int = 20, n_paths: int = 1000, model: str = "auto", seed: int = 0,
                  figure: str | None = "plausible-forecast-demo.png", truth_draws: int = 10_000,
                  stream=None) -> dict:
    """The most likely future is not a typical one: forecast `n` points of standard Gaussian noise.

    The true predictive distribution of the next `horizon` values is N(0, I) whatever the past, so
    its mean path is a flat line at 0 and a typical future wiggles with standard deviation 1.
    Forecast `n_paths` sample paths with `model`, then compare them and their mean path with
    `truth_draws` fresh draws of the true future: within-path standard deviation, typicality,
    per-step mean and variance, coverage of the central 50/80/95% intervals, CRPS. Draws the mean
    path beside a few sample paths to `figure` (PNG; None: no figure). Returns the numbers.
    """
    import numpy as np

    from .evaluation import series_metrics
    from .tasks.forecast import forecast_one

    stream = stream if stream is not None else sys.stdout     # looked up now: callers may redirect it

    history = datasets.load("noise", n=n, seed=seed)["value"].to_numpy()
    result = forecast_one(history, horizon, n_paths=n_paths, model=model, seed=seed)
    paths = result.paths
    mean_path = paths.mean(axis=0)
    truth = np.random.default_rng(seed + 1).standard_normal((truth_draws, horizon))   # the true future N(0, I)
    numbers = {
        "model": result.model, "differences": result.transform.difference,
        "mean_path_within_sd": float(mean_path.std()),
        "paths_within_sd": float(paths.std(axis=1).mean()),
        "true_within_sd": float(truth.std(axis=1).mean()),
        "typicality_mean_path": series_metrics.typicality(mean_path[None, :], truth),
        "typicality_paths": series_metrics.typicality(paths, truth),
        "step_mean_average": float(paths.mean(axis=0).mean()),
        "step_mean_max_abs": float(np.abs(paths.mean(axis=0)).max()),
        "step_variance_average": float(paths.var(axis=0).mean()),
        "step_variance_range": (float(paths.var(axis=0).min()), float(paths.var(axis=0).max())),
        "history_variance": float(history.var()),
        "crps_paths": series_metrics.crps(paths, truth),
        "crps_mean_path": series_metrics.crps(mean_path[None, :], truth),
        "crps_truth": float(1 / np.sqrt(np.pi)),   # E CRPS(N(0,1), y ~ N(0,1)) = 1/sqrt(pi)
    }
    for level in series_metrics.LEVELS:
        numbers[f"coverage_{round(level * 100)}"] = series_metrics.coverage(paths, truth, level)
    p = numbers
    lines = [
        f"{n} points of standard Gaussian noise; forecast {horizon} steps with {n_paths} sample paths "
        f"(model {p['model']!r}, {p['differences']} difference(s)). The true future is N(0, I).",
        "",
        "                                   mean path    sample paths    true future",
        f"within-path standard deviation     {p['mean_path_within_sd']:9.3f}    {p['paths_within_sd']:12.3f}"
        f"    {p['true_within_sd']:11.3f}",
        f"typicality (1 = moves like data)   {p['typicality_mean_path']:9.3f}    {p['typicality_paths']:12.3f}"
        f"    {1.0:11.3f}",
        f"CRPS against the true future       {p['crps_mean_path']:9.3f}    {p['crps_paths']:12.3f}"
        f"    {p['crps_truth']:11.3f}",
        "",
        f"per-step mean of the paths: {p['step_mean_average']:+.3f} on average (largest |mean| "
        f"{p['step_mean_max_abs']:.3f}; truth 0)",
        f"per-step variance of the paths: {p['step_variance_average']:.3f} on average (from "
        f"{p['step_variance_range'][0]:.3f} to {p['step_variance_range'][1]:.3f}; truth 1; the {n} points' own "
        f"variance is {p['history_variance']:.3f})",
        "coverage of the paths' central intervals, against " f"{truth_draws:,} fresh draws of the true future:",
    ]
    lines += [f"  {round(level * 100)}% interval: {p[f'coverage_{round(level * 100)}']:.3f}"
              for level in series_metrics.LEVELS]
    lines += ["",
              "The mean path is the single most likely future, yet it is flat: its within-path spread is ~0 "
              "while every real future",
              "wiggles with sd ~1. Sample paths are typical futures; their spread across paths is the "
              "forecast's uncertainty."]
    print("\n".join(lines), file=stream)
    if figure:
        _forecast_figure(history, paths, mean_path, figure, seed)
        print(f"\nfigure: {figure}", file=stream)
    return numbers


def _forecast_figure(history, paths, mean_path, figure, seed: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from .tasks.plots import save_figure

    n, horizon = len(history), paths.shape[1]
    t_past, t_future = np.arange(n), np.arange(n, n + horizon)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for axes in (left, right):
        axes.plot(t_past, history, color="black", linewidth=1, label="history (N(0,1) noise)")
        axes.axhline(0, color="grey", linewidth=0.5)
    left.plot(t_future, mean_path, color="tab:red", linewidth=2, label="mean path (most likely)")
    left.set_title("the most likely future: flat, unlike any real one")
    low, high = np.quantile(paths, [0.025, 0.975], axis=0)
    right.fill_between(t_future, low, high, color="tab:blue", alpha=0.15, label="95% interval")
    for i, k in enumerate(np.random.default_rng(seed).choice(len(paths), 3, replace=False)):
        right.plot(t_future, paths[k], linewidth=1, label="sample paths" if i == 0 else None)
    right.set_title("typical futures: sample paths")
    for axes in (left, right):
        axes.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    save_figure(fig, figure)
