"""pl.GenerativeClassifier: one model per class and Bayes' rule (issue 27, part 1).

Known answers: the gaussian rung without shrinkage or log scale is quadratic discriminant analysis,
and independent on categories is CategoricalNB with the same alpha. scikit-learn's own estimator
checks run over both rungs (nothing skipped here; what the estimator declares is in its tags)."""
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.naive_bayes import CategoricalNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import plausible as pl
from plausible.core.errors import NotSupportedError, ParameterError
from plausible.data.schema import SchemaError


@parametrize_with_checks([pl.GenerativeClassifier(model="independent"), pl.GenerativeClassifier(model="gaussian")])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _gaussian_classes(n_per_class=300, seed=0):
    """Three well-separated 3-D Gaussians, each with its own covariance (QDA's model)."""
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0, 0.0], [2.0, 1.0, -1.0], [-1.0, 2.0, 1.5]])
    X, y = [], []
    for k, mean in enumerate(means):
        root = np.eye(3) + 0.4 * rng.normal(size=(3, 3))
        X.append(mean + rng.normal(size=(n_per_class, 3)) @ root)
        y += [k] * n_per_class
    return np.vstack(X), np.array(y)


def _categorical_table(n=300, seed=0):
    """Four label columns whose frequencies depend on the class (naive Bayes' model)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    columns = {}
    for j, levels in enumerate([3, 4, 2, 5]):
        probabilities = rng.dirichlet(np.ones(levels), size=3)
        columns[f"c{j}"] = np.array([f"v{rng.choice(levels, p=probabilities[c])}" for c in y])
    return pd.DataFrame(columns), y


def test_gaussian_without_shrinkage_or_log_scale_is_quadratic_discriminant_analysis():
    X, y = _gaussian_classes()
    rng = np.random.default_rng(1)
    X_test = X[rng.choice(len(X), 200, replace=False)] + rng.normal(scale=0.5, size=(200, 3))
    ours = pl.GenerativeClassifier(model="gaussian", shrinkage=0, transform="none").fit(X, y)
    qda = QuadraticDiscriminantAnalysis().fit(X, y)
    np.testing.assert_array_equal(ours.predict(X_test), qda.predict(X_test))
    # the rung's covariance is the maximum-likelihood one (/ n, QDA's / (n - 1)) plus a 1e-6 ridge
    np.testing.assert_allclose(ours.predict_proba(X_test), qda.predict_proba(X_test), atol=1e-4)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_independent_on_categories_is_categorical_naive_bayes(alpha):
    X, y = _categorical_table()
    codes = OrdinalEncoder().fit_transform(X)
    reference = CategoricalNB(alpha=alpha).fit(codes, y)
    for data in (X, codes):      # labels in a DataFrame, or integer codes in an array
        ours = pl.GenerativeClassifier(model="independent", alpha=alpha).fit(data, y)
        np.testing.assert_array_equal(ours.predict(data), reference.predict(codes))
        np.testing.assert_allclose(ours.predict_proba(data), reference.predict_proba(codes), atol=1e-12)


def test_priors_enter_by_bayes_rule():
    X, y = _gaussian_classes(n_per_class=60)
    y = np.array(["a", "b", "c"])[y]
    frequencies = pl.GenerativeClassifier(model="gaussian").fit(X, y)
    np.testing.assert_allclose(frequencies.class_prior_, [1 / 3] * 3)
    priors = np.array([0.7, 0.2, 0.1])
    given = pl.GenerativeClassifier(model="gaussian", priors=priors).fit(X, y)
    expected = frequencies.predict_proba(X) * priors
    np.testing.assert_allclose(given.predict_proba(X), expected / expected.sum(axis=1, keepdims=True), atol=1e-12)
    as_dict = pl.GenerativeClassifier(model="gaussian", priors={"c": 0.1, "a": 0.7, "b": 0.2}).fit(X, y)
    np.testing.assert_allclose(as_dict.predict_log_proba(X), given.predict_log_proba(X))
    with pytest.raises(ParameterError, match="summing to 1"):
        pl.GenerativeClassifier(model="gaussian", priors=[0.5, 0.2, 0.1]).fit(X, y)


def test_the_rungs_hyperparameters_are_keywords_that_clone_and_grids_keep():
    classifier = pl.GenerativeClassifier(model="gaussian", shrinkage=0)
    assert classifier.get_params()["params"] == {"shrinkage": 0}
    copy = clone(classifier)
    assert copy.get_params()["params"] == {"shrinkage": 0} and copy.model == "gaussian"
    copy.set_params(transform="none")
    assert copy.params == {"shrinkage": 0, "transform": "none"} and classifier.params == {"shrinkage": 0}
    X, y = _gaussian_classes(n_per_class=40)
    fitted = copy.fit(X, y)
    assert all(model.shrinkage == 0 and model.transform == "none" for model in fitted.models_)
    assert len({model.seed for model in fitted.models_}) == 3        # each class its own seed, drawn from seed=0
    again = clone(copy).fit(X, y)
    assert [m.seed for m in again.models_] == [m.seed for m in fitted.models_]
    with pytest.raises(ParameterError, match="no parameter 'shrinkge'"):
        pl.GenerativeClassifier(model="gaussian", shrinkge=0).fit(X, y)


def test_pipeline_cross_validation_and_grid_search():
    X, y = _gaussian_classes(n_per_class=40)
    pipeline = make_pipeline(StandardScaler(), pl.GenerativeClassifier(model="gaussian"))
    pipeline.set_params(generativeclassifier__shrinkage=0.1)
    assert pipeline.fit(X, y).score(X, y) > 0.8 and pipeline[-1].params == {"shrinkage": 0.1}
    scores = cross_val_score(pl.GenerativeClassifier(model="independent"), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.7
    search = GridSearchCV(pl.GenerativeClassifier(model="gaussian"), {"shrinkage": [0.0, 0.3]}, cv=3).fit(X, y)
    assert search.best_params_["shrinkage"] in (0.0, 0.3)
    assert search.best_estimator_.params == {"shrinkage": search.best_params_["shrinkage"]}


def test_a_rung_without_log_prob_is_refused_in_one_line_with_the_reason_and_the_rungs_that_can():
    X, y = _gaussian_classes(n_per_class=10)
    with pytest.raises(NotSupportedError) as refused:
        pl.GenerativeClassifier(model="gan").fit(X, y)
    message = str(refused.value)
    assert "\n" not in message and "'gan'" in message and "density" in message
    assert "gaussian" in message.split("rungs that can:")[1] and "diffusion" not in message


def test_images_fit_the_rungs_image_version():
    digits = load_digits()
    images, labels = digits.images.astype(np.int64), digits.target      # (1797, 8, 8), levels 0..16
    classifier = pl.GenerativeClassifier(model="independent").fit(images[:1000], labels[:1000])
    assert all(model.data_kind == "image" for model in classifier.models_)
    probabilities = classifier.predict_proba(images[1000:])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert classifier.score(images[1000:], labels[1000:]) > 0.8      # naive Bayes on pixels: ~0.86


def test_a_rung_of_whole_series_classifies_series():
    rng = np.random.default_rng(0)
    series, labels = rng.normal(size=(60, 12)).cumsum(axis=1), np.repeat([0, 1], 30)
    series[labels == 1] *= 3                                      # a random walk with three times the steps
    classifier = pl.GenerativeClassifier(model="statespace").fit(series[::2], labels[::2])
    assert classifier.score(series[1::2], labels[1::2]) > 0.8


def test_a_category_seen_in_one_class_is_possible_in_all_and_an_unseen_one_gets_the_priors():
    X = pd.DataFrame({"colour": ["red"] * 10 + ["blue"] * 9 + ["green"], "size": ["S", "M"] * 10})
    y = np.array([0] * 10 + [1] * 10)
    classifier = pl.GenerativeClassifier(model="independent").fit(X, y)
    # "green" only in class 1: class 0 smooths it (alpha / (10 + 3 alpha)), so it is not ruled out
    green = classifier.predict_proba(pd.DataFrame({"colour": ["green"], "size": ["S"]}))
    assert 0 < green[0, 0] < green[0, 1]
    new = pd.DataFrame({"colour": ["purple", "red"], "size": ["S", "S"]})
    with pytest.warns(UserWarning, match="1 of 2 rows .* no class's 'independent' model"):
        probabilities = classifier.predict_proba(new)
    np.testing.assert_allclose(probabilities[0], classifier.class_prior_)
    assert probabilities[1, 0] > 0.9
    with pytest.raises(SchemaError, match="unseen='prior'"):
        pl.GenerativeClassifier(model="independent", unseen="raise").fit(X, y).predict(new)


def test_missing_cells_are_a_state_and_infinite_values_are_refused():
    X, y = _gaussian_classes(n_per_class=60)
    X[np.arange(0, 180, 3), 1] = np.nan              # column 1 missing in a third of the rows, every class
    # transform="none": on the log scale (the default "auto" logs a column whose values are all positive
    # in a class) a class would give a row with a value <= 0 there probability zero
    classifier = pl.GenerativeClassifier(model="gaussian", transform="none").fit(X, y)
    assert np.isfinite(classifier.predict_log_proba(X)).all() and classifier.score(X, y) > 0.8
    with pytest.raises(ValueError, match="infinity"):
        classifier.predict(np.array([[np.inf, 0.0, 0.0]]))


def test_a_class_too_small_for_the_rung_is_modelled_by_all_rows_with_a_warning():
    X, y = _gaussian_classes(n_per_class=20)
    X, y = np.vstack([X, [[5.0, 5.0, 5.0]]]), np.append(y, 3)       # class 3: one row
    with pytest.warns(UserWarning, match="1 class \\(e.g. 3\\) has fewer than the 2 rows"):
        classifier = pl.GenerativeClassifier(model="gaussian").fit(X, y)
    assert classifier.pooled_.tolist() == [False, False, False, True]
    assert classifier.predict_proba(X).shape == (61, 4)
    with pytest.raises(SchemaError, match="1 sample given"):
        pl.GenerativeClassifier(model="gaussian").fit(X[:1], y[:1])


def test_unknown_settings_are_refused_at_fit_as_scikit_learn_expects():
    X, y = _gaussian_classes(n_per_class=10)
    pl.GenerativeClassifier(model="no such rung", unseen="sometimes")      # construction checks nothing
    for settings, match in [({"model": "no such rung"}, "unknown model"), ({"unseen": "sometimes"}, "unseen must"),
                            ({"params": [1]}, "params must be a dict"), ({"schema": "wavy"}, "schema must")]:
        with pytest.raises(ParameterError, match=match):
            pl.GenerativeClassifier(**settings).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")       # numbers in a DataFrame: overrides by the column's own name
        frame = pd.DataFrame(X, columns=["a", "b", "c"])
        fitted = pl.GenerativeClassifier(model="gaussian", schema={"a": "discrete"}).fit(frame, y)
    assert fitted.models_[0].schema_["x0"].discrete and list(fitted.feature_names_in_) == ["a", "b", "c"]
