"""Model collapse: models trained on the output of models (Shumailov et al. 2024), and the cure of
keeping the real data (Gerstgrasser et al. 2024).

    frame = pl.experiments.collapse("fashion", "histogram", generations=10, mode=["replace", "accumulate"])
    from plausible.experiments.collapse import collapse_figure, collapse_table
    collapse_figure(frame, "collapse.png"); collapse_table(frame, "kl_to_truth")

Generation 0 is fitted on n real rows. Each generation then draws n rows, and generation k+1 is
fitted on
- `replace`: the n rows generation k drew, and nothing else;
- `accumulate`: the n real rows plus every generation's draws so far ((k + 2) n rows).

Per generation, measured on the n rows it drew (the rows the next generation learns from) and on
the model itself:
- `kl_to_truth`, `tv_to_truth`: exact KL(truth || model) and total variation over every
  combination where the truth is known (`fashion`), by `evaluation.metrics` as `pl.evaluate` does;
- `variance:<column>` (numbers): the variance of the draws (n - 1 in the denominator, so its
  expectation is the model's own variance), `variance_ratio` their mean ratio to the real rows';
- `tail:<column>` (numbers): the share of draws beyond the real rows' 1st and 99th percentiles
  (0.02 for the real rows themselves), `tail_mass` the mean over columns;
- `distinct_share` (labels): distinct combinations of the label columns among the n draws, per
  row; `distinct_share_real` the same for the n real rows;
- `detection_auc`: a classifier telling the draws from held-out real rows (`metrics.detection_auc`;
  0.5 = indistinguishable).

The known answer (tests/test_collapse.py). A Gaussian fitted by maximum likelihood divides by n, so
its variance S_k has E[S_{k+1} | S_k] = (n - 1)/n S_k under `replace`: after k generations
E[S_k] = σ² ((n - 1)/n)^(k + 1), shrinking to 0. Under `accumulate` the pooled rows' variance
(the new block's own spread plus the distance of its mean from the pool's) gives
E[S_{k+1} | S_k] = S_k (1 - 1/(n (k + 2)²)), so

    E[S_k] = σ² (n - 1)/n ∏_{j=2}^{k+1} (1 - 1/(n j²)) ≥ σ² (n - 1)/n (1 - (π²/6 - 1)/n),

bounded away from 0 for every k (its limit is σ² sin(π/√n)/(π/√n)).

plausible's rungs shrink faster than that: their draws never leave the range of the rows they were
fitted on (`data/layout.py` clips to it), so under `replace` each generation's range lies inside
the last one's and the tails go first. On wine (134 rows, gaussian with shrinkage 0, 5 seeds) the
draws kept 0.63 of generation 0's variance after 9 generations, against 0.94 with the range opened
and (133/134)^9 = 0.93 predicted; the test checks the known answer with the range opened.
"""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd

from ..core.model import Model
from ..core.registry import clone, make
from ..evaluation import metrics

MODES = ("replace", "accumulate")
HELD_OUT = 0.25     # share of the real rows kept out of every fit, for the detection AUC


def collapse(data, model, generations: int = 10, mode: str = "replace", n: int | None = None, seed: int = 0,
             truth=None, held_out=HELD_OUT, detection=None, **params) -> pd.DataFrame:
    """Fit `generations` models in a chain, each on the output of the one before (see the module
    doc); return one row per generation: generation, mode, seed, model, rows (what it was fitted
    on) and the metrics. `mode`: "replace", "accumulate" or both (a list): the chains then share
    generation 0, and each gives the rows a call with that mode alone gives.

    `data`: a DataFrame of real rows or a built-in dataset name (`pl.datasets.load(name, seed=seed)`,
    whose truth is then used when it has one). `model`: a rung name, made with `params`, or a
    fitted or unfitted Model, cloned with `params` changed. `n`: rows per generation (default:
    every real training row). `truth`: a table with a `probability` column or a dataset name.
    `held_out`: the real rows the detection AUC compares with, never fitted on: a share of `data`
    (default 0.25), a DataFrame, or None (every row of `data` is a training row, no detection AUC).
    `detection`: the generations whose detection AUC is scored (the slow metric): True (every one),
    False (none), or a list; None (default): every one when there are held-out rows.
    """
    from .. import datasets

    modes = (mode,) if isinstance(mode, str) else tuple(mode)
    wrong = [m for m in modes if m not in MODES]
    if wrong or not modes or len(set(modes)) < len(modes):
        raise ValueError(f"mode must be one of {', '.join(MODES)} (or a list of them), got {mode!r}")
    if not isinstance(generations, (int, np.integer)) or generations < 1:
        raise ValueError(f"generations must be a whole number >= 1, got {generations!r}")
    if isinstance(data, str):
        truth = truth if truth is not None or datasets.info(data).truth is None else data
        data = datasets.load(data, seed=seed)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame or a built-in dataset name, got {type(data).__name__}")
    if isinstance(truth, str):
        truth = datasets.truth(truth)
    if truth is not None and (not isinstance(truth, pd.DataFrame) or "probability" not in truth.columns):
        raise ValueError("truth must be a built-in dataset name or a table with a 'probability' column")
    if detection is None:
        detection = held_out is not None
    elif detection is not False and held_out is None:
        raise ValueError("the detection AUC compares with held-out real rows: give held_out= (a share or a "
                         "DataFrame), or detection=False")
    scored = _scored_generations(detection, generations)
    rng = np.random.default_rng(seed)
    real, test = _split(data, held_out, rng)
    n = len(real) if n is None else int(n)
    if not 2 <= n <= len(real):
        raise ValueError(f"n must be between 2 and the {len(real)} real training rows, got {n}")
    real = real.iloc[rng.choice(len(real), n, replace=False)].reset_index(drop=True) if n < len(real) else real
    reference = _Reference(real)

    def generation(number: int, training: pd.DataFrame, random) -> tuple[dict, pd.DataFrame]:
        fitted = _new_model(model, int(random.integers(2 ** 31)), params).fit(training)
        drawn = fitted.sample(n, seed=int(random.integers(2 ** 31)))[list(real.columns)]
        row = {"generation": number, "seed": seed, "model": fitted.name, "rows": len(training)}
        row.update(_distances(fitted, truth))
        row.update(reference.measure(drawn))
        if number in scored:
            row["detection_auc"] = metrics.detection_auc(test, drawn, seed=seed)
        return row, drawn

    first, drawn = generation(0, real, rng)   # shared by the modes: the same fit on the same rows
    rows = []
    for chain in modes:
        random, pool, previous = copy.deepcopy(rng), [real, drawn], drawn
        rows.append({**first, "mode": chain})
        for number in range(1, generations):
            training = previous if chain == "replace" else pd.concat(pool, ignore_index=True)
            row, previous = generation(number, training, random)
            rows.append({**row, "mode": chain})
            pool.append(previous)
    frame = pd.DataFrame(rows)
    if scored and "detection_auc" not in frame:
        frame["detection_auc"] = np.nan
    ordered = ["generation", "mode", "seed", "model", "rows"]
    return frame[ordered + [c for c in frame.columns if c not in ordered]]


def _scored_generations(detection, generations: int) -> set:
    if detection is True:
        return set(range(generations))
    if detection is False:
        return set()
    picked = {int(g) for g in detection}
    outside = sorted(g for g in picked if not 0 <= g < generations)
    if outside:
        raise ValueError(f"detection names generations {outside}; they run from 0 to {generations - 1}")
    return picked


def _split(data: pd.DataFrame, held_out, rng) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(training rows, held-out rows): `held_out` a share of `data`, a DataFrame, or None (none)."""
    if held_out is None:
        return data.reset_index(drop=True), None
    if isinstance(held_out, pd.DataFrame):
        lacking = [c for c in data.columns if c not in held_out.columns]
        if lacking:
            raise ValueError(f"the held-out rows lack columns {lacking}")
        return data.reset_index(drop=True), held_out[list(data.columns)].reset_index(drop=True)
    if not 0 < float(held_out) < 1:
        raise ValueError(f"held_out must be a share between 0 and 1 or a DataFrame, got {held_out!r}")
    order = rng.permutation(len(data))
    kept = max(4, round(float(held_out) * len(data)))
    return (data.iloc[order[kept:]].reset_index(drop=True), data.iloc[order[:kept]].reset_index(drop=True))


def _new_model(model, seed: int, params: dict) -> Model:
    if isinstance(model, str):
        return make(model, seed=seed, **params)
    if isinstance(model, Model):
        fresh = clone(model, **params)
        fresh.seed = seed
        return fresh
    raise TypeError(f"model must be a rung name or a plausible model, got {type(model).__name__}")


def _distances(model: Model, truth: pd.DataFrame | None) -> dict:
    """KL and total variation to the truth (as `pl.evaluate` computes them), when both are known."""
    if truth is None:
        return {}
    if model.log_prob_kind != "exact":
        warnings.warn(f"no distance to the truth: model {model.name!r} has no exact log_prob", stacklevel=3)
        return {"kl_to_truth": np.nan, "tv_to_truth": np.nan}
    return {"kl_to_truth": metrics.kl_to_truth(model, truth), "tv_to_truth": metrics.tv_to_truth(model, truth)}


class _Reference:
    """What a generation's draws are compared with: the real rows' percentiles, variances and
    distinct combinations."""

    def __init__(self, real: pd.DataFrame):
        self.numbers = [c for c in real.columns if metrics._is_numeric(real[c])
                        and not pd.api.types.is_datetime64_any_dtype(real[c].dtype)]
        self.labels = [c for c in real.columns if not metrics._is_numeric(real[c])]
        values = {c: metrics._numbers(real[c]) for c in self.numbers}
        self.low = {c: np.nanquantile(v, 0.01) for c, v in values.items()}
        self.high = {c: np.nanquantile(v, 0.99) for c, v in values.items()}
        self.variance = {c: np.nanvar(v, ddof=1) for c, v in values.items()}
        self.distinct_real = _distinct_share(real[self.labels]) if self.labels else None

    def measure(self, drawn: pd.DataFrame) -> dict:
        out = {}
        ratios, tails = [], []
        for c in self.numbers:
            v = metrics._numbers(drawn[c])
            v = v[~np.isnan(v)]
            out[f"variance:{c}"] = float(np.var(v, ddof=1)) if len(v) > 1 else np.nan
            out[f"tail:{c}"] = float(np.mean((v < self.low[c]) | (v > self.high[c]))) if len(v) else np.nan
            if self.variance[c] > 0:
                ratios.append(out[f"variance:{c}"] / self.variance[c])
            tails.append(out[f"tail:{c}"])
        if self.numbers:
            out["variance_ratio"] = float(np.mean(ratios)) if ratios else np.nan
            out["tail_mass"] = float(np.mean(tails))
        if self.labels:
            out["distinct_share"] = _distinct_share(drawn[self.labels])
            out["distinct_share_real"] = self.distinct_real
        return out


def _distinct_share(frame: pd.DataFrame) -> float:
    return float(len(np.unique(metrics.row_keys(frame))) / len(frame))


# ---------------------------------------------------------------------- summaries and the figure
def interval_over_seeds(values, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the mean over seeds and its Student-t interval (the mean alone for one
    seed; infinite values give an infinite mean and no interval)."""
    from scipy.stats import t

    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if not len(values):
        return np.nan, np.nan, np.nan
    mean = float(values.mean())
    if len(values) < 2 or not np.isfinite(values).all():
        return mean, np.nan, np.nan
    half = float(t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return mean, mean - half, mean + half


def summarize(frame: pd.DataFrame, metrics_shown=None, level: float = 0.95) -> pd.DataFrame:
    """A long table: per (data where given, model, mode, generation) and metric, the mean over
    seeds, its `level` interval (low, high) and the number of seeds."""
    keys = [k for k in ("data", "model", "mode", "generation") if k in frame.columns]
    shown = [m for m in (metrics_shown or _metric_names(frame)) if m in frame.columns]
    rows = []
    for key, group in frame.groupby(keys, sort=False):
        for metric in shown:
            values = group[metric].dropna()
            if len(values):
                mean, low, high = interval_over_seeds(values, level)
                rows.append({**dict(zip(keys, key)), "metric": metric, "mean": mean, "low": low, "high": high,
                             "seeds": len(values)})
    return pd.DataFrame(rows)


def collapse_table(frame: pd.DataFrame, metric: str = "kl_to_truth", level: float = 0.95,
                   digits: int = 3) -> pd.DataFrame:
    """One row per generation, one column per (model, mode): the metric's mean over seeds with its
    `level` interval, as text "mean [low, high]" (the mean alone where there is no interval)."""
    if metric not in frame.columns:
        raise ValueError(f"no metric {metric!r} in the table; it has {', '.join(_metric_names(frame))}")
    cells = {}
    for (model, mode), group in frame.groupby(["model", "mode"], sort=False):
        column = {}
        for generation, rows in group.groupby("generation"):
            mean, low, high = interval_over_seeds(rows[metric], level)
            if not np.isnan(mean):
                column[generation] = (f"{mean:.{digits}f}" if np.isnan(low) else
                                      f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]")
        cells[f"{model} {mode}"] = column
    table = pd.DataFrame(cells)
    table.index.name = "generation"
    return table


def _metric_names(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("data", "generation", "mode", "seed", "model", "rows")
            and pd.api.types.is_numeric_dtype(frame[c])]


SUMMARY = ("kl_to_truth", "tv_to_truth", "variance_ratio", "tail_mass", "distinct_share", "detection_auc")
LABELS = {"kl_to_truth": "KL(truth || model), nats", "tv_to_truth": "total variation to the truth",
          "variance_ratio": "variance / real variance (mean over columns)",
          "tail_mass": "share beyond the real 1st/99th percentiles", "distinct_share": "distinct combinations per row",
          "detection_auc": "detection AUC against held-out real rows"}
REFERENCE = {"variance_ratio": 1.0, "tail_mass": 0.02, "detection_auc": 0.5, "kl_to_truth": 0.0,
             "tv_to_truth": 0.0}   # what the real data itself scores (dotted lines)


def collapse_figure(frame: pd.DataFrame, path=None, metrics_shown=None, level: float = 0.95, title: str = ""):
    """Each metric by generation, one line per (model, mode), replace solid and accumulate dashed:
    the mean over seeds with its `level` interval as a band (points where a metric was scored at
    some generations only), and a dotted line at what the real data scores. One row of panels per
    value of a `data` column when the frame has one. Writes the figure to `path` (PNG, or the
    suffix's format) and returns the path, or returns the matplotlib Figure when `path` is None."""
    from ..evaluation.report import _figure

    wanted = list(metrics_shown or SUMMARY)
    parts = list(frame.groupby("data", sort=False)) if "data" in frame.columns else [("", frame)]
    panels = [(name, part, [m for m in wanted if m in part.columns and part[m].notna().any()]) for name, part in parts]
    panels = [p for p in panels if p[2]]
    if not panels:
        raise ValueError(f"none of the metrics {wanted} are in the table")
    columns = max(len(p[2]) for p in panels)
    figure = _figure(3.6 * columns, 3.0 * len(panels) + (0.4 if title else 0))
    colors = {}
    for row, (name, part, shown) in enumerate(panels):
        for k, metric in enumerate(shown):
            axis = figure.add_subplot(len(panels), columns, row * columns + k + 1)
            _draw_metric(axis, part, metric, level, colors)
            axis.set_title(f"{name}: {LABELS.get(metric, metric)}" if name else LABELS.get(metric, metric), fontsize=8)
            axis.set_xlabel("generation", fontsize=8)
            axis.tick_params(labelsize=7)
            if k == 0:
                axis.legend(fontsize=7)
    if title:
        figure.suptitle(title, fontsize=10)
    if path is None:
        return figure
    from ..tasks.plots import save_figure

    return save_figure(figure, path)


def _draw_metric(axis, frame: pd.DataFrame, metric: str, level: float, colors: dict) -> None:
    for (model, mode), group in frame.groupby(["model", "mode"], sort=False):
        color = colors.setdefault(model, f"C{len(colors)}")
        stats = [(g, *interval_over_seeds(r[metric], level)) for g, r in group.groupby("generation")]
        stats = np.array([s for s in stats if np.isfinite(s[1])], dtype=float).reshape(-1, 4)
        if not len(stats):
            continue
        sparse = len(stats) < group["generation"].nunique()
        axis.plot(stats[:, 0], stats[:, 1], "-" if mode == "replace" else "--", color=color,
                  marker="o" if sparse else None, markersize=4, label=f"{model}, {mode}")
        if sparse:
            axis.errorbar(stats[:, 0], stats[:, 1], yerr=np.abs(stats[:, 2:].T - stats[:, 1]), fmt="none",
                          ecolor=color, capsize=3, linewidth=0.8)
        else:
            axis.fill_between(stats[:, 0], stats[:, 2], stats[:, 3], color=color, alpha=0.15, linewidth=0)
    reference = frame["distinct_share_real"].mean() if metric == "distinct_share" and "distinct_share_real" in frame \
        else REFERENCE.get(metric)
    if reference is not None:
        axis.axhline(reference, color="grey", linewidth=0.8, linestyle=":")
