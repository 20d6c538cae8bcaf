"""What auto's choice and spread rules would have scored on bench_real_series' corpus (issue 24).

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/real_series_study.py dump /tmp/study.pkl       # ~15 min
    .venv-bench/bin/python benchmarks/real_series_study.py report /tmp/study.pkl

`dump` replays every backtest origin of bench_real_series (the same histories and seeds as
`pl.backtest` gives `pl.forecast`) and keeps, for each of auto's candidates, its validation paths,
the outcomes they are scored against, and its final 200 paths; histories of 30 values or more
that are too short for auto's five origins are given MEDIUM_CANDIDATES whatever the code in use
says. `report` then scores choice and spread rules on those paths without refitting anything:
a clear margin before auto leaves a default candidate, mixtures of the candidates near the best,
the medium-history choice, and the widening factor of a short panel pooled across its series.
Relative CRPS divides by the naive forecast's CRPS of benchmarks/real_series_results.json, so run
bench_real_series first. The rule that reproduces today's `auto` reproduces its benchmark rows.
"""
from __future__ import annotations

import math
import pickle
import sys
import warnings

import numpy as np
from bench_forecast import load_records
from bench_real_series import CORPUS, NAIVE, RESULTS_JSON

from plausible.evaluation.series_metrics import coverage, crps
from plausible.tasks import forecast as F
from plausible.tasks.series_frames import _as_series, _clean, _frequency_season, _span
from plausible.tasks.transforms import acf_season

LEFT_OUT = {"fertility_India", "fertility_Kenya", "fertility_Brazil"}   # a peer failed there: not in the summaries


def dump(path: str) -> None:
    F.MEDIUM_CANDIDATES = ("statespace", "arima")
    out = {}
    for entry in CORPUS:
        values, index = _as_series(entry.load())
        index, y = index[_span(values)], _clean(values)
        first = len(y) - entry.horizon * entry.origins
        records = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k in range(entry.origins):
                cut = first + k * entry.horizon
                history, times = y[:cut], index[:cut]
                season = _frequency_season(times) or acf_season(history)
                names, drawn, actuals = F.validation_paths(history, entry.horizon, season, k, "auto")
                final = {name: F.arima_paths(history, entry.horizon, 200, k, season) if name == F.ARIMA else
                         F.forecast_one(history, entry.horizon, n_paths=200, model=name, seed=k, season=season,
                                        index=times, spread="model").paths for name in names}
                records.append({"actual": y[cut:cut + entry.horizon], "short": F.few_values(cut, entry.horizon, season),
                                    "names": names, "drawn": drawn, "actuals": actuals, "final": final})
        out[entry.name] = records
        print(entry.name, flush=True)
        with open(path, "wb") as file:
            pickle.dump(out, file)


def prepared(record: dict, seed: int) -> dict:
    """Per candidate: validation CRPS, validation paths and final paths (Student t tails when short)."""
    info = {}
    for name in record["names"]:
        drawn, final = record["drawn"][name], record["final"][name]
        if record["short"] and F.SHORT_TAIL_DF:
            drawn = [F.fatten(p, F.SHORT_TAIL_DF, np.random.default_rng([seed, j, 7])) for j, p in enumerate(drawn)]
            final = F.fatten(final, F.SHORT_TAIL_DF, np.random.default_rng([seed, 7]))
        score = float(np.mean([crps(p, a) for p, a in zip(record["drawn"][name], record["actuals"])])) \
            if record["actuals"] else math.inf
        info[name] = {"score": score, "drawn": drawn, "final": final}
    return info


def raw_factor(drawn, actuals) -> float:
    return min(F.SPREAD_GRID, key=lambda s: (np.mean([crps(F.widen(p, s), a) for p, a in zip(drawn, actuals)]),
                                             abs(math.log(s))))


def shrunk(raw: float, n: int, prior: float) -> float:
    return max(1.0, math.exp((n * math.log(raw) + F.SPREAD_PRIOR_WEIGHT * math.log(prior)) / (n + F.SPREAD_PRIOR_WEIGHT)))


def scored(rows: dict) -> dict:
    """{series: (relative CRPS, {level: hits}, outcomes)} from {series: [(paths, actual)]}."""
    naive = {r["series"]: r["crps"] for r in load_records(RESULTS_JSON).values()
             if r.get("contender") == NAIVE and "crps" in r}
    out = {}
    for name, pairs in rows.items():
        hits = {lv: sum(coverage(p, a, lv / 100) * len(a) for p, a in pairs) for lv in (50, 80, 95)}
        out[name] = (np.mean([crps(p, a) for p, a in pairs]) / naive[name], hits, sum(len(a) for _, a in pairs))
    return out


def line(label: str, result: dict, names) -> str:
    names = [n for n in names if n in result]
    outcomes = sum(result[n][2] for n in names)
    cover = "/".join(f"{sum(result[n][1][lv] for n in names) / outcomes:.2f}" for lv in (50, 80, 95))
    return f"{label:<40} CRPS/naive {np.exp(np.mean([np.log(result[n][0]) for n in names])):.3f}  cov {cover}"


def choose_and_score(data: dict, select) -> dict:
    """select(info, record) -> candidates mixed equally; the factor is fitted on their validation paths."""
    rows = {}
    for name, records in data.items():
        rows[name] = []
        for k, record in enumerate(records):
            info = prepared(record, k)
            names = select(info, record)
            final = np.concatenate([info[c]["final"][:200 // len(names)] for c in names])
            if record["actuals"]:
                drawn = [np.concatenate([info[c]["drawn"][j][:100 // len(names)] for c in names])
                         for j in range(len(record["actuals"]))]
                final = F.widen(final, F.spread_scale(drawn, record["actuals"], record["short"]))
            rows[name].append((final, record["actual"]))
    return scored(rows)


def report(path: str) -> None:
    with open(path, "rb") as file:
        data = pickle.load(file)
    long = {n: r for n, r in data.items() if n not in LEFT_OUT}
    split = {s: [e.name for e in CORPUS if e.split == s] for s in ("tune", "heldout")}
    best = lambda info, record: [min(record["names"], key=lambda c: info[c]["score"])]

    def today(info, record):     # what auto does: the medium-history choice included
        return best(info, record) if len(record["names"]) != 2 else ["statespace"]

    def margin(default, m):
        def select(info, record):
            pick = best(info, record)[0]
            keep = default in record["names"] and info[pick]["score"] >= (1 - m) * info[default]["score"]
            return [default] if keep else [pick]
        return select

    def within(m):
        return lambda info, record: [c for c in record["names"]
                                     if info[c]["score"] <= (1 + m) * info[best(info, record)[0]]["score"]]

    rules = {"auto before the medium choice": today, "auto (lowest validation CRPS)": best}
    for default in ("statespace", "gaussian", "statespace+gaussian", "arima"):
        for m in (0.02, 0.05, 0.1, 0.2, 0.3):
            rules[f"default {default}, margin {m}"] = margin(default, m)
    for m in (0.02, 0.05, 0.1, 0.2):
        rules[f"mixture of those within {m} of the best"] = within(m)
    for label, rule in rules.items():
        result = choose_and_score(long, rule)
        print(line(label, result, split["tune"]), "|", line("HELD-OUT", result, split["heldout"]), flush=True)
    medium = {n: r for n, r in data.items() if any(len(x["names"]) == 2 for x in r)}
    for label, rule in (("medium: statespace", lambda i, r: ["statespace"]), ("medium: lowest validation CRPS", best),
                        ("medium: arima", lambda i, r: ["arima"] if "arima" in r["names"] else best(i, r))):
        result = choose_and_score(medium, rule)
        print(line(label, result, [n for n in split["tune"] if n in medium]), "|",
              line("HELD-OUT", result, [n for n in split["heldout"] if n in medium]))
    for panel in sorted({e.panel for e in CORPUS if e.panel}):
        names = [e.name for e in CORPUS if e.panel == panel]
        for pooled in (False, True):
            rows = {n: [] for n in names}
            for k in range(len(data[names[0]])):
                infos = {n: prepared(data[n][k], k)["statespace"] for n in names}
                raws = {n: raw_factor(infos[n]["drawn"], data[n][k]["actuals"]) for n in names}
                prior = math.exp(np.mean([math.log(v) for v in raws.values()])) if pooled else F.SPREAD_PRIOR
                for n in names:
                    scale = shrunk(raws[n], len(data[n][k]["actuals"]), prior) * F.SPREAD_MARGIN
                    rows[n].append((F.widen(infos[n]["final"], scale), data[n][k]["actual"]))
            print(line(f"{panel}: factor shrunk toward {'the panel (geo. mean)' if pooled else F.SPREAD_PRIOR}",
                       scored(rows), names), f"(last prior {prior:.2f})")


if __name__ == "__main__":
    {"dump": dump, "report": report}[sys.argv[1]](sys.argv[2])
