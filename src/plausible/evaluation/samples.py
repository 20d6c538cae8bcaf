"""`pl.evaluate`: how close is the synthetic data to the real data, and is it copying?

Every metric is computed twice at the same sample size: real held-out rows (half A) against the
synthetic rows, and half A against the other half of the real rows (half B). The second number
is the *noise floor*: what a perfect generator, one that draws fresh rows from the very same
distribution, would score with this much data. A detection AUC of 0.58 is bad news on 100,000
rows and perfect on 60 rows; only the floor says which.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.schema import text_names
from . import metrics


@dataclass(frozen=True)
class MetricInfo:
    better: str   # "higher", "lower", "closer to 0.5", "closer to 1"
    meaning: str


METRICS = {
    "detection_auc": MetricInfo("closer to 0.5", "ROC AUC of a gradient-boosting classifier telling real held-out rows "
                                "from synthetic ones (cross-validated); 0.5 = indistinguishable"),
    "marginal_fidelity": MetricInfo("higher", "mean over columns of 1 - KS statistic (numbers) or 1 - total "
                                    "variation (labels); 1 = identical marginals"),
    "pairwise_fidelity": MetricInfo("higher", "agreement of every pair's dependence: Spearman correlations for two "
                                    "numbers, contingency tables otherwise; 1 = identical"),
    "utility_ratio": MetricInfo("higher", "score on real held-out rows of a model trained on synthetic rows, divided "
                                "by the same model trained on the real training rows (R² or ROC AUC); 1 = as useful"),
    "dcr_ratio": MetricInfo("higher", "median distance from synthetic rows to their closest training row, divided by "
                            "the same for real held-out rows; below 1 = closer to the training data than new real "
                            "data is (memorisation)"),
    "exact_copy_rate": MetricInfo("lower", "share of synthetic rows identical to a training row (compare with the "
                                  "floor: real data repeats itself too)"),
    "log_likelihood": MetricInfo("higher", "mean log_prob of the real held-out rows under the model, nats per row"),
    "kl_to_truth": MetricInfo("lower", "KL(truth || model) over every combination, nats (known truth only)"),
    "tv_to_truth": MetricInfo("lower", "total variation between truth and model over every combination"),
    # images (evaluation/image_metrics.py)
    "bits_per_dim": MetricInfo("lower", "mean -log2 P(image) / (pixels x channels) of the real held-out images"),
    "frechet_distance": MetricInfo("lower", "Fréchet distance between Gaussians fitted to real and synthetic images' "
                                   "features (a small CNN trained here on the real images)"),
    "precision": MetricInfo("higher", "share of synthetic images inside the real images' k-NN balls in feature "
                            "space (fidelity)"),
    "recall": MetricInfo("higher", "share of real images inside the synthetic images' k-NN balls in feature space "
                         "(diversity)"),
    "unreadable_share": MetricInfo("lower", "share of samples whose avatar features the package's reader cannot "
                                   "read with confidence"),
}


class Evaluation(dict):
    """A dict of metric name -> value, with the noise floor, intervals and details beside it."""

    def __init__(self, values: dict, floor: dict, intervals: dict, details: dict):
        super().__init__(values)
        self.floor, self.intervals, self.details = floor, intervals, details

    def table(self) -> pd.DataFrame:
        rows = []
        for name, value in self.items():
            low_high = self.intervals.get(name)
            rows.append({"metric": name, "value": value, "noise_floor": self.floor.get(name),
                         "interval_95": None if low_high is None else f"[{low_high[0]:.3f}, {low_high[1]:.3f}]",
                         "better": METRICS[name].better})
        return pd.DataFrame(rows)

    def to_json(self) -> dict:
        return {"metrics": dict(self), "noise_floor": self.floor,
                "intervals_95": {k: list(v) for k, v in self.intervals.items()},
                "meaning": {k: {"better": METRICS[k].better, "meaning": METRICS[k].meaning} for k in self},
                "details": self.details}


def _bootstrap_mean(values: np.ndarray, rng, draws: int = 500) -> tuple[float, float]:
    picks = rng.integers(0, len(values), size=(draws, len(values)))
    means = values[picks].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def _bootstrap_ratio(numerator: np.ndarray, denominator: float, summary, rng, draws: int = 500):
    picks = rng.integers(0, len(numerator), size=(draws, len(numerator)))
    ratios = summary(numerator[picks], axis=1) / denominator
    return float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))


def evaluate(real: pd.DataFrame, synthetic: pd.DataFrame, train: pd.DataFrame | None = None, model=None,
             target: str | None = None, truth: pd.DataFrame | str | None = None, seed: int = 0,
             labels=None) -> Evaluation:
    """Compare synthetic rows with real held-out rows; see `METRICS` for every key and direction.

    `train` (the rows the model was fitted on) enables the privacy metrics, `model` the held-out
    log-likelihood, `target` the utility ratio, `truth` (a table with a `probability` column, or a
    built-in dataset name such as "fashion") the exact distances to the true distribution.

    Images (arrays (N, H, W[, C])) are compared as pictures (`plausible.evaluation.image_metrics`):
    bits/dim, Fréchet distance, precision and recall in the features of a small network trained on
    the real images (on `labels` of the real images when given), memorization against `train`, and
    for `truth="avatars"` the features read back from the samples.
    """
    from ..data.images import is_image_batch

    if is_image_batch(real) or is_image_batch(synthetic):
        from .image_metrics import evaluate_images

        if target is not None:
            raise ValueError("target= names a table column; images have none (labels= trains the feature network "
                             "on the real images' labels)")
        return Evaluation(*evaluate_images(real, synthetic, train=train, model=model, truth=truth, labels=labels,
                                           seed=seed))
    if not isinstance(real, pd.DataFrame) or not isinstance(synthetic, pd.DataFrame):
        raise TypeError("real and synthetic must be pandas DataFrames")
    # column names are text throughout (a model fitted on columns 0, 1 samples columns "0", "1")
    real, synthetic = text_names(real), text_names(synthetic)
    if isinstance(train, pd.DataFrame):
        train = text_names(train)
    if target is not None and not isinstance(target, str):
        target = str(target)
    missing = [c for c in real.columns if c not in synthetic.columns]
    if missing:
        raise ValueError(f"the synthetic table lacks columns {missing}")
    if len(real) < 4 or len(synthetic) < 2:
        raise ValueError(f"need at least 4 real and 2 synthetic rows, got {len(real)} and {len(synthetic)}")
    if target is not None and target not in real.columns:
        raise ValueError(f"target column {target!r} is not in the table; columns are {list(real.columns)}")
    if truth is not None:
        if model is None:
            raise ValueError("truth= scores the model's own probabilities: give model= too (a model whose "
                             "log_prob is exact)")
        if isinstance(truth, str):
            from .. import datasets
            truth = datasets.truth(truth)
        if not isinstance(truth, pd.DataFrame) or "probability" not in truth.columns:
            raise ValueError("truth must be a built-in dataset name or a table with a 'probability' column")
    if train is not None:
        if not isinstance(train, pd.DataFrame):
            raise TypeError("train must be a pandas DataFrame")
        lacking = [c for c in real.columns if c not in train.columns]
        if lacking:
            raise ValueError(f"the training table lacks columns {lacking}")
        train = train[real.columns]
    extra = [c for c in synthetic.columns if c not in real.columns]
    synthetic = _dates_as_dates(synthetic[real.columns], real)
    for name in real.columns:   # a number column holding text fails here, by name, not deep in a metric
        if metrics._is_numeric(real[name]) and not metrics._is_numeric(synthetic[name]):
            try:
                metrics._numbers(synthetic[name])
            except (ValueError, TypeError) as error:
                raise ValueError(f"column {name!r} holds numbers in the real table but not in the synthetic "
                                 f"one ({error})") from None
    scored = real   # as given, for the model's log_prob
    real, synthetic, train = _ids_as_labels(train if train is not None else real, real, synthetic, train)
    rng = np.random.default_rng(seed)
    half_a, half_b = _split(real, rng)
    size = min(len(half_b), len(synthetic))
    half_b = half_b.iloc[:size]
    same_size = synthetic.iloc[rng.choice(len(synthetic), size, replace=False)].reset_index(drop=True)

    values, floor, intervals, details = {}, {}, {}, {}
    # a label column with many levels keeps its frequent labels and pools the rest, fitted on the real
    # training rows (else the held-out ones) and applied to every table the metrics compare
    reference = train if train is not None else half_b
    fitted_on = train if train is not None else real
    groups = metrics.label_groups(fitted_on)
    if groups:
        details["levels_notes"] = metrics.grouping_notes(fitted_on, groups)
    values["detection_auc"] = _attempt(details, "detection_auc",
                                       lambda: metrics.detection_auc(half_a, same_size, seed=seed, groups=groups))
    values["marginal_fidelity"], details["marginal_fidelity_per_column"] = _attempt(
        details, "marginal_fidelity",
        lambda: metrics.marginal_fidelity(half_a, same_size, per_column=True, groups=groups), (float("nan"), {}))
    values["pairwise_fidelity"] = _attempt(details, "pairwise_fidelity",
                                           lambda: metrics.pairwise_fidelity(half_a, same_size, groups=groups))
    if target is not None:
        # Trained on as many synthetic rows as there are real training rows, so the ratio asks
        # "as useful as the real data?"
        baseline = _attempt(details, "utility_ratio",
                            lambda: metrics.utility(reference, half_a, target, seed=seed, groups=groups))
        details["utility_real_baseline"] = baseline
        rows = rng.choice(len(synthetic), min(len(reference), len(synthetic)), replace=False)
        if _has_skill(baseline, real[target]):
            values["utility_ratio"] = _attempt(details, "utility_ratio", lambda: metrics.utility(
                synthetic.iloc[rows], half_a, target, seed=seed, groups=groups) / baseline)
        else:   # a ratio to a model without skill would say nothing (or flip sign): report it undefined
            values["utility_ratio"] = float("nan")
            if np.isfinite(baseline):
                details["utility_note"] = (f"the model trained on real rows scores {baseline:.3g}, no better than "
                                           f"chance: {target!r} is not predictable from the other columns here, so "
                                           "the utility ratio is undefined")
    floor.update(_floor(half_a, half_b, target, train, seed, groups))

    if train is not None:
        _attempt(details, "dcr_ratio", lambda: _privacy(half_a, half_b, same_size, train, rng, values, floor,
                                                        intervals, details))
        values.setdefault("dcr_ratio", float("nan"))

    if model is not None and getattr(model, "log_prob_kind", "none") != "none":
        per_row = _attempt(details, "log_likelihood", lambda: model.log_prob(scored, unseen="impossible"), None)
        if per_row is not None:
            values["log_likelihood"] = float(per_row.mean())
            details["zero_likelihood_rows"] = int(np.isneginf(per_row).sum())  # rows the model calls impossible
            if np.isfinite(per_row).all():
                intervals["log_likelihood"] = _bootstrap_mean(per_row, rng)

    if truth is not None and getattr(model, "log_prob_kind", "none") != "exact":
        details["truth_note"] = f"no distance to the truth: model {model.name!r} has no exact log_prob"
    if truth is not None and getattr(model, "log_prob_kind", "none") == "exact":
        values["kl_to_truth"] = _attempt(details, "kl_to_truth", lambda: metrics.kl_to_truth(model, truth))
        values["tv_to_truth"] = _attempt(details, "tv_to_truth", lambda: metrics.tv_to_truth(model, truth))
    if extra:
        details["columns_note"] = f"synthetic columns not in the real table were left out: {extra}"
    details["rows"] = {"real_half": len(half_a), "compared": size, "synthetic": len(synthetic),
                       "train": None if train is None else len(train)}
    return Evaluation(values, floor, intervals, details)


def _split(real: pd.DataFrame, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = rng.permutation(len(real))
    return (real.iloc[order[: len(real) // 2]].reset_index(drop=True),
            real.iloc[order[len(real) // 2:]].reset_index(drop=True))


def _floor(half_a, half_b, target, train, seed, groups=None) -> dict:
    """The comparison metrics for two real samples of one size: what a perfect generator scores.
    A metric that cannot be computed is NaN here (`evaluate` says why for its own values)."""
    train = None if train is None else train[half_a.columns]
    fitted_on = train if train is not None else pd.concat([half_a, half_b], ignore_index=True)
    groups = metrics.label_groups(fitted_on) if groups is None else groups
    quiet = {}   # notes of the floor's failures: the same failures show in the values' notes
    floor = {"detection_auc": _attempt(quiet, "", lambda: metrics.detection_auc(half_a, half_b, seed=seed,
                                                                                 groups=groups), warn=False),
             "marginal_fidelity": _attempt(quiet, "", lambda: metrics.marginal_fidelity(half_a, half_b, groups=groups),
                                           warn=False),
             "pairwise_fidelity": _attempt(quiet, "", lambda: metrics.pairwise_fidelity(half_a, half_b, groups=groups),
                                           warn=False)}
    if target is not None:  # the utility ratio of two real samples of one size
        def ratio():
            reference = train if train is not None else half_b
            same = reference.sample(n=min(len(half_b), len(reference)), random_state=seed)
            baseline = metrics.utility(same, half_a, target, seed=seed, groups=groups)
            return (metrics.utility(half_b, half_a, target, seed=seed, groups=groups) / baseline
                    if _has_skill(baseline, half_a[target]) else float("nan"))
        floor["utility_ratio"] = _attempt(quiet, "", ratio, warn=False)
    return floor


def _privacy(half_a, half_b, same_size, train, rng, values, floor, intervals, details) -> None:
    """The distance-to-closest-record ratio and the exact-copy rate, into the dicts of `evaluate`."""
    held_out = metrics.distances_to_closest(half_a, train)
    # On discrete data most real rows repeat a training row, the median distance is 0 and the
    # ratio of medians is undefined: then the mean distance is the summary (said in details).
    summary = np.median if np.median(held_out) > 0 else np.mean
    details["dcr_summary"] = summary.__name__
    denominator = float(summary(held_out))
    to_train = metrics.distances_to_closest(same_size, train)
    seen = metrics.row_keys(train)
    if denominator > 0 and metrics.unseen_rows(half_a, seen).any():   # round-off can leave 1e-9
        values["dcr_ratio"] = float(summary(to_train)) / denominator
        intervals["dcr_ratio"] = _bootstrap_ratio(to_train, denominator, summary, rng)
        floor["dcr_ratio"] = float(summary(metrics.distances_to_closest(half_b, train))) / denominator
    else:   # every held-out row is a training row: nothing to compare a synthetic row's distance with
        values["dcr_ratio"] = float("nan")
        details["dcr_note"] = ("every real (held-out) row is also a training row, so the distance-to-closest-"
                               "record ratio is undefined: give held-out rows the model never saw as real")
        warnings.warn(details["dcr_note"], stacklevel=3)
    copies = ~metrics.unseen_rows(same_size, seen)
    values["exact_copy_rate"] = float(copies.mean())
    intervals["exact_copy_rate"] = _bootstrap_mean(copies.astype(float), rng)
    floor["exact_copy_rate"] = float((~metrics.unseen_rows(half_b, seen)).mean())


def one_line(error: BaseException, limit: int = 200) -> str:
    """An exception as one short line: its type and message, or, for a message that carries a
    traceback (scikit-learn's "All the 5 fits failed"), the traceback's own last line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if any(line.startswith("Traceback") for line in lines):
        text = lines[-1]
    else:
        text = f"{type(error).__name__}: {' '.join(lines)}" if lines else type(error).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _attempt(details: dict, metric: str, compute, default=float("nan"), warn: bool = True):
    """`compute()`, or `default` with a one-line note in `details` (and a warning) when it fails:
    one metric failing must not hide the others."""
    try:
        return compute()
    except Exception as error:  # noqa: BLE001 - said in the note, never a traceback
        details[f"{metric}_note"] = f"{metric} could not be computed: {one_line(error)}"
        if warn:
            warnings.warn(details[f"{metric}_note"], stacklevel=3)
        return default


def _ids_as_labels(reference: pd.DataFrame, *frames):
    """`frames` with the whole-number ID columns of `reference` (all distinct, counting up or filling
    a range, or named like an ID: `data.identifiers.looks_like_id`) as text, so that the metrics
    pool them like text IDs: the new values a model makes for an ID column (past the largest
    training value) are no fault, and only a copied value counts, in the privacy metrics."""
    from ..data.identifiers import looks_like_id

    names = []
    for name in reference.columns:
        if metrics._is_numeric(reference[name]) and not pd.api.types.is_datetime64_any_dtype(reference[name].dtype):
            values = metrics._numbers(reference[name])
            whole = np.isfinite(values[~np.isnan(values)]).all() and (values[~np.isnan(values)] % 1 == 0).all()
            if whole and looks_like_id(reference[name], "integer"):
                names.append(name)
    if not names:
        return frames
    return tuple(None if frame is None else frame.assign(**{name: _whole_text(frame[name]) for name in names})
                 for frame in frames)


def _whole_text(series: pd.Series) -> pd.Series:
    values = metrics._numbers(series)
    return pd.Series([None if np.isnan(v) else f"{v:.0f}" for v in values], index=series.index, dtype=object)


def _dates_as_dates(synthetic: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Synthetic columns of text where the real column holds dates (a CSV read without parsing
    them) become dates, so that both are compared as times."""
    for name in synthetic.columns:
        if pd.api.types.is_datetime64_any_dtype(real[name].dtype) and not metrics._is_numeric(synthetic[name]):
            try:
                synthetic = synthetic.assign(**{name: pd.to_datetime(synthetic[name], format="ISO8601")})
            except (ValueError, TypeError):
                pass   # left as text: evaluate names the column
    return synthetic


def _has_skill(score: float, target: pd.Series) -> bool:
    """Whether a `metrics.utility` score beats a predictor without skill (R² 0 for numbers, ROC AUC
    0.5 for labels): only then is a ratio to it meaningful."""
    return bool(np.isfinite(score)) and score > (0.0 if metrics._is_numeric(target) else 0.5)


def noise_floor(real: pd.DataFrame, target: str | None = None, train: pd.DataFrame | None = None,
                seed: int = 0) -> dict:
    """The noise floor of `evaluate` for one random split of the real rows into two halves."""
    real = text_names(real)
    half_a, half_b = _split(real, np.random.default_rng(seed))
    return _floor(half_a, half_b, None if target is None else str(target),
                  None if train is None else text_names(train), seed)
