"""The `plausible` command. Heavy libraries load inside each command, so `--help` is instant."""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from pathlib import Path

from . import __version__

EXAMPLES = {
    "fit": """examples:
  plausible fit customers.csv --model copula --out customers.plausible
  plausible fit fashion --model histogram --set alpha=0.5 --out fashion.plausible
  plausible fit sales.parquet --model gmm --schema store=categorical --out sales.plausible
  torchrun --nproc_per_node=2 -m plausible.cli fit big.parquet --model diffusion --out big.plausible

DATA is a .csv or .parquet file, or the name of a built-in dataset (see `plausible datasets`).""",
    "sample": """example:
  plausible sample customers.plausible --n 1000 --seed 1 --out synthetic.csv

The same model folder and seed always give the same rows.""",
    "impute": """examples:
  plausible impute holes.csv --draws 20 --out completed.csv                 # fits on holes.csv itself
  plausible impute holes.csv --model gmm --set n_components=4 --out completed.csv
  plausible impute holes.csv --draws 20 --out completed.csv --spread spread.csv --pool "mean(age)"
  plausible impute holes.csv --pool "income ~ age + region" --out completed.parquet
  plausible impute customers.plausible holes.csv --draws 5 --seed 0 --out completed.csv

Without a model folder, the model (--model, default auto: printed with the reason) is fitted on
DATA itself, missing cells included. Writes one long table: the columns `draw` (0..M-1) and `row`
(the input row), then every column of the data with its missing cells filled. Observed cells are
never changed. --spread writes each cell's spread across the draws (std for numbers, share of draws
differing from the most common one for categories; 0 where observed). --pool (repeatable) prints Rubin's rules
for "mean(col)" or a linear regression "y ~ x1 + x2" (categorical predictors one-hot).""",
    "score": """example:
  plausible score customers.plausible new_customers.csv --out scores.csv

Writes the input with a `log_prob` column (nats; probability mass for discrete cells times
density for numbers). Low values are unusual records.""",
    "evaluate": """examples:
  plausible evaluate --real test.csv --synthetic synthetic.csv --train train.csv --target churn
  plausible evaluate --real test.csv --synthetic synthetic.csv --model customers.plausible --json

Every metric is printed beside its noise floor: the same metric for a second real sample of the
same size, i.e. what a perfect generator scores with this much data.""",
    "compare": """examples:
  plausible compare customers.csv --target churn --report report.html
  plausible compare fashion --models independent,histogram,bayesnet --time-budget 60
  plausible compare wine --target target --json

Splits the data (70% train, 30% held out), fits every model (or --models) with a time budget
each, evaluates them, ranks them and recommends the simplest one within the noise of the best.""",
    "models": """example:
  plausible models          # a table
  plausible models --json   # machine-readable, with hyperparameters""",
    "datasets": """example:
  plausible datasets""",
    "demo": """examples:
  plausible demo
  plausible demo --sizes 50,500 --out demo.md
  plausible demo forecast --out forecast-demo.png

`plausible demo` (or `plausible demo fashion`) fits histogram, independent and bayesnet on N draws
of the fashion avatars and measures the exact distance of each learned distribution to the known
truth. `plausible demo forecast` forecasts 50 points of standard Gaussian noise: the most likely
future (the mean path, all zeros) is not a typical one; it prints how the sample paths and the
mean path compare with the true future N(0, I) and draws both (default plausible-forecast-demo.png).""",
    "forecast": """examples:
  plausible forecast sales.csv --horizon 12 --paths 500 --out paths.csv
  plausible forecast co2 --horizon 24 --out co2-paths.parquet --plot co2.png
  plausible forecast stores.parquet --horizon 8 --model gaussian --out paths.csv

FILE is a .csv/.parquet file with one numeric column, or `time` and `value` columns, or `id`,
`time` and `value` columns for several series (other names: --id-column, --time-column,
--value-column); or a built-in series (`plausible datasets`). Writes a long table with the columns
(id,) step (1..H), (time,) path (0..S-1), value, and a fan chart (history, median, 50/80/95%
bands, a few paths) to --plot (default: OUT with .png; the first series when there are several).
Decided on the history: a strong season's profile is removed (or differenced), and a trend by a
straight line or by differencing (KPSS and ADF tests); rows missing from a regular time grid are
gaps, filled by interpolation (a warning says which). See pl.forecast.""",
    "backtest": """examples:
  plausible backtest nile --horizon 10 --origins 5
  plausible backtest sales.csv --horizon 12 --origins 4 --model gaussian --json

Forecasts from each of the last K origins (one every H steps), refitting on the history before
each, and scores the sample paths against what happened: CRPS, MASE of the median path, coverage
of the central 50/80/95% intervals (nominal 0.50/0.80/0.95) and typicality (1: the paths move
like the data does; 0: a flat mean path).""",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plausible",
        description="Learn the distribution of your data, then sample, impute and score with it.",
        epilog="Run `plausible COMMAND --help` for each command's options and an example.\n"
               "Start with `plausible demo`.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"plausible {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=help, epilog=EXAMPLES[name],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    fit = command("fit", "fit a model to a table and save it to a folder")
    fit.add_argument("data", metavar="DATA", help="a .csv/.parquet file or a built-in dataset name")
    fit.add_argument("--model", required=True, help="model name (see `plausible models`)")
    fit.add_argument("--out", required=True, metavar="MODEL_DIR", help="folder to save the fitted model in")
    fit.add_argument("--seed", type=int, default=0, help="random seed of the fit (default 0)")
    fit.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a hyperparameter (repeatable)")
    fit.add_argument("--schema", action="append", default=[], metavar="COLUMN=KIND",
                     help="override a column's kind: numeric, integer, categorical, boolean, datetime (repeatable)")

    sample = command("sample", "draw new synthetic rows from a fitted model")
    sample.add_argument("model_dir", metavar="MODEL_DIR")
    sample.add_argument("--n", type=int, required=True, help="number of rows")
    sample.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    impute = command("impute", "fill the missing cells of a table with several plausible draws")
    impute.usage = "plausible impute [MODEL_DIR] DATA --out FILE [--draws M] [--model NAME] [options]"
    impute.add_argument("inputs", nargs="+", metavar="[MODEL_DIR] DATA",
                        help="a .csv/.parquet file with missing cells, optionally after a fitted model folder")
    impute.add_argument("--draws", type=int, default=5, help="number of completed copies (default 5)")
    impute.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet")
    impute.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    impute.add_argument("--model", default=None, help="model to fit on DATA: auto (default) or a name "
                                                      "(see `plausible models`); not with a MODEL_DIR")
    impute.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a hyperparameter of --model (repeatable)")
    impute.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                        help="training time limit for deep models")
    impute.add_argument("--refits", type=int, default=1, metavar="K",
                        help="fit the model K times on bootstrap resamples (K = draws: proper imputation, "
                             "intervals include the parameters' uncertainty; default 1)")
    impute.add_argument("--uncertainty", choices=["auto", "posterior", "fitted"], default="auto",
                        help="posterior: every draw from its own posterior draw of the model's parameters "
                             "(proper imputation; gaussian and student offer it); fitted: all draws from the fitted "
                             "model; auto (default): posterior where offered")
    impute.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="processes fitting bootstrap refits side by side (default 1; -1: one per CPU); the "
                             "draws are the same for any N. Refits happen with --refits K, or by default when "
                             "auto picks gmm on a table of at most 5,000 rows (one refit per draw)")
    impute.add_argument("--spread", metavar="FILE", help="also write each cell's spread across the draws")
    impute.add_argument("--pool", metavar="STATISTIC", action="append", default=[],
                        help='print Rubin\'s rules for "mean(col)" or "y ~ x1 + x2" (repeatable; '
                             'a name holding + - ~ goes between backticks: "`age-group` ~ x")')

    score = command("score", "score how likely each row is under a fitted model (log_prob)")
    score.add_argument("model_dir", metavar="MODEL_DIR")
    score.add_argument("data", metavar="DATA")
    score.add_argument("--out", required=True, metavar="FILE")
    score.add_argument("--column", default="log_prob", metavar="NAME",
                       help="name of the added score column (default log_prob; DATA must not have it already)")
    score.add_argument("--unseen", choices=["raise", "impossible"], default="raise",
                       help="a row holding a value the model never saw (a new category, a gap in a column never "
                            "missing in training): raise (default) stops with the column's name; impossible "
                            "scores the row -inf (probability 0) and scores the others")

    evaluate = command("evaluate", "measure how close synthetic rows are to real ones, and whether they copy")
    evaluate.add_argument("--real", required=True, metavar="FILE", help="real held-out rows (not used for fitting)")
    evaluate.add_argument("--synthetic", required=True, metavar="FILE", help="synthetic rows")
    evaluate.add_argument("--train", metavar="FILE", help="the training rows: enables the privacy metrics")
    evaluate.add_argument("--model", metavar="MODEL_DIR", help="the fitted model: enables held-out log-likelihood")
    evaluate.add_argument("--target", metavar="COL", help="a column to predict: enables the utility ratio")
    evaluate.add_argument("--truth", metavar="DATASET", help="a built-in dataset with a known truth (fashion)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--json", action="store_true", help="print JSON (with meanings and details)")

    DEFAULT_TIME_BUDGET = 120.0  # compare.DEFAULT_TIME_BUDGET, not imported: `plausible --help` stays fast
    compare = command("compare", "fit the model ladder on one table, rank the models and recommend one")
    compare.add_argument("data", metavar="DATA", help="a .csv/.parquet file or a built-in dataset name")
    compare.add_argument("--models", metavar="a,b,c", help="models to compare (default: all)")
    compare.add_argument("--time-budget", type=float, default=DEFAULT_TIME_BUDGET, metavar="SECONDS",
                         help=f"time limit to fit and sample each model (default {DEFAULT_TIME_BUDGET:g}); "
                              "deep models train for 70%% of it; evaluating each model and the noise floor "
                              "come on top")
    compare.add_argument("--target", metavar="COL", help="a column to predict: adds the utility ratio")
    compare.add_argument("--report", metavar="FILE", help="write a self-contained HTML report (PNG figures beside it)")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--json", action="store_true", help="print the table as JSON")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")

    models = command("models", "list the models and what each can do")
    models.add_argument("--json", action="store_true", help="print JSON")

    data = command("datasets", "list the built-in datasets")
    data.add_argument("--json", action="store_true", help="print JSON")

    demo = command("demo", "the fashion demo (which model wins at which data size, and why), or the forecast demo")
    demo.add_argument("which", nargs="?", choices=["fashion", "forecast"], default="fashion",
                      help="fashion (default) or forecast (noise: the mean path is not a typical future)")
    demo.add_argument("--sizes", default="50,500,5000,50000",
                      help="training sizes, comma-separated (default 50,500,5000,50000)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default=None, metavar="FILE",
                      help="also write the table here (.md, .csv or .parquet; default plausible-demo.md); "
                           "forecast: the figure (.png; default plausible-forecast-demo.png)")

    forecast = command("forecast", "sample many typical future paths of a series (and draw a fan chart)")
    forecast.add_argument("data", metavar="FILE", help="a .csv/.parquet file or a built-in series name")
    forecast.add_argument("--horizon", type=int, required=True, help="steps ahead to forecast")
    forecast.add_argument("--paths", type=int, default=200, help="sample paths per series (default 200)")
    forecast.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet (long table)")
    forecast.add_argument("--plot", metavar="FAN.png", help="fan chart; its suffix picks the format: .png, .pdf, .svg, ... (default: OUT with .png)")
    forecast.add_argument("--model", default="auto", help="auto, statespace or a ladder model name (default auto)")
    forecast.add_argument("--season", type=int, help="seasonal period (default: detected; 1 = none)")
    forecast.add_argument("--window", type=int, help="history steps a window model conditions on (default: chosen)")
    forecast.add_argument("--difference", default="auto", choices=DIFFERENCES, help=DIFFERENCE_HELP)
    forecast.add_argument("--errors", default="auto", choices=["auto", "model", "bootstrap"], help=ERRORS_HELP)
    forecast.add_argument("--spread", default="model", choices=["model", "validated"], help=SPREAD_HELP)
    forecast.add_argument("--seed", type=int, default=0)
    forecast.add_argument("--jobs", type=int, default=1, metavar="N",
                          help="with several series: processes forecasting series side by side (default 1; -1: one "
                               "per CPU); the paths are the same for any N")
    forecast.add_argument("--on-error", default="raise", choices=["raise", "skip"],
                          help="with several series: raise (default) stops at the first series that cannot be "
                               "forecast; skip leaves it out with a warning and forecasts the rest")
    for option in ("id", "time", "value"):
        forecast.add_argument(f"--{option}-column", default=option, metavar="NAME",
                              help=f"name of the {option} column (default {option})")

    backtest = command("backtest", "rolling-origin evaluation of forecasts: CRPS, MASE, coverage, typicality")
    backtest.add_argument("data", metavar="FILE", help="a .csv/.parquet file or a built-in series name")
    backtest.add_argument("--horizon", type=int, required=True, help="steps ahead at each origin")
    backtest.add_argument("--origins", type=int, default=5, help="number of forecast origins (default 5)")
    backtest.add_argument("--paths", type=int, default=200, help="sample paths per forecast (default 200)")
    backtest.add_argument("--model", default="auto", help="auto, statespace or a ladder model name (default auto)")
    backtest.add_argument("--season", type=int, help="seasonal period (default: detected; 1 = none)")
    backtest.add_argument("--window", type=int, help="history steps a window model conditions on (default: chosen)")
    backtest.add_argument("--difference", default="auto", choices=DIFFERENCES, help=DIFFERENCE_HELP)
    backtest.add_argument("--errors", default="auto", choices=["auto", "model", "bootstrap"], help=ERRORS_HELP)
    backtest.add_argument("--spread", default="model", choices=["model", "validated"], help=SPREAD_HELP)
    backtest.add_argument("--seed", type=int, default=0)
    backtest.add_argument("--jobs", type=int, default=1, metavar="N",
                          help="processes forecasting origins side by side (default 1; -1: one per CPU); the scores "
                               "are the same for any N")
    backtest.add_argument("--json", action="store_true", help="print JSON (with the per-origin table)")
    for option in ("id", "time", "value"):
        backtest.add_argument(f"--{option}-column", default=option, metavar="NAME",
                              help=f"name of the {option} column (default {option})")
    for reader in (fit, impute, score, evaluate, compare, forecast, backtest):
        reader.add_argument("--na-values", action="append", default=[], metavar="TEXT",
                            help="text that marks a missing cell in a CSV, besides empty cells and NA/NaN/null "
                                 "(repeatable), e.g. --na-values '?'")
    return parser


# ---------------------------------------------------------------------- commands
def _read(source: str, na_values=None):
    from . import datasets
    from .io import read_table

    if not Path(source).exists() and source in datasets.names():
        return datasets.load(source)
    return read_table(source, na_values=na_values)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} must look like KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _check_parent(path) -> None:
    """Refuse, before any work, an output whose folder cannot exist (a file sits on its path)."""
    for folder in Path(path).absolute().parents:
        if folder.exists():
            if not folder.is_dir():
                raise ValueError(f"cannot write {path}: {folder} is a file, not a folder")
            return


def _check_table_out(path) -> None:
    """A .csv/.parquet output that can be written: checked before the fitting, not after it."""
    from .io import table_format

    if Path(path).is_dir():
        raise ValueError(f"{path} is a folder: give a .csv or .parquet file to write")
    table_format(Path(path))
    _check_parent(path)


def _check_model_out(path) -> None:
    from .base import check_model_target

    check_model_target(Path(path))
    _check_parent(path)


def _check_figure_out(path) -> None:
    from .forecasting import figure_format

    figure_format(path)
    _check_parent(path)


def _fit(args) -> str:
    from .registry import get_class

    cls = get_class(args.model)
    params = {}
    for key, text in _pairs(args.set, "--set").items():
        if key not in cls.params:
            raise ValueError(f"model {args.model!r} has no parameter {key!r}; its parameters are: "
                             f"{', '.join(cls.params) or 'none'}")
        params[key] = cls.params[key].parse(key, text)
    _check_model_out(args.out)
    data = _read(args.data, args.na_values)
    distributed = False
    if cls.family not in ("counting", "classical"):  # neural models train data-parallel under torchrun
        from .neural import init_distributed, is_main_process

        distributed = init_distributed()
    model = cls(seed=args.seed, **params).fit(data, schema=_pairs(args.schema, "--schema") or None)
    if distributed:
        from .neural import finish_distributed

        main = is_main_process()
        if main:
            model.save(args.out)   # every rank holds the same weights; rank 0 writes them
        finish_distributed()
        if not main:
            return ""
    else:
        model.save(args.out)
    return f"fitted {args.model} on {len(data):,} rows x {data.shape[1]} columns; saved to {args.out}"


def _sample(args) -> str:
    from .base import load
    from .io import write_table

    _check_table_out(args.out)
    synthetic = load(args.model_dir).sample(args.n, seed=args.seed)
    write_table(synthetic, args.out)
    return f"wrote {len(synthetic):,} rows to {args.out}"


def _impute(args) -> str:
    import pandas as pd

    from .base import load
    from .imputation import cell_spread, check_statistic, choose_model, impute, planned_refits, pool
    from .io import read_table, write_table
    from .registry import get_class

    if len(args.inputs) > 2:
        raise ValueError(f"impute takes DATA, or MODEL_DIR DATA; got {len(args.inputs)} paths")
    for out in (args.out, args.spread):
        if out:
            _check_table_out(out)
    lines, params, budget = [], {}, args.time_budget
    if len(args.inputs) == 2:                      # the model folder form: no refit
        folder, source = args.inputs
        if (args.model is not None or args.set or args.time_budget is not None or args.refits != 1
                or args.uncertainty == "posterior" or args.jobs != 1):
            raise ValueError(f"--model, --set, --time-budget, --refits, --jobs and --uncertainty posterior choose "
                             f"how to fit on DATA; {folder} is already fitted: drop them, or drop the model "
                             "folder to fit on DATA")
        model = load(folder)
        data = read_table(source, na_values=args.na_values)
    else:
        source = args.inputs[0]
        if Path(source).is_dir():
            raise ValueError(f"{source} is a folder: give a model folder and DATA, or a .csv/.parquet table")
        data = read_table(source, na_values=args.na_values)
        if len(data) == 0:
            raise ValueError(f"{source} has no rows: nothing to impute")
        model = args.model or "auto"
        if model == "auto":
            if args.set:
                raise ValueError("--set needs a named --model (auto chooses the model from the table)")
            chosen, reason = choose_model(data, args.time_budget)
            lines.append(f"auto chose {chosen}: {reason}")
        cls = get_class(chosen if model == "auto" else model)
        for key, text in _pairs(args.set, "--set").items():
            if key not in cls.params:
                raise ValueError(f"model {cls.name!r} has no parameter {key!r}; its parameters are: "
                                 f"{', '.join(cls.params) or 'none'}")
            params[key] = cls.params[key].parse(key, text)
    if args.pool and args.draws < 2:
        raise ValueError("--pool needs --draws 2 or more (Rubin's rules use the spread between draws); 20 is typical")
    for statistic in args.pool:                    # a typo should cost nothing, not a whole imputation
        check_statistic(statistic, data)
    if len(args.inputs) == 1:
        name = chosen if model == "auto" else model
        fits = planned_refits(len(data), args.draws, name, args.refits, args.uncertainty)
        cpus = os.cpu_count() or 1
        if fits > 1 and args.jobs == 1 and cpus > 1:
            why = f"a bootstrap refit per draw ({name} has no posterior to draw its parameters from)" \
                if args.refits == 1 else "--refits"
            lines.append(f"{fits} fits of {name}, {why}, one after another: --jobs -1 fits them side by side on "
                         f"all {cpus} CPUs, with the same draws")
    draws = impute(data, n_draws=args.draws, model=model, seed=args.seed, params=params, time_budget=budget,
                   refits=args.refits, uncertainty=args.uncertainty, n_jobs=args.jobs)
    long = pd.concat([d.assign(draw=k, row=range(len(d))) for k, d in enumerate(draws)], ignore_index=True)
    long = long[["draw", "row", *data.columns]]
    write_table(long, args.out)
    lines.append(f"filled {int(data.isna().sum().sum()):,} missing cells {args.draws} times; wrote {args.out}")
    if args.spread:
        write_table(cell_spread(draws), args.spread)
        lines.append(f"wrote each cell's spread across the draws to {args.spread}")
    for statistic in args.pool:
        table = pool(draws, statistic)
        lines += ["", f"Rubin's rules for {statistic} over {args.draws} draws:",
                  table.to_string(float_format=lambda v: f"{v:.4g}")]
    return "\n".join(lines)


def _score(args) -> str:
    import numpy as np

    from .base import load
    from .io import read_table, write_table
    from .schema import SchemaError

    _check_table_out(args.out)
    data = read_table(args.data, na_values=args.na_values)
    if args.column in data.columns:
        raise ValueError(f"{args.data} already has a column {args.column!r}: name the score column with --column")
    model = load(args.model_dir)
    try:
        scores = model.log_prob(data, unseen=args.unseen)
    except SchemaError as error:
        if args.unseen == "raise" and ("never seen" in str(error) or "never missing" in str(error)):
            raise SchemaError(f"{error}\n(--unseen impossible scores such rows -inf and scores the others)") from None
        raise
    write_table(data.assign(**{args.column: scores}), args.out)
    impossible = int(np.isneginf(scores).sum())
    return f"scored {len(data):,} rows" + (f" ({impossible:,} impossible: -inf)" if impossible else "") + \
        f"; wrote {args.out}"


def _evaluate(args) -> str:
    from .base import load
    from .evaluation import METRICS, evaluate
    from .io import read_table

    with warnings.catch_warnings():   # what evaluate warns about is printed below, under Notes
        warnings.simplefilter("ignore", UserWarning)
        real, synthetic = (read_table(path, na_values=args.na_values) for path in (args.real, args.synthetic))
        result = evaluate(real, synthetic,
                          train=read_table(args.train, na_values=args.na_values) if args.train else None,
                          model=load(args.model) if args.model else None, target=args.target, truth=args.truth,
                          seed=args.seed)
    if args.json:
        return _strict_json(result.to_json())
    table = result.table()
    lines = [table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")]
    lines += ["", "What each metric means:"] + [f"  {k}: {METRICS[k].meaning}" for k in result]
    notes = [text for key, text in result.details.items() if key.endswith("_note") and text]
    if notes:
        lines += ["", "Notes:"] + [f"  {text}" for text in notes]
    return "\n".join(lines)


def _compare(args) -> str:
    from . import datasets
    from .compare import compare, recommendation

    data = _read(args.data, args.na_values)
    target = args.target
    truth = args.data if args.data in datasets.names() and datasets.info(args.data).truth else None
    table = compare(data, models=args.models.split(",") if args.models else None, time_budget=args.time_budget,
                    target=target, seed=args.seed, truth=truth, report=args.report,
                    progress=False if (args.quiet or args.json) else None)
    if args.json:
        return json.dumps({"table": json.loads(table.to_json(orient="records")),
                           "recommendation": recommendation(table),
                           "tolerance": table.attrs["tolerance"], "floor_quality": table.attrs["floor_quality"]},
                          indent=2)
    columns = [c for c in ["model", "status", "quality", "detection_auc", "marginal_fidelity", "pairwise_fidelity",
                           "utility_ratio", "dcr_ratio", "log_likelihood", "kl_to_truth", "fit_seconds",
                           "sample_rows_per_second", "recommended"] if c in table.columns]
    text = table[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")
    text += "\n\n" + recommendation(table)
    if args.report:
        text += f"\nreport written to {args.report}"
    return text


def _plain_json(value):
    """JSON for numpy scalars (and anything else as text)."""
    return value.item() if hasattr(value, "item") else str(value)


def _strict_json(value) -> str:
    """Standard JSON (what jq and other strict parsers read): NaN and infinities become null."""
    def clean(item):
        if isinstance(item, dict):
            return {key: clean(v) for key, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(v) for v in item]
        if getattr(item, "ndim", None) == 0 and hasattr(item, "item"):     # numpy scalars
            item = item.item()
        elif hasattr(item, "tolist"):                                      # numpy arrays
            return clean(item.tolist())
        if isinstance(item, float) and not math.isfinite(item):
            return None
        return item
    return json.dumps(clean(value), indent=2, default=_plain_json, allow_nan=False)


def _models(args) -> str:
    from .registry import models

    table = models()
    if args.json:
        return json.dumps(table, indent=2, default=str)
    lines = [f"{'model':<15}{'family':<17}{'log_prob':<10}{'impute':<13}description"]
    lines += [f"{name:<15}{m['family']:<17}{m['log_prob']:<10}{m['impute']:<13}{m['description']}"
              for name, m in table.items()]
    return "\n".join(lines)


def _datasets(args) -> str:
    from . import datasets

    rows = [datasets.info(name) for name in datasets.names()]
    if args.json:
        return json.dumps([{"name": d.name, "description": d.description, "source": d.source,
                            "known_truth": d.truth is not None, "target": d.target, "kind": d.kind}
                           for d in rows], indent=2)
    return "\n".join(f"{d.name:<15}{d.kind:<8}{d.description} ({d.source})" for d in rows)


def _demo(args) -> str:
    from . import demo
    from .io import write_table, write_text

    if args.which == "forecast":
        figure = args.out or "plausible-forecast-demo.png"
        if Path(figure).suffix.lower() != ".png":
            raise ValueError(f"--out for the forecast demo is the figure: give a .png file, got {figure!r}")
        demo.forecast_demo(seed=args.seed, figure=figure)
        return ""   # the demo itself says where the figure went
    args.out = args.out or "plausible-demo.md"
    sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
    if not sizes or min(sizes) < 1:
        raise ValueError(f"--sizes must be positive whole numbers, got {args.sizes!r}")
    results = demo.run(sizes=sizes, seed=args.seed)
    if Path(args.out).suffix.lower() in (".md", ".txt"):
        write_text(demo.to_markdown(results), args.out)
    else:
        write_table(results, args.out)
    return f"table written to {args.out}"


def _series_frames(args, quiet: bool = False) -> tuple:
    """The table of FILE (a file or a built-in series) and [(id or None, pandas Series, times)] per series."""
    import pandas as pd

    from .forecasting import _split_frame

    frame = _read(args.data, args.na_values)
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", UserWarning)
        series, _ = _split_frame(frame, args.id_column, args.time_column, args.value_column)
    out = []
    for key, values, times in series:
        if times is not None and pd.api.types.is_datetime64_any_dtype(times):
            out.append((key, pd.Series(values, index=pd.DatetimeIndex(times)), times))
        else:
            out.append((key, pd.Series(values), times))
    return frame, out


DIFFERENCES = ["auto", "trend", "0", "1", "2"]
DIFFERENCE_HELP = ("trend treatment before modelling: auto (default: KPSS and ADF tests decide), trend (remove a "
                   "straight line), or 0, 1, 2 differences")
ERRORS_HELP = ("errors of window models: model (the model's own conditional draws), bootstrap (its conditional "
               "mean plus resampled in-sample error vectors), auto (default: bootstrap for gaussian windows)")


SPREAD_HELP = ("model (default): paths as the model drew them; validated (with --model auto): their spread around "
               "the mean scaled by the factor with the lowest CRPS on auto's validation origins inside the history")


def _difference(text: str):
    return int(text) if text.isdigit() else text


def _check_counts(args) -> None:
    """The CLI's own names in the messages (--paths, not n_paths)."""
    for flag in ("horizon", "paths", "origins", "window", "season"):
        value = getattr(args, flag, None)
        if value is not None and value < 1:
            raise ValueError(f"--{flag} must be a positive whole number, got {value}")


def _forecast(args) -> str:
    import numpy as np

    from .forecasting import forecast, future_times, plot_fan
    from .io import write_table

    _check_table_out(args.out)
    _check_figure_out(args.plot or str(Path(args.out).with_suffix(".png")))
    _check_counts(args)
    if args.jobs < 1 and args.jobs != -1:
        raise ValueError(f"--jobs must be a positive whole number or -1 (one per CPU), got {args.jobs}")
    frame, series = _series_frames(args, quiet=True)       # (forecast itself warns about the same table)
    table = forecast(frame, horizon=args.horizon, n_paths=args.paths, model=args.model, seed=args.seed,
                     window=args.window, season=args.season, difference=_difference(args.difference),
                     errors=args.errors, spread=args.spread, id_column=args.id_column, time_column=args.time_column,
                     value_column=args.value_column, on_error=args.on_error, n_jobs=args.jobs)
    write_table(table, args.out)
    plot = args.plot or str(Path(args.out).with_suffix(".png"))
    skipped = table.attrs.get("skipped", {})
    done = [s for s in series if s[0] not in skipped]
    key, values, times = done[0]
    first = table if key is None else table[table["id"] == key]
    paths = first.pivot(index="path", columns="step", values="value").to_numpy()
    name = f"series {key!r}: " if key is not None else ""
    upcoming = future_times(times, args.horizon) if times is not None and len(times) == len(values) else None
    axis = None if upcoming is None else np.concatenate([np.asarray(times), np.asarray(upcoming)])
    used = table.attrs.get("models", {}).get(key, args.model)
    label = f"{args.model} → {used}" if args.model == "auto" else used
    plot_fan(values.to_numpy(), paths, plot, title=f"{name}{args.paths} paths, {args.horizon} steps ahead "
             f"(model {label})", seed=args.seed, times=axis)
    more = f" (fan chart of the first of {len(done)} series)" if len(done) > 1 else ""
    models = sorted(set(table.attrs.get("models", {}).values()))
    left = (f"; skipped {len(skipped)} series that could not be forecast: " +
            ", ".join(repr(k) for k in skipped)) if skipped else ""
    return (f"wrote {args.paths} paths x {args.horizon} steps for {len(done)} series to {args.out} "
            f"(model: {', '.join(models) or args.model}); fan chart {plot}{more}{left}")


def _backtest(args) -> str:
    from .forecasting import backtest

    _check_counts(args)
    _, series = _series_frames(args)
    results = {}
    for key, values, _ in series:   # values: a pandas Series, on its time index when the file has dates
        try:
            results[key] = backtest(values, horizon=args.horizon, origins=args.origins, n_paths=args.paths,
                                    model=args.model, seed=args.seed, season=args.season, errors=args.errors,
                                    spread=args.spread, window=args.window, difference=_difference(args.difference),
                                    progress=False if args.json else None, n_jobs=args.jobs)
        except ValueError as error:
            raise ValueError(f"series {key!r}: {error}" if key is not None else str(error)) from None
    keys = ["model", "crps", "mase", "coverage_50", "coverage_80", "coverage_95", "typicality", "seconds"]
    if args.json:
        return _strict_json([{"id": key, **{k: r.get(k) for k in keys + ["season"]},
                              "per_origin": json.loads(r["per_origin"].to_json(orient="records"))}
                             for key, r in results.items()])
    lines = [f"{'series':<12}" + "".join(f"{k:>13}" for k in keys)]
    for key, r in results.items():
        cells = [f"{r[k]:>13}" if isinstance(r.get(k), str) else f"{r.get(k, float('nan')):>13.4g}" for k in keys]
        lines.append(f"{str(key if key is not None else args.data)[:11]:<12}" + "".join(cells))
    lines += ["", "crps: lower is better (series units); mase < 1 beats the (seasonal-)naive forecast; "
              "coverage_L: share of outcomes inside the central L% interval (nominal L/100); typicality: "
              "paths' within-path sd over the outcome's (1: typical, 0: a flat mean path)."]
    return "\n".join(lines)


HANDLERS = {"fit": _fit, "sample": _sample, "impute": _impute, "score": _score, "evaluate": _evaluate,
            "compare": _compare, "models": _models,
            "datasets": _datasets, "demo": _demo, "forecast": _forecast, "backtest": _backtest}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        with warnings.catch_warnings():          # "plausible impute: warning: ...", not a source line
            warnings.showwarning = lambda message, category, *_, **__: print(
                f"plausible {args.command}: warning: {message}", file=sys.stderr)
            message = HANDLERS[args.command](args)
    except KeyboardInterrupt:
        print("plausible: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, NotImplementedError, RuntimeError) as error:
        print(f"plausible {args.command}: error: {error}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"plausible {args.command}: error: not enough memory for this request (ask for fewer rows, paths "
              "or draws, or split the work)", file=sys.stderr)
        return 2
    if message:
        print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
