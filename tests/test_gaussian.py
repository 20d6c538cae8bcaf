"""gaussian: imputations follow the closed-form conditional; log_prob is the marginal normal density."""
import io
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

import plausible as pl

MEAN = np.array([1.0, -2.0, 30.0])
COVARIANCE = np.array([[4.0, 1.2, -3.0],
                       [1.2, 1.0, 0.9],
                       [-3.0, 0.9, 9.0]])


def correlated_table(n: int, seed: int) -> pd.DataFrame:
    x = np.random.default_rng(seed).multivariate_normal(MEAN, COVARIANCE, size=n)
    return pd.DataFrame(x, columns=["a", "b", "c"])


def closed_form(mean, covariance, known: list[int], value: np.ndarray):
    """E[x_M | x_O = value] and Cov[x_M | x_O] of N(mean, covariance)."""
    hidden = [i for i in range(len(mean)) if i not in known]
    regression = np.linalg.solve(covariance[np.ix_(known, known)], covariance[np.ix_(known, hidden)])
    conditional_mean = mean[hidden] + (value - mean[known]) @ regression
    conditional_covariance = covariance[np.ix_(hidden, hidden)] - covariance[np.ix_(hidden, known)] @ regression
    return conditional_mean, conditional_covariance


@pytest.fixture(scope="module")
def fitted():
    data = correlated_table(4000, seed=0)
    holes = np.random.default_rng(1).random(data.shape) < 0.1   # EM has gaps to fill while fitting
    return pl.make("gaussian", seed=0).fit(data.mask(holes))


@pytest.mark.parametrize("known", [["a", "b"], ["a"], ["c"]])
def test_imputation_matches_the_closed_form_conditional(fitted, known):
    columns = ["a", "b", "c"]
    known_index = [columns.index(c) for c in known]
    hidden = [c for c in columns if c not in known]
    value = MEAN[known_index] + np.array([1.5, -0.5])[:len(known)] * np.sqrt(np.diag(COVARIANCE))[known_index]
    n = 4000  # the same row many times: one impute call gives n independent draws from the conditional
    rows = pd.DataFrame({c: np.full(n, value[known.index(c)]) if c in known else np.nan for c in columns})
    draws = fitted.impute(rows, n_draws=1, seed=3)[0]
    assert (draws[known].to_numpy() == rows[known].to_numpy()).all(), "impute changed the known cells"
    sample = draws[hidden].to_numpy()

    expected_mean, expected_covariance = closed_form(fitted.mean, fitted.covariance, known_index, value)
    standard_error = np.sqrt(np.diag(expected_covariance) / n)
    assert np.all(np.abs(sample.mean(axis=0) - expected_mean) < 4 * standard_error), \
        f"conditional mean {sample.mean(axis=0)} vs closed form {expected_mean}"
    np.testing.assert_allclose(np.cov(sample.T).reshape(expected_covariance.shape), expected_covariance,
                               rtol=0.1, atol=0.05 * np.sqrt(np.outer(np.diag(expected_covariance),
                                                                      np.diag(expected_covariance))).max())
    # and, loosely, the conditional of the true distribution the table was drawn from
    true_mean, true_covariance = closed_form(MEAN, COVARIANCE, known_index, value)
    assert np.all(np.abs(sample.mean(axis=0) - true_mean) < 0.15 * np.sqrt(np.diag(true_covariance)) + 0.05)
    np.testing.assert_allclose(np.diag(np.atleast_2d(np.cov(sample.T))), np.diag(true_covariance), rtol=0.2)


def test_em_is_unbiased_when_values_are_missing_at_random():
    """c is hidden whenever a is large: the complete cases are biased, EM is not."""
    data = correlated_table(6000, seed=4)
    data.loc[data["a"] > MEAN[0] + 1.0, "c"] = np.nan                     # about 30% of c, depending on a
    model = pl.make("gaussian").fit(data)
    complete_case_error = abs(data["c"].mean() - MEAN[2])
    assert complete_case_error > 0.5, "the test data should bias the complete-case mean"
    assert abs(model.mean[2] - MEAN[2]) < 0.15
    np.testing.assert_allclose(model.covariance, COVARIANCE, atol=0.35)


def test_log_prob_is_the_normal_density_with_absent_values_integrated_out():
    data = correlated_table(2000, seed=5)
    data.loc[::4, "b"] = np.nan                                            # b is missing in a quarter of the rows
    data["color"] = np.where(np.arange(len(data)) % 3 == 0, "red", "blue")
    model = pl.make("gaussian", alpha=0.0).fit(data)
    rows = data.head(8)
    mean, covariance = model.mean, model.covariance
    expected = []
    for _, row in rows.iterrows():
        values = row[["a", "b", "c"]].to_numpy(float)
        present = ~np.isnan(values)
        density = multivariate_normal(mean[present], covariance[np.ix_(present, present)]).logpdf(values[present])
        b_state = data["b"].isna() if np.isnan(row["b"]) else data["b"].notna()      # alpha=0: plain frequencies
        expected.append(density + np.log(data["color"].eq(row["color"]).mean()) + np.log(b_state.mean()))
    np.testing.assert_allclose(model.log_prob(rows), expected, rtol=1e-9, atol=1e-9)


def test_log_prob_is_in_user_units():
    """Scaling a column by 1000 lowers the log-density by log 1000 exactly."""
    data = correlated_table(500, seed=6)
    small = pl.make("gaussian").fit(data).log_prob(data)
    large = pl.make("gaussian").fit(data.assign(c=data["c"] * 1000)).log_prob(data.assign(c=data["c"] * 1000))
    np.testing.assert_allclose(small - large, np.log(1000), rtol=1e-7)


def test_rare_gap_patterns_batched_through_the_precision_agree_with_the_grouped_path(monkeypatch):
    """Cells missing at random give every row its own pattern; those rows go through the precision
    matrix in batches. Densities, EM updates and conditional draws must match the per-pattern path."""
    from plausible.ladder import _gaussian

    rng = np.random.default_rng(0)
    C, K = 5, 2
    x = rng.multivariate_normal(np.zeros(C), 0.5 * np.eye(C) + 0.5, size=300)
    x[rng.random(x.shape) < 0.3] = np.nan
    x[:4] = np.nan                                        # rows with nothing present
    means = rng.normal(size=(K, C)) * 0.3
    covariances = np.stack([np.eye(C) + 0.4, np.eye(C) * 2 - 0.2 * (np.eye(C) - 1)])
    weights = rng.dirichlet(np.ones(K), size=len(x))
    ridge = np.full(C, 1e-6)
    results = {}
    for mode, minimum, entries in (("grouped", 1, 1 << 22), ("batched", 10**9, 1 << 22), ("small", 10**9, 40)):
        monkeypatch.setattr(_gaussian, "MIN_GROUP", minimum)
        monkeypatch.setattr(_gaussian, "BATCH_ENTRIES", entries)   # "small": 4-row batches, blocks cut to 1-2 rows
        groups = _gaussian.patterns(x)
        assert (groups[-1].present.ndim == 2) == (mode != "grouped")
        draws = np.stack([_gaussian.sample_missing(x, means, covariances, np.zeros(len(x), int),
                                                   np.random.default_rng(s), groups) for s in range(400)])
        results[mode] = (_gaussian.log_density(x, means, covariances, groups),
                         _gaussian.em_update(x, means, covariances, ridge, weights, groups), draws)
    (grouped_density, grouped_update, grouped_draws), (batched_density, batched_update, batched_draws) = \
        results["grouped"], results["batched"]
    np.testing.assert_allclose(batched_density, grouped_density, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(batched_update[0], grouped_update[0], atol=1e-9)
    np.testing.assert_allclose(batched_update[1], grouped_update[1], atol=1e-9)
    observed = ~np.isnan(x)
    assert (batched_draws[:, observed] == x[observed]).all()          # present values kept exactly
    error = np.sqrt(2 / len(batched_draws)) * grouped_draws.std(0)   # sd of a difference of two MC means
    assert (np.abs(batched_draws.mean(0) - grouped_draws.mean(0)) <= 5 * error + 1e-12).all()
    np.testing.assert_allclose(batched_draws.std(0), grouped_draws.std(0), rtol=0.25, atol=1e-12)
    small_density, small_update, small_draws = results["small"]   # the same numbers, cut differently
    np.testing.assert_allclose(small_density, batched_density, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(small_update[1], batched_update[1], atol=1e-12)
    np.testing.assert_allclose(small_draws, batched_draws, atol=1e-12)



def test_a_solved_computes_the_rows_conditionals_once_and_changes_no_number(monkeypatch):
    """EM asks for the rare-pattern rows' conditionals twice under the same parameters (likelihood,
    then update); a `Solved` keeps them from the first call. The numbers must be the very same."""
    from plausible.ladder import _gaussian

    rng = np.random.default_rng(1)
    C, K = 6, 2
    x = rng.multivariate_normal(np.zeros(C), 0.5 * np.eye(C) + 0.5, size=200)
    x[rng.random(x.shape) < 0.4] = np.nan
    means = rng.normal(size=(K, C)) * 0.3
    covariances = np.stack([np.eye(C) + 0.4, np.eye(C) * 2 - 0.2 * (np.eye(C) - 1)])
    weights, ridge = rng.dirichlet(np.ones(K), size=len(x)), np.full(C, 1e-6)
    groups = _gaussian.patterns(x)
    assert groups[-1].present.ndim == 2                              # there are rare-pattern rows
    calls = []
    solve = _gaussian._row_conditionals
    monkeypatch.setattr(_gaussian, "_row_conditionals", lambda *args: calls.append(1) or solve(*args))

    plain = (_gaussian.log_density(x, means, covariances, groups),
             _gaussian.em_update(x, means, covariances, ridge, weights, groups))
    fresh = len(calls)
    keep = _gaussian.Solved()
    kept = (_gaussian.log_density(x, means, covariances, groups, keep),
            _gaussian.em_update(x, means, covariances, ridge, weights, groups, keep=keep))
    assert len(calls) - fresh == fresh // 2 and len(keep) > 0 and keep.bytes > 0   # half the solves
    np.testing.assert_array_equal(kept[0], plain[0])
    np.testing.assert_array_equal(kept[1][0], plain[1][0])
    np.testing.assert_array_equal(kept[1][1], plain[1][1])

    one = _gaussian.Solved()                                          # one Gaussian: mahalanobis shares too
    distances = _gaussian.mahalanobis(x, means[0], covariances[0], groups, one)
    before = len(calls)
    np.testing.assert_array_equal(_gaussian.log_density(x, means[:1], covariances[:1], groups, one),
                                  _gaussian.log_density(x, means[:1], covariances[:1], groups))
    assert len(calls) - before == len(one)                            # only the call without `keep` solved
    np.testing.assert_array_equal(distances, _gaussian.mahalanobis(x, means[0], covariances[0], groups))

    monkeypatch.setattr(_gaussian, "KEEP_BYTES", 0)                   # no room: recomputed, same numbers
    full = _gaussian.Solved()
    np.testing.assert_array_equal(_gaussian.log_density(x, means, covariances, groups, full), plain[0])
    assert len(full) == 0 and full.bytes == 0


def test_shrinkage_divides_every_correlation_and_keeps_the_variances():
    data = correlated_table(3000, seed=8)
    plain = pl.make("gaussian", shrinkage=0.0).fit(data)
    shrunk = pl.make("gaussian", shrinkage=0.5).fit(data)
    assert plain.shrinkage_ == 0.0 and shrunk.shrinkage_ == 0.5
    np.testing.assert_allclose(plain.covariance, np.cov(data.to_numpy().T, ddof=0), rtol=1e-4)  # the MLE
    np.testing.assert_allclose(np.diag(shrunk.covariance), np.diag(plain.covariance), rtol=1e-4)
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(shrunk.covariance[off], plain.covariance[off] / 1.5, rtol=1e-4)


def test_shrinkage_is_chosen_on_held_out_cells():
    """Few rows of independent columns: every sample correlation is noise, so the search shrinks.
    Many rows of strongly correlated columns: shrinking would spoil the conditionals, so it does not."""
    rng = np.random.default_rng(9)
    noise = pd.DataFrame(rng.standard_normal((60, 12)), columns=[f"x{i}" for i in range(12)])
    noise = noise.mask(rng.random(noise.shape) < 0.3)
    model = pl.make("gaussian", seed=0).fit(noise)
    assert model.shrinkage_ >= 0.1, model.shrinkage_scores_
    assert set(model.shrinkage_scores_) == {0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3}
    strong = correlated_table(300, seed=10)
    strong["d"] = strong["a"] + 0.1 * rng.standard_normal(300)
    model = pl.make("gaussian", seed=0).fit(strong.mask(rng.random(strong.shape) < 0.2))
    assert model.shrinkage_ <= 0.01, model.shrinkage_scores_
    assert min(model.shrinkage_scores_.values()) == model.shrinkage_scores_[model.shrinkage_]
    big = correlated_table(400, seed=12)   # at least 20 rows per entry of the 4 x 4 covariance: no search
    big["d"] = big["a"]
    model = pl.make("gaussian", seed=0).fit(big.mask(rng.random(big.shape) < 0.2))
    assert model.shrinkage_ == 0.0 and model.shrinkage_scores_ == {}


def test_chosen_shrinkage_survives_save_and_load(tmp_path):
    rng = np.random.default_rng(11)
    model = pl.make("gaussian", seed=0).fit(pd.DataFrame(rng.standard_normal((60, 6)), columns=list("abcdef")))
    model.save(tmp_path / "m")
    loaded = pl.load(tmp_path / "m")
    assert loaded.shrinkage_ == model.shrinkage_ and loaded.shrinkage_scores_ == model.shrinkage_scores_
    np.testing.assert_array_equal(loaded.covariance, model.covariance)


def test_posterior_draws_of_the_mean_spread_like_its_sampling_distribution():
    """Complete data, no shrinkage: mu | S ~ N(zbar, S / N), so the draws of the mean have sd
    sqrt(diag(S) / N) around the sample mean, and the covariance draws centre on the MLE."""
    data = correlated_table(200, seed=13)
    model = pl.make("gaussian", shrinkage=0.0).fit(data)
    copies = model.posterior_draws(data, 400, seed=0)
    means = np.array([c.mean for c in copies])
    np.testing.assert_allclose(means.std(axis=0), np.sqrt(np.diag(model.covariance) / 200), rtol=0.15)
    assert np.all(np.abs(means.mean(axis=0) - model.mean) < 4 * np.sqrt(np.diag(model.covariance) / 200 / 400))
    np.testing.assert_allclose(np.mean([c.covariance for c in copies], axis=0), model.covariance,
                               atol=0.04 * np.sqrt(np.outer(np.diag(model.covariance), np.diag(model.covariance))).max())
    assert model.mean[0] == pytest.approx(data["a"].mean())


def test_posterior_draws_are_copies_that_own_their_drawn_parameters():
    """Each draw holds its own mean and covariance: the fitted model is unchanged by drawing, and
    changing a draw's parameters changes neither the model nor another draw."""
    data = correlated_table(100, seed=13)
    model = pl.make("gaussian", shrinkage=0.0).fit(data)
    before = {key: value.copy() for key, value in model._get_state()[1].items()}
    copies = model.posterior_draws(data, 2, seed=0)
    for key, value in model._get_state()[1].items():
        np.testing.assert_array_equal(value, before[key], err_msg=f"posterior_draws changed the model's {key!r}")
    for first, second in [(model, copies[0]), (model, copies[1]), (copies[0], copies[1])]:
        assert not np.allclose(first.mean, second.mean), "two draws of the mean are equal"
        for attribute in ("mean_", "covariance_"):
            assert not np.shares_memory(getattr(first, attribute), getattr(second, attribute)), attribute
    sample = model.sample(20, seed=1)
    copies[0].mean_[:] += 10.0       # in place: the model and the other draw must not see it
    pd.testing.assert_frame_equal(model.sample(20, seed=1), sample)
    assert np.all(np.abs(copies[1].mean - model.mean) < 1.0)


def test_posterior_draws_need_a_model_that_has_them():
    model = pl.make("independent").fit(correlated_table(50, seed=14))
    assert not model.has_posterior and pl.make("gaussian").has_posterior
    with pytest.raises(pl.NotSupportedError, match="refits"):
        model.posterior_draws(correlated_table(50, seed=14), 3)


def test_fewer_rows_than_columns_still_gives_spread_imputations():
    """5 rows, 8 columns: the maximum-likelihood covariance is singular and would make every draw
    of a missing cell the same number; Ledoit-Wolf shrinkage (lambda 1.4 here) keeps real spread."""
    rng = np.random.default_rng(15)
    table = pd.DataFrame(rng.standard_normal((5, 8)), columns=list("abcdefgh"))
    table.iloc[0, 0] = np.nan
    model = pl.make("gaussian", seed=0).fit(table)
    assert model.shrinkage_ >= 0.3
    draws = [d.iloc[0, 0] for d in pl.impute(table, n_draws=30, model="gaussian", seed=0)]
    assert np.std(draws) > 0.2


def log_normal_table(n, seed):
    """length ~ lognormal, area = length^2 times lognormal noise, and a plain normal column."""
    rng = np.random.default_rng(seed)
    log_length = 1.0 + 0.4 * rng.standard_normal(n)
    log_area = 2 * log_length + 0.1 * rng.standard_normal(n)
    return pd.DataFrame({"length": np.exp(log_length), "area": np.exp(log_area),
                         "level": 10 + rng.standard_normal(n)})


@pytest.mark.parametrize("name", ["gaussian", "student"])
def test_log_scale_is_chosen_where_the_values_are_lognormal(name):
    model = pl.make(name, seed=0).fit(log_normal_table(2000, 0))                         # transform="auto", the default
    assert model.logged_.tolist() == [True, True, False]
    assert not pl.make(name, seed=0, transform="none").fit(log_normal_table(300, 0)).logged_.any()
    assert pl.make(name, seed=0, transform="log").fit(log_normal_table(300, 0)).logged_.all()


def test_log_scale_density_and_conditionals_are_those_of_the_lognormal(tmp_path):
    frame = log_normal_table(3000, 1)
    model = pl.make("gaussian", seed=0, transform="log", shrinkage=0.0).fit(frame)
    rows = frame.iloc[:10]
    logs = np.log(rows.to_numpy())
    expected = multivariate_normal(model.mean, model.covariance).logpdf(logs) - logs.sum(axis=1)
    np.testing.assert_allclose(model.log_prob(rows), expected, rtol=1e-9)
    np.testing.assert_allclose(model.mean[:2], [1.0, 2.0], atol=0.03)
    # area given length is lognormal: median length^2 e^0, 90% of draws within e^(+-1.645 * 0.1)
    known = pd.DataFrame({"length": [2.0] * 4000, "area": np.nan, "level": 10.0})
    area = model.impute(known, n_draws=1, seed=2)[0]["area"].to_numpy()
    assert np.median(area) == pytest.approx(4.0, rel=0.02)
    assert np.mean((area > 4 * np.exp(-0.1645)) & (area < 4 * np.exp(0.1645))) == pytest.approx(0.90, abs=0.02)
    assert (area > 0).all()
    model.save(tmp_path / "m")
    np.testing.assert_allclose(pl.load(tmp_path / "m").log_prob(rows), model.log_prob(rows))
    assert model.log_prob(rows.assign(area=-1.0)).tolist() == [-np.inf] * 10      # impossible on the log scale
    with pytest.raises(ValueError, match="log scale"):
        model.impute(known.assign(area=-1.0, length=np.nan).iloc[:3])


@pytest.mark.parametrize("name", ["gaussian", "student", "gmm"])
def test_a_value_drawn_beyond_the_range_does_not_land_on_the_point_mass_at_its_end(name):
    """A claim amount with 60% zeros: the zeros' share is the state variable's, so a continuous
    value drawn below the smallest positive claim is clipped to that claim, not to 0 (which made
    68% zeros for gaussian)."""
    rng = np.random.default_rng(0)
    n = 3000
    x = rng.normal(size=n)
    claim = np.where(rng.random(n) < 0.6, 0.0, np.exp(1 + 0.8 * x + rng.normal(0, 0.6, n)))
    frame = pd.DataFrame({"x": x, "claim": claim})
    synthetic = pl.make(name, seed=0).fit(frame).sample(20_000, seed=1)
    assert (synthetic["claim"] == 0).mean() == pytest.approx((claim == 0).mean(), abs=0.015)
    positive = synthetic["claim"][synthetic["claim"] != 0]
    assert positive.min() >= claim[claim > 0].min() and positive.max() <= claim.max()


@pytest.mark.parametrize("name", ["gaussian", "student", "gmm"])
def test_fewer_rows_than_columns_give_a_usable_density_of_new_rows(name):
    """50 rows x 300 columns: the search chose lambda = 0, a singular covariance, and fresh rows of
    the same distribution scored -3e7 nats (gmm chose 3 clusters of 20 rows in 50 dimensions: -2.4e6).
    Now Ledoit-Wolf shrinkage: within 20% of the true density here (truth -148 nats, model -171)."""
    rng = np.random.default_rng(0)
    loadings = rng.normal(size=(3, 100))

    def draw(n):
        return pd.DataFrame(rng.normal(size=(n, 3)) @ loadings + rng.normal(size=(n, 100)),
                            columns=[f"c{i}" for i in range(100)])

    train, fresh = draw(40), draw(200)
    truth = multivariate_normal(np.zeros(100), loadings.T @ loadings + np.eye(100)).logpdf(fresh).mean()
    model = pl.make(name, seed=0).fit(train)
    assert np.mean(model.log_prob(fresh)) > 1.2 * truth
    if name != "gmm":
        assert 0 < model.shrinkage_ < 1e3


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_em_shows_a_progress_bar_on_a_terminal_only_when_iterations_are_heavy(monkeypatch):
    from plausible.ladder import _gaussian

    data = correlated_table(300, seed=3)
    gappy = data.mask(np.random.default_rng(0).random(data.shape) < 0.2)
    for table, threshold, expected in ((gappy, 0, True), (gappy, 1e9, False), (data, 0, False)):
        monkeypatch.setattr(_gaussian, "EM_BAR_FLOPS", threshold)
        monkeypatch.setattr(sys, "stderr", _Terminal())
        pl.make("gaussian", shrinkage=0.1).fit(table)
        assert ("gaussian EM" in sys.stderr.getvalue()) == expected
