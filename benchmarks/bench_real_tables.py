"""plausible beside SDV on a corpus of real tables nobody tuned the defaults on (issue 24).

    python benchmarks/bench_real_tables.py --quick                        # smoke run, nothing written
    nohup python benchmarks/bench_real_tables.py > real_tables.log 2>&1 & # the full run, every row
    python benchmarks/bench_real_tables.py --tables fair,cars --models copula,sdv_gaussian_copula
    python benchmarks/bench_real_tables.py --report-only                  # re-render RESULTS.md from the JSON

The corpus is `real_tables.py` (19 tables that ship inside installed packages, 9 to tune on and 10
held out). For each table: `pl.compare` on the training rows picks a model (its recommendation),
then every contender is fitted on the training rows in a forked child process (a crash or a
runaway costs one cell, never the run) and measured:

- **detection AUC**, **utility ratio**, **DCR ratio** (and marginal / pairwise fidelity, exact
  copies): `pl.evaluate(real=held-out rows, synthetic=as many sampled rows, train=training rows,
  target=the table's target)`, the median of K evaluations (K = 5 below 300 held-out rows, 3 below
  1,000, else 1), each on its own sampled rows and its own halving of the held-out rows;
- **rows/s**: one `sample(20,000)` call on 2 threads (torch and BLAS), after a warm-up call; the
  fit and the metrics run on 1 thread;
- **which columns give the synthetic rows away**: the detection AUC of the same classifier on each
  column alone (held-out rows against as many sampled rows).

Each stage's failure is kept as text in its cell and the run goes on. Contenders: plausible's
`copula`, `bayesnet`, `gmm` and `diffusion` (the default rung) with default settings, compare's
recommendation (fitted with default settings on the training rows; the same record when it is one
of those four), and SDV's GaussianCopula (default), CTGAN and TVAE (`epochs=100`, not 300: see
SDV_SETTINGS). Records go to benchmarks/real_tables_results.json (saved after each one); the
markdown, with the issue 24 targets, is rendered from the whole file into the bench_real_tables
section of benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import multiprocessing
import os
import statistics
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import real_tables
from auto_choice_study import AUTO_NOTES
from bench_core import SDVRunner, fmt, machine, progress, sdv_available, versions, write_section
from bench_ladder import limit_threads, one_line, thread_settings, warm_up

import plausible as pl

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "real_tables_results.json"
RESULTS_MD = HERE / "RESULTS.md"
SECTION = ("<!-- bench_real_tables:start -->", "<!-- bench_real_tables:end -->")

PLAUSIBLE = ["copula", "bayesnet", "gmm", "diffusion"]
SDV_SYNTHESIZERS = {"sdv_gaussian_copula": "GaussianCopulaSynthesizer", "sdv_ctgan": "CTGANSynthesizer",
                    "sdv_tvae": "TVAESynthesizer"}
# CTGAN and TVAE at 100 epochs instead of their default 300, so that 19 tables fit in one run on a
# shared 2-core machine (300 epochs took 27 s on 398 rows and 3,090 s on 50,000 in bench_ladder).
# On bench_ladder's tables SDV's best detection AUC always came from GaussianCopula, which runs
# with its defaults here.
SDV_SETTINGS = {"sdv_ctgan": {"epochs": 100}, "sdv_tvae": {"epochs": 100}}
COMPARE = "compare"           # the contender token: compare's recommendation
AUTO = "auto"                 # the contender token: pl.fit's default model="auto" (the default tabular rung)
DEFAULT_RUNG = AUTO           # the default tabular rung: pl.fit / plausible fit without --model
COMPARE_BUDGET = 10.0         # seconds per model in `pl.compare` (its default is 120; deep rungs train 70% of it)
RATE_ROWS = 20_000
RATE_THREADS = 2
TARGETS = {"detection_auc": 0.75, "utility_ratio": 0.9, "dcr_ratio": 1.0, "rows_per_s": 20_000, "max_columns": 20}
QUICK = {"max_rows": 600, "rate_rows": 2000, "compare_budget": 10.0, "compare_models": ["independent", "copula", "gmm"],
         "sdv": {"epochs": 5}, "plausible": {"time_budget": 10.0}}


# ---------------------------------------------------------------------- one contender, in a child
class Plausible:
    def __init__(self, name: str, settings: dict):
        self.name, self.settings = name, settings

    def fit(self, train):
        self.model = pl.make(self.name, seed=0, **self.settings).fit(train)

    def sample(self, n, seed):
        return self.model.sample(n, seed=seed)


class PlausibleAuto(Plausible):
    """`pl.fit(train)`: the default rung, model="auto" (tasks/synthesis.py), chosen per table."""

    def fit(self, train):
        self.model = pl.fit(train, "auto", seed=0)
        self.chosen = self.model.choice_["model"]


def runner(name: str, settings: dict):
    if name in SDV_SYNTHESIZERS:
        return SDVRunner(SDV_SYNTHESIZERS[name], name, **settings)
    if name == AUTO:
        return PlausibleAuto(name, settings)
    return Plausible(name, settings)


def evaluations(holdout_rows: int) -> int:
    """Evaluations per record: one detection AUC on 50 + 50 rows wobbles by 0.1 from the split alone."""
    return 5 if holdout_rows < 300 else 3 if holdout_rows < 1000 else 1


def column_aucs(real, synthetic) -> dict:
    """Detection AUC of the classifier on each column alone: which marginals give the rows away."""
    from plausible.evaluation import metrics

    out = {}
    for column in real.columns:
        try:
            out[column] = metrics.detection_auc(real[[column]], synthetic[[column]], seed=0)
        except Exception as error:  # noqa: BLE001 - one column's failure is a note, not the record's
            out[column] = f"failed: {one_line(error)}"
    return out


def measure(send, name, settings, train, holdout, target, rate_rows) -> None:
    """Fit, sample, time a 2-thread sampling call, evaluate, score each column; send what it has."""
    warnings.filterwarnings("ignore")
    limit_threads(1)
    warm_up(name)
    send("partial", {"threads": thread_settings()})
    fitted = runner(name, settings)
    send("stage", "fit")
    gc.collect()
    started = time.perf_counter()
    fitted.fit(train)
    send("partial", {"fit_s": time.perf_counter() - started})
    if getattr(fitted, "chosen", None):
        send("partial", {"chosen": fitted.chosen})
    send("stage", "sampling")
    count = evaluations(len(holdout))
    synthetic = fitted.sample(count * len(holdout), seed=1)
    if isinstance(fitted, Plausible):     # issue 24: every sampled value of a discrete number is one it takes
        discrete = [c.name for c in fitted.model.schema_.columns if c.discrete]
        send("partial", {"discrete_columns": discrete, "discrete_values_taken": float(np.mean(
            [synthetic[c].dropna().isin(train[c].dropna().unique()).mean() for c in discrete])) if discrete else None})
    send("stage", "timed sampling")
    try:
        limit_threads(RATE_THREADS)
        fitted.sample(min(rate_rows, 1000), seed=3)   # warm-up: first-call allocations are not the rate
        gc.collect()
        started = time.perf_counter()
        drawn = fitted.sample(rate_rows, seed=2)
        elapsed = time.perf_counter() - started
        if len(drawn) != rate_rows:
            raise RuntimeError(f"asked for {rate_rows} rows, got {len(drawn)}")
        send("partial", {"rows_per_s": rate_rows / elapsed, "rate_threads": RATE_THREADS})
    except Exception as error:  # noqa: BLE001 - kept as text in the cell
        send("partial", {"errors": {"timed sampling": one_line(error)}})
    finally:
        limit_threads(1)
    send("stage", "evaluation")
    per_seed, floors = [], []
    try:
        for seed in range(count):
            part = synthetic.iloc[seed * len(holdout):(seed + 1) * len(holdout)].reset_index(drop=True)
            result = pl.evaluate(real=holdout, synthetic=part, train=train, target=target, seed=seed)
            per_seed.append(dict(result))
            floors.append(result.floor)
        keys = dict.fromkeys(k for e in per_seed for k in e)
        send("partial", {"metrics": {k: _median([e.get(k) for e in per_seed]) for k in keys},
                         "floor": {k: _median([f.get(k) for f in floors]) for k in floors[0]},
                         "evaluations": count, "metrics_per_seed": per_seed,
                         "marginal_per_column": result.details.get("marginal_fidelity_per_column")})
    except Exception as error:  # noqa: BLE001
        send("partial", {"errors": {"evaluation": one_line(error)}, "evaluation_traceback": traceback.format_exc()})
    send("stage", "columns")
    part = synthetic.iloc[:len(holdout)].reset_index(drop=True)
    send("partial", {"column_auc": column_aucs(holdout, part[holdout.columns] if set(holdout.columns) <= set(part.columns)
                                                else part)})


def recommend(send, train, target, budget, models) -> None:
    """`pl.compare` on the training rows: its recommendation and each model's line."""
    warnings.filterwarnings("ignore")
    limit_threads(1)
    send("stage", "compare")
    table = pl.compare(train, models=models, time_budget=budget, target=target, seed=0, progress=False)
    chosen = table.loc[table["recommended"], "model"]
    lines = [{k: (None if v != v else v) for k, v in row.items()} for row in
             table[[c for c in ("model", "status", "quality", "detection_auc", "fit_seconds") if c in table]]
             .to_dict("records")]
    send("partial", {"recommended": chosen.iloc[0] if len(chosen) else None, "models": lines,
                     "tolerance": table.attrs.get("tolerance")})


def _median(values):
    values = [v for v in values if isinstance(v, (int, float)) and v == v]
    return float(statistics.median(values)) if values else None


def in_child(work, args: tuple, timeout: float, label: str) -> dict:
    """Run `work(send, *args)` in a forked child; a stage past `timeout` s is killed and reported."""
    record = {"status": "ok", "errors": {}, "load_average": list(os.getloadavg())}
    context = multiprocessing.get_context("fork")
    receive, sender = context.Pipe(duplex=False)

    def body(*arguments):
        def send(kind, payload=None):
            sender.send((kind, payload))
        try:
            work(send, *arguments)
            send("done")
        except BaseException as error:  # noqa: BLE001 - everything goes back to the parent
            send("error", {"error": one_line(error), "traceback": traceback.format_exc()})
        finally:
            sender.close()

    child = context.Process(target=body, args=args)   # not a daemon: compare forks children of its own
    started = time.perf_counter()
    child.start()
    sender.close()
    stage, deadline = "start", time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            child.kill()
            record["status"] = "timed out"
            record["errors"][stage] = f"took longer than {timeout:g} s (--timeout); stopped"
            break
        try:
            if not receive.poll(min(remaining, 5.0)):
                if not child.is_alive() and not receive.poll(0):
                    raise EOFError
                continue
            kind, payload = receive.recv()
        except EOFError:
            child.join(5)
            record["status"] = "failed"
            record["errors"][stage] = f"the process died (exit code {child.exitcode})"
            break
        if kind == "stage":
            stage, deadline = payload, time.monotonic() + timeout
            progress(f"  {label}: {stage}")
        elif kind == "partial":
            record["errors"].update(payload.pop("errors", {}))
            record.update(payload)
        elif kind == "error":
            record["status"] = "failed"
            record["errors"][stage] = payload["error"]
            progress(f"  {label} FAILED in {stage}:\n{payload['traceback']}")
            break
        elif kind == "done":
            break
    for stage_name, error in record["errors"].items():
        if record["status"] == "ok":
            progress(f"  {label}: {stage_name} failed: {error}")
    child.join(10)
    if child.is_alive():
        child.kill()
        child.join()
    receive.close()
    record["wall_s"] = time.perf_counter() - started
    return record


def source_state() -> str:
    """The commit measured, and whether src/ had uncommitted changes (with a digest of them)."""
    import hashlib
    import subprocess

    root = HERE.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        diff = subprocess.run(["git", "diff", "HEAD", "--", "src"], cwd=root, capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (f" + uncommitted src/ changes (diff {hashlib.sha1(diff.encode()).hexdigest()[:8]})" if diff else "")


# ---------------------------------------------------------------------- the JSON store
def load_store(path: Path | None) -> dict:
    if path is None or not path.exists():
        return {"tables": {}, "records": {}}
    return json.loads(path.read_text())


def save_store(path: Path | None, store: dict) -> None:
    if path is None:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(store, indent=1, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------------- the run
def run(args, store: dict, results: Path | None) -> None:
    has_sdv, sdv_reason = sdv_available()
    quick = args.quick
    max_rows = QUICK["max_rows"] if quick else args.max_rows
    rate_rows = QUICK["rate_rows"] if quick else RATE_ROWS
    budget = QUICK["compare_budget"] if quick else args.compare_budget
    compare_models = QUICK["compare_models"] if quick else None
    meta = {"versions": versions(), "machine": machine(), "quick": quick, "source": source_state(),
            "command": "python " + " ".join(["benchmarks/bench_real_tables.py"] + args.argv)}
    # Import every module the children use now, once: others edit src/ while a long run goes on,
    # and each row should measure the same code (the tree's state is in `source`).
    import plausible.evaluation.compare  # noqa: F401
    import plausible.evaluation.samples  # noqa: F401
    pl.models()
    for name in args.tables:
        try:
            frame = real_tables.load(name)
        except Exception as error:  # noqa: BLE001 - a table whose package is absent is reported, not fatal
            progress(f"{name}: cannot load ({one_line(error)})")
            store["tables"][name] = {"error": one_line(error), "tune": real_tables.CORPUS[name].tune}
            save_store(results, store)
            continue
        spec = real_tables.CORPUS[name]
        train, holdout = real_tables.split(frame, max_rows)
        entry = store["tables"].get(name, {})
        entry.update({"source": spec.source, "traits": spec.traits, "target": spec.target, "tune": spec.tune,
                      "rows": len(frame), "columns": frame.shape[1], "train_rows": len(train),
                      "holdout_rows": len(holdout), "describe": real_tables.describe(frame)})
        entry.pop("error", None)
        store["tables"][name] = entry
        progress(f"{name}: {len(train):,} training / {len(holdout):,} held-out rows, {frame.shape[1]} columns")
        wanted = list(args.models)
        if COMPARE in wanted:
            outcome = in_child(recommend, (train, spec.target, budget, compare_models), args.timeout * 3,
                               f"{name} / compare")
            entry["compare"] = {k: outcome.get(k) for k in ("status", "errors", "recommended", "models",
                                                            "tolerance", "wall_s")}
            entry["compare"]["budget_s"] = budget
            pick = outcome.get("recommended")
            progress(f"  {name}: compare recommends {pick}")
            wanted.remove(COMPARE)
            if pick and pick not in wanted:
                wanted.insert(len(PLAUSIBLE), pick)
        save_store(results, store)
        for contender in wanted:
            settings = dict(SDV_SETTINGS.get(contender, {}))
            if quick:
                settings.update(QUICK["sdv"] if contender in ("sdv_ctgan", "sdv_tvae") else
                                QUICK["plausible"] if contender not in SDV_SYNTHESIZERS and
                                "time_budget" in pl.models().get(contender, {}).get("params", {}) else {})
            settings.update(args.overrides.get(contender, {}))
            base = {"table": name, "contender": contender, "settings": settings, **meta,
                    "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                    "train_rows": len(train), "holdout_rows": len(holdout)}
            progress(f"{name} / {contender}" + (f" {settings}" if settings else ""))
            if contender in SDV_SYNTHESIZERS and not has_sdv:
                record = {"status": "skipped", "errors": {"import": f"SDV not importable ({sdv_reason})"}}
            else:
                record = in_child(measure, (contender, settings, train, holdout, spec.target, rate_rows),
                                  args.timeout, f"{name} / {contender}")
            store["records"][f"{name}/{contender}"] = {**base, **record}
            save_store(results, store)


# ---------------------------------------------------------------------- rendering
def value(record: dict | None, key: str):
    if record is None:
        return None
    return record.get("rows_per_s") if key == "rows_per_s" else record.get("metrics", {}).get(key)


def cell(record: dict | None, key: str, digits: int = 3) -> str:
    """The value, or why there is none (the stage that failed; details under Failures)."""
    if record is None:
        return ""
    number = value(record, key)
    if number is not None:
        return f"{number:,.0f}" if key == "rows_per_s" else fmt(number, digits)
    if any(key in e for e in record.get("metrics_per_seed") or []):
        return "NaN"   # evaluate returned NaN: see the legend
    errors = record.get("errors", {})
    if record.get("status") != "ok" or errors:
        stage = next(iter(errors), record.get("status"))
        return f"fail: {stage}"
    return "n/a"


def pick_of(store: dict, table: str) -> str | None:
    return (store["tables"][table].get("compare") or {}).get("recommended")


def sdv_best(records: dict) -> tuple[str | None, float | None]:
    scored = [(value(records.get(n), "detection_auc"), n) for n in SDV_SYNTHESIZERS]
    scored = [(v, n) for v, n in scored if v is not None]
    return (min(scored)[1], min(scored)[0]) if scored else (None, None)


def _taken(record: dict | None) -> str:
    """Share of the sampled values of the discrete number columns that the column takes (issue 24: 1)."""
    share = (record or {}).get("discrete_values_taken")
    return "" if share is None else f"{share:.3f} ({len(record.get('discrete_columns') or [])} columns)"


def top_columns(record: dict | None, count: int = 3) -> str:
    aucs = {c: v for c, v in ((record or {}).get("column_auc") or {}).items() if isinstance(v, float)}
    return ", ".join(f"{c} {v:.2f}" for c, v in sorted(aucs.items(), key=lambda kv: -kv[1])[:count])


def render(store: dict) -> str:
    tables = [t for t in real_tables.HELD_OUT + real_tables.TUNE if t in store["tables"]]
    by_table = {t: {r["contender"]: r for r in store["records"].values() if r["table"] == t} for t in tables}
    measured = {r["contender"] for r in store["records"].values()}
    order = [c for c in [AUTO] + PLAUSIBLE if c in measured] + [c for c in SDV_SYNTHESIZERS if c in measured]
    records = list(store["records"].values())
    dates = sorted(r["date"] for r in records) or ["?"]
    lines = ["## bench_real_tables: real tables nobody tuned on, plausible beside SDV (issue 24)", "",
             f"- runs: {dates[0][:16].replace('T', ' ')} to {dates[-1][:16].replace('T', ' ')}; "
             f"machine: {records[-1]['machine'] if records else machine()} (shared: timings are noisy)",
             "- versions: " + " | ".join(sorted({", ".join(f"{k} {v}" for k, v in r["versions"].items())
                                                 for r in records})),
             "- commands (each with the first and last row it measured; rows of two commands ran side by side "
             "on the same machine): " + "; ".join(
                 f"`{c}` ({min(r['date'] for r in records if r['command'] == c)[11:16]}-"
                 f"{max(r['date'] for r in records if r['command'] == c)[11:16]}, "
                 f"{sum(r['command'] == c for r in records)} rows)" for c in sorted({r["command"] for r in records})),
             "- code measured: " + "; ".join(sorted({r.get("source", "unknown") for r in records})),
             "- " + ("**includes --quick rows (not a measurement)**" if any(r.get("quick") for r in records) else
                     "every row from full runs"), "",
             f"Corpus: `benchmarks/real_tables.py`; tables over {real_tables.MAX_ROWS:,} rows cut to a fixed random "
             f"{real_tables.MAX_ROWS:,}, then split 70/30 (seed 0). Fit and metrics on 1 thread; rows/s: one "
             f"`sample({RATE_ROWS:,})` on {RATE_THREADS} threads. Metrics: `pl.evaluate(real=held-out, "
             "synthetic=as many sampled rows, train=training rows, target=the table's target)`, median of 5 "
             "evaluations below 300 held-out rows, 3 below 1,000, else 1. *pick*: `pl.compare` on the training "
             f"rows (its default ladder, time_budget {COMPARE_BUDGET:g} s per model instead of 120) recommends a "
             "model, fitted with its defaults. SDV: GaussianCopula with defaults, CTGAN and TVAE at "
             "`epochs=100` (300 by default; see SDV_SETTINGS). *floor*: two halves of the held-out rows, what a "
             "perfect generator scores. `fail: STAGE`: that stage raised or timed out (see Failures). `NaN`: "
             "`pl.evaluate` returned NaN: a utility ratio is undefined when the model trained on real rows has no "
             "skill on the target either; a NaN detection AUC means the classifier failed on every fold (listed "
             "under Failures).", ""]
    # ---- targets
    lines += [f"### Issue 24 targets (default rung `{DEFAULT_RUNG}` and compare's pick)", "",
              "| table | set | floor | " + DEFAULT_RUNG + " | pick | SDV best | default beats SDV | pick beats SDV "
              "| utility (default) | DCR (default) | rows/s (default) | discrete values taken (default) |",
              "|---|---|---:|---:|---|---|---|---|---:|---:|---:|---:|"]
    for t in tables:
        entry, records_t = store["tables"][t], by_table[t]
        if "error" in entry:
            lines.append(f"| {t} | {'tune' if entry['tune'] else 'held-out'} | not loaded: {entry['error']} |"
                         + " |" * 8)
            continue
        default, pick = records_t.get(DEFAULT_RUNG), pick_of(store, t)
        pick_record = records_t.get(pick) if pick else None
        best, best_auc = sdv_best(records_t)
        ours, theirs = value(default, "detection_auc"), best_auc

        def beats(auc):
            return "" if auc is None or theirs is None else "yes" if auc < theirs else "**no**"
        floor = (default or {}).get("floor", {}).get("detection_auc")
        chose = f" ({default['chosen']})" if default and default.get("chosen") else ""
        lines.append(f"| {t} | {'tune' if entry['tune'] else 'held-out'} | {fmt(floor)} | {cell(default, 'detection_auc')}{chose}"
                     f" | {pick or (entry.get('compare') or {}).get('status', '')} {cell(pick_record, 'detection_auc')}"
                     f" | {best or ''} {fmt(theirs)} | {beats(ours)} | {beats(value(pick_record, 'detection_auc'))}"
                     f" | {cell(default, 'utility_ratio')} | {cell(default, 'dcr_ratio')} | {cell(default, 'rows_per_s')}"
                     f" | {_taken(default)} |")
    lines.append("")
    for label, subset in (("held-out", real_tables.HELD_OUT), ("tune", real_tables.TUNE), ("all", None)):
        chosen = [t for t in tables if subset is None or t in subset]
        default_records = [by_table[t].get(DEFAULT_RUNG) for t in chosen]
        pick_records = [by_table[t].get(pick_of(store, t) or "") for t in chosen]
        med = {k: _median([value(r, k) for r in default_records]) for k in ("detection_auc", "utility_ratio",
                                                                            "dcr_ratio")}
        rates = [value(r, "rows_per_s") for r, t in zip(default_records, chosen)
                 if store["tables"][t].get("columns", 99) <= TARGETS["max_columns"]]
        rates = [r for r in rates if r is not None]
        lines.append(f"- {label} ({len(chosen)} tables): `{DEFAULT_RUNG}` median detection AUC {fmt(med['detection_auc'])}"
                     f" (target ≤ {TARGETS['detection_auc']}), pick's {fmt(_median([value(r, 'detection_auc') for r in pick_records]))};"
                     f" median utility ratio {fmt(med['utility_ratio'])} (≥ {TARGETS['utility_ratio']}), median DCR "
                     f"ratio {fmt(med['dcr_ratio'])} (≥ {TARGETS['dcr_ratio']:g}); slowest sampling on ≤ "
                     f"{TARGETS['max_columns']} columns {min(rates):,.0f} rows/s" if rates else
                     f"- {label}: no measurements yet")
    lines.append("")
    # ---- one table per metric
    for key, title, digits in (("detection_auc", "Detection AUC (closer to 0.5 is better)", 3),
                               ("utility_ratio", "Utility ratio (≥ 0.9)", 3), ("dcr_ratio", "DCR ratio (≥ 1)", 3),
                               ("rows_per_s", f"Sampling rows/s ({RATE_THREADS} threads)", 0)):
        lines += [f"### {title}", ""]
        if key == "utility_ratio":
            lines += ["Targets: " + ", ".join(f"{t} `{store['tables'][t].get('target')}`" for t in tables) + ".", ""]
        lines += ["| table | set | train / held-out | columns | floor | "
                  + " | ".join(order) + " | pick |", "|---|---|---|---:|---:|" + "---:|" * len(order) + "---|"]
        columns = {c: [] for c in order + ["pick"]}
        for t in tables:
            entry = store["tables"][t]
            if "error" in entry:
                continue
            rec = by_table[t]
            floor = (rec.get(DEFAULT_RUNG) or next(iter(rec.values()), {})).get("floor", {}).get(key)
            pick = pick_of(store, t)
            for c in order:
                columns[c].append((t, value(rec.get(c), key)))
            columns["pick"].append((t, value(rec.get(pick or ""), key)))
            lines.append(f"| {t} | {'tune' if entry['tune'] else 'held-out'} | {entry['train_rows']} / "
                         f"{entry['holdout_rows']} | {entry['columns']} | {fmt(floor, digits) if floor is not None else ''} | "
                         + " | ".join(cell(rec.get(c), key, digits) for c in order)
                         + f" | {pick or ''} {cell(rec.get(pick or ''), key, digits)} |")
        for label, subset in (("median, held-out", real_tables.HELD_OUT), ("median, tune", real_tables.TUNE)):
            meds = [_median([v for t, v in columns[c] if t in subset]) for c in order + ["pick"]]
            lines.append(f"| *{label}* | | | | | " + " | ".join(
                "" if m is None else (f"{m:,.0f}" if key == "rows_per_s" else fmt(m, digits)) for m in meds) + " |")
        lines.append("")
    # ---- what gives the rows away
    lines += ["### Which columns give the synthetic rows away", "",
              "Detection AUC of the same classifier on one column alone (held-out rows against as many sampled rows), "
              "the three highest per contender; 0.5 = that column's values are indistinguishable.", "",
              f"| table | {DEFAULT_RUNG} | pick | SDV best |", "|---|---|---|---|"]
    for t in tables:
        rec = by_table[t]
        if not rec:
            continue
        pick, (best, _) = pick_of(store, t), sdv_best(rec)
        lines.append(f"| {t} | {top_columns(rec.get(DEFAULT_RUNG))} | {pick or ''}: {top_columns(rec.get(pick or ''))} "
                     f"| {best or ''}: {top_columns(rec.get(best or ''))} |")
    lines.append("")
    lines += ([f"### How `{AUTO}` chooses, and what was tried for its utility", ""]
              + [note if note.startswith("  -") else f"- {note}" for note in AUTO_NOTES] + [""])
    # ---- failures, as text
    failures = [(r["table"], r["contender"], stage, error) for r in records
                for stage, error in r.get("errors", {}).items()]
    failures += [(t, "compare", stage, error) for t in tables
                 for stage, error in ((store["tables"][t].get("compare") or {}).get("errors") or {}).items()]
    failures += [(t, m["model"], "compare", m["status"]) for t in tables
                 for m in (store["tables"][t].get("compare") or {}).get("models") or [] if m.get("status") != "ok"]
    failures += [(r["table"], r["contender"], "evaluation", "detection AUC is NaN: the classifier failed on every "
                  "fold (e.g. a label with over 255 levels once the synthetic rows' new labels are added)")
                 for r in records if value(r, "detection_auc") is None and r.get("metrics_per_seed")]
    if failures:
        lines += ["### Failures", "", "| table | contender | stage | error |", "|---|---|---|---|"]
        lines += [f"| {t} | {c} | {s} | `{str(e).replace('|', '/')[:240]}` |" for t, c, s, e in sorted(failures)]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    contenders = [AUTO] + PLAUSIBLE + [COMPARE] + list(SDV_SYNTHESIZERS)
    parser.add_argument("--tables", default=None,
                        help="comma-separated tables of the corpus (default: all; held-out ones first), or "
                             "'tune' / 'held-out'")
    parser.add_argument("--models", default=",".join(contenders),
                        help=f"comma-separated contenders: registered plausible models, {COMPARE} (its "
                             f"recommendation), {', '.join(SDV_SYNTHESIZERS)} (default: {', '.join(contenders)})")
    parser.add_argument("--timeout", type=float, default=1200.0,
                        help="seconds one stage (fit, sampling, evaluation...) may take before it is stopped (1200; "
                             "compare gets 3x)")
    parser.add_argument("--max-rows", type=int, default=real_tables.MAX_ROWS,
                        help=f"larger tables are cut to this many rows first ({real_tables.MAX_ROWS:,})")
    parser.add_argument("--compare-budget", type=float, default=COMPARE_BUDGET,
                        help=f"pl.compare's time_budget per model, seconds ({COMPARE_BUDGET:g})")
    parser.add_argument("--set", action="append", default=[], metavar="NAME:KEY=VALUE",
                        help="a setting for one contender, e.g. sdv_ctgan:epochs=300 (shown in the JSON)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: tables cut to {QUICK['max_rows']} rows, SDV's CTGAN/TVAE at 5 epochs, deep "
                             "rungs at time_budget=10, compare over 3 fast models; writes nothing unless "
                             "--results/--out are given")
    parser.add_argument("--results", type=Path, default=None, help=f"the JSON store ({RESULTS_JSON.name})")
    parser.add_argument("--out", type=Path, default=None, help=f"markdown file whose section is rewritten "
                                                                 f"({RESULTS_MD.name})")
    parser.add_argument("--report-only", action="store_true", help="measure nothing; re-render from the JSON")
    args = parser.parse_args(argv)
    args.argv = argv
    corpus = real_tables.HELD_OUT + real_tables.TUNE
    names = corpus if args.tables in (None, "all") else real_tables.HELD_OUT if args.tables == "held-out" else \
        real_tables.TUNE if args.tables == "tune" else [t.strip() for t in args.tables.split(",") if t.strip()]
    unknown = [t for t in names if t not in real_tables.CORPUS]
    if unknown:
        parser.error(f"unknown tables {unknown}; the corpus holds {', '.join(real_tables.CORPUS)}")
    args.tables = names
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    known = list(pl.models()) + [COMPARE, AUTO] + list(SDV_SYNTHESIZERS)
    if [m for m in args.models if m not in known]:
        parser.error(f"unknown contenders {[m for m in args.models if m not in known]}; choose from {', '.join(known)}")
    args.overrides = {}
    for item in args.set:
        try:
            name, assignment = item.split(":", 1)
            key, value = assignment.split("=", 1)
        except ValueError:
            parser.error(f"--set expects NAME:KEY=VALUE, got {item!r}")
        args.overrides.setdefault(name, {})[key] = json.loads(value) if value[:1] in "0123456789-[{tfn" else value
    results = args.results or (None if args.quick else RESULTS_JSON)
    out = args.out or (None if args.quick else RESULTS_MD)
    store = load_store(results)
    if not args.report_only:
        warnings.filterwarnings("ignore")
        run(args, store, results)
    body = render(store)
    if out:
        write_section(out, body, *SECTION)
        progress(f"wrote the bench_real_tables section of {out}")
    else:
        print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
