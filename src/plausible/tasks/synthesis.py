"""`pl.fit`: a fitted model for synthetic rows, chosen by what a detector can tell on held-back rows.

`model="auto"` (the default of `pl.fit` and `plausible fit`) does not trust one rung for every
table: real tables differ in what breaks a model (few-valued numbers, spikes, non-linear ties,
labels tied to labels), and no single rung won on every table of the benchmark corpus
(benchmarks/bench_real_tables.py). It holds back a quarter of the rows (at most SELECTION_ROWS
rows are used to choose), fits each of AUTO_CANDIDATES on the rest, samples as many rows as were
held back, and measures the detection AUC of a classifier telling the held-back rows from each
sample (`evaluation.metrics.detection_auc`). The candidate with the lowest AUC wins; one within
TIE of a simpler candidate (earlier in AUTO_CANDIDATES) loses to it. The winner is then fitted on
all the rows. The candidates are the rungs that fit in seconds and sample over 20,000 rows a second
on two cores, so the choice costs a few fits: bayesnet, copula and gmm (a fraction of a second to
3 s each on the benchmark corpus) and rbm (4-30 s of CPU there, at most EPOCHS epochs).

Why rbm is a candidate, and why detection alone decides. Detection does not see every conditional
tie, and the three classical rungs miss some that matter for prediction (randhie's plan-determined
columns, seattle_weather's weather given rain). An RBM, a mixture of 2^12 products that share their
weights, keeps many of them, and where it does a detector sees it too: on randhie it scores 0.57
against bayesnet's 0.66. With rbm added, on the corpus's TUNE tables (benchmarks/real_tables.py)
the median utility ratio of the chosen model went 0.959 -> 0.971 with the median AUC unchanged;
adding a target-free utility proxy to the criterion (for up to 12 columns, a boosting model
trained on synthetic vs on real rows predicting that column, scored on the held-back rows) lowered
it there (0.905-0.930 at weights 0.25-2), so the criterion stays the AUC. (vae, also fast enough,
added nothing on TUNE.)
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..core.model import Model
from ..core.params import _check_seed
from ..core.registry import get_class, make_for_task
from ..data.partitioned import is_partitioned
from ..data.schema import text_names

AUTO_CANDIDATES = ("bayesnet", "copula", "gmm", "rbm")   # simplest first
SELECTION_ROWS = 4000     # rows used to choose (a fixed random subset of larger tables)
HOLD_BACK = 0.25          # share of those held back to judge the candidates' samples
MIN_SELECTION_ROWS = 40   # fewer rows: too few to judge; the first candidate that fits is used
TIE = 0.02                # AUCs closer than this are a tie, won by the simpler candidate
EPOCHS = 400              # at most this many epochs for a trained candidate (rbm), choosing and refitted:
                          # rbm stops early after 240-310 on the corpus tables it wins (3.5-15 s of CPU
                          # on 1,400 rows), but ran all 1,000 on txhousing (80 s). An epoch count, not a clock: the same data and seed give the same choice on any
                          # machine, however busy
BUDGET = 120.0            # seconds, a safety net for large tables, unless time_budget says otherwise


def fit(data, model: str | Model = "auto", seed: int | None = 0, schema: dict | None = None,
        params: dict | None = None, time_budget: float | None = None, engine=None, workers: int | None = None) -> Model:
    """A model fitted on `data` (a DataFrame or 2-D array), ready to `sample`, `impute` and `save`.

    model: "auto" (module doc: the fast rung whose samples a detector tells apart least from
        held-back rows), a registered name, or an unfitted Model. The fitted auto model says what
        it chose and why in `model.choice_` ({"model", "reason", "detection_auc"}).
        A partitioned table (a folder of Parquet pieces or a Dask DataFrame) needs a named model,
        fitted piece by piece, on `engine`'s workers when given (`Model.fit`, core/by_parts.py).
    seed: seeds the fit (and auto's split and samples); schema: column overrides as for
        `Model.fit`; params: hyperparameters of a named model; time_budget: seconds a deep model
        may train.

        model = pl.fit(df)                   # auto
        print(model.choice_["reason"])
        synthetic = model.sample(1000, seed=1)
    """
    seed = _check_seed(seed)
    spread = {"engine": engine, "workers": workers} if engine is not None or workers is not None else {}
    if isinstance(model, Model):
        return model.fit(data, schema=schema, **spread)
    if model != "auto":
        return make_for_task(model, seed, params or {}, time_budget).fit(data, schema=schema, **spread)
    if spread or is_partitioned(data):
        raise ValueError("model='auto' compares rungs on rows held in memory; for a partitioned table or an engine "
                         "name the model (gaussian, histogram, independent and bayesnet fit it exactly)")
    if params:
        raise ValueError("params set a named model's hyperparameters; with model='auto' the model is not known "
                         "in advance: name it (e.g. model='copula') to set them")
    budget = BUDGET if time_budget is None else time_budget
    name, reason, scores = choose_synthesizer(data, seed=seed, schema=schema, time_budget=budget)
    fitted = make_for_task(name, seed, _capped(name), budget).fit(data, schema=schema)
    fitted.choice_ = {"model": name, "reason": reason, "detection_auc": scores}
    return fitted


def _capped(name: str) -> dict:
    """auto's settings for a candidate: EPOCHS for one that trains (module doc), else its defaults."""
    return {"epochs": EPOCHS} if "epochs" in get_class(name).params else {}


def choose_synthesizer(data, seed: int | None = 0, schema: dict | None = None,
                       candidates: tuple[str, ...] = AUTO_CANDIDATES,
                       time_budget: float | None = BUDGET) -> tuple[str, str, dict]:
    """(name, reason in one sentence, {candidate: detection AUC}) for `model="auto"` (module doc);
    time_budget: seconds each trained candidate may train, at most EPOCHS epochs (where the
    clock binds first, the choice depends on the machine's speed)."""
    from ..evaluation.metrics import detection_auc

    frame = text_names(data if isinstance(data, pd.DataFrame) else pd.DataFrame(np.asarray(data)))
    rng = np.random.default_rng(seed)
    if len(frame) > SELECTION_ROWS:
        frame = frame.iloc[np.sort(rng.choice(len(frame), SELECTION_ROWS, replace=False))]
    if len(frame) < MIN_SELECTION_ROWS:
        return candidates[0], (f"{len(frame)} rows are too few to judge samples on held-back rows "
                               f"(at least {MIN_SELECTION_ROWS}): {candidates[0]}, the simplest candidate"), {}
    order = rng.permutation(len(frame))
    held = int(round(HOLD_BACK * len(frame)))
    train, judge = frame.iloc[np.sort(order[held:])], frame.iloc[np.sort(order[:held])]
    scores, failures = {}, {}
    for name in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")        # fit says its notices once, on the whole table
                candidate = make_for_task(name, seed, _capped(name), time_budget).fit(train, schema=schema)
                synthetic = candidate.sample(len(judge), seed=seed)
            keys = [column.name for column in candidate.schema_.columns if column.kind == "id"]   # new by design
            scores[name] = detection_auc(judge.drop(columns=keys).reset_index(drop=True),
                                         synthetic.drop(columns=keys).reset_index(drop=True),
                                         seed=0 if seed is None else seed)
        except Exception as error:   # a candidate that cannot model this table is skipped, with its reason
            failures[name] = f"{type(error).__name__}: {error}"
    if not scores:
        raise ValueError("no candidate could model this table: " +
                         "; ".join(f"{name}: {why}" for name, why in failures.items()))
    best = min(scores.values())
    chosen = next(name for name in candidates if name in scores and scores[name] <= best + TIE)
    listed = ", ".join(f"{name} {auc:.2f}" for name, auc in scores.items())
    tie = f"; ties within {TIE} go to the simpler model" if scores[chosen] > best else ""
    reason = (f"{chosen}: a detector told its samples from {held} held-back rows least well (AUC {listed}; "
              f"0.5 = indistinguishable{tie})")
    if failures:
        reason += "; " + "; ".join(f"{name} could not model the table ({why[:80]})" for name, why in failures.items())
    return chosen, reason, scores

