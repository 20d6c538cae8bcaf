"""Scoring multiple imputations against the truth: hide cells of a complete table, fill them, measure.

    masked = pl.hide_cells(complete, share=0.2, seed=0)
    scores = pl.evaluate_imputation(complete, masked, pl.impute(masked, n_draws=20))

Interval coverage (`evaluate_imputation`). With M draws the empirical 5%-95% range under-covers
badly when M is small (the range of 5 draws covers a sixth draw only 4/6 = 67% of the time). The
90% interval is therefore:
- M >= 19: the draws' 5% and 95% quantiles at plotting positions k/(M+1) (numpy's "weibull"
  method), which for continuous draws covers a new draw from the same distribution with
  probability ~0.90 whatever its shape (order statistics are distribution-free);
- 2 <= M < 19: the t predictive interval mean ± t_{M-1, 0.95} · sd · sqrt(1 + 1/M), exact for
  Gaussian draws (sd with ddof=1), approximate for skewed ones;
- M = 1: no interval (coverage is reported as None).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

QUANTILE_DRAWS = 19   # from this many draws on, the 90% interval is the draws' own quantiles


def _modes(values: np.ndarray) -> np.ndarray:
    """The most common label per column of an (M, N) object array (ties: the first drawn)."""
    modes = np.empty(values.shape[1], dtype=object)
    for j in range(values.shape[1]):
        labels, first, counts = np.unique(values[:, j].astype(str), return_index=True, return_counts=True)
        best = np.flatnonzero(counts == counts.max())
        modes[j] = values[first[best].min(), j]
    return modes


# ---------------------------------------------------------------------- evaluation
def hide_cells(frame: pd.DataFrame, share: float, seed: int = 0, columns: list | None = None) -> pd.DataFrame:
    """A copy of `frame` with round(share x present cells) cells hidden completely at random (MCAR).

    Only present cells (of `columns`, default all) are candidates; which ones is a uniform draw
    without replacement, so the result is reproducible from `seed`.
    """
    frame = _check_table(frame)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
        raise ValueError(f"share must be a number in [0, 1), got {share!r}")
    columns = list(frame.columns) if columns is None else list(columns)
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise ValueError(f"hide_cells: no column {unknown[0]!r} in the table")
    positions = [frame.columns.get_loc(c) for c in columns]
    present = frame.iloc[:, positions].notna().to_numpy()
    rows, cols = np.nonzero(present)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(rows), int(round(share * len(rows))), replace=False)
    masked = frame.copy()
    for j in np.unique(cols[chosen]):
        hit = rows[chosen][cols[chosen] == j]
        name = columns[j]
        if pd.api.types.is_integer_dtype(masked[name].dtype) and not pd.api.types.is_extension_array_dtype(
                masked[name].dtype):
            masked[name] = masked[name].astype(float)
        elif pd.api.types.is_bool_dtype(masked[name].dtype):
            masked[name] = masked[name].astype(object)
        masked.iloc[hit, masked.columns.get_loc(name)] = None
    return masked


def evaluate_imputation(complete: pd.DataFrame, masked: pd.DataFrame, draws: list) -> dict:
    """Scores of M imputations on the hidden cells (NaN in `masked`, present in `complete`).

    Numbers (averaged over the numeric columns with a hidden cell):
    - nrmse: RMSE of the mean draw against the truth, over the column's std in `complete` (ddof 0);
      0 is perfect, 1 is as bad as a constant at the true mean would be (in expectation);
    - crps: the sample CRPS of the M draws, E|X − y| − ½ E|X − X'| with the "fair" estimator
      (the second term over the M(M−1) distinct pairs, unbiased for the draws' distribution),
      divided by the column's std; equals the MAE for one draw;
    - coverage_90: share of hidden cells inside the 90% interval of the draws (see the module
      docstring: quantiles of the draws when M >= 19, a t predictive interval below; None for M=1).
    Categories and booleans: accuracy of the most common draw. Also per_column details, n_hidden
    (all hidden cells) and interval_method.

    A numeric column with only two values in `complete` (a 0/1 flag) is scored as a number as
    above, and its per_column entry also says `two_valued: True` and gives the accuracy of its most
    common draw. Its draws take one of two values, so an interval holding both holds the truth and
    its coverage is near 1 by construction; coverage_90_continuous is coverage_90 over the other
    numeric columns only (None when there are none).
    """
    complete, masked = _check_table(complete), _check_table(masked)
    frames = _check_draws(draws)
    if complete.shape != masked.shape or list(complete.columns) != list(masked.columns):
        raise ValueError(f"complete {complete.shape} and masked {masked.shape} must have the same shape and columns")
    if frames[0].shape != complete.shape:
        raise ValueError(f"the draws have shape {frames[0].shape}; the tables have {complete.shape}")
    if list(frames[0].columns) != list(complete.columns):
        raise ValueError(f"the draws' columns {list(frames[0].columns)} are not the tables' "
                         f"{list(complete.columns)} in that order: give draws of the same table")
    hidden_cells = (masked.isna() & complete.notna()).to_numpy()
    if not hidden_cells.any():
        raise ValueError("masked hides no cell that complete holds: nothing to score (the arguments are "
                         "complete, masked, draws, in that order)")
    kept = masked.notna().to_numpy()
    for k, frame in enumerate(frames):
        for j, name in enumerate(masked.columns):
            if not kept[:, j].any():
                continue
            if _kind(masked[name]) == "numeric":
                same = np.isclose(_as_float(frame[name])[kept[:, j]], _as_float(masked[name])[kept[:, j]],
                                  rtol=1e-9, atol=0.0).all()
            else:
                same = (frame[name].astype(object).to_numpy()[kept[:, j]].astype(str)
                        == masked[name].astype(object).to_numpy()[kept[:, j]].astype(str)).all()
            if not same:
                raise ValueError(f"draw {k} changed observed cells of column {name!r}: imputations keep every "
                                 "observed cell as it is")
    m = len(frames)
    method = None if m == 1 else ("quantiles" if m >= QUANTILE_DRAWS else "t")
    per_column, numeric, categorical = {}, [], []
    for name in complete.columns:
        hidden = (masked[name].isna() & complete[name].notna()).to_numpy()
        if not hidden.any():
            continue
        truth_column = complete[name]
        if _kind(truth_column) == "categorical":
            values = np.stack([f[name].astype(object).to_numpy()[hidden] for f in frames])
            truth = truth_column.astype(object).to_numpy()[hidden]
            accuracy = float(np.mean(_modes(values).astype(str) == truth.astype(str)))
            per_column[name] = {"kind": "categorical", "hidden": int(hidden.sum()), "accuracy": accuracy}
            categorical.append(accuracy)
            continue
        all_truth = _as_float(truth_column)
        scale = float(np.nanstd(all_truth))
        scale = scale if scale > 0 else 1.0
        truth = all_truth[hidden]
        values = np.stack([_as_float(f[name])[hidden] for f in frames])        # (M, H)
        if np.isnan(values).any():
            raise ValueError(f"column {name!r}: some draws still have missing cells where the truth is hidden")
        rmse = float(np.sqrt(np.mean((values.mean(axis=0) - truth) ** 2)))
        crps = float(np.mean(_crps(values, truth)))
        low, high = _interval(values)
        coverage = None if low is None else float(np.mean((truth >= low) & (truth <= high)))
        entry = {"kind": "numeric", "hidden": int(hidden.sum()), "nrmse": rmse / scale, "crps": crps / scale,
                 "coverage_90": coverage, "rmse": rmse, "std": scale,
                 "two_valued": _two_valued(truth_column)}
        if entry["two_valued"]:
            entry["accuracy"] = float(np.mean(np.isclose(_modes(values).astype(float), truth, rtol=1e-9, atol=0.0)))
        per_column[name] = entry
        numeric.append(entry)
    continuous = [e["coverage_90"] for e in numeric if not e["two_valued"]]
    return {
        "nrmse": float(np.mean([e["nrmse"] for e in numeric])) if numeric else None,
        "crps": float(np.mean([e["crps"] for e in numeric])) if numeric else None,
        "coverage_90": (float(np.mean([e["coverage_90"] for e in numeric]))
                        if numeric and method is not None else None),
        "coverage_90_continuous": (float(np.mean(continuous)) if continuous and method is not None else None),
        "accuracy": float(np.mean(categorical)) if categorical else None,
        "n_hidden": int(sum(e["hidden"] for e in per_column.values())),
        "n_draws": m,
        "interval_method": method,
        "per_column": per_column,
    }


def _crps(values: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(M, H) draws, (H,) truths -> fair sample CRPS per cell (`series_metrics.crps_per_step`)."""
    from .series_metrics import crps_per_step

    return crps_per_step(values, truth, fair=True)


def _interval(values: np.ndarray):
    """The 90% interval of (M, H) draws per cell: (low, high), or (None, None) for one draw."""
    from scipy import stats

    m = len(values)
    if m == 1:
        return None, None
    if m >= QUANTILE_DRAWS:
        low, high = np.quantile(values, [0.05, 0.95], axis=0, method="weibull")
        return low, high
    half = stats.t.ppf(0.95, m - 1) * values.std(axis=0, ddof=1) * np.sqrt(1 + 1 / m)
    centre = values.mean(axis=0)
    return centre - half, centre + half


# ---------------------------------------------------------------------- small helpers
def _check_table(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        repeated = list(dict.fromkeys(data.columns[data.columns.duplicated()]))
        if repeated:
            raise ValueError(f"the table repeats column names ({', '.join(map(repr, repeated))}): give every "
                             "column its own name")
        return data
    if isinstance(data, np.ndarray) and data.ndim == 2 and np.issubdtype(data.dtype, np.number):
        return pd.DataFrame(data.astype(float), columns=[f"x{i}" for i in range(data.shape[1])])
    raise TypeError(f"expected a table: a pandas DataFrame or a 2-D numeric numpy array, got "
                    f"{type(data).__name__}{getattr(data, 'shape', '')}")


def _check_draws(draws) -> list[pd.DataFrame]:
    if not isinstance(draws, (list, tuple)) or not draws:
        raise TypeError("draws must be a non-empty list of completed tables (what impute returns)")
    frames = [_check_table(d) for d in draws]
    shape, columns = frames[0].shape, list(frames[0].columns)
    for k, frame in enumerate(frames[1:], 1):
        if frame.shape != shape or list(frame.columns) != columns:
            raise ValueError(f"draw {k} has shape {frame.shape} and columns {list(frame.columns)}; draw 0 has "
                             f"{shape} and {columns}: all draws must complete the same table")
    return frames


def _is_time(column: pd.Series) -> bool:
    return bool(pd.api.types.is_datetime64_any_dtype(column.dtype) or pd.api.types.is_timedelta64_dtype(column.dtype))


def _kind(column: pd.Series) -> str:
    """'numeric' for numbers and dates, 'categorical' for anything else (labels, booleans): the
    evaluation metrics' own split (`metrics._is_numeric`)."""
    from .metrics import _is_numeric

    return "numeric" if _is_numeric(column) else "categorical"


def _two_valued(column: pd.Series) -> bool:
    """A column with at most two distinct present values (a 0/1 flag): the layout holds a numeric
    one as a discrete state, so choose_model counts it as a category and evaluate_imputation
    scores its accuracy beside its (by construction near-certain) coverage."""
    return bool(column.dropna().nunique() <= 2)


def _as_float(column: pd.Series) -> np.ndarray:
    """Numbers as floats, like `metrics._numbers`, but also booleans held in object columns (what a
    completed draw of a nullable boolean column is), which regression predictors need as 0/1."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        values = column.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
        values[column.isna().to_numpy()] = np.nan
        return values
    if pd.api.types.is_bool_dtype(column.dtype) or column.dtype == object:
        return pd.to_numeric(column.astype(object).map(lambda v: float(v) if v is not None and v == v else np.nan),
                             errors="coerce").to_numpy(dtype=float)
    return column.to_numpy(dtype=float, na_value=np.nan)
