"""Learning curves and the spread of predictions: generative classifiers beside logistic regression.

    from plausible.experiments import learning_curves, prediction_spread
    table = learning_curves(X, y, ["gaussian", "logistic", "logit"], sizes=[20, 50, 200], repeats=5,
                            figure="curves.png")
    summarize(table)                 # mean test error and its 95% interval per classifier and size
    rows, summary = prediction_spread(pl.GenerativeClassifier("gaussian"), X, y, X_test, refits=30)

Generative against discriminative (Ng & Jordan, "On discriminative vs. generative classifiers",
NIPS 2002). A generative classifier learns P(x | c) per class and classifies by Bayes' rule
(`pl.GenerativeClassifier`); logistic regression learns P(c | x) directly. The generative model
makes stronger assumptions, so it is expected to reach its (higher) best error with fewer rows:
ahead at small n, behind at large n. `learning_curves` measures this on any data: it holds out a
fixed test set (`test_size`, stratified), and for each training size draws `repeats` stratified
training sets from the rest (the pool: every class gets its share, and at least two rows), fits
every contender on the same rows and records its test error and log loss. `crossover` reads the
size from which logistic regression stays ahead off the summary.

The unregularized logit. statsmodels' `Logit` (`MNLogit` for more than two classes) is the maximum
likelihood logistic regression, with no penalty. It exists only when the classes overlap: with
more columns than rows, or whenever a hyperplane separates the training classes, the likelihood
rises without bound as the coefficients grow, and statsmodels says so (perfect separation, no
convergence, a Hessian it cannot invert, a singular matrix). `StatsmodelsLogit` turns those
warnings into the errors they used to be, and `learning_curves` records each failure with its
message (`failed`, `failure`) instead of raising. scikit-learn's `LogisticRegression` answers in
every case: its penalty (a Gaussian prior on the coefficients) supplies what the rows do not.

The randomness a model adds. Where the data cannot decide, the answer comes from the model (its
prior, penalty or smoothing) and from the particular rows it saw. `prediction_spread` refits a
classifier on bootstrap resamples of the training rows (within each class, so every refit sees
every class) and, where fitting is random, with a fresh seed each time (every parameter named
`random_state` or `seed`), and reports for each test row the spread of its predicted probability:
the sd and the central 90% range over refits, and how often refits agree on its class.
"""
from __future__ import annotations

import time
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..core.errors import ParameterError
from ..tasks.classifier import GenerativeClassifier
from ..tasks.plots import figure_format

DEFAULT = ("gaussian", "naive_bayes", "logistic", "logistic_unpenalized", "logit")
COLUMNS = ["classifier", "train_size", "repeat", "test_error", "log_loss", "seconds", "failed", "failure"]
SEED_PARAMETERS = ("random_state", "seed")


# ---------------------------------------------------------------------- the contenders
def _logistic(penalized: bool = True):
    """scikit-learn's LogisticRegression on standardized columns: L2 with C=1 (its default), or no
    penalty at all, trained by L-BFGS until its gradient test passes (max_iter high enough that it
    does on the bundled data sets)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if penalized:
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    # C=inf is scikit-learn's spelling of no penalty since 1.8 (penalty=None is deprecated)
    return make_pipeline(StandardScaler(), LogisticRegression(C=np.inf, max_iter=10_000))


CONTENDERS = {
    # generative: one model per class, Bayes' rule; numbers as continuous (digits' grey levels too)
    "gaussian": ("one full-covariance Gaussian per class (QDA with shrinkage)",
                 lambda: GenerativeClassifier("gaussian", schema="continuous")),
    "naive_bayes": ("Gaussian naive Bayes: one diagonal Gaussian per class (gmm, 1 component)",
                    lambda: GenerativeClassifier("gmm", schema="continuous", n_components=1, covariance="diag")),
    "independent": ("naive Bayes on histograms (the independent rung)",
                    lambda: GenerativeClassifier("independent", schema="continuous")),
    "gmm": ("a Gaussian mixture per class (components by BIC)",
            lambda: GenerativeClassifier("gmm", schema="continuous")),
    # discriminative
    "logistic": ("scikit-learn's LogisticRegression (L2 penalty C=1, standardized columns)", _logistic),
    "logistic_unpenalized": ("scikit-learn's LogisticRegression with no penalty (C=inf, L-BFGS, standardized "
                             "columns): Ng & Jordan's logistic regression, trained by gradient steps",
                             lambda: _logistic(penalized=False)),
    "logit": ("statsmodels' unregularized Logit (MNLogit for >2 classes), maximum likelihood",
              lambda: StatsmodelsLogit()),
}


def contender(name: str):
    """A fresh estimator for a built-in contender's name (`CONTENDERS`)."""
    if name not in CONTENDERS:
        raise ParameterError(f"no built-in classifier {name!r}; name one of {', '.join(CONTENDERS)} or give an "
                             "estimator")
    return CONTENDERS[name][1]()


def generative(estimator) -> bool:
    """Whether an estimator classifies by Bayes' rule from a generative model."""
    return isinstance(estimator, GenerativeClassifier)


class StatsmodelsLogit(ClassifierMixin, BaseEstimator):
    """statsmodels' maximum-likelihood `Logit` (two classes) or `MNLogit` (more) as a scikit-learn
    classifier. Columns constant in the training rows are dropped (they carry nothing and would make
    the matrix singular by construction); the rest are standardized and a constant is added.

    strict: a fit statsmodels warns about (perfect separation, no convergence, a Hessian it cannot
        invert) fails with statsmodels' own message, as it did before statsmodels 0.14 turned
        perfect separation from an error into a warning; False keeps the coefficients where the
        optimizer stopped.
    method, max_iter: statsmodels' optimizer and its iteration limit (statsmodels' defaults: Newton-Raphson,
        35 iterations).
    """

    def __init__(self, method: str = "newton", max_iter: int = 35, strict: bool = True):
        self.method = method
        self.max_iter = max_iter
        self.strict = strict

    def fit(self, X, y) -> StatsmodelsLogit:
        import statsmodels.api as sm
        from statsmodels.tools import sm_exceptions

        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"the logit needs at least two classes, got only {self.classes_[0]}")
        self.keep_ = X.std(axis=0) > 0
        self.center_, self.scale_ = X[:, self.keep_].mean(axis=0), X[:, self.keep_].std(axis=0)
        design = self._design(X)
        model = (sm.Logit if len(self.classes_) == 2 else sm.MNLogit)(codes, design)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")         # overflow in exp while coefficients run off
            if self.strict:
                for failure in (sm_exceptions.PerfectSeparationWarning, sm_exceptions.ConvergenceWarning,
                                sm_exceptions.HessianInversionWarning):
                    warnings.simplefilter("error", failure)
            self.results_ = model.fit(disp=0, method=self.method, maxiter=self.max_iter)
        return self

    def _design(self, X) -> np.ndarray:
        z = (X[:, self.keep_] - self.center_) / self.scale_
        return np.column_stack([np.ones(len(z)), z])

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with np.errstate(over="ignore"):
            p = np.asarray(self.results_.predict(self._design(X)))
        return np.column_stack([1 - p, p]) if p.ndim == 1 else p

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def resolve_classifiers(classifiers) -> dict:
    """name -> an unfitted estimator, from names, a dict of name -> estimator or name, or None."""
    if classifiers is None:
        classifiers = DEFAULT
    if isinstance(classifiers, str):
        classifiers = [classifiers]
    if not isinstance(classifiers, dict):
        classifiers = {name: name for name in classifiers}
    if not classifiers:
        raise ParameterError("classifiers is empty: name at least one (e.g. 'gaussian', 'logistic')")
    chosen = {}
    for name, estimator in classifiers.items():
        chosen[str(name)] = contender(estimator) if isinstance(estimator, str) else estimator
        if not hasattr(chosen[str(name)], "fit") or not hasattr(chosen[str(name)], "predict_proba"):
            raise ParameterError(f"classifier {name!r} is not a scikit-learn classifier with fit and predict_proba")
    return chosen


# ---------------------------------------------------------------------- learning curves
def learning_curves(X, y, classifiers=None, sizes=6, repeats: int = 5, seed: int = 0, test_size=0.3,
                    figure=None, title: str | None = None, per_class: int = 5) -> pd.DataFrame:
    """Test error and log loss of each classifier by training size, `repeats` stratified training
    sets per size, all drawn from one pool and scored on one held-out test set (module doc).

    classifiers: names of built-in contenders (`CONTENDERS`; default `DEFAULT`), or a dict of
        name -> scikit-learn-style classifier (or a built-in's name).
    sizes: training sizes (rows), each at least 2 per class and at most the pool; or a number of
        sizes spaced on a log scale from `per_class` rows per class to the whole pool
        (`default_sizes`; default 6).
    per_class: the smallest default size, in rows per class (default 5; at least 2).
    test_size: the held-out share (or number of rows), stratified, fixed by `seed`.
    figure: a path: draw the curves there (mean test error and its 95% interval over repeats).

    Returns a long DataFrame: classifier, train_size, repeat, test_error, log_loss, seconds (fit and
    predict),
    failed and failure (the error's one-line text; the fit is recorded, never raised).
    """
    contenders = resolve_classifiers(classifiers)
    if figure is not None:
        figure_format(figure)           # a suffix matplotlib cannot write is refused before the work
    X = X if isinstance(X, pd.DataFrame) else np.asarray(X)
    y = column_or_1d(np.asarray(y), warn=False)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    check_classification_targets(y)
    if int(repeats) < 1:
        raise ParameterError(f"repeats must be at least 1, got {repeats}")
    pool, test = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=seed)
    classes, pool_counts = np.unique(y[pool], return_counts=True)
    if len(classes) < 2:
        raise ValueError("y has a single class: a classifier needs at least two")
    if sizes is None or np.ndim(sizes) == 0:
        sizes = default_sizes(pool_counts, points=int(sizes or 6), per_class=per_class)
    sizes = sorted({int(size) for size in sizes})
    least = 2 * len(classes)
    for size in sizes:
        if not least <= size <= len(pool):
            raise ParameterError(f"training size {size} is outside {least}..{len(pool)} (2 rows per class up to "
                                 f"the {len(pool)} rows left after the {len(test)}-row test set)")
    X_test, y_test = _rows(X, test), y[test]
    rng = np.random.default_rng(seed)
    records = []
    for size in sizes:
        for repeat in range(int(repeats)):
            chosen = pool[stratified_rows(y[pool], size, rng)]
            X_train, y_train = _rows(X, chosen), y[chosen]
            fit_seed = int(rng.integers(2**31 - 1))
            for name, estimator in contenders.items():
                records.append({"classifier": name, "train_size": size, "repeat": repeat,
                                **score_fit(reseeded(clone(estimator), fit_seed), X_train, y_train, X_test, y_test)})
    table = pd.DataFrame.from_records(records, columns=COLUMNS)
    if figure is not None:
        from .figures import plot_learning_curves

        plot_learning_curves(summarize(table), figure, title=title)
    return table


def score_fit(estimator, X_train, y_train, X_test, y_test) -> dict:
    """Fit and score one classifier; a failed fit is recorded with its message."""
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(X_train, y_train)
            probabilities = estimator.predict_proba(X_test)
        if not np.all(np.isfinite(probabilities)):
            raise ValueError("its predicted probabilities are not all finite (NaN or infinite)")
    except Exception as error:          # noqa: BLE001 (a failure is a result here)
        return {"test_error": np.nan, "log_loss": np.nan, "seconds": time.perf_counter() - start,
                "failed": True, "failure": one_line(error)}
    seconds = time.perf_counter() - start
    predicted = estimator.classes_[np.argmax(probabilities, axis=1)]
    return {"test_error": float(np.mean(predicted != y_test)),
            "log_loss": float(log_loss(y_test, np.clip(probabilities, 1e-15, 1), labels=estimator.classes_)),
            "seconds": seconds, "failed": False, "failure": ""}


def one_line(error: BaseException) -> str:
    """An exception as one line: its type and first line of message."""
    message = " ".join(str(error).split()) or "(no message)"
    return f"{type(error).__name__}: {message}"[:300]


def default_sizes(class_counts, points: int = 6, per_class: int = 5) -> list:
    """`points` training sizes spaced evenly on a log scale from `per_class` rows per class (or 2,
    when a class has fewer than twice that) up to the whole pool."""
    class_counts = np.asarray(class_counts)
    total = int(class_counts.sum())
    per_class = max(int(per_class), 2)
    smallest = len(class_counts) * (per_class if class_counts.min() >= 2 * per_class else 2)
    smallest = min(smallest, total)
    return sorted({round(float(s)) for s in np.geomspace(smallest, total, points)})


def stratified_rows(y, size: int, rng) -> np.ndarray:
    """`size` row indices of `y` drawn without replacement, each class in proportion to its count
    (largest remainders) with at least 2 rows (or all it has)."""
    classes, index, counts = np.unique(y, return_inverse=True, return_counts=True)
    if size >= len(y):
        return np.arange(len(y))
    floor = np.minimum(counts, 2)
    share = floor + (size - floor.sum()) * (counts - floor) / max((counts - floor).sum(), 1)
    take = np.minimum(np.floor(share).astype(int), counts)
    order = np.argsort(-(share - take))
    for k in order:
        if take.sum() >= size:
            break
        if take[k] < counts[k]:
            take[k] += 1
    rows = [rng.choice(np.flatnonzero(index == k), take[k], replace=False) for k in range(len(classes))]
    return np.sort(np.concatenate(rows))


def reseeded(estimator, seed: int):
    """`estimator` with every parameter named `random_state` or `seed` (nested ones too) set to
    `seed`; unchanged when fitting has no seed."""
    names = [key for key in estimator.get_params(deep=True) if key.split("__")[-1] in SEED_PARAMETERS]
    return estimator.set_params(**{key: int(seed) for key in names}) if names else estimator


def _rows(X, rows):
    return X.iloc[rows].reset_index(drop=True) if isinstance(X, pd.DataFrame) else X[rows]


# ---------------------------------------------------------------------- reading the curves
def summarize(table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per classifier and size (and data set, when the table has a `data` column): fits, failed,
    mean test error with its `level` interval over the repeats that fitted (Student t, clipped to
    0..1; NaN from a single fit), and mean log loss."""
    keys = [key for key in ("data", "classifier", "train_size") if key in table.columns]
    rows = []
    for key, group in table.groupby(keys, sort=False):
        fitted = group.loc[~group["failed"].astype(bool), "test_error"].to_numpy(float)
        mean = fitted.mean() if len(fitted) else np.nan
        half = (stats.t.ppf((1 + level) / 2, len(fitted) - 1) * fitted.std(ddof=1) / np.sqrt(len(fitted))
                if len(fitted) > 1 else np.nan)
        rows.append({**dict(zip(keys, key if isinstance(key, tuple) else (key,))), "fits": len(group),
                     "failed": int(group["failed"].sum()), "error": mean,
                     "low": float(np.clip(mean - half, 0, 1)), "high": float(np.clip(mean + half, 0, 1)),
                     "log_loss": group.loc[~group["failed"].astype(bool), "log_loss"].mean()})
    return pd.DataFrame(rows)


def crossover(summary: pd.DataFrame, generative_name: str, discriminative_name: str = "logistic") -> dict:
    """Where `discriminative_name` catches up with `generative_name` in mean test error (`summarize`'s
    table for one data set): the smallest size from which the generative one is never ahead again.

    Returns {"size": the crossover, interpolated on the log scale between "before" (the last size
    where the generative one was strictly ahead) and "after" (the next size); None when the
    generative one is never ahead, or still ahead at the largest size; "text": one plain sentence}."""
    mine = summary[summary["classifier"] == generative_name].set_index("train_size")["error"]
    theirs = summary[summary["classifier"] == discriminative_name].set_index("train_size")["error"]
    sizes = [s for s in mine.index if s in theirs.index and np.isfinite(mine[s]) and np.isfinite(theirs[s])]
    if not sizes:
        return {"size": None, "before": None, "after": None,
                "text": f"{generative_name} and {discriminative_name} have no size in common that both fitted"}
    gap = np.array([theirs[s] - mine[s] for s in sizes])        # > 0: the generative one ahead
    ahead = [s for s, g in zip(sizes, gap) if g > 0]
    tried = f"{sizes[0]}-{sizes[-1]} rows"
    if not ahead:
        return {"size": None, "before": None, "after": sizes[0],
                "text": f"{discriminative_name} ahead of {generative_name} (or level) at every size tried ({tried}): "
                        "no crossover"}
    if ahead[-1] == sizes[-1]:
        text = (f"{generative_name} ahead of {discriminative_name} at every size tried ({tried}): no crossover"
                if len(ahead) == len(sizes) else
                f"{generative_name} ahead at {_listed(ahead)} rows, including the largest: the crossover, if any, "
                f"lies beyond {sizes[-1]} rows")
        return {"size": None, "before": sizes[-1], "after": None, "text": text}
    last = sizes.index(ahead[-1])
    g0, g1 = gap[last], gap[last + 1]
    share = g0 / (g0 - g1)
    size = float(np.exp(np.log(sizes[last]) + share * (np.log(sizes[last + 1]) - np.log(sizes[last]))))
    return {"size": size, "before": sizes[last], "after": sizes[last + 1],
            "text": f"{generative_name} ahead at {_listed(ahead)} rows, {discriminative_name} ahead (or level) from "
                    f"{sizes[last + 1]} on: crossover about {size:.0f} rows"}


def _listed(sizes) -> str:
    sizes = [str(s) for s in sizes]
    return sizes[0] if len(sizes) == 1 else ", ".join(sizes[:-1]) + " and " + sizes[-1]


# ---------------------------------------------------------------------- the spread of predictions
class Spread(NamedTuple):
    """`prediction_spread`'s answer: one row per test row, and the summary over rows."""
    table: pd.DataFrame
    summary: dict


def prediction_spread(estimator, X, y, X_test, refits: int = 30, seed: int = 0, bootstrap: bool = True,
                      reseed: bool = True, level: float = 0.9) -> Spread:
    """How much `estimator`'s predicted probabilities move when it is refitted (module doc).

    Each of `refits` fits sees a bootstrap resample of (X, y) drawn within each class (`bootstrap`;
    False: the same rows every time) and, with `reseed`, a fresh seed in every parameter named
    `random_state` or `seed`. For each row of `X_test`, with c its class of highest mean
    probability: the mean, sd and central `level` range of P(c | x) over the refits that fitted,
    and `agreement`, the share of refits whose predicted class is c.

    Returns Spread(table, summary): table columns row, class, mean, sd, low, high, range, agreement;
    summary: refits, failed (and first_failure), median and mean sd, median range, and `unsure`,
    the share of rows on whose class the refits disagree. Refits that fail are counted, not raised;
    when every one fails, RuntimeError with the first failure.
    """
    X = X if isinstance(X, pd.DataFrame) else np.asarray(X)
    y = column_or_1d(np.asarray(y), warn=False)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if int(refits) < 2:
        raise ParameterError(f"refits must be at least 2 to measure a spread, got {refits}")
    classes, index = np.unique(y, return_inverse=True)
    rng = np.random.default_rng(seed)
    seeds = rng.integers(2**31 - 1, size=int(refits))
    draws, failures = [], []
    for refit in range(int(refits)):
        rows = np.arange(len(y))
        if bootstrap:
            rows = np.concatenate([rng.choice(np.flatnonzero(index == k), np.sum(index == k), replace=True)
                                   for k in range(len(classes))])
        fitted = clone(estimator)
        if reseed:
            fitted = reseeded(fitted, int(seeds[refit]))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted.fit(_rows(X, rows), y[rows])
                probabilities = fitted.predict_proba(X_test)
        except Exception as error:      # noqa: BLE001 (counted in the summary)
            failures.append(one_line(error))
            continue
        aligned = np.zeros((len(probabilities), len(classes)))      # (N, K) in the order of `classes`
        aligned[:, np.searchsorted(classes, fitted.classes_)] = probabilities
        draws.append(aligned)
    if not draws:
        raise RuntimeError(f"all {refits} refits failed; the first: {failures[0]}")
    draws = np.stack(draws)                                         # (R, N, K)
    top = np.argmax(draws.mean(axis=0), axis=1)                     # (N,)
    chosen = np.take_along_axis(draws, top[None, :, None], axis=2)[..., 0]     # (R, N)
    low, high = np.quantile(chosen, [(1 - level) / 2, (1 + level) / 2], axis=0)
    agreement = (np.argmax(draws, axis=2) == top[None, :]).mean(axis=0)
    table = pd.DataFrame({"row": np.arange(len(top)), "class": classes[top], "mean": chosen.mean(axis=0),
                          "sd": chosen.std(axis=0, ddof=1) if len(chosen) > 1 else np.zeros(len(top)),
                          "low": low, "high": high, "range": high - low, "agreement": agreement})
    summary = {"refits": int(refits), "fitted": len(draws), "failed": len(failures),
               "first_failure": failures[0] if failures else "", "median_sd": float(table["sd"].median()),
               "mean_sd": float(table["sd"].mean()), "median_range": float(table["range"].median()),
               "unsure": float(np.mean(agreement < 1)), "level": level}
    return Spread(table, summary)
