"""The command line's words: every command, flag and example `plausible --help` shows.
"""
from __future__ import annotations

import argparse

from .. import __version__

EXAMPLES = {
    "fit": """examples:
  plausible fit customers.csv --out customers.plausible        # model auto: says what it chose and why
  plausible fit customers.csv --model copula --out customers.plausible
  plausible fit fashion --model histogram --set alpha=0.5 --out fashion.plausible
  plausible fit sales.parquet --model gmm --schema store=categorical --out sales.plausible
  plausible fit ventes.csv --model copula --out ventes.plausible --force   # a ;-separated file, decimal commas
  torchrun --nproc_per_node=2 -m plausible.cli fit big.parquet --model diffusion --out big.plausible
  plausible fit images/ --model vae --out faces.plausible            # a folder of PNGs (or .npy/.npz)
  plausible fit digits --model autoregressive --out digits.plausible  # a built-in image set
  plausible fit sales_parquet/ --model gaussian --out sales.plausible --engine dask --workers 2

DATA is a .csv or .parquet file, a folder of Parquet files (read a piece at a time; name the
model), or the name of a built-in dataset (see `plausible datasets`).
A CSV's separator (comma, semicolon, tab), decimal comma and encoding are found from the file
(--sep, --decimal, --encoding say them). An existing model folder is replaced only with --force.
--model auto (the default) fits bayesnet, copula, gmm and rbm on three quarters of the rows and keeps
the one whose samples a detector tells apart least from the other quarter. On images auto fits
gaussian (exact and fast; probabilistic PCA for large images): name a deep rung with --model.""",
    "sample": """example:
  plausible sample customers.plausible --n 1000 --seed 1 --out synthetic.csv
  plausible sample faces.plausible --n 64 --out samples/      # an image model: PNGs plus grid.png
  plausible sample customers.plausible --n 20000000 --out synthetic/ --engine dask --workers 2

The same model folder and seed always give the same rows. A table model's --out that ends with /
(or is a folder already) is written as Parquet pieces part-00000.parquet, ... of --shard-rows rows,
shard i drawn with its own seed derived from --seed and i: the same files for any --workers, and
without --engine one shard in memory at a time. The first shard equals `--n SHARD_ROWS` written to one
file; more rows than one shard are not the rows a single file of --n rows holds.""",
    "impute": """examples:
  plausible impute holes.csv --draws 20 --out completed.csv                 # fits on holes.csv itself
  plausible impute holes.csv --model gmm --set n_components=4 --out completed.csv
  plausible impute holes.csv --draws 20 --out completed.csv --spread-out spread.csv --pool "mean(age)"
  plausible impute holes.csv --pool "income ~ age + region" --out completed.parquet
  plausible impute customers.plausible holes.csv --draws 5 --seed 0 --out completed.csv
  plausible impute faces.plausible holes.npy --draws 8 --out fills.npy      # NaN pixels are holes
  plausible impute faces.plausible images/ --mask mask.npy --draws 8 --out fills/
  plausible impute customers.plausible holes_parquet/ --draws 5 --out completed/ --engine dask --workers 2

Without a model folder, the model (--model, default auto: printed with the reason) is fitted on
DATA itself, missing cells included. Writes one long table: the columns `draw` (0..M-1) and `row`
(the input row), then every column of the data with its missing cells filled. Observed cells are
never changed. --spread-out writes each cell's spread across the draws (std for numbers, share of draws
differing from the most common one for categories; 0 where observed). --pool (repeatable) prints Rubin's rules
for "mean(col)" or a linear regression "y ~ x1 + x2" (categorical predictors one-hot).
Images: a fitted image model and images with holes (float NaN, or --mask); writes the draws
as one array (draws, N, H, W[, C]) to .npy/.npz, or a folder of PNGs.
Parquet pieces: with a model folder, DATA a folder of Parquet files (or --out a folder: ends with /)
writes one part-i.parquet per piece, the same long table for that piece (`row` counts over the whole
table), piece i drawn with its own seed derived from --seed and i (piece 0 with --seed itself).""",
    "score": """example:
  plausible score customers.plausible new_customers.csv --out scores.csv
  plausible score customers.plausible big_parquet/ --out scores/ --engine dask --workers 2

Writes the input with a `log_prob` column (nats; probability mass for discrete cells times
density for numbers). Low values are unusual records.
DATA a folder of Parquet files (or --out a folder, ending with /): each piece is written with that
column as --out/part-i.parquet, a piece at a time.""",
    "evaluate": """examples:
  plausible evaluate --real test.csv --synthetic synthetic.csv --train train.csv --target churn
  plausible evaluate --real test.csv --synthetic synthetic.csv --model-dir customers.plausible --json
  plausible evaluate --real test_images/ --synthetic samples/ --train train.npy --model-dir faces.plausible
  plausible evaluate --real avatars_test.npy --synthetic samples.npy --truth avatars

Images (folders of PNGs, .npy/.npz) are compared as pictures: bits/dim, Fréchet distance,
precision and recall in the features of a small network trained on the real images, and
memorization against --train; --truth avatars reads the avatar features back from the samples.

Every metric is printed beside its noise floor: the same metric for a second real sample of the
same size, i.e. what a perfect generator scores with this much data.""",
    "compare": """examples:
  plausible compare customers.csv --target churn --report report.html
  plausible compare fashion --models independent,histogram,bayesnet --time-budget 60
  plausible compare customers.csv --models gmm,copula --set gmm:max_components=3 --set alpha=0.5
  plausible compare wine --target target --json

Splits the data (70% train, 30% held out), fits every model (or --models) with a time budget
each, evaluates them, ranks them and recommends the simplest one within the noise of the best.
--set model:key=value sets one model's hyperparameter; --set key=value sets it on every compared
model that has it.""",
    "models": """example:
  plausible models          # a table
  plausible models --json   # machine-readable, with hyperparameters""",
    "datasets": """example:
  plausible datasets""",
    "demo": """examples:
  plausible demo
  plausible demo --sizes 50,500 --out demo.md
  plausible demo forecast --out forecast-demo.png
  plausible demo pixels --out pixels/
  plausible demo pixels --model vae --time-budget 300
  plausible demo latent --out latent-map.png
  plausible demo restore --out restore.png
  plausible demo classify --out classify/
  plausible demo collapse --out collapse/ --seeds 5 --generations 10

`plausible demo` (or `plausible demo fashion`) fits histogram, independent and bayesnet on N draws
of the fashion avatars and measures the exact distance of each learned distribution to the known
truth. `plausible demo forecast` forecasts 50 points of standard Gaussian noise: the most likely
future (the mean path, all zeros) is not a typical one; it prints how the sample paths and the
mean path compare with the true future N(0, I) and draws both (default plausible-forecast-demo.png).
`plausible demo pixels` fits independent (naive Bayes on each pixel value) and a joint model (--model,
default diffusion; gaussian is fast and exact) to 4,000 avatars as 32 x 32 colour pictures, writes sample grids to the folder --out
(default plausible-pixels/) and prints how well the five features are read back from the samples,
beside real images: naive Bayes, fine on five features, draws noise on 1,024 pixels.
`plausible demo latent` fits a VAE with a 2-D latent to 4,000 jars that differ only in height and
width, draws its latent map (--out, default latent_map.png; the interpolation strip beside it as
latent_strip.png, or <stem>_strip.png with --out) and prints how well height and width are read back from
the latent (R^2). Measured on a shared 2-core machine: pixels about 12 minutes (diffusion's fit is
most of it), latent about 1.5 minutes; --time-budget caps the deep rung's training.
`plausible demo restore` blurs (with noise), box-masks and 4x downsamples held-out avatars, restores
them with scikit-image's best method (tuned on a validation split) and with 20 posterior draws under a
gmm prior (--model: another rung that restores), prints the PSNR of both and the coverage of the
draws' 90% intervals, and draws truth, measurement, both estimates, four draws and the spread per
task (--out, default plausible-restore.png); about a minute.
`plausible demo classify` draws learning curves of generative classifiers (a Gaussian per class,
Gaussian naive Bayes; --model: another rung) against logistic regression and statsmodels'
unregularized logit on breast_cancer, wine and digits, and prints where logistic regression
overtakes (the crossover); then fits them with more columns than rows, where the logit fails and
the demo says why, and measures how far each test row's probability moves over bootstrap refits;
CSV tables and PNG figures go to the folder --out (default plausible-classify/); about 80 s on 2 cores.
`plausible demo collapse` fits models on the output of models, generation after generation: each on
the last one's draws (replace) or on the real rows plus every generation's draws (accumulate), on
fashion (histogram, bayesnet; exact KL to the truth) and wine (gaussian, gmm; variance, tails), over
--seeds seeds; prints what drifts and writes collapse.png and CSV tables to the folder --out (default
plausible-collapse/); about 1-3 minutes on 2 cores.""",
    "forecast": """examples:
  plausible forecast sales.csv --horizon 12 --paths 500 --out paths.csv
  plausible forecast co2 --horizon 24 --out co2-paths.parquet --plot co2.png
  plausible forecast stores.parquet --horizon 8 --model gaussian --out paths.csv
  plausible forecast sales.csv --horizon 12 --model vae --set hidden=64 --time-budget 60 --out paths.csv
  plausible forecast stores.csv --horizon 12 --engine dask --workers 4 --out paths.csv   # series on 4 workers

FILE is a .csv/.parquet file with one numeric column, or `time` and `value` columns, or `id`,
`time` and `value` columns for several series (other names: --id-column, --time-column,
--value-column); or a built-in series (`plausible datasets`). Writes a long table with the columns
(id,) step (1..H), (time,) path (0..S-1), value, and a fan chart (history, median, 50/80/95%
bands, a few paths) to --plot (default: OUT with .png; the first series when there are several).
Decided on the history: a strong season's profile is removed (or differenced), and a trend by a
straight line or by differencing (KPSS and ADF tests); rows missing from a regular time grid are
gaps, filled by interpolation (a warning says which). See pl.forecast.""",
    "restore": """examples:
  plausible restore faces.plausible blurred.npy --operator blur:sigma=1.5 --noise-sd 0.02 --out restored/
  plausible restore faces.plausible small/ --operator downsample:4 --noise-sd 0.01 --truth test/ --out sr/
  plausible restore digits.plausible holes.npy --operator mask:known.png --noise-sd 0 --draws 50 --out filled/
  plausible restore faces.plausible y.npy --operator matrix:A.npy --noise-sd 0.05 --method exact --out r/

MEASUREMENTS are y = A x + noise of images like the ones MODEL_DIR was fitted on (from `plausible fit
IMAGES --model gmm`; gaussian and gmm restore exactly, diffusion and vae with their samplers): a .npy/
.npz array (N, ...) of floats on the 0..1 intensity scale, NaN where a mask measured nothing, or a
folder of PNGs (value / 255). --operator says what A is: blur:sigma=1.5 (a Gaussian, in pixels,
mirrored at the edges) or blur:kernel=K.npy, downsample:4 (the mean of each 4 x 4 block), identity
(denoising), mask:KNOWN.npy (True = measured) or mask:KNOWN.png (white = measured), matrix:A.npy
(M x D on the flattened image). Writes to the folder --out: draws.npy (draws, N, H, W[, C]), mean.npy,
spread.npy (the draws' standard deviation per pixel), mean.png and spread.png (grids; white = the
largest spread) and figure.png (truth if given, measurement, mean, four draws, spread); prints the
method that ran and, with --truth, pl.evaluate_restoration's PSNR, SSIM and 90% coverage.""",
    "backtest": """examples:
  plausible backtest nile --horizon 10 --origins 5
  plausible backtest sales.csv --horizon 12 --origins 4 --model gaussian --json
  plausible backtest sales.csv --horizon 12 --model gaussian --set shrinkage=0.1

Forecasts from each of the last K origins (one every H steps), refitting on the history before
each, and scores the sample paths against what happened: CRPS, MASE of the median path, coverage
of the central 50/80/95% intervals (nominal 0.50/0.80/0.95) and typicality (1: the paths move
like the data does; 0: a flat mean path).""",
}


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (what every other error of the command line is)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """The examples as written; flag help wrapped between words, never inside a flag (--spread-out)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


class _Deprecated(argparse.Action):
    """An old spelling of a flag: stores into the new flag's place and notes the spelling, so that
    `main` warns once (one line on stderr) before the command runs."""

    def __init__(self, option_strings, dest, new: str, **kwargs):
        self.new = new
        kwargs["help"] = f"(deprecated: use {new})"
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        used = dict(getattr(namespace, "deprecated", None) or {})
        used[option_string] = self.new
        namespace.deprecated = used


def _seconds(text: str) -> float:
    """--time-budget: a positive number of seconds (NaN, 0 and negatives refused by argparse, on one line)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _model_options(command: argparse.ArgumentParser, set_help: str, budget_help: str,
                   budget_default: float | None = None, set_metavar: str = "KEY=VALUE") -> None:
    """--set and --time-budget: the same two flags on every command that fits a model."""
    command.add_argument("--set", action="append", default=[], metavar=set_metavar, help=set_help)
    command.add_argument("--time-budget", type=_seconds, default=budget_default, metavar="SECONDS", help=budget_help)


TRAINING_BUDGET_HELP = "training time limit in seconds for deep models (others ignore it; default: none)"


def _series_options(command: argparse.ArgumentParser, horizon_help: str) -> None:
    """What forecast and backtest share: the series, the horizon and paths, the model, the transforms
    and errors, the seed, the columns."""
    command.add_argument("data", metavar="FILE", help="a .csv/.parquet file or a built-in series name")
    command.add_argument("--horizon", type=int, required=True, help=horizon_help)
    command.add_argument("--model", default="auto", help="auto, statespace or a ladder model name (default auto)")
    _model_options(command, "a hyperparameter of --model (repeatable; a mixture a+b: of each model)",
                   TRAINING_BUDGET_HELP)
    command.add_argument("--season", type=int, help="seasonal period (default: detected; 1 = none)")
    command.add_argument("--window", type=int, help="history steps a window model conditions on (default: chosen)")
    command.add_argument("--difference", default="auto", choices=DIFFERENCES, help=DIFFERENCE_HELP)
    command.add_argument("--errors", default="auto", choices=["auto", "model", "bootstrap"], help=ERRORS_HELP)
    command.add_argument("--spread", default="auto", choices=["auto", "model", "validated"], help=SPREAD_HELP)
    command.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    for option in ("id", "time", "value"):
        command.add_argument(f"--{option}-column", default=option, metavar="NAME",
                             help=f"name of the {option} column (default {option})")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="plausible",
        description="Learn the distribution of your data, then sample, impute and score with it.",
        epilog="Run `plausible COMMAND --help` for each command's options and an example.\n"
               "Start with `plausible demo`.",
        formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"plausible {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=help, epilog=EXAMPLES[name],
                                   formatter_class=_Formatter)

    fit = command("fit", "fit a model to a table and save it to a folder")
    fit.add_argument("data", metavar="DATA", help="a .csv/.parquet file, a folder of Parquet files, a folder of PNGs "
                     "or a .npy/.npz file of images, or a built-in dataset name")
    fit.add_argument("--model", default="auto", help="model name (see `plausible models`), or auto (default): "
                     "the fast rung a detector tells apart least from held-back rows")
    fit.add_argument("--out", required=True, metavar="MODEL_DIR", help="folder to save the fitted model in")
    fit.add_argument("--force", action="store_true", help="replace the model already saved in MODEL_DIR")
    fit.add_argument("--seed", type=int, default=0, help="random seed of the fit (default 0)")
    _model_options(fit, "a hyperparameter of --model (repeatable)", TRAINING_BUDGET_HELP)
    fit.add_argument("--schema", action="append", default=[], metavar="COLUMN=KIND",
                     help="override a column's kind: numeric, integer, categorical, boolean, datetime, id; or say "
                          "how a number column is modelled: discrete (only the values it took) or continuous "
                          "(repeatable)")

    sample = command("sample", "draw new synthetic rows from a fitted model")
    sample.add_argument("model_dir", metavar="MODEL_DIR", help="a fitted model's folder (from `plausible fit`)")
    sample.add_argument("--n", type=int, required=True, help="number of rows")
    sample.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet; a folder (ending with "
                        "/) for Parquet pieces; for an image model a folder (PNGs plus grid.png) or a .npy/.npz file")
    sample.add_argument("--shard-rows", type=int, default=1_000_000, metavar="N",
                        help="rows per Parquet piece when --out is a folder (default 1,000,000)")
    sample.add_argument("--force", action="store_true", help="replace the Parquet pieces of a non-empty --out folder")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    impute = command("impute", "fill the missing cells of a table with several plausible draws")
    impute.usage = "plausible impute [MODEL_DIR] DATA --out FILE [--draws M] [--model NAME] [options]"
    impute.add_argument("inputs", nargs="+", metavar="[MODEL_DIR] DATA",
                        help="a .csv/.parquet file with missing cells, optionally after a fitted model folder")
    impute.add_argument("--draws", type=int, default=5, help="number of completed copies (default 5)")
    impute.add_argument("--mask", metavar="MASK.npy", help="images: a boolean .npy array, True = pixel to fill "
                        "(float images may mark holes with NaN instead)")
    impute.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet, or a folder (ending "
                        "with /) for Parquet pieces")
    impute.add_argument("--force", action="store_true", help="replace the Parquet pieces of a non-empty --out folder")
    impute.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    impute.add_argument("--model", default=None, help="model to fit on DATA: auto (default) or a name "
                                                      "(see `plausible models`); not with a MODEL_DIR")
    _model_options(impute, "a hyperparameter of --model (repeatable)", TRAINING_BUDGET_HELP)
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
    impute.add_argument("--spread-out", metavar="FILE", help="also write each cell's spread across the draws "
                                                            "(.csv or .parquet)")
    impute.add_argument("--spread", dest="spread_out", metavar="FILE", action=_Deprecated, new="--spread-out")
    impute.add_argument("--pool", metavar="STATISTIC", action="append", default=[],
                        help='print Rubin\'s rules for "mean(col)" or "y ~ x1 + x2" (repeatable; '
                             'a name holding + - ~ goes between backticks: "`age-group` ~ x")')

    score = command("score", "score how likely each row is under a fitted model (log_prob)")
    score.add_argument("model_dir", metavar="MODEL_DIR", help="a fitted model's folder (from `plausible fit`)")
    score.add_argument("data", metavar="DATA", help="the rows to score: a .csv or .parquet file, or a folder of "
                       "Parquet files")
    score.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet: DATA with a score "
                       "column; a folder (ending with /) for Parquet pieces")
    score.add_argument("--force", action="store_true", help="replace the Parquet pieces of a non-empty --out folder")
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
    evaluate.add_argument("--model-dir", metavar="MODEL_DIR", help="the fitted model's folder: enables held-out "
                                                                   "log-likelihood")
    evaluate.add_argument("--model", dest="model_dir", metavar="MODEL_DIR", action=_Deprecated, new="--model-dir")
    evaluate.add_argument("--target", metavar="COL", help="a column to predict: enables the utility ratio")
    evaluate.add_argument("--truth", metavar="DATASET", help="a built-in dataset with a known truth (fashion)")
    evaluate.add_argument("--seed", type=int, default=0, help="random seed of the metrics' classifiers and splits "
                                                              "(default 0)")
    evaluate.add_argument("--json", action="store_true", help="print JSON (with meanings and details)")

    DEFAULT_TIME_BUDGET = 120.0  # compare.DEFAULT_TIME_BUDGET, not imported: `plausible --help` stays fast
    compare = command("compare", "fit the model ladder on one table, rank the models and recommend one")
    compare.add_argument("data", metavar="DATA", help="a .csv/.parquet file or a built-in dataset name")
    compare.add_argument("--models", metavar="a,b,c", help="models to compare (default: all)")
    _model_options(compare, "a hyperparameter: model:key=value for one model, key=value for every compared model "
                            "that has it (repeatable)",
                   f"time limit to fit and sample each model (default {DEFAULT_TIME_BUDGET:g}); deep models train "
                   "for 70%% of it; evaluating each model and the noise floor come on top",
                   budget_default=DEFAULT_TIME_BUDGET, set_metavar="[MODEL:]KEY=VALUE")
    compare.add_argument("--target", metavar="COL", help="a column to predict: adds the utility ratio")
    compare.add_argument("--report", metavar="FILE", help="write a self-contained HTML report (PNG figures beside it)")
    compare.add_argument("--seed", type=int, default=0, help="random seed of the split and the fits (default 0)")
    compare.add_argument("--json", action="store_true", help="print the table as JSON")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")

    models = command("models", "list the models and what each can do")
    models.add_argument("--json", action="store_true", help="print JSON")

    data = command("datasets", "list the built-in datasets")
    data.add_argument("--json", action="store_true", help="print JSON")

    demo = command("demo", "the fashion demo (which model wins at which size), the forecast demo, or the image "
                           "demos")
    demo.add_argument("which", nargs="?", choices=["fashion", "forecast", "pixels", "latent", "restore", "collapse",
                                             "classify"],
                      default="fashion",
                      help="fashion (default), forecast (noise: the mean path is not a typical future), pixels "
                           "(naive Bayes on avatar pixels beside a joint model), latent (a 2-D VAE latent of jars) "
                           "or restore (blurred, masked and downsampled avatars: scikit-image beside posterior draws), "
                           "collapse (models trained on models' output: replace against accumulate), "
                           "classify (generative classifiers against logistic regression by training size)")
    demo.add_argument("--sizes", default="50,500,5000,50000",
                      help="fashion: training sizes, comma-separated (default 50,500,5000,50000)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--out", default=None, metavar="PATH",
                      help="also write the table here (.md, .csv or .parquet; default plausible-demo.md); "
                           "forecast: the figure (.png; default plausible-forecast-demo.png); pixels: the folder "
                           "for the sample grids (default plausible-pixels); latent: the latent map (.png; default "
                           "latent_map.png, the strip beside it); restore: the figure (.png; default "
                           "plausible-restore.png); collapse: the folder for its figure and tables (default "
                           "plausible-collapse); classify: the folder for its tables and figures (default "
                           "plausible-classify)")
    demo.add_argument("--model", default=None, metavar="NAME",
                      help="pixels: the rung fitted beside independent (default diffusion; gaussian, vae...); "
                           "restore: the prior (default gmm); classify: the generative rung (default gaussian and "
                           "naive Bayes)")
    demo.add_argument("--time-budget", type=_seconds, default=None, metavar="SECONDS",
                      help="pixels, latent, restore and classify (with --model): training time limit of a deep "
                           "rung (default: none)")
    demo.add_argument("--seeds", type=int, default=5, metavar="N",
                      help="collapse: seeds, each its own real rows and draws (default 5)")
    demo.add_argument("--generations", type=int, default=10, metavar="N",
                      help="collapse: generations in each chain, the first fitted on real rows (default 10)")

    forecast = command("forecast", "sample many typical future paths of a series (and draw a fan chart)")
    _series_options(forecast, "steps ahead to forecast")
    forecast.add_argument("--paths", type=int, default=200, help="sample paths per series (default 200)")
    forecast.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet (long table)")
    forecast.add_argument("--plot", metavar="FAN.png",
                          help="fan chart; its suffix picks the format: .png, .pdf, .svg, ... (default: OUT with .png)")
    forecast.add_argument("--jobs", type=int, default=1, metavar="N",
                          help="with several series: processes forecasting series side by side (default 1; -1: one "
                               "per CPU); the paths are the same for any N")
    forecast.add_argument("--on-error", default="raise", choices=["raise", "skip"],
                          help="with several series: raise (default) stops at the first series that cannot be "
                               "forecast; skip leaves it out with a warning and forecasts the rest")

    restore = command("restore", "restore images from blurred, masked or downsampled measurements: posterior "
                                 "draws, their mean and spread")
    restore.add_argument("model_dir", metavar="MODEL_DIR", help="a fitted image model's folder (the prior)")
    restore.add_argument("data", metavar="MEASUREMENTS", help="a .npy/.npz array of measurements (NaN where a mask "
                         "measured nothing) or a folder of PNGs")
    restore.add_argument("--operator", required=True, metavar="SPEC", help="what was measured: blur:sigma=1.5, "
                         "blur:kernel=K.npy, downsample:4, identity, mask:KNOWN.npy (or .png), matrix:A.npy")
    restore.add_argument("--noise-sd", type=float, required=True, metavar="SD",
                         help="the measurement noise's standard deviation on the 0..1 intensity scale (0: none)")
    restore.add_argument("--draws", type=int, default=20, help="posterior draws per image (default 20)")
    restore.add_argument("--out", required=True, metavar="FOLDER", help="folder for draws.npy, mean.npy, spread.npy, "
                         "mean.png, spread.png and figure.png")
    restore.add_argument("--truth", metavar="IMAGES", help="the true images (a .npy/.npz file or a folder of PNGs, "
                         "one per measurement): shown in the figure and scored")
    restore.add_argument("--method", default="auto", help="the sampler: auto (default: the best measured for the "
                         "model and operator) or one the model offers (exact, ddrm, dps, repaint, ...)")
    restore.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    restore.add_argument("--force", action="store_true", help="replace a non-empty --out folder")

    backtest = command("backtest", "rolling-origin evaluation of forecasts: CRPS, MASE, coverage, typicality")
    _series_options(backtest, "steps ahead at each origin")
    backtest.add_argument("--origins", type=int, default=5, help="number of forecast origins (default 5)")
    backtest.add_argument("--paths", type=int, default=200, help="sample paths per forecast (default 200)")
    backtest.add_argument("--jobs", type=int, default=1, metavar="N",
                          help="processes forecasting origins side by side (default 1; -1: one per CPU); the scores "
                               "are the same for any N")
    backtest.add_argument("--json", action="store_true", help="print JSON (with the per-origin table)")
    for reader in (fit, impute, score, evaluate, compare, forecast, backtest):
        _csv_options(reader)
    for spread in (fit, sample, score, impute, forecast, backtest):
        _engine_options(spread)
    return parser


ENGINE_HELP = ("run on a distributed engine: dask (a local Dask cluster started for this command; needs "
               "pip install 'plausible[distributed]'). Default: this process")


def _engine_options(command: argparse.ArgumentParser) -> None:
    """--engine and --workers: the same two flags on every command that can spread its work."""
    command.add_argument("--engine", choices=["dask"], default=None, help=ENGINE_HELP)
    command.add_argument("--workers", type=int, default=None, metavar="N",
                         help="with --engine dask: worker processes of the local cluster (default: one per CPU); "
                              "results are the same for any N")


def _csv_options(command: argparse.ArgumentParser) -> None:
    """How to read a CSV: the same four flags on every command that reads a table."""
    command.add_argument("--na-values", action="append", default=[], metavar="TEXT",
                         help="text that marks a missing cell in a CSV, besides empty cells and NA/NaN/null "
                              "(repeatable), e.g. --na-values '?'")
    command.add_argument("--sep", type=_separator, metavar="CHAR",
                         help="a CSV's separator: comma, semicolon, tab, or any one character (default: found from "
                              "the file)")
    command.add_argument("--decimal", choices=[".", ","], metavar="MARK",
                         help="a CSV's decimal mark (default: found from the file; ',' for 3,14 in a file separated "
                              "by semicolons or tabs)")
    command.add_argument("--encoding", metavar="NAME",
                         help="a CSV's text encoding, e.g. utf-8, cp1252, latin-1 (default: UTF-8, else cp1252 or "
                              "latin-1 with a warning)")


SEPARATOR_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}


def _separator(text: str) -> str:
    """--sep: a name (tab, ...) or one character ('\\t' as a shell passes it means a tab)."""
    sep = SEPARATOR_NAMES.get(text.lower(), text)
    if len(sep) != 1 or sep in "\"\r\n":
        raise argparse.ArgumentTypeError(f"must be one character or comma, semicolon, tab, pipe; got {text!r}")
    return sep


DIFFERENCES = ["auto", "trend", "0", "1", "2"]
DIFFERENCE_HELP = ("trend treatment before modelling: auto (default: KPSS and ADF tests decide), trend (remove a "
                   "straight line), or 0, 1, 2 differences")
ERRORS_HELP = ("errors of window models: model (the model's own conditional draws), bootstrap (its conditional "
               "mean plus resampled in-sample error vectors), auto (default: bootstrap for gaussian windows)")


SPREAD_HELP = ("auto (default): validated with --model auto, model otherwise; model: paths as the model drew them; "
               "validated: their spread around the mean widened by the factor with the lowest CRPS on rolling "
               "origins inside the history")


def _difference(text: str):
    return int(text) if text.isdigit() else text
