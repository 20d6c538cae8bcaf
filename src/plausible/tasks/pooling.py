"""Reading M imputations as one answer: each cell's spread, and Rubin's rules over M analyses.

    spread = pl.cell_spread(draws)                     # how unsure each filled cell is (0 where observed)
    table = pl.pool(draws, "income ~ age + region")    # Rubin's rules over the M analyses

A single "best guess" shrinks every filled value to the middle and makes any analysis
overconfident; M draws keep the variability a real value would have, and Rubin's rules turn M
analyses into one estimate whose standard error includes the uncertainty about the missing cells.
The statistic is a callable, `mean(column)`, or an OLS formula (`y ~ a + b`, parsed here).
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd

from ..evaluation.imputation import _as_float, _check_draws, _is_time, _kind, _modes


# ---------------------------------------------------------------------- spread
def cell_spread(draws: list) -> pd.DataFrame:
    """Per-cell spread across the draws, same shape as the data; 0 where a cell was observed.

    Numbers (and dates, in their own units as timedeltas): the standard deviation of the draws
    (ddof=1; 0 for a single draw). Categories and booleans: the share of draws that differ from
    the most common draw (0 = all agree; at most 1 - 1/M).
    """
    frames = _check_draws(draws)
    first = frames[0]
    out = {}
    for name in first.columns:
        column = first[name]
        if _kind(column) == "categorical":
            values = np.stack([f[name].astype(object).to_numpy() for f in frames])     # (M, N)
            out[name] = _disagreement(values)
        elif pd.api.types.is_datetime64_any_dtype(column.dtype):
            values = np.stack([_as_float(f[name]) for f in frames])
            out[name] = pd.to_timedelta(_std(values), unit="ns")
        else:
            out[name] = _std(np.stack([_as_float(f[name]) for f in frames]))
    return pd.DataFrame(out, index=first.index)


def _std(values: np.ndarray) -> np.ndarray:
    if len(values) < 2:
        return np.zeros(values.shape[1])
    same = (values == values[0]).all(axis=0)           # observed cells: exactly 0, not 1e-17
    return np.where(same, 0.0, np.nan_to_num(values.std(axis=0, ddof=1)))


def _disagreement(values: np.ndarray) -> np.ndarray:
    """(M, N) labels -> share of the M draws differing from each column's most common label."""
    modes = _modes(values)
    return (values != modes[None, :]).mean(axis=0)


# ---------------------------------------------------------------------- Rubin's rules
def pool(draws: list, statistic) -> pd.DataFrame:
    """Rubin's rules: one estimate per parameter from the same analysis run on each of M draws.

    statistic:
    - "mean(col)": the column mean, with complete-data variance s²/n and df n - 1;
    - "y ~ x1 + x2": ordinary least squares with an Intercept (drop it with "- 1"; "y ~ ." uses every
      other column). Categorical predictors are one-hot coded with their first level (sorted)
      dropped, booleans are 0/1. Variances are the classical OLS covariance s² (XᵀX)⁻¹, df n - p;
    - a callable frame -> (estimates, variances) or (estimates, variances, df), each a dict or
      Series keyed by parameter name (df: complete-data degrees of freedom; default infinite).

    With Q_m, U_m the estimate and its variance in draw m (Rubin 1987):
        Q̄ = mean Q_m,  Ū = mean U_m,  B = var(Q_m, ddof=1),  T = Ū + (1 + 1/M) B.
    Degrees of freedom are Barnard & Rubin's (1999) small-sample ones, with λ = (1 + 1/M) B / T and
    ν_com the complete-data df:  ν_old = (M - 1)/λ²,  ν_obs = (ν_com + 1)/(ν_com + 3) ν_com (1 - λ),
    ν = ν_old ν_obs / (ν_old + ν_obs)  (ν = ν_old when ν_com is infinite). The 95% interval is
    Q̄ ± t_{ν, 0.975} √T; the fraction of missing information is (r + 2/(ν + 3)) / (1 + r) with
    r = (1 + 1/M) B / Ū, as in R's mice.

    Returns one row per parameter: estimate, within_variance, between_variance, total_variance,
    std_error, df, ci_low, ci_high, fraction_missing_information.
    """
    from scipy import stats

    frames = _check_draws(draws)
    if len(frames) < 2:
        raise ValueError("pooling needs at least 2 draws (the between-draw variance is undefined for one); "
                         "impute with n_draws >= 2, ideally 20 or more")
    analyse = _analysis(statistic)
    results = [analyse(frame) for frame in frames]
    names = list(results[0][0].index)
    for k, (estimates, _, _) in enumerate(results[1:], 1):
        if list(estimates.index) != names:
            extra = [n for n in estimates.index if n not in names]
            lacking = [n for n in names if n not in estimates.index]
            raise ValueError(
                f"the statistic gave different parameters in different draws: draw {k} "
                + (f"has {extra} " if extra else "") + ("and " if extra and lacking else "")
                + (f"lacks {lacking} " if lacking else "") + "against draw 0"
                + (". A formula does this when a category level is drawn in some completions only (a rare "
                   "or declared-but-unused level); merge or drop that level before imputing (e.g. "
                   "df[col].cat.remove_unused_categories())" if isinstance(statistic, str) else ""))
    q = np.array([r[0].to_numpy(dtype=float) for r in results])                 # (M, P)
    u = np.array([r[1].reindex(names).to_numpy(dtype=float) for r in results])   # (M, P)
    df_complete = float(results[0][2])
    m = len(frames)
    q_bar, u_bar, b = q.mean(axis=0), u.mean(axis=0), q.var(axis=0, ddof=1)
    total = u_bar + (1 + 1 / m) * b
    df = _barnard_rubin(b, total, m, df_complete)
    half = stats.t.ppf(0.975, df) * np.sqrt(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(u_bar > 0, (1 + 1 / m) * b / u_bar, np.where(b > 0, np.inf, 0.0))
        fmi = np.where(np.isinf(r), 1.0, (r + 2 / (df + 3)) / (1 + r))
    return pd.DataFrame({"estimate": q_bar, "within_variance": u_bar, "between_variance": b,
                         "total_variance": total, "std_error": np.sqrt(total), "df": df,
                         "ci_low": q_bar - half, "ci_high": q_bar + half,
                         "fraction_missing_information": fmi}, index=pd.Index(names, name="parameter"))


def _barnard_rubin(b, total, m, df_complete) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(total > 0, (1 + 1 / m) * b / total, 0.0)
        df_old = np.where(lam > 0, (m - 1) / lam ** 2, np.inf)
        if np.isinf(df_complete):
            return df_old
        df_observed = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
        return np.where(np.isinf(df_old), df_observed, df_old * df_observed / (df_old + df_observed))


_MEAN = re.compile(r"^\s*mean\(\s*(.+?)\s*\)\s*$")


def _analysis(statistic) -> Callable[[pd.DataFrame], tuple[pd.Series, pd.Series, float]]:
    if callable(statistic):
        def run(frame):
            result = statistic(frame)
            if not isinstance(result, tuple) or len(result) not in (2, 3):
                raise ValueError("a pooling callable must return (estimates, variances) or "
                                 "(estimates, variances, df); got " + type(result).__name__)
            estimates, variances = pd.Series(result[0], dtype=float), pd.Series(result[1], dtype=float)
            if set(estimates.index) != set(variances.index):
                raise ValueError(f"the callable's estimates {list(estimates.index)} and variances "
                                 f"{list(variances.index)} name different parameters")
            return estimates, variances, float(result[2]) if len(result) == 3 else np.inf
        return run
    if not isinstance(statistic, str):
        raise TypeError(f"statistic must be 'mean(col)', a formula 'y ~ x1 + x2' or a callable, "
                        f"got {type(statistic).__name__}")
    match = _MEAN.match(statistic)
    if match:
        column = _unquote(match.group(1))
        return lambda frame: _mean(frame, column)
    if "~" in statistic:
        formula = _parse_formula(statistic)
        return lambda frame: _ols(frame, *formula)
    raise ValueError(f"statistic {statistic!r} is not understood: use 'mean(col)', a regression formula "
                     "'y ~ x1 + x2', or a callable frame -> (estimates, variances)")


def check_statistic(statistic, columns) -> None:
    """Raise the error `pool` would, for a statistic that cannot be run on a table with `columns`
    (not understood, or naming a column that is not there), before any imputation is spent on it.
    Given the table itself (a DataFrame), also check the kinds: the mean's column and a formula's
    response must be numbers, a predictor cannot be dates."""
    if callable(statistic):
        return
    _analysis(statistic)                                   # not understood: ValueError / TypeError
    table = columns if isinstance(columns, pd.DataFrame) else None
    columns = [str(c) for c in columns]
    match = _MEAN.match(statistic)
    if match:
        named = [_unquote(match.group(1))]
    else:
        response, terms, _ = _parse_formula(statistic)
        named = [response, *(term for term in terms if term != ".")]
    missing = [name for name in named if name not in columns]
    if missing:
        raise ValueError(f"statistic {statistic!r}: no column {missing[0]!r}; columns: {', '.join(columns)}")
    if table is not None:
        table = table.rename(columns=str)
        role = "mean()" if match else "the formula's response"
        column = table[named[0]]
        if _kind(column) == "categorical" and not pd.api.types.is_bool_dtype(column.dtype) or _is_time(column):
            _numeric(table.iloc[:0], named[0], f"statistic {statistic!r}: {role}")
        for name in named[1:]:
            if _is_time(table[name]):
                _numeric(table.iloc[:0], name, f"statistic {statistic!r}: a formula predictor")


def _mean(frame: pd.DataFrame, column: str):
    values = _numeric(frame, column, "mean()")
    n = len(values)
    if n < 2:
        raise ValueError("mean() needs at least 2 rows for its variance")
    name = f"mean({column})"
    return (pd.Series({name: values.mean()}), pd.Series({name: values.var(ddof=1) / n}), float(n - 1))


def _unquote(name: str) -> str:
    return name[1:-1] if len(name) > 1 and name.startswith("`") and name.endswith("`") else name


def _parse_formula(text: str) -> tuple[str, list[str], bool]:
    """'y ~ x1 + x2 - 1' -> ('y', ['x1', 'x2'], intercept False). Terms are column names or '.';
    a name holding '+', '-' or '~' is written between backticks: 'y ~ `age-group` + x'."""
    quoted = re.fullmatch(r"\s*`([^`]+)`\s*~(.*)", text, flags=re.S)
    left, _, right = (quoted.group(1), "~", quoted.group(2)) if quoted else text.partition("~")
    response = _unquote(left.strip())
    if not response or "~" in re.sub(r"`[^`]*`", "", right):
        raise ValueError(f"formula {text!r}: write it as 'y ~ x1 + x2' (one response, '+' between predictors)")
    bare_right = re.sub(r"`[^`]*`", "x", right).strip()
    if not bare_right or bare_right[-1] in "+-" or re.search(r"[+-]\s*[+-]", bare_right):
        raise ValueError(f"formula {text!r}: a term is missing (write 'y ~ x1 + x2'; 'y ~ 1' for the mean alone)")
    intercept, terms = True, []
    for sign, term in re.findall(r"([+-]?)\s*(`[^`]+`|[^+-]+)", right):
        bare = term.strip()
        term = _unquote(bare)
        if bare in ("0", "1"):
            intercept = not (sign == "-" and term == "1" or term == "0")
        elif sign == "-":
            raise ValueError(f"formula {text!r}: only '- 1' (no intercept) can be subtracted")
        elif term:
            terms.append(term)
    if not terms and not intercept:
        raise ValueError(f"formula {text!r} has no predictor and no intercept")
    return response, terms, intercept


def _ols(frame: pd.DataFrame, response: str, terms: list[str], intercept: bool):
    if "." in terms:
        terms = [t for t in terms if t != "."] + [c for c in frame.columns if c != response and c not in terms]
    y = _numeric(frame, response, "the formula's response")
    names, columns = (["Intercept"], [np.ones(len(frame))]) if intercept else ([], [])
    for term in terms:
        if term not in frame.columns:
            raise ValueError(f"formula term {term!r} is not a column; columns: {', '.join(map(str, frame.columns))} "
                             "(write a name holding '+', '-' or '~' between backticks: `age-group`)")
        column = frame[term]
        if _kind(column) == "categorical" and not pd.api.types.is_bool_dtype(column.dtype):
            labels = column.astype(object)
            if labels.isna().any():
                raise ValueError(f"a formula predictor: column {term!r} still has missing cells; pool completed draws")
            levels = sorted(labels.dropna().unique(), key=str)
            for level in levels[1:]:   # the first level is the baseline
                names.append(f"{term}[{level}]")
                columns.append((labels == level).to_numpy(dtype=float))
        else:
            names.append(term)
            columns.append(_numeric(frame, term, "a formula predictor"))
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"the regression would have two coefficients named {repeated[0]!r} (a column named like the "
                         "intercept or a category level's label); rename that column, or drop the intercept with '- 1'")
    x = np.column_stack(columns)                                                # (N, P)
    n, p = x.shape
    if n <= p:
        raise ValueError(f"the regression has {p} coefficients but only {n} rows")
    coefficients, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    if rank < p:
        raise ValueError(f"the regression's predictors are collinear (rank {rank} < {p} coefficients: "
                         f"{', '.join(names)}); drop a predictor")
    residual = y - x @ coefficients
    sigma2 = residual @ residual / (n - p)
    covariance = sigma2 * np.linalg.inv(x.T @ x)
    return pd.Series(coefficients, index=names), pd.Series(np.diag(covariance), index=names), float(n - p)


def _numeric(frame: pd.DataFrame, column: str, role: str) -> np.ndarray:
    if column not in frame.columns:
        raise ValueError(f"{role}: no column {column!r}; columns: {', '.join(map(str, frame.columns))}")
    if _kind(frame[column]) == "categorical" and not pd.api.types.is_bool_dtype(frame[column].dtype):
        raise ValueError(f"{role}: column {column!r} is categorical; it needs numbers")
    if _is_time(frame[column]):
        raise ValueError(f"{role}: column {column!r} holds dates or durations; it needs numbers (convert it, "
                         "e.g. to days since a start, with a callable statistic)")
    values = _as_float(frame[column])
    if np.isnan(values).any():
        raise ValueError(f"{role}: column {column!r} still has missing cells; pool completed draws")
    return values
