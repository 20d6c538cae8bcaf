"""Multiple imputation as a product: fill gaps with several draws, measure their spread, pool.

    import plausible as pl
    draws = pl.impute(df, n_draws=20, seed=0)          # 20 completed tables, observed cells unchanged
    spread = pl.cell_spread(draws)                     # how unsure each filled cell is (0 where observed)
    table = pl.pool(draws, "income ~ age + region")    # Rubin's rules over the M analyses
    scores = pl.evaluate_imputation(complete, masked, draws)

`impute` fits a model on the incomplete table itself (missing cells are a modelled state, not
dropped rows), then draws every missing cell from P(missing | observed), M times. A single "best
guess" shrinks every filled value to the middle and makes any analysis overconfident; M draws keep
the variability a real value would have, and Rubin's rules (`pool`) turn M analyses into one
estimate whose standard error includes the uncertainty about the missing cells.

How `model="auto"` chooses (`choose_model`, measured in benchmarks/bench_imputation.py):
see `choose_model`'s docstring for the rule and the numbers behind it.

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

import functools
import re
import sys
import warnings
from typing import Callable

import numpy as np
import pandas as pd

from .base import (Model, NotSupportedError, ParameterError, _check_budget, _check_count, _check_jobs, one_thread,
                   side_by_side)

QUANTILE_DRAWS = 19   # from this many draws on, the 90% interval is the draws' own quantiles
MAX_GMM_COLUMNS = 20  # "auto" uses gmm for numbers and categories up to this many columns (choose_model)
AUTO_COMPONENTS = 3   # gmm's max_components when "auto" chooses it (what the benchmark measured)
AUTO_REFIT_STARTS = 1  # ... and its k-means++ starts per K in each bootstrap refit: the refits' own starts vary
                       # anyway (diabetes, wine, bc_means, 10 masks at 20% / 50%: nRMSE within 0.4% of 2 starts,
                       # mean difference +0.0002, 1.75x faster)
BOOTSTRAP_MODELS = ("gmm",)   # no posterior: uncertainty="auto" spreads their draws over bootstrap refits
MAX_BOOTSTRAP_ROWS = 5000     # ... on tables up to this many rows (parameter uncertainty shrinks as 1/sqrt(N))
UNCERTAINTY = ("auto", "posterior", "fitted")   # impute(uncertainty=...)


# ---------------------------------------------------------------------- impute
def impute(data, n_draws: int = 5, model="auto", seed: int = 0, params: dict | None = None,
           time_budget: float | None = None, refits: int = 1, uncertainty: str = "auto", n_jobs: int = 1) -> list:
    """`n_draws` completed copies of `data`: each missing cell drawn from P(missing | observed).

    data: a DataFrame (or 2-D numeric array) with missing cells (NaN / None / NaT).
    model: "auto" (see `choose_model`), a registered model name (`plausible.models()`), or a Model
        instance: a fitted one is used as it is (no refit); for an unfitted one a copy with its
        settings is fitted on `data` (the instance itself stays unfitted, so it can be reused).
    params: hyperparameters of the named model, e.g. {"n_components": 4}.
    time_budget: seconds of training at most for the deep models (their `time_budget`); ignored by
        the classical ones.
    uncertainty: how the draws carry the uncertainty of the fitted parameters, without which
        intervals on small tables with many gaps are too narrow and Rubin's pooled standard errors
        too small:
        - "auto" (default): "posterior" when the model offers it (`Model.has_posterior`: gaussian and student,
          by data augmentation); for `gmm` on tables of at most MAX_BOOTSTRAP_ROWS rows, one bootstrap refit
          per draw (as `refits=n_draws`), since a mixture chosen by BIC on a small table is itself
          uncertain (wine with its label, 20 draws, 20% / 50% hidden: 90% coverage 0.79 / 0.84 from the
          one fit, 0.94 / 0.92 from refits, label accuracy 0.61 / 0.31 -> 0.92 / 0.74, nRMSE 0.735 /
          0.839 -> 0.675 / 0.786, at 20x the cost); else "fitted", or bootstrap refits when `refits` > 1;
        - "posterior": each draw from its own copy of the model whose parameters are drawn from
          their posterior given `data` (`Model.posterior_draws`): proper multiple imputation at the
          cost of one extra imputation pass per draw;
        - "fitted": every draw given the one fitted model (plug-in).
    refits: 1 (default) fits the model once. `refits=n_draws` is proper multiple
        imputation by the bootstrap (Efron 1994; Little & Rubin 2019, 10.2.3): each draw comes from a
        model fitted on its own bootstrap resample of the rows, so the spread and Rubin's
        between-draw variance include the parameter uncertainty; it costs `refits` fits. In between,
        the draws are split evenly over the refits. (A resample that misses a category seen in
        the data gets one row holding it added back, so every observed value stays known.)
    n_jobs: processes fitting the bootstrap refits side by side (default 1; -1: one per CPU), each
        limited to one BLAS/OpenMP thread. The draws are the same for any n_jobs: every refit's
        resample and seeds are drawn first, in order. Only refits run in parallel (`refits` > 1,
        or "auto" uncertainty's one refit per draw for gmm); a single fit ignores it.

    The model is fitted on `data` itself, so the rows with gaps teach it too. Observed cells are
    returned unchanged. A table with no missing cell gives `n_draws` copies and a warning.
    """
    frame = _check_table(data)
    if len(frame) == 0 or frame.shape[1] == 0:
        raise ValueError(f"the table is empty ({frame.shape[0]} rows x {frame.shape[1]} columns): nothing to impute")
    n_draws = _check_count(n_draws, "n_draws", minimum=1)
    refits = _check_count(refits, "refits", minimum=1)
    if refits > n_draws:
        raise ValueError(f"refits ({refits}) cannot exceed n_draws ({n_draws}): each refit gives at least one draw")
    _check_budget(time_budget)
    n_jobs = _check_jobs(n_jobs)
    if uncertainty not in UNCERTAINTY:
        raise ValueError(f"uncertainty must be one of {list(UNCERTAINTY)}, got {uncertainty!r}")
    if uncertainty == "posterior" and refits > 1:
        raise ValueError("uncertainty='posterior' draws the parameters from their posterior; refits > 1 draws "
                         "them by the bootstrap: choose one")
    fitted = _resolve_model(frame, model, seed, params, time_budget)
    if fitted is not None and refits > 1:
        raise ValueError("refits > 1 refits the model on bootstrap resamples; a fitted model is used as it is: "
                         "pass its name (or an unfitted model) instead")
    if fitted is not None and uncertainty == "posterior":
        raise ValueError("uncertainty='posterior' draws the parameters given the table the model is fitted on; "
                         "a fitted model is used as it is: pass its name (or an unfitted model) instead")
    if not frame.isna().to_numpy().any():
        warnings.warn("the table has no missing cell: returning unchanged copies (nothing to impute)",
                      UserWarning, stacklevel=2)
        return [data.copy() for _ in range(n_draws)]
    if fitted is not None:
        return fitted.impute(data, n_draws=n_draws, seed=seed)
    if uncertainty == "auto" and refits == 1 and len(frame) <= MAX_BOOTSTRAP_ROWS:   # else no schema pass
        name = model.name if isinstance(model, Model) else choose_model(frame, time_budget)[0] if model == "auto" \
            else model
        refits = planned_refits(len(frame), n_draws, name, refits, uncertainty)
    if refits == 1:
        instance = _build(model, frame, seed, params, time_budget)
        if uncertainty == "posterior" and not instance.has_posterior:
            raise NotSupportedError(f"model {instance.name!r} does not draw its parameters from a posterior; "
                                    "use refits=K (bootstrap) or uncertainty='fitted'")
        instance.fit(data)
        if uncertainty == "fitted" or not instance.has_posterior:
            return instance.impute(data, n_draws=n_draws, seed=seed)
        copy_seed, *draw_seeds = np.random.SeedSequence(seed).generate_state(n_draws + 1)
        copies = instance.posterior_draws(data, n_draws, seed=int(copy_seed))
        return [twin.impute(data, n_draws=1, seed=int(s))[0] for twin, s in zip(copies, draw_seeds)]
    from tqdm.auto import tqdm

    # every refit's resample and seeds first, in order: the same draws for any n_jobs
    streams = np.random.SeedSequence(seed).spawn(refits)
    tasks = []
    for stream, count in zip(streams, np.diff(np.linspace(0, n_draws, refits + 1).round().astype(int))):
        rng = np.random.default_rng(stream)
        rows = _bootstrap_rows(frame, rng)
        fit_seed, draw_seed = (int(v) for v in rng.integers(0, 2**31, 2))
        tasks.append((rows, fit_seed, draw_seed, int(count)))
    shared = (data, frame, model, params, time_budget)   # sent to each worker once, at its start
    draws = []
    with side_by_side(_refit_task, tasks, min(n_jobs, refits), initializer=_refit_worker_start, initargs=(shared,),
                      here=functools.partial(_refit_draws, shared)) as results:
        # one fit per refit (auto's gmm on diabetes at 50% hidden: 20 fits, about 10 s): a bar on a terminal
        for piece in tqdm(results, total=refits, desc="impute: bootstrap refits", unit="fit",
                          disable=not sys.stderr.isatty(), leave=False):
            draws += piece
    return draws


def planned_refits(rows: int, n_draws: int, name: str, refits: int = 1, uncertainty: str = "auto") -> int:
    """How many fits `impute` makes: `refits`, or one bootstrap refit per draw when uncertainty is
    "auto" and the model (`name`) is one of BOOTSTRAP_MODELS on a table of at most MAX_BOOTSTRAP_ROWS."""
    if uncertainty == "auto" and refits == 1 and rows <= MAX_BOOTSTRAP_ROWS and name in BOOTSTRAP_MODELS:
        return n_draws
    return refits


def _refit_draws(shared, task) -> list:
    """One bootstrap refit: the model fitted on the resample's rows, then its draws of all of `data`."""
    data, frame, model, params, time_budget = shared
    rows, fit_seed, draw_seed, count = task
    resample = data[rows] if isinstance(data, np.ndarray) else data.iloc[rows].reset_index(drop=True)
    instance = _build(model, frame, fit_seed, params, time_budget, refit=True)
    if isinstance(model, Model):   # an unfitted instance: a fresh copy of it for each resample
        instance = type(model)(seed=fit_seed, **model.get_params())
    return instance.fit(resample).impute(data, n_draws=count, seed=draw_seed)


_WORKER_SHARED = None   # in a refit worker process: (data, frame, model, params, time_budget), sent once


def _refit_worker_start(shared) -> None:
    global _WORKER_SHARED
    one_thread()
    _WORKER_SHARED = shared


def _refit_task(task) -> list:
    return _refit_draws(_WORKER_SHARED, task)


def _bootstrap_rows(frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Row indices of a bootstrap resample, plus one row for each category the resample lost."""
    rows = rng.integers(0, len(frame), len(frame))
    extra = []
    for name in frame.columns:
        if _kind(frame[name]) != "categorical":
            continue
        labels = frame[name].astype(object).reset_index(drop=True)
        kept = set(labels.iloc[rows].dropna())
        for row, label in labels.dropna().drop_duplicates().items():
            if label not in kept:
                extra.append(row)     # the first row holding the lost category
    return np.concatenate([rows, np.asarray(extra, dtype=int)])


def choose_model(frame: pd.DataFrame, time_budget: float | None = None) -> tuple[str, str]:
    """The model `impute(model="auto")` uses for this table, and why, in one sentence.

    The rule, measured by benchmarks/bench_imputation.py (breast_cancer, wine, diabetes, wine with
    its label, fashion, wine and breast_cancer cut into quartiles, breast_cancer's 10 mean
    measurements (bc_means), and the tables with two-valued columns bc_diagnosis, indicators and
    bc_flags; 20% and 50% of cells hidden completely at random, 3 or 10 seeds; medians in
    benchmarks/RESULTS.md, section bench_imputation):
    - every column a category, a boolean or a number with only two values: `rbm`, a restricted
      Boltzmann machine (12 binary hidden units, exact over their 4,096 states): its hidden units
      hold interactions of any order between the columns. Accuracy at 20% / 50% hidden (medians of 3
      masks): fashion 0.452 / 0.396 against bayesnet's 0.447 / 0.307 and gmm's 0.392 / 0.323; wine
      with every column cut into quartiles 0.536 / 0.468 against 0.441 / 0.281 and 0.491 / 0.352;
      ten breast_cancer measurements in quartiles with the diagnosis 0.680 / 0.594 against 0.668 /
      0.567 and 0.492 / 0.434. It fits in seconds (fashion: 3.7 s for 1,000 rows, 33 s for 50,000)
      where bayesnet takes a fraction of one;
    - every column a number, at most MAX_GMM_COLUMNS columns: `gmm` with at most AUTO_COMPONENTS
      clusters chosen by BIC, one bootstrap refit per draw (`uncertainty="auto"` up to
      MAX_BOOTSTRAP_ROWS rows). nRMSE at 20% / 50% hidden against `gaussian` below
      (IterativeImputer): wine 0.680 / 0.780 against 0.720 / 0.827 (0.730 / 0.826), lower on all 20
      masks (medians of 10); breast_cancer's 10 mean measurements (`bc_means`, 10 masks) 0.390 /
      0.506 against 0.413 / 0.528 (0.448 / 0.554), lower on 18 of 20; 90% coverage 0.930 / 0.917 on
      wine, 0.920 / 0.915 on bc_means (gaussian 0.913 / 0.904 and 0.907 / 0.915). On Gaussian tables
      with wine's and diabetes' mean and covariance (bench_ceiling, 5 masks), where one Gaussian is
      the true model, gmm lost little: 0.994 / 1.002 and 0.982 / 1.010 of IterativeImputer's nRMSE
      against gaussian's 0.978 / 0.991 and 0.984 / 1.021, covering 0.88-0.90. Most of the gain is
      the average over 20 refits (bagging): one gmm fit for all draws scored 0.735 / 0.878 on wine
      (3 masks). Each refit makes one k-means++ start per number of clusters (AUTO_REFIT_STARTS; the
      refits' own starts differ anyway). The cost: 3-13 s for 20 draws on one core where gaussian
      takes 1-1.5 s (`n_jobs` fits the refits side by side; the CLI says so); it was 20-70 s before
      the EM speed-ups of 2026-12-04. Until 2026-12-04 these tables took `gaussian`; the earlier
      claim that the Gaussian family was within 3% of gmm came from single gmm fits.
      Some columns of such tables take only two values (an indicator such as 0/1, sex coded as two
      numbers). The layout holds a two-valued column as a discrete state, like a category, and
      `gaussian` keeps discrete states independent of the numbers, so it imputed such a column from
      its own frequencies (nRMSE 1.01-1.06 on diabetes' `sex`, worse than the mean) and learned
      nothing about the numbers from it; gmm ties them through its clusters. nRMSE at 20% / 50%
      hidden, gmm against gaussian (IterativeImputer): diabetes 0.634 / 0.805 against 0.676 / 0.825
      (0.662 / 0.802), medians of 10 masks; breast_cancer's 10 mean measurements with the diagnosis
      as 0/1 (`bc_diagnosis`) 0.399 / 0.505 against 0.459 / 0.566 (0.428 / 0.559); a generated table
      of 5 correlated numbers and 2 indicators (`indicators`) 0.823 / 0.925 against 0.951 / 0.981
      (0.794 / 0.886), gmm and IterativeImputer on 10 masks, gaussian on 3; 90% coverage 0.91-0.93
      for gmm, 0.90-0.93 for gaussian. `copula` ties them too and did best on `indicators` (0.803 /
      0.888, 3 masks) but worst on diabetes (0.712 / 0.869). A table of only two-valued numbers
      (and categories) is all-categorical to every model and takes `rbm` (first rule): breast_cancer's 10 mean
      measurements cut at their medians with the diagnosis, all as 0/1 (`bc_flags`, 3 masks), rbm
      0.644 / 0.720 against gaussian's 1.027 / 1.024 (IterativeImputer 0.617 / 0.710). The 90%
      coverage of a two-valued column is near 1 by construction (its draws take one of two values;
      an interval holding both holds the truth), so these tables' coverage (0.93 on diabetes at 20%
      hidden, 0.98-0.99 on bc_flags) says little;
    - every column a number, more than MAX_GMM_COLUMNS columns: `gaussian`, one full-covariance
      multivariate normal fitted by EM with the gaps, its correlations shrunk by the amount that
      best predicts held-out present cells, its parameters drawn from their posterior for each
      draw, and positive columns closer to normal on the log scale modelled as log x
      (`transform="auto"`, its default; see `plausible.ladder.gaussian`), which makes products such
      as area ~ radius^2 linear. breast_cancer (30 columns), medians of 10 masks, nRMSE at 20% / 50%
      hidden: 0.280 / 0.409 (IterativeImputer 0.316 / 0.461), 90% coverage 0.919 / 0.914; one gmm
      fit there scored 0.301 / 0.433 with intervals covering only 0.857 / 0.780, and gmm's cost
      grows far faster with the width. `student` (the multivariate t, its heavy-tailed twin) was
      within 1% (0.283 / 0.411) and is slower (20 draws: 8.5 s against 4.9 s at 50% hidden); what
      mattered was the log scale (without it 0.307 / 0.429 for student, 0.320 / 0.438 for gaussian);
    - numbers and categories, at most MAX_GMM_COLUMNS columns: `gmm` with at most AUTO_COMPONENTS
      clusters chosen by BIC: its clusters tie categories to numbers, which `gaussian` keeps
      independent. Wine with its label (the one mixed table measured), 20% hidden: nRMSE 0.735 vs
      gaussian 0.734, label accuracy 0.607 vs 0.382. At 50% hidden it is no better (0.839 / 0.311 vs
      0.846 / 0.359) and its 90% intervals cover only 0.79-0.84; `copula` recovers the label best
      (0.865, 0.609) at a cost in the numbers (nRMSE 0.775, 1.020). A rule on one table would be
      overfitted, so this branch stays as measured first;
    - numbers and categories, more columns: `gaussian`, whose EM cost grows far slower with the
      width than gmm's.
    The deep models (autoregressive, diffusion; 30 s of training) were far behind on these small
    tables, so `time_budget` does not change the choice; it only limits a deep model named
    explicitly.
    """
    frame = _check_table(frame)
    kinds = [_kind(frame[name]) for name in frame.columns]
    missing = float(frame.isna().to_numpy().mean()) if frame.size else 0.0
    numeric = sum(kind == "numeric" for kind in kinds)
    gaps = f"{missing:.0%} of cells missing"
    two_valued = [str(name) for name, kind in zip(frame.columns, kinds)
                  if kind == "numeric" and _two_valued(frame[name])]
    shown = ", ".join(two_valued[:3]) + (f" and {len(two_valued) - 3} more" if len(two_valued) > 3 else "")
    if numeric == len(two_valued):         # no column of numbers with more than two values
        what = "are categorical" if numeric == 0 else \
            f"are categories or numbers with only two values ({shown}), which every model holds as categories,"
        return "rbm", (f"all {len(kinds)} columns {what} and {gaps}: rbm (a restricted Boltzmann machine, "
                       "exact over its hidden states) imputed categories most accurately of our models, at 20% and "
                       "50% missing")
    if numeric == len(kinds) and len(kinds) <= MAX_GMM_COLUMNS:
        if not two_valued:
            return "gmm", (f"all {numeric} columns are numbers, {gaps}: gmm (at most {AUTO_COMPONENTS} Gaussian "
                           "clusters by BIC, exact conditionals) imputed each such table measured with 3-6% lower "
                           "error than one Gaussian, at 3-10 times its time on one core (its bootstrap refits "
                           "run side by side with n_jobs / --jobs)")
        verb, them = ("takes", "it") if len(two_valued) == 1 else ("take", "them")
        return "gmm", (f"all {numeric} columns are numbers, {gaps}, but {shown} {verb} only two values: every "
                       "model holds such a column as a discrete state, which gaussian keeps independent of the "
                       f"numbers; gmm (at most {AUTO_COMPONENTS} Gaussian clusters by BIC, exact conditionals) ties "
                       f"{them} to the numbers and imputed such tables with lower error")
    if numeric == len(kinds):
        return "gaussian", (f"all {numeric} columns are numbers, {gaps}: on a table this wide one full-covariance "
                            "multivariate normal (exact conditionals, correlations shrunk as far as held-out cells "
                            "say, positive skewed columns on the log scale) was the most accurate of our models and "
                            "is far faster than gmm")
    if len(kinds) <= MAX_GMM_COLUMNS:
        return "gmm", (f"{numeric} numeric and {len(kinds) - numeric} categorical columns, {gaps}: gmm (at most "
                       f"{AUTO_COMPONENTS} Gaussian clusters by BIC, exact conditionals) ties the categories to "
                       "the numbers and had the lowest imputation error of our models on such tables")
    return "gaussian", (f"{len(kinds)} columns ({numeric} numeric), {gaps}: on a table this wide one "
                        "full-covariance Gaussian (exact conditionals) is far faster than gmm")


def _resolve_model(frame, model, seed, params, time_budget) -> Model | None:
    """A fitted Model to use as it is, or None (build and fit one); validates the arguments first."""
    from .registry import get_class

    if isinstance(model, Model):
        if params:
            raise ParameterError("params apply to a model built by name; this Model instance already has its own")
        if model.impute_kind == "none":
            raise NotSupportedError(_cannot_impute(type(model)))
        return model if hasattr(model, "layout_") else None
    if not isinstance(model, str):
        raise TypeError(f"model must be 'auto', a model name or a plausible Model, got {type(model).__name__}")
    if model == "auto":
        if params:
            raise ParameterError("params need a named model: with model='auto' the model is chosen from the "
                                 f"table ({choose_model(frame, time_budget)[0]!r} here); name it to set its parameters")
        return None
    cls = get_class(model)
    if cls.impute_kind == "none":
        raise NotSupportedError(_cannot_impute(cls))
    for key in params or {}:
        if key not in cls.params:
            raise ParameterError(f"model {model!r} has no parameter {key!r}; its parameters are: "
                                 f"{', '.join(cls.params) or 'none'}")
    return None


def _build(model, frame, seed, params, time_budget, refit: bool = False) -> Model:
    """The unfitted model to fit: `model` by name (auto: `choose_model`'s, with auto's settings), or a
    copy of an unfitted instance. `refit`: it will be fitted on a bootstrap resample (auto's gmm then
    makes AUTO_REFIT_STARTS k-means++ starts per K, the resamples varying the starts anyway)."""
    from .registry import make

    if isinstance(model, Model):   # an unfitted instance: fit a copy, so the caller's stays unfitted
        return type(model)(seed=model.seed, **model.get_params())
    name = choose_model(frame, time_budget)[0] if model == "auto" else model
    params = dict(params or {})
    if model == "auto" and name == "gmm":
        params["max_components"] = AUTO_COMPONENTS
        if refit:
            params["initializations"] = AUTO_REFIT_STARTS
    instance = make(name, seed=seed, **params)
    if time_budget is not None and "time_budget" in instance.params and "time_budget" not in params:
        instance.time_budget = float(time_budget)
    return instance


def _cannot_impute(cls: type[Model]) -> str:
    from .registry import models

    reason = cls.unsupported_reasons.get("impute", "it cannot condition on observed cells")
    able = [n for n in ("gmm", "gaussian", "bayesnet", "autoregressive") if models().get(n, {}).get("impute") == "exact"]
    return (f"model {cls.name!r} cannot impute: {reason}; use a model whose impute is exact, e.g. "
            f"{', '.join(repr(n) for n in able)}, or model='auto'")


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


def _modes(values: np.ndarray) -> np.ndarray:
    """The most common label per column of an (M, N) object array (ties: the first drawn)."""
    modes = np.empty(values.shape[1], dtype=object)
    for j in range(values.shape[1]):
        labels, first, counts = np.unique(values[:, j].astype(str), return_index=True, return_counts=True)
        best = np.flatnonzero(counts == counts.max())
        modes[j] = values[first[best].min(), j]
    return modes


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
