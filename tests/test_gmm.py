"""gmm: finds separated clusters, its log_prob is the mixture formula, and it conditions through the clusters."""
import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import plausible as pl


def two_clusters(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """30% around (0, 0), 70% around (8, -5), each with its own covariance; returns the labels too."""
    rng = np.random.default_rng(seed)
    second = rng.random(n) < 0.7
    x = np.where(second[:, None],
                 rng.multivariate_normal([8.0, -5.0], [[1.0, -0.4], [-0.4, 0.5]], n),
                 rng.multivariate_normal([0.0, 0.0], [[2.0, 0.8], [0.8, 1.0]], n))
    return pd.DataFrame(x, columns=["x", "y"]), second


def test_bic_chooses_two_clusters_and_recovers_them():
    data, second = two_clusters(1500, seed=0)
    model = pl.make("gmm", seed=0).fit(data)
    assert model.n_components_ == 2, f"BIC chose {model.n_components_} clusters: {model.bic_}"
    means = model.center_ + model.scale_ * model.means_                   # user units
    order = np.argsort(means[:, 0])
    np.testing.assert_allclose(means[order], [[0.0, 0.0], [8.0, -5.0]], atol=0.15)
    np.testing.assert_allclose(model.weights_[order], [0.3, 0.7], atol=0.04)
    covariances = model.covariances_ * np.outer(model.scale_, model.scale_)
    np.testing.assert_allclose(covariances[order[1]], [[1.0, -0.4], [-0.4, 0.5]], atol=0.15)


@pytest.mark.parametrize("covariance", ["full", "tied", "diag"])
def test_log_prob_is_the_mixture_formula(covariance):
    """sum_k pi_k theta_k[color] theta_k[z state] N(present values; mu_k, S_k), computed by hand."""
    data, second = two_clusters(600, seed=1)
    rng = np.random.default_rng(2)
    data["color"] = np.where(second, rng.choice(["red", "blue"], 600, p=[0.9, 0.1]), rng.choice(["red", "blue"], 600))
    data["z"] = np.where(rng.random(600) < 0.3, np.nan, data["x"] + rng.normal(0, 1, 600))   # sometimes missing
    model = pl.make("gmm", seed=0, n_components=2, covariance=covariance).fit(data)
    if covariance == "diag":
        assert np.all(model.covariances_[:, 0, 1:] == 0), "diag covariances must be diagonal"
    if covariance == "tied":
        np.testing.assert_array_equal(model.covariances_[0], model.covariances_[1])

    rows = data.head(12)
    codes = model.layout_.encode(rows).codes
    means = model.center_ + model.scale_ * model.means_
    covariances = model.covariances_ * np.outer(model.scale_, model.scale_)
    values = rows[[c.column for c in model.layout_.continuous]].to_numpy(float)
    expected = []
    for i in range(len(rows)):
        present = ~np.isnan(values[i])
        terms = []
        for k in range(2):
            discrete = sum(np.log(probs[k, codes[i, j]]) for j, probs in enumerate(model.discrete_probs_))
            normal = multivariate_normal(means[k][present], covariances[k][np.ix_(present, present)])
            terms.append(np.log(model.weights_[k]) + discrete + normal.logpdf(values[i][present]))
        expected.append(logsumexp(terms))
    np.testing.assert_allclose(model.log_prob(rows), expected, rtol=1e-9)


def test_tied_covariance_recovers_the_shared_one():
    """Two clusters that differ only in their means: the tied mixture finds both (by BIC, which
    counts one covariance, not two) and the shared covariance, where separate ones would be noisier."""
    rng = np.random.default_rng(3)
    shared = [[1.0, 0.6], [0.6, 1.0]]
    second = rng.random(800) < 0.4
    x = rng.multivariate_normal([0.0, 0.0], shared, 800) + np.where(second[:, None], [5.0, 0.0], 0.0)
    model = pl.make("gmm", seed=0, covariance="tied").fit(pd.DataFrame(x, columns=["x", "y"]))
    assert model.n_components_ == 2, model.bic_
    assert model._parameter_count(2) == 1 + 2 * 2 + 3                   # weights, two means, one covariance
    covariances = model.covariances_ * np.outer(model.scale_, model.scale_)
    np.testing.assert_allclose(covariances[0], shared, atol=0.12)
    np.testing.assert_array_equal(covariances[0], covariances[1])
    means = model.center_ + model.scale_ * model.means_
    np.testing.assert_allclose(means[np.argsort(means[:, 0])], [[0.0, 0.0], [5.0, 0.0]], atol=0.15)


def test_imputing_a_category_from_a_number_picks_its_cluster():
    rng = np.random.default_rng(3)
    label = rng.choice(["a", "b"], 800)
    data = pd.DataFrame({"label": label, "x": np.where(label == "a", rng.normal(0, 1, 800), rng.normal(10, 1, 800))})
    model = pl.make("gmm", seed=0).fit(data)
    rows = pd.DataFrame({"label": [None] * 400, "x": [0.5] * 200 + [9.5] * 200})
    filled = model.impute(rows, n_draws=1, seed=4)[0]["label"].to_numpy()
    assert (filled[:200] == "a").mean() > 0.97 and (filled[200:] == "b").mean() > 0.97
    # and the other way: a number given its category comes from that category's cluster
    rows = pd.DataFrame({"label": ["b"] * 500, "x": [np.nan] * 500})
    x = model.impute(rows, n_draws=1, seed=5)[0]["x"]
    assert abs(x.mean() - 10) < 0.2 and 0.8 < x.std() < 1.2


def test_not_missing_is_evidence_for_the_cluster():
    """Cluster 'low' almost never has a tier; an unknown tier (which impute never leaves missing)
    therefore points to cluster 'high', and so does the number imputed beside it."""
    rng = np.random.default_rng(6)
    high = rng.random(1000) < 0.5
    data = pd.DataFrame({
        "x": np.where(high, rng.normal(10, 1, 1000), rng.normal(0, 1, 1000)),
        "tier": pd.Series(np.where(high, rng.choice(["gold", "basic"], 1000), None), dtype=object),
    })
    data.loc[~high & (rng.random(1000) < 0.05), "tier"] = "basic"
    model = pl.make("gmm", seed=0, n_components=2).fit(data)
    rows = pd.DataFrame({"x": [np.nan] * 1000, "tier": pd.Series([None] * 1000, dtype=object)})
    filled = model.impute(rows, n_draws=1, seed=7)[0]
    assert filled["tier"].notna().all()
    share_high = (filled["x"] > 5).mean()
    assert share_high > 0.85, f"only {share_high:.2f} of rows went to the cluster that has a tier"


@pytest.mark.parametrize("n_components", [None, 3])
def test_pure_categorical_probabilities_sum_to_one(n_components):
    rng = np.random.default_rng(8)
    a = rng.choice(["x", "y", "z"], 600)
    b = np.where(rng.random(600) < 0.9, a, rng.choice(["x", "y", "z"], 600))    # b mostly copies a
    c = rng.choice(["u", "v"], 600, p=[0.3, 0.7])
    data = pd.DataFrame({"a": a, "b": b, "c": c})
    model = pl.make("gmm", seed=0, n_components=n_components).fit(data)
    grid = pd.DataFrame(list(itertools.product(["x", "y", "z"], ["x", "y", "z"], ["u", "v"])), columns=["a", "b", "c"])
    probabilities = np.exp(model.log_prob(grid))
    assert abs(probabilities.sum() - 1) < 1e-9
    # the latent classes carry the dependence that an independent model cannot: P(b = a) is about 0.93
    assert probabilities[(grid["a"] == grid["b"]).to_numpy()].sum() > 0.8
