"""`plausible demo classify`: generative classifiers against logistic regression (Ng & Jordan,
2002), the unregularized logit with more columns than rows, and the randomness a model adds.

1. Learning curves (`pl.experiments.learning_curves`) on the four classification sets bundled
   with scikit-learn (breast_cancer, wine, iris, digits): generative classifiers (one Gaussian per
   class, and Gaussian naive Bayes) beside scikit-learn's `LogisticRegression` without a penalty
   (the model Ng & Jordan compared), the same with its default L2 penalty, and statsmodels'
   unregularized `Logit`; the mean test error by training size with 95% intervals over repeats,
   at sizes chosen by one rule for every data set (8 sizes, log-spaced from 2 rows per class to
   the whole pool), and for each data set the size from which logistic regression stays ahead (the
   crossover), against the unpenalized regression and, separately, the penalized one.
2. p > n: breast_cancer's ten "mean" measurements with 8 training rows. statsmodels' `Logit`
   fails, and the demo prints its actual error and what it means; logistic regression and the
   generative classifiers still answer.
3. What they answer with: `pl.experiments.prediction_spread` refits each classifier on bootstrap
   resamples (and fresh seeds), and reports how far each test row's predicted probability moves,
   with 300 training rows (n >> p) against 8 (p > n).

Everything printed is also written to --out: CSV tables and PNG figures (classify.png: the learning
curves and the spread side by side).
"""
from __future__ import annotations

import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .data.io import write_table
from .experiments import figures, learning
from .experiments.learning import crossover, learning_curves, prediction_spread, summarize
from .tasks.classifier import GenerativeClassifier
from .tasks.plots import save_figure

OUT = "plausible-classify"
# data set -> repeats per size: a generative classifier's fit on digits (ten classes of 64 columns)
# takes 1.5-3.5 s on one thread of a shared 2-core machine, twenty times one on wine, so digits gets 3
DATASETS = {"breast_cancer": 8, "wine": 8, "iris": 8, "digits": 3}
CLASSIFIERS = ("gaussian", "naive_bayes", "logistic_unpenalized", "logistic", "logit")
# the crossovers are read against these, in this order: the paper's comparison first
DISCRIMINATIVE = ("logistic_unpenalized", "logistic")
# the one rule for every data set's sizes: SIZES log-spaced from PER_CLASS rows per class to the pool
SIZES, PER_CLASS = 8, 2
# the p > n case: breast_cancer's ten "mean ..." columns, so both settings have the same columns
SPREAD_DATA = "breast_cancer"
FEW_ROWS, MANY_ROWS = 8, 300
WHY = ("Why: a generative classifier learns what each class looks like (here a Gaussian per class) and\n"
       "classifies by Bayes' rule; its assumptions stand in for rows it has not seen, so it should reach its\n"
       "best error with few rows. Logistic regression learns only the boundary, so it needs more rows but is\n"
       "not held back by those assumptions and ends lower (Ng & Jordan, 2002). That argument, and the\n"
       "textbook crossover, are about unpenalized logistic regression. A penalty is a prior on the\n"
       "coefficients: it can give the discriminative model the kind of help with few rows that the\n"
       "Gaussian's shape gives the generative one (or, where the prior is off, hold it back), so the\n"
       "crossover against the penalized regression is a different, separately reported number.")


def load(name: str):
    """(X as a DataFrame, y) of a data set bundled with scikit-learn."""
    import sklearn.datasets

    loader = getattr(sklearn.datasets, f"load_{name}", None)
    if loader is None:
        raise ValueError(f"no data set {name!r} bundled with scikit-learn; try one of {', '.join(DATASETS)}")
    bunch = loader(as_frame=True)
    return bunch.data, bunch.target.to_numpy()


def demo_classify(out=OUT, datasets=DATASETS, classifiers=CLASSIFIERS, sizes=SIZES, repeats: int | None = None,
                  refits: int = 20, few_rows: int = FEW_ROWS, many_rows: int = MANY_ROWS, seed: int = 0,
                  say=print) -> dict:
    """Run the three parts (module doc), print them, write tables and figures into the folder
    `out` (None: nothing written). `datasets`: names (bundled with scikit-learn) or a dict name ->
    repeats per size; `repeats` overrides them all. `classifiers`: names of built-in contenders or a
    dict name -> estimator; the generative ones are compared with those of `DISCRIMINATIVE` present.
    `sizes`: training sizes, or a number of them (log-spaced from `PER_CLASS` rows per class to the
    pool, the same rule on every data set). Returns the tables."""
    from threadpoolctl import threadpool_limits

    datasets = dict(datasets) if isinstance(datasets, dict) else {name: DATASETS.get(name, 5) for name in datasets}
    if repeats is not None:
        datasets = {name: repeats for name in datasets}
    # one BLAS thread for the duration: the matrices are small, and on a shared 2-core machine more
    # threads made the demo 2.5x as costly in CPU time (197 s against 79 s) and slower on the clock
    with threadpool_limits(limits=1):
        return _demo(out, datasets, classifiers, sizes, refits, few_rows, many_rows, seed, say)


def _demo(out, datasets: dict, classifiers, sizes, refits, few_rows, many_rows, seed, say) -> dict:
    begun = time.perf_counter()
    out = None if out is None else Path(out)
    say(f"plausible demo classify: {_names(classifiers)} on {', '.join(datasets)} (bundled with scikit-learn); "
        f"30% of each held out for testing, {_listed(sorted({str(r) for r in datasets.values()}))} stratified "
        "training sets per size" + (f", {sizes} sizes log-spaced from {PER_CLASS} rows per class to the whole pool"
                                    if np.ndim(sizes) == 0 else ""))
    curves, crossings, panels = [], [], []
    for name, times in datasets.items():
        X, y = load(name)
        start = time.perf_counter()
        table = learning_curves(X, y, classifiers, sizes=sizes, repeats=times, seed=seed, per_class=PER_CLASS)
        table.insert(0, "data", name)
        curves.append(table)
        summary = summarize(table)
        say(f"\n{name} ({len(X):,} rows, {X.shape[1]} columns, {len(np.unique(y))} classes; "
            f"{time.perf_counter() - start:.0f} s): mean test error (95% interval over {times} training sets)")
        say(_error_table(summary).to_string())
        mark, present = None, [d for d in DISCRIMINATIVE if d in set(table["classifier"])]
        for against in present:
            for contender in _generative(table, classifiers):
                found = crossover(summary, contender, against)
                crossings.append({"data": name, "generative": contender, "discriminative": against,
                                  "crossover": found["size"], "generative_ahead_at": found["before"],
                                  "discriminative_ahead_from": found["after"], "text": found["text"]})
                if against == present[0]:          # the figure marks the first comparison's crossover
                    mark = mark or found["size"]
                say(f"  {found['text']}")
        failed = table[table["failed"]]
        for contender, part in failed.groupby("classifier", sort=False):
            fits = int((table["classifier"] == contender).sum())
            say(f"  {contender} failed {len(part)} of {fits} fits; {_most_common(part['failure'])}")
        panels.append((name, table, mark))
    curves, crossings = pd.concat(curves, ignore_index=True), pd.DataFrame(crossings)
    say("\n" + WHY + "\n" + measured(curves, crossings))

    fits, spread_table, spreads = p_greater_than_n(classifiers, few_rows, many_rows, refits, seed, say)
    written = []
    if out is not None:
        written = _write(out, curves, crossings, fits, spread_table, spreads, panels)
        say(f"\nwritten to {out}/: {', '.join(written)}")
    say(f"done in {time.perf_counter() - begun:.0f} s")
    return {"curves": curves, "summary": summarize(curves), "crossovers": crossings, "p_greater_n": fits,
            "spread": spread_table, "files": written}


def p_greater_than_n(classifiers, few_rows: int, many_rows: int, refits: int, seed: int, say=print):
    """Parts 2 and 3 on breast_cancer's ten "mean" columns: one fit per classifier with `few_rows`
    (fewer than the columns) and `many_rows` training rows, then their spread over `refits`."""
    from sklearn.base import clone
    from sklearn.model_selection import train_test_split

    X, y = load(SPREAD_DATA)
    X = X[[column for column in X.columns if column.startswith("mean ")]]
    pool, test = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=seed)
    rng = np.random.default_rng(seed)
    settings = {f"n >> p ({many_rows} rows)": pool[learning.stratified_rows(y[pool], many_rows, rng)],
                f"p > n ({few_rows} rows)": pool[learning.stratified_rows(y[pool], few_rows, rng)]}
    contenders = learning.resolve_classifiers(classifiers)
    say(f"\nMore columns than rows: {SPREAD_DATA}'s {X.shape[1]} 'mean' columns, {few_rows} training rows "
        f"against {many_rows}; the same {len(test)} test rows")
    fits = []
    for setting, rows in settings.items():
        for name, estimator in contenders.items():
            fitted = learning.reseeded(clone(estimator), seed)
            result = learning.score_fit(fitted, X.iloc[rows], y[rows], X.iloc[test], y[test])
            fits.append({"setting": setting, "rows": len(rows), "columns": X.shape[1], "classifier": name,
                         "test_error": result["test_error"], "failure": result["failure"]})
    fits = pd.DataFrame(fits)
    for _, fit in fits[fits["failure"] != ""].iterrows():
        say(f"  {fit['classifier']} with {fit['rows']} rows and {fit['columns']} columns fails: {fit['failure']}")
        say(textwrap.fill(f"meaning: {explain_failure(fit['failure'], fit['rows'], fit['columns'])}", 104,
                          initial_indent="    ", subsequent_indent="    "))
    answered = fits[(fits["failure"] == "") & fits["setting"].str.startswith("p > n")]
    if len(answered):
        say("  still answering with " + str(few_rows) + " rows: " + ", ".join(
            f"{row.classifier} (test error {row.test_error:.3f})" for row in answered.itertuples()))

    say(f"\nThe randomness a model adds: each classifier refitted {refits} times on bootstrap resamples of its "
        "training rows (fresh seeds where fitting is random); per test row, how far P(class) moves")
    rows_out, spreads, table = [], {}, []
    for setting, rows in settings.items():
        for name, estimator in contenders.items():
            try:
                spread = prediction_spread(estimator, X.iloc[rows], y[rows], X.iloc[test], refits=refits, seed=seed)
            except RuntimeError as error:
                spreads[(setting, name)] = learning.one_line(error)
                table.append({"setting": setting, "classifier": name, "refits": refits, "fitted": 0,
                              "median_sd": np.nan, "median_range": np.nan, "unsure": np.nan,
                              "failure": str(error)})
                continue
            spreads[(setting, name)] = spread.table
            rows_out.append(spread.table.assign(setting=setting, classifier=name))
            s = spread.summary
            table.append({"setting": setting, "classifier": name, "refits": refits, "fitted": s["fitted"],
                          "median_sd": s["median_sd"], "median_range": s["median_range"], "unsure": s["unsure"],
                          "failure": s["first_failure"]})
    table = pd.DataFrame(table).merge(fits[["setting", "classifier", "test_error"]], on=["setting", "classifier"])
    shown = table[["setting", "classifier", "test_error", "fitted", "median_sd", "median_range", "unsure"]]
    say(shown.rename(columns={"fitted": "refits fitted", "median_sd": "median sd", "median_range": "median 90% range",
                              "unsure": "rows unsure"}).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    say("(median sd and 90% range of each test row's probability over refits; rows unsure: the share of test rows "
        "whose class the refits disagree on)")
    say(textwrap.fill(f"With {many_rows} rows the data decide and refits agree; with {few_rows} rows they cannot pin "
                      "down even one coefficient per column, so the answer comes from the model: the penalty, the "
                      "Gaussian shape, and which rows it happened to see. That spread is information the model "
                      "supplies, not the data.", 104))
    spread_rows = pd.concat(rows_out, ignore_index=True) if rows_out else pd.DataFrame()
    return fits, table, {"spreads": spreads, "rows": spread_rows}


def measured(curves: pd.DataFrame, crossings: pd.DataFrame) -> str:
    """What the curves showed, in plain words, against each discriminative contender in turn:
    where the picture appears, where it does not, and the classifiers that never fitted."""
    lines = []
    for against, part in crossings.groupby("discriminative", sort=False):
        heading = {"logistic_unpenalized": "Against logistic regression without a penalty (Ng & Jordan's comparison)",
                   "logistic": "Against the penalized logistic regression (L2, C=1)"}.get(against, f"Against {against}")
        found = part.dropna(subset=["crossover"])
        said = [f"on {row.data} {row.generative} leads up to {row.generative_ahead_at:.0f} rows and {against} "
                f"catches up at about {row.crossover:.0f}" for row in found.itertuples()]
        beyond = part[part["crossover"].isna() & part["generative_ahead_at"].notna()]
        said += [f"{row.generative} is still ahead on {row.data} at the largest size (the crossover lies beyond)"
                 for row in beyond.itertuples()]
        missing = [name for name in dict.fromkeys(part["data"])
                   if name not in set(found["data"]) | set(beyond["data"])]
        if missing:
            said.append(f"on {_listed(missing)} no generative classifier leads at any size")
        lines.append(f"{heading}: " + "; ".join(said) + ".")
    if "logistic_unpenalized" in set(crossings["discriminative"]):
        lines.append("Without a penalty, logistic regression trained by gradient steps (L-BFGS from zero) is not the "
                     "textbook's runaway estimate: on separable rows it stops where the gradient is small, near the "
                     "widest-margin plane, so with few rows it can match the penalized one. Where the generative "
                     "classifiers lose at the smallest sizes, it is their own estimates that are poor: a variance per "
                     "column and class from two or three rows.")
    penalized = crossings[crossings["discriminative"] == "logistic"]
    unpenalized = crossings[crossings["discriminative"] == "logistic_unpenalized"]
    if len(penalized) and len(unpenalized):
        lost = sorted(set(unpenalized.dropna(subset=["crossover"])["data"])
                      - set(penalized.dropna(subset=["crossover"])["data"]))
        if lost:
            lines.append(f"The penalty's prior takes the generative lead away on {_listed(lost)}: with few rows it "
                         "steadies the coefficients as the Gaussian's shape steadies the generative model.")
    for name, part in curves.groupby("classifier", sort=False):
        if part["failed"].all():
            failure = part["failure"].value_counts().index[0]
            lines.append(f"{name} failed in all {len(part)} fits ({failure.split(':')[0]} most often): "
                         f"{explain_failure(failure, None, None)}. That is why the unpenalized model is "
                         "logistic_unpenalized here: gradient steps stop at large but finite coefficients.")
    return "\n".join(textwrap.fill(line, 104) for line in lines)


def _listed(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def explain_failure(failure: str, rows: int, columns: int) -> str:
    """One plain line on what a logit failure means (`rows` and `columns` of its training data, or None)."""
    crowded = rows is not None and columns + 1 > rows
    if "Separation" in failure:
        return (("with more coefficients than rows, " if crowded else "") + "a plane separates the classes of the "
                "training rows exactly, so the likelihood keeps rising as the coefficients grow: the maximum "
                "likelihood estimate does not exist")
    if "Singular" in failure or "LinAlgError" in failure or "Hessian" in failure:
        return ("the information matrix is singular: " + (f"{columns + 1} coefficients from {rows} rows leave "
                if crowded else "the rows leave ") + "many coefficient vectors that fit equally well, so none can be "
                "chosen")
    if "converge" in failure:
        return ("the likelihood was still rising at the iteration limit: the coefficients run off towards "
                "infinity because the classes are (almost) separable")
    return "statsmodels could not fit the unregularized logit on these rows"


def _write(out: Path, curves, crossings, fits, spread_table, spreads, panels) -> list:
    files = {"learning_curves.csv": curves, "learning_summary.csv": summarize(curves), "crossovers.csv": crossings,
             "p_greater_n.csv": fits, "prediction_spread.csv": spread_table,
             "prediction_spread_rows.csv": spreads["rows"]}
    for name, table in files.items():
        write_table(table, out / name)
    figures.plot_learning_curves(summarize(curves), out / "learning_curves.png")
    figures.plot_spread(spreads["spreads"], out / "prediction_spread.png", title="breast_cancer, 10 columns")
    classify_figure(panels, spreads["spreads"], out / "classify.png")
    return list(files) + ["learning_curves.png", "prediction_spread.png", "classify.png"]


def classify_figure(curves: list, spreads: dict, path):
    """The learning curves of each data set and the spread panel (2 x 2 for three data sets, 2 x 3
    for four or five)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = len(curves) + 1
    columns = 2 if panels == 4 else min(panels, 3)
    rows = -(-panels // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.0 * columns, 3.9 * rows), squeeze=False)
    axes = axes.ravel()
    for ax, (name, table, mark) in zip(axes, curves):
        figures.draw_learning_curves(ax, summarize(table), title=f"{name}: test error by training size",
                                     crossover=mark)
    figures.draw_spread(axes[panels - 1], spreads, title="breast_cancer, 10 columns: spread over bootstrap refits")
    for ax in axes[panels:]:
        ax.axis("off")
    figure.tight_layout()
    return save_figure(figure, path)


def _error_table(summary: pd.DataFrame) -> pd.DataFrame:
    """rows x classifier: "0.083 (0.05-0.12)", or "failed 5/5"."""
    def cell(row):
        if row["failed"] == row["fits"]:
            return f"failed {row['failed']}/{row['fits']}"
        text = f"{row['error']:.3f}" + (f" ({row['low']:.2f}-{row['high']:.2f})" if np.isfinite(row["low"]) else "")
        return text + (f" [{row['failed']} failed]" if row["failed"] else "")

    frame = summary.assign(cell=summary.apply(cell, axis=1))
    table = frame.pivot(index="train_size", columns="classifier", values="cell")
    table = table[list(dict.fromkeys(summary["classifier"]))]
    table.index.name, table.columns.name = "rows", None
    return table


def _generative(table: pd.DataFrame, classifiers) -> list:
    """The generative contenders' names, in their order."""
    chosen = classifiers if isinstance(classifiers, dict) else {name: name for name in classifiers}
    return [name for name, estimator in chosen.items()
            if learning.generative(learning.CONTENDERS[estimator][1]() if isinstance(estimator, str) else estimator)
            and name in set(table["classifier"])]


def _names(classifiers) -> str:
    return ", ".join(classifiers if not isinstance(classifiers, dict) else list(classifiers))


def _most_common(failures: pd.Series) -> str:
    counts = failures.value_counts()
    others = len(counts) - 1
    return f"most often {counts.index[0]}" + (f" (and {others} other error{'s' if others > 1 else ''})" if others else "")



def command(args) -> str:
    """`plausible demo classify`: the folder --out (default plausible-classify); --model names the
    generative rung compared (default: gaussian and Gaussian naive Bayes)."""
    out = Path(args.out or OUT)
    if out.suffix.lower() in (".png", ".csv", ".md", ".parquet", ".txt") or out.is_file():
        raise ValueError(f"--out for the classify demo is a folder for its tables and figures, got {str(out)!r}")
    classifiers = CLASSIFIERS
    if args.model is not None:
        from .core.registry import get_class

        rung = get_class(args.model)
        if rung.log_prob_kind == "none":
            raise ValueError(f"--model {args.model!r} has no log_prob, so it cannot classify by Bayes' rule; name a "
                             "rung that has one (plausible models), e.g. gaussian or gmm")
        params = {"time_budget": args.time_budget} \
            if args.time_budget is not None and "time_budget" in rung.params else {}
        classifiers = {args.model: GenerativeClassifier(args.model, schema="continuous", **params),
                       "logistic_unpenalized": "logistic_unpenalized", "logistic": "logistic", "logit": "logit"}
    demo_classify(out=out, classifiers=classifiers, seed=args.seed)
    return ""   # the demo prints its own account and where its files went
