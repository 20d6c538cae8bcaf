"""bayesnet: the Chow–Liu forest is the right graph, log_prob is normalised, imputation is the exact posterior."""
import numpy as np
import pandas as pd

import plausible as pl


def chain(n: int, seed: int = 0) -> pd.DataFrame:
    """A -> B -> C -> D, three labels each: every column copies its parent 85% of the time."""
    rng = np.random.default_rng(seed)
    codes = [rng.choice(3, size=n, p=[0.5, 0.3, 0.2])]
    for _ in "BCD":
        codes.append(np.where(rng.random(n) < 0.85, codes[-1], rng.integers(0, 3, n)))
    return pd.DataFrame({name: np.array([f"{name.lower()}{k}" for k in range(3)])[code]
                         for name, code in zip("ABCD", codes)})


def undirected(edges) -> set:
    return {frozenset(edge) for edge in edges}


def test_recovers_a_chain_whatever_the_column_order():
    data = chain(5000)[["C", "A", "D", "B"]]
    model = pl.make("bayesnet", seed=0).fit(data)
    assert undirected(model.edges_) == undirected([("A", "B"), ("B", "C"), ("C", "D")])
    assert set(model.edges_) == {("C", "B"), ("B", "A"), ("C", "D")}  # rooted at the first column, C


def test_independent_columns_get_no_edges_and_equal_the_independent_model():
    rng = np.random.default_rng(1)
    data = pd.DataFrame({name: rng.choice(list("pqrs")[:k], size=5000) for name, k in zip("WXYZ", (2, 3, 4, 3))})
    model = pl.make("bayesnet", seed=0).fit(data)
    assert model.edges_ == []
    np.testing.assert_allclose(model.log_prob(data), pl.make("independent").fit(data).log_prob(data), rtol=1e-12)


def test_bic_prunes_what_little_data_cannot_support():
    def correlated(n):
        z = np.random.default_rng(2).normal(size=(n, 2)) @ np.array([[1.0, 0.3], [0.0, 0.95]])
        return pd.DataFrame({"u": z[:, 0], "v": z[:, 1]})
    assert pl.make("bayesnet").fit(correlated(50)).edges_ == []
    assert undirected(pl.make("bayesnet").fit(correlated(20000)).edges_) == {frozenset("uv")}


def test_probabilities_sum_to_one_over_every_combination():
    rng = np.random.default_rng(3)
    n = 300
    a = rng.choice(["x", "y"], size=n, p=[0.6, 0.4])
    b = pd.Series(np.where(rng.random(n) < 0.1, None, np.where(a == "x", rng.choice(["p", "q", "r"], n), "p")), dtype=object)
    count = np.minimum(rng.poisson(np.where(a == "x", 4.0, 20.0)), 35)  # an integer column with bins and edges
    data = pd.DataFrame({"a": a, "b": b, "count": count})
    model = pl.make("bayesnet", alpha=0.5).fit(data)
    assert {"a"} == {parent for parent, _ in model.edges_} and len(model.edges_) == 2
    grid = pd.MultiIndex.from_product([["x", "y"], ["p", "q", "r", None], range(count.min(), count.max() + 1)],
                                      names=["a", "b", "count"]).to_frame(index=False)
    assert abs(np.exp(model.log_prob(grid)).sum() - 1) < 1e-9


def test_imputation_is_the_exact_posterior_of_the_fitted_tables():
    model = pl.make("bayesnet", seed=0).fit(chain(5000))
    assert model.edges_ == [("A", "B"), ("B", "C"), ("C", "D")]
    code = {name: {label: k for k, label in enumerate(model.layout_.discrete[i].labels)} for i, name in enumerate("ABCD")}
    b_given_a, c_given_b = model.cpts_[1], model.cpts_[2]  # (K_A, K_B), (K_B, K_C)
    # P(B | A=a0, C=c1) ∝ P(B | a0) P(c1 | B); D is unknown too and must not matter
    posterior = b_given_a[code["A"]["a0"]] * c_given_b[:, code["C"]["c1"]]
    posterior /= posterior.sum()
    assert np.abs(posterior - b_given_a[code["A"]["a0"]]).max() > 0.1  # C really changes the answer
    rows = pd.DataFrame({"A": ["a0"] * 20000, "B": None, "C": "c1", "D": None})
    filled = model.impute(rows, n_draws=1, seed=4)[0]
    frequencies = filled["B"].value_counts(normalize=True).reindex(list(code["B"]), fill_value=0.0)
    np.testing.assert_allclose(frequencies.to_numpy(), posterior, atol=0.015)
    assert (filled[["A", "C"]] == rows[["A", "C"]]).all().all()


def test_a_mixed_table_keeps_its_dependencies_and_round_trips(tmp_path):
    rng = np.random.default_rng(5)
    n = 3000
    group = rng.choice(["lo", "hi"], size=n)
    x = np.where(group == "hi", 6.0, 0.0) + rng.normal(size=n)
    visits = np.where(rng.random(n) < 0.3, 0, rng.poisson(np.where(group == "hi", 30, 10)))  # a point mass at 0
    data = pd.DataFrame({"group": group, "x": x, "visits": visits})
    model = pl.make("bayesnet", seed=0).fit(data)
    assert undirected(model.edges_) == undirected([("group", "x"), ("group", "visits")])

    synthetic = model.sample(4000, seed=1)
    means = synthetic.groupby("group")[["x", "visits"]].mean()
    assert abs(means.loc["hi", "x"] - means.loc["lo", "x"] - 6.0) < 0.5
    assert means.loc["hi", "visits"] > means.loc["lo", "visits"] + 10
    assert abs((synthetic["visits"] == 0).mean() - (visits == 0).mean()) < 0.04

    hidden = data.head(500).assign(x=np.nan)
    imputed = model.impute(hidden, n_draws=1, seed=2)[0]
    gap = imputed.groupby("group")["x"].mean()
    assert abs(gap["hi"] - gap["lo"] - 6.0) < 0.6  # x is drawn from P(x | group, visits), not from P(x)

    model.save(tmp_path / "net")
    loaded = pl.load(tmp_path / "net")
    assert loaded.edges_ == model.edges_
    pd.testing.assert_frame_equal(loaded.sample(100, seed=3), model.sample(100, seed=3))
    np.testing.assert_allclose(loaded.log_prob(data), model.log_prob(data))
