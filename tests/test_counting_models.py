import numpy as np
import pandas as pd
import pytest

import plausible as pl
from plausible.evaluation.samples import metrics


def test_histogram_sums_to_one_over_all_fashion_combinations():
    truth = pl.datasets.truth("fashion")
    model = pl.make("histogram").fit(pl.datasets.load("fashion", n=300, seed=0))
    assert abs(np.exp(model.log_prob(truth.drop(columns="probability"))).sum() - 1) < 1e-9


def test_histogram_is_the_laplace_estimate():
    data = pd.DataFrame({"a": ["x", "x", "y"], "b": ["p", "q", "p"]})  # d = 4 cells, N = 3
    model = pl.make("histogram").fit(data)
    grid = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["p", "q", "p", "q"]})
    np.testing.assert_allclose(np.exp(model.log_prob(grid)), np.array([2, 2, 2, 1]) / 7)
    frequencies = model.sample(70000, seed=0).value_counts(normalize=True).sort_index().to_numpy()
    np.testing.assert_allclose(frequencies, np.array([2, 2, 2, 1]) / 7, atol=0.01)


def test_histogram_imputation_is_the_exact_conditional():
    data = pd.DataFrame({"a": ["x"] * 6 + ["y"] * 2, "b": ["p", "p", "p", "q", "q", "r", "r", "r"]})
    model = pl.make("histogram").fit(data)
    draws = model.impute(pd.DataFrame({"a": ["x"], "b": [None]}), n_draws=4000, seed=1)
    frequencies = pd.Series([d["b"].iloc[0] for d in draws]).value_counts(normalize=True)
    # P(b | a=x) ∝ n + 1: p: 3+1, q: 2+1, r: 1+1
    np.testing.assert_allclose(frequencies[["p", "q", "r"]].to_numpy(), np.array([4, 3, 2]) / 9, atol=0.025)


@pytest.mark.parametrize("lookup_group", [1, 10**9])   # every row looked up; every row scanned
def test_histogram_imputation_of_rows_with_different_known_cells_in_one_call(lookup_group, monkeypatch):
    """Rows sharing a gap pattern are matched to the training cells by lookup, the others by a scan
    of every cell: either way each row gets its own exact conditional, P(unknown | known) ∝ n + α."""
    from plausible.ladder import histogram

    monkeypatch.setattr(histogram, "LOOKUP_GROUP", lookup_group)
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"a": rng.choice(["x", "y"], 60), "b": rng.choice(["p", "q", "r"], 60),
                         "c": rng.choice(["u", "v"], 60)})
    model = pl.make("histogram").fit(data)
    queries = pd.DataFrame({"a": ["x", None, "x", "y"], "b": [None, "p", "p", "q"], "c": [None, None, None, "v"]})
    draws = model.impute(queries, n_draws=2000, seed=1)
    counts = data.value_counts()
    levels = {"a": ["x", "y"], "b": ["p", "q", "r"], "c": ["u", "v"]}
    for row in range(len(queries)):
        known = {k: v for k, v in queries.iloc[row].items() if v is not None}
        options = [dict(zip(levels, combo)) for combo in pd.MultiIndex.from_product(levels.values())]
        options = [o for o in options if all(o[k] == v for k, v in known.items())]
        weights = np.array([counts.get((o["a"], o["b"], o["c"]), 0) + 1.0 for o in options])
        seen = pd.Series([tuple(d.iloc[row]) for d in draws]).value_counts(normalize=True)
        observed = np.array([seen.get((o["a"], o["b"], o["c"]), 0.0) for o in options])
        np.testing.assert_allclose(observed, weights / weights.sum(), atol=0.03)


def test_independent_is_the_product_of_marginals():
    data = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["p", "p", "q", "q"]})  # perfectly dependent
    model = pl.make("independent", alpha=0.0).fit(data)
    np.testing.assert_allclose(np.exp(model.log_prob(pd.DataFrame({"a": ["x"], "b": ["q"]}))), [0.25])


def test_independent_density_integrates_to_one_with_integers():
    data = pd.DataFrame({"n": np.random.default_rng(0).poisson(30, 500)})
    model = pl.make("independent").fit(data)
    grid = pd.DataFrame({"n": np.arange(0, 80)})
    assert abs(np.exp(model.log_prob(grid)).sum() - 1) < 1e-9  # integer columns get a mass per integer


def test_fashion_truth_is_a_distribution_with_dependencies():
    truth = pl.datasets.truth("fashion")
    assert len(truth) == 4032 and abs(truth["probability"].sum() - 1) < 1e-12
    assert truth.drop(columns="probability").drop_duplicates().shape[0] == 4032
    model = pl.make("independent").fit(pl.datasets.load("fashion", n=20000, seed=1))
    assert metrics.kl_to_truth(model, truth) > 0.5  # naive Bayes stays measurably wrong with plenty of data
    a = pl.datasets.load("fashion", n=50, seed=0)
    pd.testing.assert_frame_equal(a, pl.datasets.load("fashion", n=50, seed=0))
    assert not a.equals(pl.datasets.load("fashion", n=50, seed=1))
