"""student: the multivariate t with gaps (densities, degrees of freedom, exact conditionals, posterior)."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import plausible as pl
from plausible.ladder.student import DOF_MAX, best_dof


def t_table(n, dof, seed):
    """n rows of a 3-D t with `dof` degrees of freedom, location (1, -2, 0.5), a correlated scale."""
    rng = np.random.default_rng(seed)
    scale = np.array([[1.0, 0.6, 0.3], [0.6, 2.0, -0.4], [0.3, -0.4, 0.5]])
    x = stats.multivariate_t(loc=[1.0, -2.0, 0.5], shape=scale, df=dof).rvs(n, random_state=rng)
    return pd.DataFrame(x, columns=["a", "b", "c"]), scale


def test_log_prob_is_the_multivariate_t_density_and_integrates_out_gaps():
    frame, _ = t_table(800, 5.0, 0)
    model = pl.make("student", seed=0).fit(frame.assign(b=frame["b"].mask(frame.index % 50 == 0)))
    loc, shape = model.mean, model.covariance
    rows = frame.iloc[:20]
    expected = stats.multivariate_t(loc=loc, shape=shape, df=model.dof_).logpdf(rows.to_numpy())
    # b is missing in 16 of 800 rows: each row also pays log P(b present or missing), Laplace-smoothed
    present, missing = np.log((784 + 1) / (800 + 2)), np.log((16 + 1) / (800 + 2))
    np.testing.assert_allclose(model.log_prob(rows) - present, expected, rtol=1e-8, atol=1e-8)
    gap = rows.assign(b=np.nan)                                   # the marginal of (a, c) is t with the same nu
    marginal = stats.multivariate_t(loc=loc[[0, 2]], shape=shape[np.ix_([0, 2], [0, 2])], df=model.dof_)
    np.testing.assert_allclose(model.log_prob(gap) - missing, marginal.logpdf(rows[["a", "c"]].to_numpy()),
                               rtol=1e-8, atol=1e-8)


def test_degrees_of_freedom_are_recovered_and_normal_data_give_a_large_nu():
    frame, scale = t_table(6000, 4.0, 1)
    model = pl.make("student", seed=0, shrinkage=0.0).fit(frame)
    assert 3.3 < model.dof_ < 5.0
    np.testing.assert_allclose(model.mean, [1.0, -2.0, 0.5], atol=0.06)
    np.testing.assert_allclose(model.covariance, scale, atol=0.12)   # the scale matrix, not the covariance
    normal = pd.DataFrame(np.random.default_rng(2).standard_normal((4000, 3)), columns=list("abc"))
    assert pl.make("student", seed=0).fit(normal).dof_ > 40
    assert best_dof(np.zeros(0), np.zeros(0, int)) == DOF_MAX


def test_imputation_draws_the_exact_t_conditional_wider_for_unusual_rows():
    frame, _ = t_table(3000, 4.0, 3)
    model = pl.make("student", seed=0, shrinkage=0.0).fit(frame)
    loc, shape, dof = model.mean, model.covariance, model.dof_
    regression = np.linalg.solve(shape[:2, :2], shape[:2, 2])
    spread = shape[2, 2] - shape[2, :2] @ regression
    widths = []
    # a typical row, then one far from the bulk along a direction that leaves the conditional mean
    # of c where it is (so no draw comes near the clipping at c's observed range)
    away = np.array([regression[1], -regression[0]])
    for deviation in (np.zeros(2), 4 * away / np.sqrt(away @ np.linalg.solve(shape[:2, :2], away))):
        known = loc[:2] + deviation
        delta = deviation @ np.linalg.solve(shape[:2, :2], deviation)
        draws = pl.impute(pd.DataFrame({"a": [known[0]] * 4000, "b": [known[1]] * 4000, "c": np.nan}),
                          n_draws=1, model=model, seed=4)[0]["c"].to_numpy()
        truth = stats.t(df=dof + 2, loc=loc[2] + deviation @ regression,
                        scale=np.sqrt((dof + delta) / (dof + 2) * spread))
        assert stats.kstest(draws, truth.cdf).pvalue > 0.001
        widths.append(np.subtract(*np.quantile(draws, [0.95, 0.05])))
    assert widths[1] > 1.5 * widths[0]          # delta = 16: scale sqrt((nu + 16) / (nu + 2)) ~ 1.9 x


def test_sampling_matches_the_t_and_a_fixed_dof_is_kept():
    frame, scale = t_table(3000, 6.0, 5)
    model = pl.make("student", seed=0, dof=6.0, shrinkage=0.0).fit(frame)
    assert model.dof_ == 6.0
    sample = model.sample(20000, seed=1)
    for j, column in enumerate("abc"):
        truth = stats.t(df=6.0, loc=model.mean[j], scale=np.sqrt(model.covariance[j, j]))
        assert stats.kstest(sample[column], truth.cdf).pvalue > 0.001


def test_posterior_draws_scatter_around_the_fit_and_save_load_keeps_nu(tmp_path):
    frame, _ = t_table(300, 4.0, 6)
    frame = frame.mask(np.random.default_rng(7).random(frame.shape) < 0.2)
    model = pl.make("student", seed=0).fit(frame)
    assert model.has_posterior
    draws = model.posterior_draws(frame, 30, seed=1)
    means = np.array([d.mean for d in draws])
    assert means.std(axis=0).min() > 0.01                              # the parameters do move
    np.testing.assert_allclose(means.mean(axis=0), model.mean, atol=0.15)
    assert all(d.dof_ == model.dof_ for d in draws)
    model.save(tmp_path / "m")
    loaded = pl.load(tmp_path / "m")
    assert loaded.dof_ == model.dof_
    np.testing.assert_allclose(loaded.log_prob(frame.fillna(0.0)), model.log_prob(frame.fillna(0.0)))


def test_heavy_tails_beat_the_gaussian_on_held_out_likelihood():
    frame, _ = t_table(2000, 3.0, 8)
    train, test = frame.iloc[:1500], frame.iloc[1500:]
    student = pl.make("student", seed=0).fit(train).log_prob(test).mean()
    gaussian = pl.make("gaussian", seed=0).fit(train).log_prob(test).mean()
    assert student > gaussian + 0.1


def test_bad_dof_is_refused():
    with pytest.raises(ValueError, match="dof"):
        pl.make("student", dof=1.0)
