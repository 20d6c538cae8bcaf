"""copula: marginals kept, correlation recovered, normalised log_prob, point masses, conditioning."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import plausible as pl
from plausible.ladder.copula import _box_probability, _truncated_mean


def gaussian_copula_table(n: int, rho: float, seed: int) -> pd.DataFrame:
    """Two skewed columns joined by a Gaussian copula of correlation rho, plus a category and a flag."""
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    return pd.DataFrame({
        "income": np.exp(1 + 0.8 * z[:, 0]),
        "hours": stats.gamma(3).ppf(stats.norm.cdf(z[:, 1])),
        "plan": np.where(z[:, 0] > 0.8, "gold", np.where(z[:, 0] > -0.3, "silver", "basic")),
        "active": rng.random(n) < 0.3,
    })


def test_samples_keep_each_marginal():
    data = gaussian_copula_table(4000, 0.6, seed=0)
    synthetic = pl.make("copula", seed=0).fit(data).sample(4000, seed=1)
    for column in ("income", "hours"):
        p_value = stats.ks_2samp(data[column], synthetic[column]).pvalue
        assert p_value > 0.01, f"{column}: samples differ from the data (KS p = {p_value:.4f})"
    for column in ("plan", "active"):
        real = data[column].value_counts(normalize=True)
        fake = synthetic[column].value_counts(normalize=True).reindex(real.index, fill_value=0)
        assert np.abs(real - fake).max() < 0.03, f"{column}: frequencies {fake.to_dict()} vs {real.to_dict()}"


def test_correlation_of_a_gaussian_copula_is_recovered():
    rho = 0.7
    data = gaussian_copula_table(5000, rho, seed=1)[["income", "hours"]]
    model = pl.make("copula", seed=0).fit(data)
    assert abs(model.correlation_[0, 1] - rho) < 0.03, f"fitted correlation {model.correlation_[0, 1]:.3f}, true {rho}"
    synthetic = model.sample(5000, seed=2)
    spearman = stats.spearmanr(synthetic["income"], synthetic["hours"]).statistic
    expected = 6 / np.pi * np.arcsin(rho / 2)  # Spearman's rho of a Gaussian copula
    assert abs(spearman - expected) < 0.03, f"Spearman correlation of samples {spearman:.3f}, expected {expected:.3f}"


@pytest.mark.parametrize("columns", [["a", "b"], ["a", "b", "c"]])
def test_probabilities_of_all_combinations_sum_to_one(columns):
    rng = np.random.default_rng(2)
    n = 500
    a = rng.choice(["x", "y"], n, p=[0.7, 0.3])
    b = np.where(a == "x", rng.choice(["p", "q", "r"], n, p=[0.6, 0.3, 0.1]), rng.choice(["p", "q", "r"], n))
    c = pd.Series(np.where(rng.random(n) < 0.1, None, np.where(b == "p", "u", rng.choice(["u", "v", "w"], n))))
    data = pd.DataFrame({"a": a, "b": b, "c": c})[columns]
    model = pl.make("copula", seed=0).fit(data)
    levels = [list(data[k].dropna().unique()) + ([None] if data[k].isna().any() else []) for k in columns]
    grid = pd.MultiIndex.from_product(levels, names=columns).to_frame(index=False)
    total = np.exp(model.log_prob(grid)).sum()
    assert abs(total - 1) < 1e-3, f"probabilities over all {len(grid)} combinations sum to {total:.6f}"


def test_density_integrates_to_one_in_1d_and_with_a_category():
    rng = np.random.default_rng(3)
    n = 2000
    group = rng.choice(["low", "high"], n, p=[0.6, 0.4])
    value = np.where(group == "low", rng.normal(0, 1, n), rng.normal(4, 0.7, n))
    data = pd.DataFrame({"value": value, "group": group})
    grid = np.linspace(value.min() - 1, value.max() + 1, 40001)

    def integral(density):
        return float(np.sum((density[1:] + density[:-1]) / 2 * np.diff(grid)))

    one_d = pl.make("copula", seed=0).fit(data[["value"]])
    total = integral(np.exp(one_d.log_prob(pd.DataFrame({"value": grid}))))
    assert abs(total - 1) < 0.01, f"1-D density integrates to {total:.4f}"
    mixed = pl.make("copula", seed=0).fit(data)
    assert abs(mixed.correlation_[0, 1]) > 0.5, "the category should be strongly tied to the value"
    total = sum(integral(np.exp(mixed.log_prob(pd.DataFrame({"value": grid, "group": label}))))
                for label in ("low", "high"))
    assert abs(total - 1) < 0.01, f"density over (value, group) integrates to {total:.4f}"


def test_box_probability_matches_scipy():
    rng = np.random.default_rng(4)
    factor = rng.normal(size=(3, 3))
    covariance = factor @ factor.T + 0.5 * np.eye(3)
    lower = np.array([[-1.0, -np.inf, 0.2], [-np.inf, -np.inf, -np.inf], [0.5, -2.0, -1.0], [2.0, 1.0, -np.inf]])
    upper = np.array([[1.0, 0.5, np.inf], [0.0, 0.0, 0.0], [np.inf, 3.0, 1.0], [np.inf, np.inf, 0.0]])
    estimate = _box_probability(lower, upper, covariance, 4096)
    reference = [stats.multivariate_normal(np.zeros(3), covariance).cdf(u, lower_limit=lo)
                 for lo, u in zip(lower, upper)]
    np.testing.assert_allclose(estimate, reference, atol=5e-4)


def test_point_mass_comes_back_as_exact_zeros_at_its_rate():
    rng = np.random.default_rng(5)
    n = 3000
    z = rng.normal(size=n)
    spend = np.where(rng.random(n) < 0.6, 0.0, np.exp(2 + z))
    data = pd.DataFrame({"spend": spend, "visits": z * 3 + rng.normal(size=n)})
    model = pl.make("copula", seed=0).fit(data)
    synthetic = model.sample(5000, seed=6)
    zero_rate = (synthetic["spend"] == 0).mean()
    assert abs(zero_rate - 0.6) < 0.03, f"exact zeros in {zero_rate:.3f} of samples, data has {(spend == 0).mean():.3f}"
    assert (synthetic["spend"] >= 0).all() and (synthetic["spend"][synthetic["spend"] != 0] > 0.5).mean() > 0.95, \
        "values off the point mass should look like the positive part, not be smeared towards 0"
    assert np.isfinite(model.log_prob(data.head(50))).all()


def test_imputation_follows_a_correlated_observed_column():
    rho = 0.9
    rng = np.random.default_rng(7)
    n = 4000
    z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    data = pd.DataFrame({"x": np.exp(z[:, 0]), "y": z[:, 1], "side": np.where(z[:, 0] > 0, "up", "down")})
    model = pl.make("copula", seed=0).fit(data)

    # a known value: the draw is exact, y | x ~ N(rho z_x, 1 - rho^2) since y is its own normal score
    known_x = float(np.exp(stats.norm.ppf(0.9)))
    holes = pd.DataFrame({"x": np.full(400, known_x), "y": np.nan, "side": "up"})
    holes["side"] = None
    imputed = model.impute(holes, n_draws=1, seed=8)[0]["y"]
    assert abs(imputed.mean() - rho * stats.norm.ppf(0.9)) < 0.1, f"E[y | x] = {imputed.mean():.3f}"
    assert abs(imputed.std() - np.sqrt(1 - rho ** 2)) < 0.1, f"sd(y | x) = {imputed.std():.3f}"

    # a known category only confines the latent to an interval (the Gibbs path); y is its own normal
    # score, so under the model E[y | side] = R_y,side E[z_side | z_side in the interval of side]
    side_column = model.layout_.discrete[0]
    for side, sign in (("up", 1), ("down", -1)):
        interval = model.marginals_[2].z_bounds[side_column.labels.index(side)]
        expected = model.correlation_[1, 2] * _truncated_mean(*interval)
        holes = pd.DataFrame({"x": np.nan, "y": np.full(1000, np.nan), "side": side})
        draws = model.impute(holes, n_draws=1, seed=9)[0]
        assert sign * draws["y"].mean() > 0.4, f"E[y | side={side}] = {draws['y'].mean():.3f} points the wrong way"
        mean = draws["y"].mean()
        assert abs(mean - expected) < 0.08, f"E[y | side={side}] = {mean:.3f}, the model says {expected:.3f}"
        assert ((draws["x"] > 1) == (side == "up")).mean() > 0.7, f"imputed x mostly disagrees with side={side}"


def test_gibbs_imputation_matches_rejection_from_the_model():
    # several known atoms at once: their latents interact, so only a working Gibbs sampler gets this right
    rng = np.random.default_rng(10)
    z = rng.multivariate_normal(np.zeros(4), 0.2 * np.eye(4) + 0.8, size=3000)
    data = pd.DataFrame({"y": z[:, 0], "a": np.where(z[:, 1] > 0.3, "yes", "no"), "b": z[:, 2] > -0.2,
                         "c": np.where(z[:, 3] > 0.5, "high", np.where(z[:, 3] > -0.5, "mid", "low"))})
    model = pl.make("copula", seed=0).fit(data)
    synthetic = model.sample(200_000, seed=11)
    given = (synthetic["a"] == "yes") & synthetic["b"] & (synthetic["c"] == "high")
    reference = synthetic.loc[given, "y"]
    holes = pd.DataFrame({"y": np.full(8000, np.nan), "a": "yes", "b": True, "c": "high"})
    imputed = model.impute(holes, n_draws=1, seed=12)[0]["y"]
    assert abs(imputed.mean() - reference.mean()) < 0.04, f"E[y | a, b, c]: Gibbs {imputed.mean():.3f}, " \
                                                          f"rejection {reference.mean():.3f}"
    assert abs(imputed.std() - reference.std()) < 0.04, \
        f"sd(y | a, b, c): Gibbs {imputed.std():.3f}, rejection {reference.std():.3f}"


def test_gaps_at_random_do_not_wash_out_the_correlation():
    """A gap is its own coordinate, the column's axis is integrated out: with 30% of cells
    missing at random the correlation is still recovered, the missing rate comes back, and
    imputation follows the observed column."""
    rng = np.random.default_rng(3)
    x = rng.multivariate_normal([0, 0, 0], [[1, 0.8, 0.5], [0.8, 1, 0.6], [0.5, 0.6, 1]], 4000)
    data = pd.DataFrame(x, columns=["a", "b", "c"])
    gappy = data.mask(rng.random(data.shape) < 0.3)
    model = pl.make("copula", seed=0).fit(gappy)
    np.testing.assert_allclose(model.correlation_[:3, :3], [[1, 0.8, 0.5], [0.8, 1, 0.6], [0.5, 0.6, 1]], atol=0.04)
    assert np.abs(model.correlation_[3:, :3]).max() < 0.08        # gaps at random: unrelated to the values
    synthetic = model.sample(4000, seed=1)
    np.testing.assert_allclose(synthetic.isna().mean(), 0.3, atol=0.03)
    draws = model.impute(pd.DataFrame({"a": [1.5, -1.5], "b": [np.nan, np.nan], "c": [np.nan, np.nan]}),
                         n_draws=300, seed=2)
    b = np.stack([d["b"].to_numpy() for d in draws])
    np.testing.assert_allclose(b.mean(axis=0), [1.2, -1.2], atol=0.15)   # E[b | a] = 0.8 a
    np.testing.assert_allclose(b.std(axis=0), 0.6, atol=0.1)              # sqrt(1 - 0.8²)


def test_imputation_in_pattern_chunks_draws_from_the_same_conditionals(monkeypatch):
    """A wide table with a gap in every row has a matrix stack per gap pattern; the patterns are
    imputed a chunk at a time. One pattern per chunk must draw from the same conditionals."""
    from plausible.ladder import copula

    rng = np.random.default_rng(13)
    z = rng.multivariate_normal(np.zeros(3), 0.3 * np.eye(3) + 0.7, size=3000)
    data = pd.DataFrame({"x": z[:, 0], "y": np.exp(z[:, 1]), "side": np.where(z[:, 2] > 0, "up", "down")})
    model = pl.make("copula", seed=0).fit(data)
    holes = pd.DataFrame({"x": np.tile([1.0, np.nan, -0.5], 3000), "y": np.nan,
                          "side": np.tile(["up", "down", None], 3000)})
    draws = {}
    for entries in (copula.PATTERN_ENTRIES, 1):
        monkeypatch.setattr(copula, "PATTERN_ENTRIES", entries)
        draws[entries] = model.impute(holes, n_draws=1, seed=14)[0]
    whole, chunked = draws[copula.PATTERN_ENTRIES], draws[1]
    assert chunked["x"].notna().all() and (chunked.loc[holes["x"].notna(), "x"] == holes["x"].dropna()).all()
    for pattern in range(3):
        rows = np.arange(pattern, len(holes), 3)
        for column in ("x", "y"):
            a, b = np.log(whole[column].iloc[rows]) if column == "y" else whole[column].iloc[rows], \
                np.log(chunked[column].iloc[rows]) if column == "y" else chunked[column].iloc[rows]
            if a.std() == 0:
                continue
            error = np.sqrt(2 / len(rows)) * a.std()
            assert abs(a.mean() - b.mean()) < 5 * error, f"pattern {pattern}, {column}: {a.mean():.3f} vs {b.mean():.3f}"
            assert abs(a.std() / b.std() - 1) < 0.1, f"pattern {pattern}, {column}: sd {a.std():.3f} vs {b.std():.3f}"
