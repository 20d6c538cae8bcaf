"""Generative models as classifiers: one plausible model per class, Bayes' rule from `log_prob`.

    import plausible as pl
    classifier = pl.GenerativeClassifier(model="gaussian").fit(X_train, y_train)
    classifier.predict_proba(X_test)          # P(class | x), one column per classifier.classes_
    pl.GenerativeClassifier(model="independent", alpha=0.5)    # naive Bayes with Laplace alpha 0.5

`fit(X, y)` fits one model of the named rung to the rows of each class, so each learns P(x | c);
then, for a new row x,

    P(c | x) = P(x | c) P(c) / sum_k P(x | k) P(k),

computed on the log scale (log P(x | c) from the model's `log_prob`, a log-sum-exp over classes),
with P(c) the training frequencies or the given `priors`. With `model="gaussian"` this is
quadratic discriminant analysis (scikit-learn's `QuadraticDiscriminantAnalysis`, when the rung's
`shrinkage=0` and `transform="none"`); with `model="independent"` it is naive Bayes (on
categories: `CategoricalNB` with the same `alpha`). Any rung with a log_prob serves (`exact`,
`bound` or `estimate` in `pl.models()`): gmm, copula, bayesnet, flow, vae, ...; on images (arrays
(N, H, W) or (N, H, W, C)) the rung's image version. Rungs without one (gan, diffusion) are refused.

It is a scikit-learn estimator (`Pipeline`, `cross_val_score`, `GridSearchCV`, `clone`): the
rung's hyperparameters are keyword arguments, kept in `params` (what `get_params` reports and
`clone` copies), and `set_params` / a grid take them by name:

    GenerativeClassifier(model="gaussian", shrinkage=0).get_params()["params"]   # {"shrinkage": 0}
    GridSearchCV(GenerativeClassifier("gaussian"), {"shrinkage": [0, 0.1, None]})

The data. Numbers (a 2-D array, a numeric DataFrame) are checked as scikit-learn checks them
(infinite values refused); a DataFrame with label, boolean or date columns goes to the models as
it is. A missing cell (NaN) is a state of its own, as everywhere in plausible: each class learns
how often a column is missing, and missingness is evidence. All classes share one schema,
inferred on the whole training table (`schema=` overrides it per column, e.g. {"x3": "continuous"}
for an array's fourth column, or "continuous" for every number column): a category, a discrete
number or a gap seen in any class is possible in every class, with the rung's own smoothing.

Zero probabilities. Each class's model has its own support, and a row outside it has P(x | c) = 0
for that class, which Bayes' rule then rules out: a value beyond the class's histogram range
(`independent`), a value <= 0 in a column `gaussian` models on the log scale because all its values
in that class were positive (its `transform="none"` keeps every real number possible), a number
where the class only ever had one value. Rows that no class can explain (also a category, a
discrete number or a gap no class saw) get log P(x | c) = -inf for every class: with
`unseen="prior"` (default) their probabilities are the priors, with a warning that counts them;
`unseen="raise"` refuses them. A class with fewer rows than the rung needs (`min_rows`; one row)
is given the model of all rows, with a warning, so it counts through its prior only.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import assert_all_finite
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d, validate_data

from ..core.errors import NotSupportedError, ParameterError
from ..core.registry import get_class, make, models, variant
from ..data.images import is_image_batch
from ..data.schema import NUMBER_MODES, Schema, SchemaError

UNSEEN = ("prior", "raise")


class GenerativeClassifier(ClassifierMixin, BaseEstimator):
    """One plausible model per class and Bayes' rule (module doc).

    model: a registered rung with a log_prob (`pl.models()`), default "gaussian".
    params: the rung's hyperparameters as a dict; keyword arguments are added to it
        (`GenerativeClassifier("gaussian", shrinkage=0)` is `params={"shrinkage": 0}`).
    priors: P(class) as an array in the order of `classes_` (sorted labels) or a dict label -> P;
        None = the training frequencies.
    seed: seeds every class's fit (class k gets the k-th seed drawn from it); None = fresh.
    unseen: rows that every class's model gives probability zero: "prior" (their probabilities
        are the priors, with a warning) or "raise".
    schema: column overrides for the table schema all classes share ({"col": "categorical"},
        {"x0": "continuous"}; the string "continuous" for every number column); for images
        {"levels": L}.

    Fitted: `classes_`, `models_` (one fitted model per class), `class_count_`, `class_prior_`,
    `pooled_` (per class: True where it had fewer rows than the rung needs, so its model is the
    model of all rows, with a warning),
    `n_features_in_` (and `feature_names_in_` for a DataFrame).
    """

    def __init__(self, model: str = "gaussian", params: dict | None = None, priors=None, seed: int | None = 0,
                 unseen: str = "prior", schema=None, **hyperparameters):
        self.model = model
        # kept as given when no keyword is added, as scikit-learn's clone checks (`params is params`);
        # a `params` that is not a dict is kept too, for fit to refuse (scikit-learn validates there)
        self.params = _with(params, hyperparameters)
        self.priors = priors
        self.seed = seed
        self.unseen = unseen
        self.schema = schema

    def set_params(self, **params) -> GenerativeClassifier:
        """Set this estimator's parameters; any other name is a hyperparameter of the rung
        (`set_params(shrinkage=0.1)`, a grid's {"shrinkage": [...]}, a pipeline's
        "step__shrinkage"), added to `params`."""
        own = set(self._get_param_names())
        rung = {key: value for key, value in params.items() if key not in own and "__" not in key}
        if rung:
            given = {key: value for key, value in params.items() if key not in rung}
            given["params"] = _with(given.get("params", self.params), rung)
            params = given
        return super().set_params(**params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # A missing cell is a state every class's model learns (P(missing | class)), not an error;
        # infinite values are still refused (check_array).
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True      # DataFrames with label columns
        return tags

    # ------------------------------------------------------------------ fit
    def fit(self, X, y) -> GenerativeClassifier:
        """Fit one model of the rung to the rows of each class of `y`; returns self."""
        X, y, kind = self._read(X, y, reset=True)
        rung = self._check_settings(kind)
        check_classification_targets(y)
        classes, index = np.unique(y, return_inverse=True)
        counts = np.bincount(index, minlength=len(classes))
        least = max(2, rung.min_rows) if kind == "image" else rung.min_rows
        if len(y) < least:
            raise SchemaError(f"{len(y)} sample{'s' if len(y) != 1 else ''} given: model {self.model!r} needs at "
                              f"least {least} to learn from")
        pooled = counts < least
        if pooled.any():
            label = _plain(classes[int(np.argmax(pooled))])
            warnings.warn(f"{int(pooled.sum())} class{'es' if pooled.sum() > 1 else ''} (e.g. {label!r}) "
                          f"{'have' if pooled.sum() > 1 else 'has'} fewer than the {least} rows model {self.model!r} "
                          "needs: P(x | class) there is the model of all rows, so such a class counts through its "
                          "prior only", stacklevel=2)
        prior = self._check_priors(classes, counts)
        schema = self._shared_schema(X, kind, rung)
        seeds = np.random.SeedSequence(self.seed).generate_state(len(classes)) if self.seed is not None \
            else [None] * len(classes)
        fitted = []
        for k, label in enumerate(classes):
            rows = np.flatnonzero(index == k) if not pooled[k] else np.arange(len(y))
            part = X.iloc[rows].reset_index(drop=True) if isinstance(X, pd.DataFrame) else X[rows]
            model = make(self.model, seed=None if seeds[k] is None else int(seeds[k]), **(self.params or {}))
            try:
                model.fit(part, schema=schema)
            except SchemaError as error:
                raise SchemaError(f"class {_plain(label)!r}: {error}") from None
            fitted.append(model)
        self.classes_, self.class_count_, self.class_prior_ = classes, counts, prior
        self.models_, self.pooled_, self.input_kind_ = fitted, pooled, kind
        return self

    # ------------------------------------------------------------------ predict
    def predict_log_proba(self, X) -> np.ndarray:
        """log P(class | x), (N, n_classes) in the order of `classes_`."""
        joint = self._joint_log_likelihood(X)
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_proba(self, X) -> np.ndarray:
        """P(class | x), (N, n_classes) in the order of `classes_`; rows sum to one."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        joint = self._joint_log_likelihood(X)
        return self.classes_[np.argmax(joint, axis=1)]

    def _joint_log_likelihood(self, X) -> np.ndarray:
        """log P(x | c) + log P(c), (N, n_classes); rows no class can explain get log P(c) alone
        (`unseen="prior"`)."""
        check_is_fitted(self)
        X, _, kind = self._read(X, None, reset=False)
        if kind != self.input_kind_:
            fitted = {"image": "images", "frame": "a DataFrame", "array": "numbers"}[self.input_kind_]
            raise SchemaError(f"this classifier was fitted on {fitted}; give the same kind of data to predict")
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_prior_)
        joint = np.column_stack([model.log_prob(X, unseen="impossible") for model in self.models_]) + log_prior
        impossible = ~np.isfinite(joint).any(axis=1)
        if impossible.any():
            first = int(np.flatnonzero(impossible)[0])
            what = (f"{int(impossible.sum())} of {len(joint)} rows (the first: row {first}) hold values no class's "
                    f"{self.model!r} model gives any probability (a category, discrete value or gap no class "
                    "saw, or a value outside every class's range)")
            if self.unseen == "raise":
                raise SchemaError(f"{what}; drop them, or pass unseen='prior' to give them the priors")
            warnings.warn(f"{what}: their probabilities are the priors", stacklevel=3)
            joint[impossible] = log_prior
        return joint

    # ------------------------------------------------------------------ helpers
    def _check_settings(self, kind: str):
        """The rung's class for data of `kind`, after checking the settings (scikit-learn checks
        them at fit, not at construction)."""
        if self.unseen not in UNSEEN:
            raise ParameterError(f"unseen must be one of {', '.join(UNSEEN)}, got {self.unseen!r}")
        if self.params is not None and not isinstance(self.params, dict):
            raise ParameterError(f"params must be a dict of the rung's hyperparameters, got {self.params!r}")
        if not isinstance(self.model, str):
            raise ParameterError(f"model must be a rung's name (plausible.models()), got {self.model!r}")
        rung = get_class(self.model)
        if kind == "image":
            rung = variant(self.model, "image") or rung     # (a rung without images: its fit says so)
        if rung.log_prob_kind == "none":
            able = sorted(name for name, info in models().items()
                          if (_for_kind(info, kind) or {}).get("log_prob", "none") != "none")
            reason = rung.unsupported_reasons.get("log_prob", "it has no tractable likelihood")
            raise NotSupportedError(f"model {self.model!r} cannot classify by Bayes' rule, which needs log P(x | "
                                    f"class): {reason}; rungs that can: {', '.join(able)}")
        return rung

    def _read(self, X, y, reset: bool):
        """(X as the models take it, y checked or None, kind: "image" | "frame" | "array")."""
        if is_image_batch(X):
            kind = "image"
            if reset:
                self.n_features_in_ = int(np.prod(X.shape[1:]))
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
        elif isinstance(X, pd.DataFrame) and not all(pd.api.types.is_numeric_dtype(t) and not
                                                    pd.api.types.is_bool_dtype(t) for t in X.dtypes):
            kind = "frame"
            validate_data(self, X, reset=reset, skip_check_array=True)
        else:
            kind = "array"
            X = validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan")
        if y is None:
            return X, None, kind
        y = column_or_1d(y, warn=True)
        assert_all_finite(y, input_name="y")
        check_consistent_length(X, y)
        return X, y, kind

    def _check_priors(self, classes: np.ndarray, counts: np.ndarray) -> np.ndarray:
        if self.priors is None:
            return counts / counts.sum()
        if isinstance(self.priors, dict):
            missing = [label for label in classes if label not in self.priors]
            if missing or len(self.priors) != len(classes):
                raise ParameterError(f"priors must give one probability per class {[_plain(c) for c in classes]}; got the labels "
                                     f"{list(self.priors)}")
            priors = np.array([self.priors[label] for label in classes], dtype=float)
        else:
            priors = np.asarray(self.priors, dtype=float).ravel()
        if len(priors) != len(classes) or not np.all(np.isfinite(priors)) or np.any(priors < 0) \
                or not np.isclose(priors.sum(), 1.0):
            raise ParameterError(f"priors must be {len(classes)} non-negative probabilities summing to 1, one per "
                                 f"class {[_plain(c) for c in classes]}; got {priors.tolist()}")
        return priors

    def _shared_schema(self, X, kind: str, rung):
        """The schema every class's fit takes: inferred on the whole table, so a category, a
        discrete number or a gap seen in any class is one every class can score; for level
        images the levels of all of them; for a rung of whole series (every column a number)
        the `schema` given."""
        if kind == "image":
            if self.schema is not None or np.issubdtype(X.dtype, np.floating) or X.dtype == np.uint8 or not X.size:
                return self.schema
            return {"levels": max(int(X.max()) + 1, 2)}
        if rung.data_kind != "table":
            return self.schema
        frame = X if kind == "frame" else pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        frame = frame.set_axis([str(name) for name in frame.columns], axis=1)
        overrides = self.schema
        if kind == "array" and isinstance(overrides, dict) and hasattr(self, "feature_names_in_"):
            # numbers reach the models as an array (columns x0, x1, ...): a numeric DataFrame's names too
            names = {str(name): f"x{i}" for i, name in enumerate(self.feature_names_in_)}
            overrides = {names.get(str(key), key): value for key, value in overrides.items()}
        if isinstance(overrides, str):
            if overrides not in NUMBER_MODES:
                raise ParameterError(f"schema must be a dict of column overrides or one of {', '.join(NUMBER_MODES)} "
                                     f"(for every number column), got {overrides!r}")
            overrides = {str(name): overrides for name in frame.columns
                         if pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])}
        return Schema.infer(frame, overrides=overrides).as_overrides()


def _for_kind(info: dict, kind: str) -> dict | None:
    """A `pl.models()` entry's description of the class that fits data of `kind` (None: no such class)."""
    if kind == "image":
        return info.get("image") or (info if info["data_kind"] == "image" else None)
    return info if info["data_kind"] != "image" else None


def _with(params, added: dict):
    """`params` with the hyperparameters `added` (`params` itself when there are none, or when it
    is not a dict: fit refuses it)."""
    if not added or not (params is None or isinstance(params, dict)):
        return params
    return {**(params or {}), **added}


def _plain(label):
    """A class label as the user wrote it (3, not np.int64(3)) for messages."""
    return label.item() if isinstance(label, np.generic) else label
