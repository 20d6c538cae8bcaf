"""pl.experiments.learning_curves and prediction_spread, and `plausible demo classify` (issue 27,
parts 2 and 3): the long table's shape, a failed logit recorded rather than raised, a spread that is
exactly zero when every refit sees the same rows, and the demo's files."""
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from test_cli_surface import fails_in_one_line

from plausible.experiments import learning_curves, prediction_spread
from plausible.experiments.learning import COLUMNS, DEFAULT, StatsmodelsLogit, contender, crossover
from plausible.experiments.learning import default_sizes, stratified_rows, summarize


def _two_classes(n=80, columns=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat([0, 1], n // 2))
    X = rng.normal(size=(n, columns)) + 1.2 * y[:, None]
    return X, y


def test_the_long_table_has_one_row_per_classifier_size_and_repeat():
    X, y = _two_classes()
    table = learning_curves(X, y, {"nb": GaussianNB(), "gaussian": "gaussian", "logistic": "logistic"},
                            sizes=[8, 30], repeats=2, seed=0)
    assert list(table.columns) == COLUMNS
    assert len(table) == 3 * 2 * 2
    assert sorted(table["train_size"].unique()) == [8, 30]
    assert set(table["classifier"]) == {"nb", "gaussian", "logistic"}
    assert not table["failed"].any() and (table["failure"] == "").all()
    assert table["test_error"].between(0, 0.5).all() and (table["log_loss"] > 0).all()
    summary = summarize(table)
    assert (summary["fits"] == 2).all() and (summary["low"] <= summary["error"]).all()


def test_sizes_outside_the_pool_are_refused_with_the_range():
    X, y = _two_classes()
    with pytest.raises(ValueError, match="outside 4..56"):
        learning_curves(X, y, ["logistic"], sizes=[3], repeats=1)


def test_stratified_rows_keep_every_class():
    y = np.array([0] * 50 + [1] * 6 + [2] * 3)
    rows = stratified_rows(y, 10, np.random.default_rng(0))
    assert len(rows) == 10 == len(set(rows))
    assert np.bincount(y[rows]).min() >= 2


def test_the_logit_with_more_columns_than_rows_fails_and_is_recorded_not_raised():
    X, y = _two_classes(n=60, columns=30)
    with pytest.raises(Exception, match="(?i)separation|singular|converge|hessian"):
        StatsmodelsLogit().fit(X[:20], y[:20])
    table = learning_curves(X, y, ["logit", "logistic"], sizes=[12], repeats=2, seed=1)
    logit, logistic = table[table["classifier"] == "logit"], table[table["classifier"] == "logistic"]
    assert logit["failed"].all() and logit["test_error"].isna().all()
    assert logit["failure"].str.contains("(?i)separation|singular|converge|hessian").all()
    assert "\n" not in logit["failure"].iloc[0]
    assert not logistic["failed"].any()


def test_the_logit_matches_statsmodels_when_rows_are_plenty():
    X, y = _two_classes(n=400, columns=2, seed=3)
    logit = StatsmodelsLogit().fit(X, y)
    reference = LogisticRegression(C=1e12, tol=1e-12, max_iter=10_000).fit(X, y)      # no penalty to speak of
    assert np.allclose(logit.predict_proba(X), reference.predict_proba(X), atol=1e-3)


def test_the_unpenalized_logistic_regression_has_no_penalty_and_answers_where_the_logit_fails():
    X, y = _two_classes(n=40, columns=2, seed=4)
    X = X + 4.0 * y[:, None]                                   # a wide gap: a plane separates the classes
    free, penalized = contender("logistic_unpenalized").fit(X, y), contender("logistic").fit(X, y)
    assert free[-1].C == np.inf and penalized[-1].C == 1 and "logistic_unpenalized" in DEFAULT
    assert np.abs(free[-1].coef_).min() > 3 * np.abs(penalized[-1].coef_).max()      # no prior holds it back
    assert free.score(X, y) == 1.0
    with pytest.raises(Exception, match="(?i)separation|converge"):
        StatsmodelsLogit().fit(X, y)


def test_default_sizes_start_at_the_rows_per_class_asked_for():
    assert default_sizes([100, 100], points=4, per_class=2)[0] == 4
    assert default_sizes([100, 100], points=4)[0] == 10 and default_sizes([100, 100], points=4)[-1] == 200
    assert default_sizes([6, 100], points=3)[0] == 4           # a class too small for 5 rows: 2 per class


def test_identical_refits_of_a_deterministic_estimator_spread_nothing_and_bootstrap_refits_do():
    X, y = _two_classes(seed=1)
    X_test = _two_classes(n=20, seed=2)[0]
    same = prediction_spread(LogisticRegression(), X, y, X_test, refits=4, bootstrap=False)
    assert (same.table["sd"] == 0).all() and (same.table["range"] == 0).all()
    assert (same.table["agreement"] == 1).all() and same.summary["unsure"] == 0
    moved = prediction_spread(LogisticRegression(), X, y, X_test, refits=8, seed=0)
    assert (moved.table["sd"] > 0).all() and moved.summary["median_range"] > 0
    assert list(moved.table.columns) == ["row", "class", "mean", "sd", "low", "high", "range", "agreement"]


def test_a_spread_where_every_refit_fails_says_so():
    X, y = _two_classes(n=20, columns=30)
    with pytest.raises(RuntimeError, match="all 3 refits failed"):
        prediction_spread(StatsmodelsLogit(), X, y, X[:5], refits=3)


def test_the_crossover_is_read_off_the_summary():
    summary = pd.DataFrame({"classifier": ["g", "g", "d", "d"], "train_size": [10, 100, 10, 100],
                            "error": [0.1, 0.1, 0.2, 0.0]})
    found = crossover(summary, "g", "d")
    assert found["before"] == 10 and found["after"] == 100
    assert found["size"] == pytest.approx(np.sqrt(10 * 100))
    assert crossover(summary.assign(error=[0.3, 0.3, 0.2, 0.0]), "g", "d")["size"] is None


def test_demo_classify_with_tiny_settings_writes_its_files(tmp_path):
    from plausible.demo_classify import demo_classify

    lines = []
    result = demo_classify(out=tmp_path, datasets=("wine",),
                           classifiers=("naive_bayes", "logistic_unpenalized", "logistic", "logit"),
                           sizes=[9, 30], repeats=2, refits=3, few_rows=8, many_rows=40, say=lines.append)
    for name in ("learning_curves.csv", "learning_summary.csv", "crossovers.csv", "p_greater_n.csv",
                 "prediction_spread.csv", "learning_curves.png", "prediction_spread.png", "classify.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    fits = result["p_greater_n"]
    few = fits[fits["setting"].str.startswith("p > n")].set_index("classifier")
    assert few.loc["logit", "failure"] and not few.loc["logistic", "failure"]
    assert any("meaning:" in line for line in lines)
    crossings = result["crossovers"]                # read against the unpenalized and the penalized regression
    assert list(crossings["discriminative"]) == ["logistic_unpenalized", "logistic"]
    assert any("without a penalty" in line for line in lines) and any("prior" in line for line in lines)


def test_demo_classify_refuses_a_file_for_its_folder_and_a_rung_that_cannot_classify(tmp_path):
    assert "folder" in fails_in_one_line(["demo", "classify", "--out", "curves.png"])
    assert "log_prob" in fails_in_one_line(["demo", "classify", "--model", "gan", "--out", str(tmp_path / "c")])
