"""Distances between distributions, one function each, the same for every model.

Directions: fidelity scores are in [0, 1], higher is better (1 = identical); divergences and
distances (`kl_to_truth`, `tv_to_truth`) are >= 0, lower is better; `unseen_share` is neither:
0 means the model only repeats training rows, and a good model of a large space is well above 0.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..data.identifiers import MIN_ID_ROWS

NUMERIC_PAIR_BINS = 5  # quantile bins of a numeric column when paired with a categorical one
LEVELS_KEPT = 49       # a label column with more levels keeps its most frequent ones; the rest are pooled
OTHER = "<other>"      # the pooled level
EARLY_STOPPING_ROWS = 1_000   # the utility model stops early from this many training rows


def _is_numeric(series: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)) \
        or pd.api.types.is_datetime64_any_dtype(series.dtype) or pd.api.types.is_timedelta64_dtype(series.dtype)


def _numbers(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return (series / pd.Timedelta(seconds=1)).to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if series.dt.tz is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        stamps = series.to_numpy()   # datetime64 in the column's own unit: no overflow for any century
        unit = np.datetime_data(stamps.dtype)[0]
        values = stamps.astype("int64").astype(float) * (np.timedelta64(1, unit) / np.timedelta64(1, "ns"))
        values[np.isnat(stamps)] = np.nan
        return values
    return pd.to_numeric(series).astype("float64").to_numpy(na_value=np.nan)


def _labels(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), "<missing>").astype(str)


def label_groups(frame: pd.DataFrame, limit: int = LEVELS_KEPT) -> dict[str, frozenset]:
    """The labels kept, per label column of `frame` with more than `limit` + 1 distinct labels (missing
    cells aside) or with a different label in every one of at least `MIN_ID_ROWS` rows (an ID).

    Such a column keeps its `limit` most frequent labels among those seen at least twice (a label
    seen once says nothing about its frequency: an ID column keeps none) and missing cells; every
    other label is pooled as one, `OTHER`. Fitted on real rows and applied to every table the
    classifiers and contingency tables compare, so scikit-learn's gradient boosting (255 levels at
    most) works on any cardinality and a contingency table is not made of single rows.
    """
    groups = {}
    for name in frame.columns:
        if _is_numeric(frame[name]):
            continue
        counts = _labels(frame[name]).value_counts().drop("<missing>", errors="ignore")
        an_id = counts.sum() >= MIN_ID_ROWS and counts.max() == 1
        if len(counts) <= limit + 1 and not an_id:   # 50 labels: no fewer codes for pooling one
            continue
        ranked = sorted(counts[counts >= 2].items(), key=lambda item: (-item[1], item[0]))
        groups[name] = frozenset(label for label, _ in ranked[:limit]) | {"<missing>"}
    return groups


def grouping_notes(frame: pd.DataFrame, groups: dict[str, frozenset]) -> list[str]:
    """One line per pooled column of `label_groups`, saying what the metrics saw of it."""
    notes = []
    for name, kept in groups.items():
        levels = _labels(frame[name]).nunique()
        if len(kept) <= 1:
            notes.append(f"column {name!r} has a different value in every row ({levels:,} values; an ID?): left "
                         "out of the detector, the utility model and the fidelity scores; the privacy metrics still "
                         "compare it")
        else:
            notes.append(f"column {name!r} has {levels:,} levels: the {len(kept) - 1} most frequent kept, the rest "
                         "pooled as one for the detector, the utility model and the fidelity scores")
    return notes


def _grouped(frame: pd.DataFrame, name: str, groups: dict[str, frozenset]) -> pd.Series:
    """A label column as text, its rare labels pooled when `groups` says so."""
    labels = _labels(frame[name])
    return labels.where(labels.isin(groups[name]), OTHER) if name in groups else labels


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov statistic: the largest gap between the empirical CDFs."""
    a, b = np.sort(a), np.sort(b)
    if a.size == 0 or b.size == 0:
        return float(a.size != b.size)
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, side="right") / a.size
                               - np.searchsorted(b, grid, side="right") / b.size)))


def _tv(a: pd.Series, b: pd.Series) -> float:
    """Total variation distance between the label frequencies of two columns."""
    p = a.value_counts(normalize=True)
    q = b.value_counts(normalize=True)
    return float(0.5 * p.subtract(q, fill_value=0).abs().sum())


def marginal_fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, per_column: bool = False,
                      groups: dict[str, frozenset] | None = None):
    """Mean over columns of 1 − KS statistic (numbers, datetimes) or 1 − total variation (labels).

    A numeric column's missing cells count too: its score is 1 − max(KS of the present values,
    the gap in missing rate). Rare labels of a column with many levels are pooled (`groups`,
    default `label_groups(real)`). With `per_column=True` returns `(mean, {column: score})`.
    """
    groups = label_groups(real) if groups is None else groups
    scores = {}
    for name in real.columns:
        r, s = real[name], synthetic[name]
        if _is_numeric(r):
            rv, sv = _numbers(r), _numbers(s)
            gap = abs(np.isnan(rv).mean() - np.isnan(sv).mean()) if len(sv) else 1.0
            scores[name] = 1.0 - max(_ks(rv[~np.isnan(rv)], sv[~np.isnan(sv)]), gap)
        else:
            scores[name] = 1.0 - _tv(_grouped(real, name, groups), _grouped(synthetic, name, groups))
    mean = float(np.mean(list(scores.values())))
    return (mean, scores) if per_column else mean


def pairwise_fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, per_pair: bool = False,
                      groups: dict[str, frozenset] | None = None):
    """Agreement of dependence for every pair of columns, 1 = identical.

    Two numeric columns: 1 − |ρ_real − ρ_synthetic| / 2 with Spearman's ρ (rank correlation,
    robust to skew). Any pair involving a label column: 1 − total variation between the two
    contingency tables, numeric columns binned at the real data's quantiles. This is the
    correlation and contingency similarity of SDMetrics, so numbers compare with SDV reports.
    Rare labels of a column with many levels are pooled (`groups`, default `label_groups(real)`).
    """
    groups = label_groups(real) if groups is None else groups
    columns = list(real.columns)
    binned_real, binned_synth = {}, {}
    for name in columns:
        if _is_numeric(real[name]):
            rv = _numbers(real[name])
            edges = np.unique(np.nanquantile(rv, np.linspace(0, 1, NUMERIC_PAIR_BINS + 1)[1:-1])) if np.isfinite(rv).any() else []
            for store, values in ((binned_real, rv), (binned_synth, _numbers(synthetic[name]))):
                store[name] = pd.Series(np.where(np.isnan(values), -1, np.searchsorted(edges, values)).astype(str))
        else:
            binned_real[name], binned_synth[name] = _grouped(real, name, groups).reset_index(drop=True), \
                _grouped(synthetic, name, groups).reset_index(drop=True)
    # every numeric pair's Spearman ρ at once (pandas ranks each pair over its complete rows, as a
    # pair-by-pair call would): per-pair DataFrames made this quadratic in Python overhead
    numeric = [name for name in columns if _is_numeric(real[name])]
    rhos = [pd.DataFrame({name: _numbers(f[name]) for name in numeric}).corr(method="spearman")
            for f in (real, synthetic)]
    scores = {}
    for a, b in itertools.combinations(columns, 2):
        if _is_numeric(real[a]) and _is_numeric(real[b]):
            rho = [0.0 if np.isnan(r) else r for r in (rhos[0].at[a, b], rhos[1].at[a, b])]
            scores[(a, b)] = 1.0 - abs(rho[0] - rho[1]) / 2
        else:
            joint_r = binned_real[a] + "\x1f" + binned_real[b]
            joint_s = binned_synth[a] + "\x1f" + binned_synth[b]
            scores[(a, b)] = 1.0 - _tv(joint_r, joint_s)
    mean = float(np.mean(list(scores.values()))) if scores else 1.0
    return (mean, scores) if per_pair else mean


# ---------------------------------------------------------------------- known truth
def model_probabilities(model, truth: pd.DataFrame) -> np.ndarray:
    """exp(log_prob) of a model at every row of a truth table (all combinations of a discrete space)."""
    return np.exp(model.log_prob(truth.drop(columns="probability"), unseen="impossible"))


def kl_to_truth(model, truth: pd.DataFrame) -> float:
    """KL(P_truth ‖ P_model) = Σ p log(p / q) over every combination, in nats (0 = perfect;
    infinite when the model rules out a combination the truth holds, e.g. a label it never saw)."""
    p = truth["probability"].to_numpy()
    log_q = model.log_prob(truth.drop(columns="probability"), unseen="impossible")
    keep = p > 0
    return float(np.sum(p[keep] * (np.log(p[keep]) - log_q[keep])))


def tv_to_truth(model, truth: pd.DataFrame) -> float:
    """Total variation ½ Σ |p − q| over every combination (0 = perfect, 1 = disjoint)."""
    return float(0.5 * np.abs(truth["probability"].to_numpy() - model_probabilities(model, truth)).sum())


def unseen_share(synthetic: pd.DataFrame, train: pd.DataFrame) -> float:
    """Share of synthetic rows whose exact combination of values never occurs in the training rows."""
    return float(unseen_rows(synthetic[train.columns], row_keys(train)).mean()) if len(synthetic) else 0.0


def row_keys(frame: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of its cells as text (two rows share a key when every cell reads the
    same), to find repeated rows without a Python tuple per row."""
    return pd.util.hash_pandas_object(_labels_frame(frame), index=False).to_numpy()


def unseen_rows(rows: pd.DataFrame, seen_keys: np.ndarray) -> np.ndarray:
    """Whether each row's combination of values is not among `seen_keys` (`row_keys` of a table)."""
    return ~np.isin(row_keys(rows), seen_keys)


def _labels_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({name: _labels(frame[name]) for name in frame.columns})


def entropy(probabilities) -> float:
    """Shannon entropy −Σ p log p in nats of a probability vector."""
    p = np.asarray(probabilities, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


# ---------------------------------------------------------------------- classifiers and distances
def _design(frames: list[pd.DataFrame], reference: pd.DataFrame, groups: dict[str, frozenset] | None = None):
    """Encode tables the same way for scikit-learn: numbers as floats, labels as integer codes.

    Rare labels of a column with many levels are pooled (`groups`, default `label_groups(reference)`),
    so no column has more levels than scikit-learn's gradient boosting takes. Returns the matrices
    and a boolean mask of which columns are categorical.
    """
    groups = label_groups(reference) if groups is None else groups
    categorical = [not _is_numeric(reference[c]) for c in reference.columns]
    matrices = [np.empty((len(f), len(reference.columns))) for f in frames]
    for k, name in enumerate(reference.columns):
        if categorical[k]:
            labels = pd.concat([_grouped(f, name, groups) for f in frames], ignore_index=True)
            if name not in groups:   # labels the reference never holds (a synthesizer's invented cities): one code,
                labels = labels.where(labels.isin(set(_labels(reference[name]))), OTHER)   # not 500 new ones
            codes, _ = pd.factorize(labels)
            start = 0
            for matrix, frame in zip(matrices, frames):
                matrix[:, k] = codes[start:start + len(frame)]
                start += len(frame)
        else:
            for matrix, frame in zip(matrices, frames):
                matrix[:, k] = _numbers(frame[name])
    return matrices, np.array(categorical)


def _threads(rows: int):
    """OpenMP threads for scikit-learn's boosting: one on small tables, where starting and
    synchronising threads costs more than it saves (40x slower on a busy 2-core machine)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1 if rows < 20_000 else None, user_api="openmp")


def detection_auc(real: pd.DataFrame, synthetic: pd.DataFrame, seed: int = 0, folds: int = 5,
                  groups: dict[str, frozenset] | None = None) -> float:
    """Cross-validated ROC AUC of a gradient-boosting classifier telling real rows from synthetic.

    0.5 means it cannot tell them apart (better); 1.0 means every synthetic row is recognisable.
    Both sets are cut to the same size first so the classifier cannot win on class balance. Rare
    labels of a column with many levels are pooled (`groups`, default `label_groups(real)`).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    n = min(len(real), len(synthetic))
    rng = np.random.default_rng(seed)
    real = real.iloc[rng.choice(len(real), n, replace=False)]
    synthetic = synthetic[real.columns].iloc[rng.choice(len(synthetic), n, replace=False)]
    (x_real, x_synth), categorical = _design([real, synthetic], real, groups)
    x = np.vstack([x_real, x_synth])
    y = np.r_[np.zeros(n), np.ones(n)]
    splits = min(folds, max(2, n // 5))
    # scikit-learn's default leaf of 20 rows cannot split a fold of fewer than 40 training rows: the
    # classifier would predict a constant and report 0.5 for any synthetic data, however fake
    leaf = int(min(20, max(2, (2 * n - 2 * n // splits) // 5)))
    classifier = HistGradientBoostingClassifier(categorical_features=categorical if categorical.any() else None,
                                                max_iter=100, min_samples_leaf=leaf, random_state=seed)
    cv = StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed)
    with _threads(2 * n):
        return float(np.mean(cross_val_score(classifier, x, y, cv=cv, scoring="roc_auc", error_score="raise")))


def utility(train: pd.DataFrame, test: pd.DataFrame, target: str, seed: int = 0,
            groups: dict[str, frozenset] | None = None) -> float:
    """Score on `test` of a gradient-boosting model trained on `train` to predict `target`.

    ROC AUC (one-vs-rest for several classes) for a label target, R² for a numeric one. Rare
    labels of a column with many levels, the target's too, are pooled (`groups`, default
    `label_groups(train)`; give the real rows' when `train` is synthetic).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import r2_score, roc_auc_score

    if target not in train.columns:
        raise ValueError(f"target column {target!r} is not in the table; columns are {list(train.columns)}")
    groups = label_groups(train) if groups is None else groups
    features = [c for c in train.columns if c != target]
    (x_train, x_test), categorical = _design([train[features], test[features]], train[features], groups)
    # a leaf the training rows can split (scikit-learn's 20 cannot on < 40 rows: a constant predictor)
    leaf = int(min(20, max(2, len(train) // 5)))
    # from 1,000 rows, boosting stops once a tenth of them held aside stops improving (scikit-learn
    # waits for 10,000): as good a score, 3-8x faster, most of all for a label target of many classes
    kwargs = dict(categorical_features=categorical if categorical.any() else None, random_state=seed, max_iter=200,
                  min_samples_leaf=leaf, early_stopping=True if len(train) >= EARLY_STOPPING_ROWS else "auto")
    if _is_numeric(train[target]):   # rows whose target is missing cannot teach or score a regressor
        y_train, y_test = _numbers(train[target]), _numbers(test[target])
        known_train, known_test = ~np.isnan(y_train), ~np.isnan(y_test)
        if known_train.sum() < 2 or known_test.sum() < 2:
            return float("nan")
        with _threads(len(train) + len(test)):   # predicting too: threads cost as much there
            model = HistGradientBoostingRegressor(**kwargs).fit(x_train[known_train], y_train[known_train])
            predicted = model.predict(x_test[known_test])
        return float(r2_score(y_test[known_test], predicted))
    y_train, y_test = _grouped(train, target, groups).to_numpy(), _grouped(test, target, groups).to_numpy()
    classes, counts = np.unique(y_train, return_counts=True)
    if len(classes) < 2:
        return 0.5  # a model that saw one class can only guess
    if counts.min() < 2:   # early stopping's stratified split refuses a class of one row
        kwargs["early_stopping"] = False
    with _threads(len(train) + len(test)):
        model = HistGradientBoostingClassifier(**kwargs).fit(x_train, y_train)
        proba = model.predict_proba(x_test)
    classes = list(model.classes_)
    if len(set(y_test)) < 2:
        return float("nan")
    if len(classes) == 2:
        return float(roc_auc_score(y_test == classes[1], proba[:, 1]))
    full = np.zeros((len(y_test), len(set(y_test) | set(classes))))
    order = sorted(set(y_test) | set(classes))
    for k, label in enumerate(classes):
        full[:, order.index(label)] = proba[:, k]
    present = [k for k, label in enumerate(order) if label in set(y_test)]
    # scored over the classes the test rows hold (a random split can leave a rare class out of
    # them, or hold one the model never saw): renormalised, a row with no mass on any is uniform
    full = full[:, present]
    total = full.sum(axis=1, keepdims=True)
    full = np.where(total > 0, full / np.where(total > 0, total, 1.0), 1.0 / len(present))
    if len(present) == 2:      # two classes left: the binary AUC (scikit-learn wants one score column)
        return float(roc_auc_score(y_test == order[present[1]], full[:, 1]))
    return float(roc_auc_score(y_test, full, multi_class="ovr", labels=[order[k] for k in present]))


def distances_to_closest(rows: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    """Distance from each row to its nearest reference row.

    Numbers are scaled by the reference's standard deviation (missing cells get their own
    indicator); labels are one-hot with weight 1/√2, so two different labels are 1 apart, like a
    one-standard-deviation gap in a number. Every label counts here, however rare: a copied ID is
    what this metric is for. A column with many labels is compared code to code instead of one-hot
    (`_nearest`), the same distance without a 5,000-wide matrix.
    """
    from sklearn.neighbors import NearestNeighbors

    blocks_rows, blocks_ref, codes_rows, codes_ref, apart = [], [], [], [], 0.0
    for name in reference.columns:
        if _is_numeric(reference[name]):
            ref, row = _numbers(reference[name]), _numbers(rows[name])
            centre, scale = np.nanmean(ref), np.nanstd(ref) or 1.0
            for values, blocks in ((ref, blocks_ref), (row, blocks_rows)):
                missing = np.isnan(values)
                blocks.append(np.c_[np.where(missing, 0.0, (values - centre) / scale), missing.astype(float)])
            continue
        codes, levels = pd.factorize(pd.concat([_labels(reference[name]), _labels(rows[name])], ignore_index=True))
        ref, row = codes[:len(reference)], codes[len(reference):]
        if len(levels) <= LEVELS_KEPT + 1:
            onehot = np.eye(len(levels))[codes] / np.sqrt(2)
            blocks_ref.append(onehot[:len(reference)])
            blocks_rows.append(onehot[len(reference):])
        elif np.intersect1d(ref, row).size == 0:
            apart += 1.0   # no label in common (new IDs): every pair differs here
        else:
            codes_ref.append(ref)
            codes_rows.append(row)
    dense_ref = np.hstack(blocks_ref) if blocks_ref else np.zeros((len(reference), 1))
    dense_rows = np.hstack(blocks_rows) if blocks_rows else np.zeros((len(rows), 1))
    if codes_ref:
        squared = _nearest(dense_rows, dense_ref, np.array(codes_rows).T, np.array(codes_ref).T)
    else:
        squared = NearestNeighbors(n_neighbors=1).fit(dense_ref).kneighbors(dense_rows)[0][:, 0] ** 2
    return np.sqrt(squared + apart)


def _nearest(dense_rows, dense_ref, codes_rows, codes_ref, cells: int = 2 ** 22) -> np.ndarray:
    """Squared distance from each row to its nearest reference row, where a row is a dense vector
    and label codes, each differing label adding 1. Brute force in blocks of rows (`cells` pairs at
    a time); the nearest pair's distance is computed again exactly, so a copied row scores 0."""
    out = np.empty(len(dense_rows))
    ref_norms = np.einsum("ij,ij->i", dense_ref, dense_ref)
    step = max(1, cells // max(len(dense_ref), 1))
    for start in range(0, len(dense_rows), step):
        x, codes = dense_rows[start:start + step], codes_rows[start:start + step]
        squared = np.einsum("ij,ij->i", x, x)[:, None] + ref_norms[None, :] - 2.0 * (x @ dense_ref.T)
        for k in range(codes.shape[1]):
            squared += codes[:, k, None] != codes_ref[None, :, k]
        nearest = squared.argmin(axis=1)
        out[start:start + step] = (((x - dense_ref[nearest]) ** 2).sum(axis=1)
                                   + (codes != codes_ref[nearest]).sum(axis=1))
    return out


def exact_copy_rate(synthetic: pd.DataFrame, train: pd.DataFrame) -> float:
    """Share of synthetic rows identical, cell for cell, to some training row."""
    return 1.0 - unseen_share(synthetic, train)
