"""`pl.compare`: fit the ladder on one table, rank the models, recommend the simplest adequate one.

The data is split into training and held-out rows once. Each model is fitted in a child process
with a time budget (a model that overruns is stopped and reported, never hidden), then sampled
and scored by `pl.evaluate` against the held-out rows.

Ranking. Each model gets a *quality* in [0, 1]: the mean of marginal fidelity, pairwise fidelity,
a detection score 1 − 2·max(0, AUC − 0.5), and (with a target) the utility ratio capped at 1.
The same formula applied to a second real sample gives the quality of a perfect generator at this
data size, the *floor quality*. Repeating that over `FLOOR_SPLITS` random splits of the held-out
rows shows how much the quality score itself wobbles with this much data; two models closer than
twice that standard deviation cannot be told apart, so the tolerance is max(0.005, 2·sd). The
recommendation is the simplest model (lowest `complexity`, then fastest) whose quality is within
the tolerance of the best.
"""
from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .report import recommendation, write_report  # noqa: F401 - recommendation: its old import path
from .samples import one_line

DEFAULT_TIME_BUDGET = 120.0  # seconds per model: the whole ladder in minutes; raise it for large tables
TRAINING_SHARE = 0.7         # share of the per-model budget a model with `time_budget` may train for
FLOOR_SPLITS = 5             # random splits of the held-out rows that measure the quality's noise


def quality(values: dict) -> float:
    """One number per model (1 = indistinguishable from real data); see the module docstring. A part
    that could not be computed (NaN, said in the evaluation's notes) is left out of the mean."""
    detection, utility = values["detection_auc"], values.get("utility_ratio", np.nan)
    parts = [values["marginal_fidelity"], values["pairwise_fidelity"],
             1.0 - 2.0 * max(0.0, detection - 0.5) if np.isfinite(detection) else np.nan,
             min(1.0, max(0.0, utility)) if np.isfinite(utility) else np.nan]
    parts = [part for part in parts if np.isfinite(part)]
    return float(np.mean(parts)) if parts else float("nan")


def _fit_in_child(name, params, seed, train, n_samples, folder, pipe) -> None:
    """Runs in a forked child: fit, save, sample; report times (or the error) through the pipe."""
    try:
        from ..core.registry import make
        from ..data.io import write_table

        start = time.perf_counter()
        model = make(name, seed=seed, **params).fit(train)
        fit_seconds = time.perf_counter() - start
        model.save(Path(folder) / "model.plausible")
        start = time.perf_counter()
        synthetic = model.sample(n_samples, seed=seed + 1)
        sample_seconds = time.perf_counter() - start
        write_table(synthetic, Path(folder) / "synthetic.parquet")
        pipe.send({"fit_seconds": fit_seconds, "sample_seconds": sample_seconds})
    except BaseException as error:  # noqa: BLE001 - everything is reported to the parent
        pipe.send({"error": one_line(error)})
    finally:
        pipe.close()


def _run_one(name, params, seed, train, n_samples, budget, folder) -> dict:
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_fit_in_child, args=(name, params, seed, train, n_samples, folder, send))
    start = time.perf_counter()
    child.start()
    send.close()
    finished = receive.poll(budget if np.isfinite(budget) else None)   # None: wait as long as it takes
    if not finished:
        child.kill()
        child.join()
        return {"error": f"out of time: no result within the {budget:g} s budget"}
    try:
        result = receive.recv()
    except EOFError:
        result = {"error": f"the fitting process died (exit code {child.exitcode}), probably out of memory"}
    child.join()
    result["wall_seconds"] = time.perf_counter() - start
    return result


def table_models() -> list[str]:
    """The ladder `compare` runs by default: every registered model of tables. Series models (rows
    are series, columns time steps, like `statespace`) are compared by `plausible backtest`."""
    from ..core import registry

    return [name for name, info in registry.models().items() if info["data_kind"] == "table"]


def compare(data: pd.DataFrame, models: list[str] | None = None, time_budget: float | None = DEFAULT_TIME_BUDGET,
            target: str | None = None, seed: int = 0, test_size: float = 0.3, truth=None,
            params: dict[str, dict] | None = None, progress: bool | None = None, report: str | None = None,
            stream=None) -> pd.DataFrame:
    """Fit, sample and evaluate each model on one table; return the ranked table.

    `models` defaults to every registered table model (`table_models()`). `time_budget` is per model, in seconds,
    for fitting and sampling; each model's evaluation and the noise floor (FLOOR_SPLITS real-vs-real
    evaluations) come on top: seconds on small tables, a minute on a wide one (300 x 100).
    `params` maps a model name to its hyperparameters. The table is sorted by quality and has a
    `recommended` column; its `.attrs` hold the tolerance, the floor quality and the split sizes.
    With `report`, also writes a self-contained HTML report (and PNG figures next to it).
    """
    from ..core import registry
    from ..core.params import _check_budget
    from .samples import evaluate

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"compare needs a pandas DataFrame, got {type(data).__name__}")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be between 0 and 1, got {test_size}")
    if len(data) < 20:
        raise ValueError(f"compare needs at least 20 rows to split into training and held-out data, got {len(data)}")
    if target is not None and target not in data.columns:
        raise ValueError(f"target column {target!r} is not in the table; columns are {list(data.columns)}")
    names = list(models) if models else table_models()
    for name in names:
        registry.get_class(name)  # unknown names fail before any work
    params = params or {}
    _check_budget(time_budget)
    if report and Path(report).suffix.lower() not in (".html", ".htm"):   # before the hours of fitting
        raise ValueError(f"the report is an HTML file: give a path ending in .html, got {report}")
    budget = time_budget if time_budget is not None else float("inf")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    cut = int(round(len(data) * (1 - test_size)))
    train = data.iloc[order[:cut]].reset_index(drop=True)
    held_out = data.iloc[order[cut:]].reset_index(drop=True)
    n_samples = len(train)
    stream = stream or sys.stderr
    show = progress if progress is not None else stream.isatty()

    from tqdm.auto import tqdm

    rows, evaluations, synthetic_tables = [], {}, {}
    bar = tqdm(names, desc="compare", unit="model", disable=not show, file=stream)
    for name in bar:
        bar.set_postfix_str(name)
        cls = registry.get_class(name)
        row = {"model": name, "family": cls.family, "complexity": cls.complexity}
        model_params = dict(params.get(name, {}))
        if "time_budget" in cls.params and "time_budget" not in model_params and np.isfinite(budget):
            # deep models stop training at 70% of the budget and keep their best weights, so that they
            # are still saved, sampled and evaluated rather than killed at the deadline
            model_params["time_budget"] = TRAINING_SHARE * budget
        with tempfile.TemporaryDirectory() as folder:
            outcome = _run_one(name, model_params, seed, train, n_samples, budget, folder)
            if "error" in outcome:
                rows.append({**row, "status": outcome["error"]})
                continue
            try:
                from ..core.registry import load
                from ..data.io import read_table

                model = load(Path(folder) / "model.plausible")
                synthetic = read_table(Path(folder) / "synthetic.parquet")
                result = evaluate(held_out, synthetic, train=train, model=model, target=target, truth=truth, seed=seed)
            except Exception as error:  # noqa: BLE001 - a failing model is reported, not hidden
                rows.append({**row, "status": f"evaluation failed: {one_line(error)}"})
                continue
        evaluations[name], synthetic_tables[name] = result, synthetic
        rows.append({**row, "status": "ok", "quality": quality(result), **dict(result),
                     "zero_likelihood_rows": result.details.get("zero_likelihood_rows", 0),
                     "fit_seconds": outcome["fit_seconds"],
                     "sample_rows_per_second": n_samples / max(outcome["sample_seconds"], 1e-9)})
    table = pd.DataFrame(rows)
    if "quality" not in table:
        table["quality"] = np.nan
    from .samples import noise_floor

    floor = next(iter(evaluations.values())).floor if evaluations else {}
    splits = tqdm(range(FLOOR_SPLITS), desc="noise floor", unit="split", disable=not show or not evaluations,
                  file=stream)
    floor_qualities = [quality(noise_floor(held_out, target, train, seed=seed + k)) for k in splits] \
        if evaluations else [float("nan")]
    floor_quality = float(np.mean(floor_qualities))
    tolerance = max(0.005, 2 * float(np.std(floor_qualities, ddof=1))) if evaluations else float("nan")
    table["recommended"] = False
    ok = table["status"] == "ok"
    if ok.any():
        best = table.loc[ok, "quality"].max()
        adequate = table[ok & (table["quality"] >= best - tolerance)]
        choice = adequate.sort_values(["complexity", "fit_seconds"]).index[0]
        table.loc[choice, "recommended"] = True
    table = table.sort_values(["quality"], ascending=False, na_position="last").reset_index(drop=True)
    notes = next(iter(evaluations.values())).details.get("levels_notes", []) if evaluations else []
    table.attrs.update({"tolerance": tolerance, "floor_quality": floor_quality, "floor": floor,
                        "train_rows": len(train), "held_out_rows": len(held_out), "target": target, "notes": notes})
    if report:
        write_report(report, table, held_out, train, synthetic_tables, evaluations)
    return table
