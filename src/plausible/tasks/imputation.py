"""Multiple imputation as a product: fill gaps with several draws (`pl.impute`).

    import plausible as pl
    draws = pl.impute(df, n_draws=20, seed=0)          # 20 completed tables, observed cells unchanged
    spread = pl.cell_spread(draws)                     # how unsure each filled cell is (plausible.tasks.pooling)
    table = pl.pool(draws, "income ~ age + region")    # Rubin's rules over the M analyses
    scores = pl.evaluate_imputation(complete, masked, draws)   # (plausible.evaluation.imputation)

`impute` fits a model on the incomplete table itself (missing cells are a modelled state, not
dropped rows), then draws every missing cell from P(missing | observed), M times. A single "best
guess" shrinks every filled value to the middle and makes any analysis overconfident; M draws keep
the variability a real value would have.

How `model="auto"` chooses (`choose_model`, measured in benchmarks/bench_imputation.py):
see `choose_model`'s docstring for the rule and the numbers behind it.
"""
from __future__ import annotations

import functools
import sys
import warnings

import numpy as np
import pandas as pd

from ..core.errors import NotSupportedError, ParameterError
from ..core.model import Model
from ..core.parallel import one_thread, side_by_side
from ..core.params import _check_budget, _check_count, _check_jobs
from ..core.registry import clone, get_class, make_for_task, models
from ..data.schema import Schema
from ..evaluation.imputation import _check_table, _kind, _two_valued

MAX_GMM_COLUMNS = 20  # "auto" uses gmm for numbers and categories up to this many columns (choose_model)
AUTO_COMPONENTS = 3   # gmm's max_components when "auto" chooses it (what the benchmark measured)
AUTO_REFIT_STARTS = 1  # ... and its k-means++ starts per K in each bootstrap refit: the refits' own starts vary
# the settings "auto" gives the models it chooses (choose_model): (for every fit, added for a bootstrap refit)
AUTO_SETTINGS = {"gmm": ({"max_components": AUTO_COMPONENTS}, {"initializations": AUTO_REFIT_STARTS})}
                       # anyway (diabetes, wine, bc_means, 10 masks at 20% / 50%: nRMSE within 0.4% of 2 starts,
                       # mean difference +0.0002, 1.75x faster)
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
        Schema.infer(frame)          # still a table a model could read: infinite values, mixed types fail here
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
    # the schema comes from the whole table, once: a resample that happens to miss the one 17.5 of an
    # age column must not declare it whole numbers and then refuse the table it is asked to fill
    name = model.name if isinstance(model, Model) else choose_model(frame, time_budget)[0] if model == "auto" \
        else model
    schema = Schema.infer(frame).as_overrides() if get_class(name).data_kind == "table" else None
    shared = (data, frame, model, params, time_budget, schema)   # sent to each worker once, at its start
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
    "auto" and the model (`name`) declares `refit_per_draw` (it has no posterior to draw its parameters
    from), on a table of at most MAX_BOOTSTRAP_ROWS."""
    if uncertainty == "auto" and refits == 1 and rows <= MAX_BOOTSTRAP_ROWS and get_class(name).refit_per_draw:
        return n_draws
    return refits


def _refit_draws(shared, task) -> list:
    """One bootstrap refit: the model fitted on the resample's rows, then its draws of all of `data`."""
    data, frame, model, params, time_budget, schema = shared
    rows, fit_seed, draw_seed, count = task
    resample = data[rows] if isinstance(data, np.ndarray) else data.iloc[rows].reset_index(drop=True)
    instance = _build(model, frame, fit_seed, params, time_budget, refit=True)
    if isinstance(model, Model):   # an unfitted instance: a fresh copy of it for each resample
        instance = clone(model, seed=fit_seed)
    return instance.fit(resample, schema=schema).impute(data, n_draws=count, seed=draw_seed)


_WORKER_SHARED = None   # in a refit worker process: (data, frame, model, params, time_budget, schema), sent once


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
    if isinstance(model, Model):
        if params:
            raise ParameterError("params apply to a model built by name; this Model instance already has its own")
        if model.impute_kind == "none":
            raise NotSupportedError(_cannot_impute(type(model)))
        return model if model.is_fitted else None
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
    if isinstance(model, Model):   # an unfitted instance: fit a copy, so the caller's stays unfitted
        return clone(model)
    name = choose_model(frame, time_budget)[0] if model == "auto" else model
    params = dict(params or {})
    if model == "auto":
        always, for_refits = AUTO_SETTINGS.get(name, ({}, {}))
        params.update(always, **(for_refits if refit else {}))
    return make_for_task(name, seed, params, time_budget)


def _cannot_impute(cls: type[Model]) -> str:
    reason = cls.unsupported_reasons.get("impute", "it cannot condition on observed cells")
    able = [n for n in ("gmm", "gaussian", "bayesnet", "autoregressive") if models().get(n, {}).get("impute") == "exact"]
    return (f"model {cls.name!r} cannot impute: {reason}; use a model whose impute is exact, e.g. "
            f"{', '.join(repr(n) for n in able)}, or model='auto'")
