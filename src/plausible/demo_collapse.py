"""`plausible demo collapse`: models trained on the output of models, generation after generation
(`pl.experiments.collapse`), with the data replaced by the last generation's draws or accumulated
beside the real rows.

Two tables, each over `seeds` seeds (the real rows, the split and every draw change with the seed):
- `fashion`, five labels whose true distribution is known: `histogram` and `bayesnet`, scored by the
  exact KL and total variation to the truth, the distinct combinations among the draws and the
  detection AUC against held-out real rows;
- `wine`, 13 numbers bundled with scikit-learn (the cultivar label left out): `gaussian` fitted by
  maximum likelihood (shrinkage 0, the textbook case) and `gmm`, scored by the variance of the draws
  against the real rows', the share of draws beyond the real rows' 1st and 99th percentiles and the
  detection AUC.
The detection AUC (a cross-validated classifier, the slow metric) is scored at the first and last
generation only. Writes to the folder `out`: collapse.csv (every run, every generation, every
metric), summary.csv (mean and 95% interval over seeds), kl_to_truth.csv (the KL table) and
collapse.png (the figure); prints what it found.
"""
from __future__ import annotations

import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import datasets
from .data.io import write_table
from .evaluation.metrics import entropy
from .experiments.collapse import (
    MODES,
    collapse,
    collapse_figure,
    collapse_table,
    interval_over_seeds,
    summarize,
)

FOLDER = "plausible-collapse"
FASHION_MODELS = {"histogram": {}, "bayesnet": {}}
# gaussian by maximum likelihood (the known answer's setting, and no shrinkage search); gmm's BIC
# picks at most 4 clusters on wine, so searching up to 8 (its default) only costs time (3.6 s
# against 7.5 s a chain, the same mixtures)
NUMERIC_MODELS = {"gaussian": {"shrinkage": 0.0}, "gmm": {"max_components": 4}}
NUMERIC = "wine"
WIDTH = 104   # the printed account's lines


def demo_collapse(out=FOLDER, seeds: int = 5, generations: int = 10, seed: int = 0, fashion_rows: int = 1000,
                  held_out_rows: int = 250, detection: bool = True, say=print) -> pd.DataFrame:
    """Run the collapse experiment on `fashion` (`fashion_rows` real rows, `held_out_rows` more for
    the detection AUC) and on `wine` (a quarter held out), `generations` generations in both modes,
    seeds `seed` .. `seed + seeds - 1`; write the files to the folder `out`, print the account and
    return the long table. `detection=False` skips the detection AUC (the slow metric)."""
    if seeds < 1 or generations < 2:
        raise ValueError(f"the collapse demo needs at least 1 seed and 2 generations, got {seeds} and {generations}")
    out = Path(out)
    if out.suffix.lower() in (".png", ".csv", ".md", ".parquet") or out.is_file():
        raise ValueError(f"--out for the collapse demo is a folder for its figure and tables, got {str(out)!r}")
    begun = time.perf_counter()
    last = generations - 1
    scored = (0, last) if detection else False
    say(f"plausible demo collapse: {generations} generations, each fitted on draws of the one before (replace) "
        f"or on the real rows plus every generation's draws (accumulate); {seeds} seed{'s' * (seeds > 1)}")
    truth = datasets.truth("fashion")
    numbers = datasets.load(NUMERIC).drop(columns=datasets.info(NUMERIC).target)
    runs = []
    for s in range(seed, seed + seeds):
        fashion = datasets.load("fashion", n=fashion_rows + held_out_rows, seed=s)
        for model, params in FASHION_MODELS.items():
            runs.append(collapse(fashion.iloc[:fashion_rows], model, generations, mode=MODES, seed=s, truth=truth,
                                 held_out=fashion.iloc[fashion_rows:], detection=scored, **params)
                        .assign(data="fashion"))
        for model, params in NUMERIC_MODELS.items():
            runs.append(collapse(numbers, model, generations, mode=MODES, seed=s, detection=scored, **params)
                        .assign(data=NUMERIC))
    frame = pd.concat(runs, ignore_index=True)
    frame = frame[["data", *[c for c in frame.columns if c != "data"]]]
    seconds = time.perf_counter() - begun

    out.mkdir(parents=True, exist_ok=True)
    write_table(frame, out / "collapse.csv")
    write_table(summarize(frame), out / "summary.csv")
    write_table(collapse_table(frame[frame["data"] == "fashion"], "kl_to_truth").reset_index(), out / "kl_to_truth.csv")
    collapse_figure(frame, out / "collapse.png",
                    title=f"model collapse: mean and 95% interval over {seeds} seeds; replace solid, accumulate dashed")
    for line in account(frame, fashion_rows, len(numbers)):
        say(line)
    say(f"files in {out}/: collapse.png, collapse.csv, summary.csv, kl_to_truth.csv ({seconds:.0f} s)")
    return frame


def account(frame: pd.DataFrame, fashion_rows: int, numeric_rows: int) -> list[str]:
    """The printed account: the first and last generation of each metric, then what they mean."""
    last = int(frame["generation"].max())
    seeds = frame["seed"].nunique()
    interval = "mean [95% interval]" if seeds > 1 else "one seed, no interval"

    def cell(data, model, mode, metric, generation):
        rows = frame[(frame["data"] == data) & (frame["model"] == model) & (frame["mode"] == mode)
                     & (frame["generation"] == generation)]
        mean, low, high = interval_over_seeds(rows[metric]) if metric in rows else (np.nan,) * 3
        return mean, (f"{mean:.3f}" if np.isnan(low) else f"{mean:.3f} [{low:.3f}, {high:.3f}]")

    def block(data, models, metric, title):
        if metric not in frame or frame.loc[frame["data"] == data, metric].isna().all():
            return []
        lines = [f"  {title:<44}{'generation 0':<26}generation {last}"]
        for model in models:
            for mode in MODES:
                lines.append(f"    {model + ' ' + mode:<42}{cell(data, model, mode, metric, 0)[1]:<26}"
                             f"{cell(data, model, mode, metric, last)[1]}")
        return lines

    real_distinct = frame.loc[frame["data"] == "fashion", "distinct_share_real"].mean()
    lines = ["", f"fashion: {fashion_rows:,} real rows of 5 labels, true distribution known ({interval})"]
    lines += block("fashion", FASHION_MODELS, "kl_to_truth", "KL(truth || model), nats")
    lines += block("fashion", FASHION_MODELS, "tv_to_truth", "total variation to the truth")
    lines += block("fashion", FASHION_MODELS, "distinct_share", f"distinct combinations per row (real {real_distinct:.3f})")
    lines += block("fashion", FASHION_MODELS, "detection_auc", "detection AUC (0.5 = like real rows)")
    lines += ["", f"{NUMERIC}: {numeric_rows} rows of 13 numbers, a quarter held out ({interval})"]
    lines += block(NUMERIC, NUMERIC_MODELS, "variance_ratio", "variance / real variance")
    lines += block(NUMERIC, NUMERIC_MODELS, "tail_mass", "share beyond real 1st/99th pct (real 0.02)")
    lines += block(NUMERIC, NUMERIC_MODELS, "detection_auc", "detection AUC (0.5 = like real rows)")

    def change(data, model, metric):
        start = cell(data, model, "replace", metric, 0)[0]
        return start, cell(data, model, "replace", metric, last)[0], cell(data, model, "accumulate", metric, last)[0]

    h, b = change("fashion", "histogram", "kl_to_truth"), change("fashion", "bayesnet", "kl_to_truth")
    hd, bd = change("fashion", "histogram", "distinct_share"), change("fashion", "bayesnet", "distinct_share")
    g, m = change(NUMERIC, "gaussian", "variance_ratio"), change(NUMERIC, "gmm", "variance_ratio")
    t = change(NUMERIC, "gaussian", "tail_mass")
    a, am = change(NUMERIC, "gaussian", "detection_auc"), change(NUMERIC, "gmm", "detection_auc")
    n = int(frame.loc[(frame["data"] == NUMERIC) & (frame["generation"] == 0), "rows"].iloc[0])
    p = datasets.truth("fashion")["probability"].to_numpy()
    uniform = float(np.log(len(p)) - entropy(p))
    detected = (f"; a classifier tells its draws from real rows with AUC {a[1]:.2f} instead of {a[0]:.2f} "
                f"(gmm: {am[1]:.2f} instead of {am[0]:.2f})") if np.isfinite(a[1]) else ""
    replace = (f"- Replace: each generation learns from a finite sample of the last one, so its sampling error is "
               f"added to all the errors before it and nothing pulls the chain back. After {last} generations the KL "
               f"to the truth went from {h[0]:.2f} to {h[1]:.2f} nats (histogram) and from {b[0]:.2f} to {b[1]:.2f} "
               f"(bayesnet). On {NUMERIC} the variance of the gaussian's draws went from {g[0]:.2f} to {g[1]:.2f} of "
               f"the real rows' (gmm: {m[0]:.2f} to {m[1]:.2f}) and its draws beyond the real 1st/99th percentiles "
               f"from {t[0]:.3f} to {t[1]:.3f}{detected}.")
    shrink = (f"- Why the numbers shrink: a maximum-likelihood variance divides by n, so in expectation it keeps "
              f"(n-1)/n of the last generation's each time; on {n} rows that alone leaves ((n-1)/n)^{last} = "
              f"{((n - 1) / n) ** last:.2f} after {last} generations. The rest is plausible's own rule: it never draws "
              "a number outside the range of the rows a model was fitted on, so under replace that range can only "
              "narrow, and the tails go first (Shumailov et al. 2024).")
    near = [g for g in range(last + 1) if cell("fashion", "histogram", "replace", "kl_to_truth", g)[0] >= 0.95 * uniform]
    when = (f"after {near[0]} generation{'s' if near[0] > 1 else ''} it is about as far from the truth as the uniform "
            f"distribution is (KL {uniform:.2f} nats)" if len(near) else
            f"it heads for the uniform distribution (KL {uniform:.2f} nats from the truth)")
    labels = (f"- Labels drift the other way here: the histogram's Laplace smoothing (one pseudo-row in each of the "
              f"{len(p):,} combinations, more than the {fashion_rows:,} real rows) draws most rows uniformly, so "
              f"{when}; its distinct combinations per row go from {hd[0]:.2f} to {hd[1]:.2f} (real rows: "
              f"{real_distinct:.2f}). bayesnet's smoothing is lighter and it drifts more slowly, the same way "
              f"({bd[0]:.2f} to {bd[1]:.2f}).")
    accumulated = f", detection AUC {a[2]:.2f} and {am[2]:.2f}" if np.isfinite(a[2]) else ""
    accumulate = (f"- Accumulate: the real rows stay in every training set and each generation's draws are a "
                  f"shrinking share of it, so the errors do not pile up: generation {last} has KL {h[2]:.2f} "
                  f"(histogram) and {b[2]:.2f} (bayesnet), variance {g[2]:.2f} (gaussian) and {m[2]:.2f} (gmm) of "
                  f"the real rows'{accumulated} (Gerstgrasser et al. 2024). Keep the real data: train on it plus "
                  "synthetic rows, never on synthetic rows alone.")
    lines += ["", "What it shows:"]
    lines += [textwrap.fill(text, WIDTH, subsequent_indent="  ") for text in (replace, shrink, labels, accumulate)]
    return lines
