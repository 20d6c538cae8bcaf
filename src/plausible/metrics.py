"""Distances between distributions, one function each, the same for every model.

Directions: fidelity scores are in [0, 1], higher is better (1 = identical); divergences and
distances (`kl_to_truth`, `tv_to_truth`) are >= 0, lower is better; `unseen_share` is neither:
0 means the model only repeats training rows, and a good model of a large space is well above 0.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

NUMERIC_PAIR_BINS = 5  # quantile bins of a numeric column when paired with a categorical one


def _is_numeric(series: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)) \
        or pd.api.types.is_datetime64_any_dtype(series.dtype)


def _numbers(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.astype("datetime64[ns]").to_numpy().astype("int64").astype(float)
        values[series.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(series).astype("float64").to_numpy(na_value=np.nan)


def _labels(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), "<missing>").astype(str)


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov statistic: the largest gap between the empirical CDFs."""
    a, b = np.sort(a), np.sort(b)
    if a.size == 0 or b.size == 0:
        return float(a.size != b.size)
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, side="right") / a.size
                               - np.searchsorted(b, grid, side="right") / b.size)))


def _tv(a: pd.Series, b: pd.Series) -> float:
    """Total variation distance between the label frequencies of two columns."""
    p = a.value_counts(normalize=True)
    q = b.value_counts(normalize=True)
    return float(0.5 * p.subtract(q, fill_value=0).abs().sum())


def marginal_fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, per_column: bool = False):
    """Mean over columns of 1 − KS statistic (numbers, datetimes) or 1 − total variation (labels).

    A numeric column's missing cells count too: its score is 1 − max(KS of the present values,
    the gap in missing rate). With `per_column=True` returns `(mean, {column: score})`.
    """
    scores = {}
    for name in real.columns:
        r, s = real[name], synthetic[name]
        if _is_numeric(r):
            rv, sv = _numbers(r), _numbers(s)
            gap = abs(np.isnan(rv).mean() - np.isnan(sv).mean()) if len(sv) else 1.0
            scores[name] = 1.0 - max(_ks(rv[~np.isnan(rv)], sv[~np.isnan(sv)]), gap)
        else:
            scores[name] = 1.0 - _tv(_labels(r), _labels(s))
    mean = float(np.mean(list(scores.values())))
    return (mean, scores) if per_column else mean


def pairwise_fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, per_pair: bool = False):
    """Agreement of dependence for every pair of columns, 1 = identical.

    Two numeric columns: 1 − |ρ_real − ρ_synthetic| / 2 with Spearman's ρ (rank correlation,
    robust to skew). Any pair involving a label column: 1 − total variation between the two
    contingency tables, numeric columns binned at the real data's quantiles. This is the
    correlation and contingency similarity of SDMetrics, so numbers compare with SDV reports.
    """
    columns = list(real.columns)
    binned_real, binned_synth = {}, {}
    for name in columns:
        if _is_numeric(real[name]):
            rv = _numbers(real[name])
            edges = np.unique(np.nanquantile(rv, np.linspace(0, 1, NUMERIC_PAIR_BINS + 1)[1:-1])) if np.isfinite(rv).any() else []
            for store, values in ((binned_real, rv), (binned_synth, _numbers(synthetic[name]))):
                store[name] = pd.Series(np.where(np.isnan(values), -1, np.searchsorted(edges, values)).astype(str))
        else:
            binned_real[name], binned_synth[name] = _labels(real[name]).reset_index(drop=True), \
                _labels(synthetic[name]).reset_index(drop=True)
    scores = {}
    for a, b in itertools.combinations(columns, 2):
        if _is_numeric(real[a]) and _is_numeric(real[b]):
            rho = [pd.DataFrame({"a": _numbers(f[a]), "b": _numbers(f[b])}).corr(method="spearman").iloc[0, 1]
                   for f in (real, synthetic)]
            rho = [0.0 if np.isnan(r) else r for r in rho]
            scores[(a, b)] = 1.0 - abs(rho[0] - rho[1]) / 2
        else:
            joint_r = binned_real[a] + "\x1f" + binned_real[b]
            joint_s = binned_synth[a] + "\x1f" + binned_synth[b]
            scores[(a, b)] = 1.0 - _tv(joint_r, joint_s)
    mean = float(np.mean(list(scores.values()))) if scores else 1.0
    return (mean, scores) if per_pair else mean


# ---------------------------------------------------------------------- known truth
def model_probabilities(model, truth: pd.DataFrame) -> np.ndarray:
    """exp(log_prob) of a model at every row of a truth table (all combinations of a discrete space)."""
    return np.exp(model.log_prob(truth.drop(columns="probability")))


def kl_to_truth(model, truth: pd.DataFrame) -> float:
    """KL(P_truth ‖ P_model) = Σ p log(p / q) over every combination, in nats (0 = perfect)."""
    p = truth["probability"].to_numpy()
    log_q = model.log_prob(truth.drop(columns="probability"))
    keep = p > 0
    return float(np.sum(p[keep] * (np.log(p[keep]) - log_q[keep])))


def tv_to_truth(model, truth: pd.DataFrame) -> float:
    """Total variation ½ Σ |p − q| over every combination (0 = perfect, 1 = disjoint)."""
    return float(0.5 * np.abs(truth["probability"].to_numpy() - model_probabilities(model, truth)).sum())


def unseen_share(synthetic: pd.DataFrame, train: pd.DataFrame) -> float:
    """Share of synthetic rows whose exact combination of values never occurs in the training rows."""
    seen = set(map(tuple, _labels_frame(train).itertuples(index=False)))
    rows = list(map(tuple, _labels_frame(synthetic[train.columns]).itertuples(index=False)))
    return float(np.mean([row not in seen for row in rows])) if rows else 0.0


def _labels_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({name: _labels(frame[name]) for name in frame.columns})


def entropy(probabilities) -> float:
    """Shannon entropy −Σ p log p in nats of a probability vector."""
    p = np.asarray(probabilities, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())
