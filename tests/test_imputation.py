"""Multiple imputation as a product: pl.impute, cell_spread, pool (Rubin's rules), evaluate_imputation."""
import io
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from _tables import COVARIANCE, gaussian

import plausible as pl
from plausible.core.errors import NotSupportedError, ParameterError
from plausible.evaluation.imputation import hide_cells

from test_cli_surface import fails_in_one_line
from plausible.tasks.imputation import choose_model


# ---------------------------------------------------------------------- impute
def test_gaussian_imputation_matches_the_closed_form_conditional():
    # c is hidden in 30% of rows; given (a, b), c ~ N(S_cO S_OO^-1 x_O, S_cc - S_cO S_OO^-1 S_Oc).
    data = gaussian(4000, seed=0)
    hidden = np.random.default_rng(1).random(len(data)) < 0.3
    masked = data.copy()
    masked.loc[hidden, "c"] = np.nan
    draws = pl.impute(masked, n_draws=200, model="gaussian", seed=3)
    s_oo, s_co = COVARIANCE[:2, :2], COVARIANCE[2, :2]
    weights = np.linalg.solve(s_oo, s_co)
    variance = COVARIANCE[2, 2] - s_co @ weights                                     # 0.9444...
    rows = np.flatnonzero(hidden)
    truth_mean = data.loc[rows, ["a", "b"]].to_numpy() @ weights
    values = np.stack([d.loc[rows, "c"].to_numpy() for d in draws])                  # (200, H)
    # Monte-Carlo error of a 200-draw mean is 0.07; the fitted coefficients add ~0.02
    assert np.abs(values.mean(axis=0) - truth_mean).max() < 0.3
    assert np.abs(values.mean(axis=0) - truth_mean).mean() < 0.07
    assert values.var(axis=0, ddof=1).mean() == pytest.approx(variance, rel=0.06)
    # pooled over all cells: the draws' deviations from the true conditional mean are N(0, variance)
    assert ((values - truth_mean) ** 2).mean() == pytest.approx(variance, rel=0.06)


def test_observed_cells_never_change_and_every_gap_is_filled():
    rng = np.random.default_rng(0)
    n = 300
    complete = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.lognormal(10, 0.5, n),
                             "region": rng.choice(["north", "south", "east"], n)})
    masked = hide_cells(complete, 0.25, seed=1)
    assert masked.isna().to_numpy().mean() == pytest.approx(0.25, abs=0.002)
    draws = pl.impute(masked, n_draws=3, model="copula", seed=0)
    assert len(draws) == 3
    observed = masked.notna()
    for draw in draws:
        assert list(draw.columns) == list(masked.columns) and len(draw) == n
        assert not draw.isna().to_numpy().any()
        for name in masked.columns:
            keep = observed[name].to_numpy()
            assert (draw[name].to_numpy()[keep] == masked[name].to_numpy()[keep]).all(), name
    assert not draws[0].equals(draws[1])                         # the draws differ where cells were missing
    again = pl.impute(masked, n_draws=3, model="copula", seed=0)
    assert all(a.equals(b) for a, b in zip(draws, again))      # same seed, same draws


def test_a_fitted_model_is_used_as_it_is_and_params_reach_a_named_model():
    data = gaussian(300, seed=2)
    masked = hide_cells(data, 0.2, seed=0)
    model = pl.make("gaussian", seed=0).fit(data)
    draws = pl.impute(masked, n_draws=2, model=model, seed=1)
    assert [d.equals(e) for d, e in zip(draws, model.impute(masked, n_draws=2, seed=1))] == [True, True]
    draws = pl.impute(masked, n_draws=2, model="gmm", params={"n_components": 2}, seed=0)
    assert not draws[0].isna().to_numpy().any()


def test_bad_input_is_explained():
    data = gaussian(50, seed=0)
    masked = hide_cells(data, 0.2, seed=0)
    with pytest.raises(TypeError, match="table"):
        pl.impute([1, 2, 3])
    with pytest.raises(ValueError, match="n_draws"):
        pl.impute(masked, n_draws=0)
    with pytest.raises(ParameterError, match="unknown model 'nope'"):
        pl.impute(masked, model="nope")
    with pytest.raises(NotSupportedError, match="'gan' cannot impute.*'gmm'"):
        pl.impute(masked, model="gan")
    with pytest.raises(ParameterError, match="no parameter 'depth'"):
        pl.impute(masked, model="gmm", params={"depth": 3})
    with pytest.raises(ParameterError, match="params need a named model"):
        pl.impute(masked, params={"alpha": 1.0})


def test_a_complete_table_gives_copies_and_a_warning():
    data = gaussian(20, seed=0)
    with pytest.warns(UserWarning, match="no missing cell"):
        draws = pl.impute(data, n_draws=2)
    assert len(draws) == 2 and all(d.equals(data) for d in draws)
    draws[0].iloc[0, 0] = 99.0
    assert data.iloc[0, 0] != 99.0                               # copies, not the caller's frame


def test_choose_model_reads_the_column_kinds():
    name, reason = choose_model(pl.datasets.load("fashion", n=100, seed=0))
    assert name == "rbm" and "categorical" in reason
    assert choose_model(hide_cells(pl.datasets.load("fashion", n=100, seed=0), 0.5, seed=0))[0] == "rbm"
    name, reason = choose_model(gaussian(100, seed=0))
    assert name == "gmm" and "all 3 columns are numbers" in reason and "lower error than one Gaussian" in reason
    mixed = gaussian(100, seed=0).assign(kind=np.random.default_rng(0).choice(["x", "y"], 100))
    assert choose_model(mixed)[0] == "gmm"
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 25))).assign(kind="x")
    name, reason = choose_model(wide)
    assert name == "gaussian" and "26 columns" in reason
    name, reason = choose_model(pd.DataFrame(np.random.default_rng(0).normal(size=(50, 25))))
    assert name == "gaussian" and "all 25 columns are numbers" in reason and "this wide" in reason


def test_choose_model_ties_two_valued_numbers_to_the_others():
    """A numeric column with two values (0/1, or sex coded as two numbers) is a discrete state to
    every model; gaussian would impute it from its own frequencies, so auto takes gmm."""
    rng = np.random.default_rng(0)
    table = gaussian(100, seed=0)
    flagged = table.assign(smoker=(table.iloc[:, 0] + rng.normal(size=100) > 0).astype(float))
    name, reason = choose_model(hide_cells(flagged, 0.2, seed=0))
    assert name == "gmm" and "smoker takes only two values" in reason and "ties it to" in reason
    both = flagged.assign(member=(table.iloc[:, 1] > 0).astype(float))
    reason = choose_model(hide_cells(both, 0.2, seed=0))[1]
    assert "smoker, member take only two values" in reason and "ties them to" in reason
    only_flags = (table > 0).astype(float).assign(kind="x")     # categories to every model
    name, reason = choose_model(only_flags)
    assert name == "rbm" and "two values" in reason
    wide = pd.DataFrame(rng.normal(size=(50, 25))).assign(flag=rng.integers(0, 2, 50).astype(float))
    assert choose_model(wide)[0] == "gaussian"                  # gmm's cost grows with the width


# ---------------------------------------------------------------------- spread
def test_cell_spread_is_zero_on_observed_cells_and_positive_on_imputed_numbers():
    rng = np.random.default_rng(0)
    complete = gaussian(200, seed=1).assign(kind=rng.choice(["x", "y"], 200))
    masked = hide_cells(complete, 0.2, seed=2)
    spread = pl.cell_spread(pl.impute(masked, n_draws=8, model="gaussian", seed=0))
    assert spread.shape == complete.shape and list(spread.columns) == list(complete.columns)
    observed = masked.notna().to_numpy()
    assert (spread.to_numpy(dtype=float)[observed] == 0).all()
    for name in ["a", "b", "c"]:
        assert (spread[name][masked[name].isna()] > 0).all()
    categories = spread["kind"][masked["kind"].isna()]
    assert ((categories >= 0) & (categories <= 1 - 1 / 8)).all() and categories.mean() > 0.1


def test_cell_spread_values_by_hand():
    draws = [pd.DataFrame({"x": [1.0, 5.0], "g": ["a", "b"]}), pd.DataFrame({"x": [3.0, 5.0], "g": ["a", "c"]}),
             pd.DataFrame({"x": [2.0, 5.0], "g": ["a", "b"]})]
    spread = pl.cell_spread(draws)
    assert spread["x"].tolist() == pytest.approx([1.0, 0.0])       # std(1, 3, 2; ddof 1) = 1
    assert spread["g"].tolist() == pytest.approx([0.0, 1 / 3])      # 'c' differs from the mode 'b'


# ---------------------------------------------------------------------- pool
def test_rubins_rules_reproduce_a_hand_computed_example():
    # Q_m = 1.0, 1.2, 1.4 and U_m = 0.04, 0.05, 0.06 (M = 3):
    #   Q̄ = 1.2, Ū = 0.05, B = ((-0.2)² + 0² + 0.2²) / 2 = 0.04, T = 0.05 + (4/3) 0.04 = 0.103333...
    #   λ = (4/3)(0.04) / T = 16/31, ν_old = (M - 1)/λ² = 2 (31/16)² = 7.5078125 (ν_com infinite)
    #   r = (4/3)(0.04)/0.05 = 16/15, FMI = (r + 2/(ν + 3)) / (1 + r) = 0.608226...
    #   with ν_com = 10: ν_obs = 11/13 · 10 · (1 − 16/31) = 4.0943, ν = 7.5078 · 4.0943 / 11.6021 = 2.64945
    estimates = iter([1.0, 1.2, 1.4] * 2)
    variances = iter([0.04, 0.05, 0.06] * 2)
    draws = [pd.DataFrame({"x": [0.0]})] * 3

    def statistic(frame):
        return {"theta": next(estimates)}, {"theta": next(variances)}

    row = pl.pool(draws, statistic).loc["theta"]
    assert row["estimate"] == pytest.approx(1.2)
    assert row["within_variance"] == pytest.approx(0.05)
    assert row["between_variance"] == pytest.approx(0.04)
    assert row["total_variance"] == pytest.approx(0.1033333333)
    assert row["std_error"] == pytest.approx(0.3214550254)
    assert row["df"] == pytest.approx(7.5078125)
    assert row["fraction_missing_information"] == pytest.approx(0.6082264060)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.4501788454, 1.9498211546))
    with_df = pl.pool(draws, lambda f: ({"theta": next(estimates)}, {"theta": next(variances)}, 10))
    assert with_df.loc["theta", "df"] == pytest.approx(2.6494486894)
    assert with_df.loc["theta", "fraction_missing_information"] == pytest.approx(0.6874275056)


def test_mean_pooling_without_missing_data_is_the_plain_mean():
    frame = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0]})
    row = pl.pool([frame, frame], "mean(age)").loc["mean(age)"]
    assert row["estimate"] == 35.0 and row["between_variance"] == 0
    assert row["within_variance"] == pytest.approx(frame["age"].var() / 4)
    # Barnard-Rubin with B = 0: ν = ν_obs = (ν_com + 1)/(ν_com + 3) ν_com = 4/6 · 3 = 2; FMI = 2/(ν + 3) = 0.4
    assert row["df"] == pytest.approx(2.0) and row["fraction_missing_information"] == pytest.approx(0.4)


def test_regression_pooling_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    n = 1500
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = 1.0 + 2.0 * x1 - 3.0 * x2 + rng.normal(scale=1.0, size=n)
    complete = pd.DataFrame({"y": y, "x1": x1, "x2": x2})
    masked = complete.copy()
    masked.loc[rng.random(n) < 0.3, "y"] = np.nan
    table = pl.pool(pl.impute(masked, n_draws=10, model="gaussian", seed=0), "y ~ x1 + x2")
    assert list(table.index) == ["Intercept", "x1", "x2"]
    truth = np.array([1.0, 2.0, -3.0])
    assert (np.abs(table["estimate"].to_numpy() - truth) < 4 * table["std_error"].to_numpy()).all()
    assert (table["between_variance"] > 0).all() and (table["fraction_missing_information"] > 0.05).all()


def test_formula_coding_matches_ordinary_least_squares():
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    n = 200
    group = rng.choice(["b", "a", "c"], n)
    x = rng.normal(size=n)
    y = 0.5 + x + np.select([group == "b", group == "c"], [1.0, -2.0], 0.0) + rng.normal(size=n)
    frame = pd.DataFrame({"y": y, "x": x, "group": group})
    table = pl.pool([frame, frame], "y ~ x + group")
    assert list(table.index) == ["Intercept", "x", "group[b]", "group[c]"]    # 'a' is the baseline
    design = np.column_stack([np.ones(n), x, group == "b", group == "c"]).astype(float)
    fit = sm.OLS(y, design).fit()
    assert table["estimate"].to_numpy() == pytest.approx(fit.params)
    assert table["within_variance"].to_numpy() == pytest.approx(np.diag(fit.cov_params()))
    assert table["df"].to_numpy() == pytest.approx((n - 3) / (n - 1) * (n - 4))   # ν_obs at B = 0, ν_com = n - 4
    no_intercept = pl.pool([frame, frame], "y ~ x - 1")
    assert list(no_intercept.index) == ["x"]
    assert list(pl.pool([frame, frame], "y ~ .").index) == ["Intercept", "x", "group[b]", "group[c]"]
    odd = frame.rename(columns={"y": "spend-2024", "x": "a+b"})
    quoted = pl.pool([odd, odd], "`spend-2024` ~ `a+b` + group")
    np.testing.assert_allclose(quoted["estimate"].to_numpy(), table["estimate"].to_numpy())
    assert list(quoted.index) == ["Intercept", "a+b", "group[b]", "group[c]"]
    assert pl.pool([odd, odd], "mean(`spend-2024`)")["estimate"].iloc[0] == pytest.approx(y.mean())
    with pytest.raises(ValueError, match="between backticks"):
        pl.pool([odd, odd], "`spend-2024` ~ a+b")


def test_pool_explains_bad_statistics():
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0], "g": ["a", "b", "a"]})
    with pytest.raises(ValueError, match="at least 2 draws"):
        pl.pool([frame], "mean(y)")
    with pytest.raises(ValueError, match="not understood"):
        pl.pool([frame, frame], "median(y)")
    with pytest.raises(ValueError, match="no column 'z'"):
        pl.pool([frame, frame], "mean(z)")
    with pytest.raises(ValueError, match="categorical"):
        pl.pool([frame, frame], "g ~ y")
    gap = frame.assign(g=["a", None, "b"])   # a categorical predictor with a gap
    with pytest.raises(ValueError, match="column 'g' still has missing cells"):
        pl.pool([gap, gap], "y ~ g")


# ---------------------------------------------------------------------- evaluation
def test_a_perfect_imputer_scores_zero_error():
    complete = gaussian(100, seed=0).assign(kind=np.where(np.arange(100) % 3, "p", "q"))
    masked = hide_cells(complete, 0.3, seed=0)
    scores = pl.evaluate_imputation(complete, masked, [complete.copy() for _ in range(4)])
    assert scores["nrmse"] == 0 and scores["crps"] == 0 and scores["accuracy"] == 1
    assert scores["coverage_90"] == 1 and scores["n_hidden"] == int(masked.isna().to_numpy().sum())


def test_evaluate_imputation_by_hand():
    complete = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "g": ["a", "b", "c", "d"]})
    masked = pd.DataFrame({"x": [np.nan, 1.0, 2.0, np.nan], "g": ["a", None, None, "d"]})
    draws = [pd.DataFrame({"x": [1.0, 1.0, 2.0, 2.0], "g": ["a", "b", "a", "d"]}),
             pd.DataFrame({"x": [3.0, 1.0, 2.0, 4.0], "g": ["a", "b", "a", "d"]})]
    scores = pl.evaluate_imputation(complete, masked, draws)
    std = np.std([0.0, 1.0, 2.0, 3.0])                      # 1.1180
    # mean draws 2 and 3 against truths 0 and 3: RMSE = sqrt((4 + 0) / 2)
    assert scores["nrmse"] == pytest.approx(np.sqrt(2) / std)
    # CRPS row 0: E|X - 0| = 2, ½ E|X - X'| over distinct pairs = 1 -> 1; row 3: 1 - 1 = 0
    assert scores["crps"] == pytest.approx(0.5 / std)
    assert scores["accuracy"] == 0.5                         # 'b' right, 'a' for 'c' wrong
    assert scores["n_hidden"] == 4 and scores["interval_method"] == "t"
    assert scores["per_column"]["x"]["hidden"] == 2


def test_evaluate_imputation_flags_two_valued_numbers_by_hand():
    """A 0/1 column's draws hold both values often enough that its interval always covers; it is
    marked, scored by the accuracy of its most common draw, and left out of coverage_90_continuous."""
    complete = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "flag": [0.0, 1.0, 1.0, 0.0]})
    masked = pd.DataFrame({"x": [np.nan, 1.0, 2.0, np.nan], "flag": [np.nan, np.nan, np.nan, 0.0]})
    draws = [pd.DataFrame({"x": [0.5, 1.0, 2.0, 9.0], "flag": [0.0, 0.0, 1.0, 0.0]}),
             pd.DataFrame({"x": [-0.5, 1.0, 2.0, 8.0], "flag": [1.0, 0.0, 1.0, 0.0]}),
             pd.DataFrame({"x": [0.0, 1.0, 2.0, 10.0], "flag": [0.0, 1.0, 1.0, 0.0]})]
    scores = pl.evaluate_imputation(complete, masked, draws)
    flag, x = scores["per_column"]["flag"], scores["per_column"]["x"]
    assert flag["two_valued"] and not x["two_valued"] and "accuracy" not in x
    assert flag["accuracy"] == pytest.approx(2 / 3)         # modes 0, 0, 1 against truths 0, 1, 1
    assert scores["coverage_90_continuous"] == x["coverage_90"] == 0.5   # row 3's 9, 8, 10 miss 3
    assert scores["coverage_90"] == pytest.approx((x["coverage_90"] + flag["coverage_90"]) / 2)
    assert scores["accuracy"] is None                        # categories only


@pytest.mark.parametrize("n_draws", [5, 40])
def test_intervals_of_draws_from_the_true_conditional_cover_ninety_percent(n_draws):
    # truth and draws both N(0, 1): a calibrated imputer. M = 5 uses the t interval, 40 the quantiles.
    rng = np.random.default_rng(n_draws)
    cells = 20000
    complete = pd.DataFrame({"x": rng.normal(size=cells)})
    masked = pd.DataFrame({"x": np.full(cells, np.nan)})
    draws = [pd.DataFrame({"x": rng.normal(size=cells)}) for _ in range(n_draws)]
    scores = pl.evaluate_imputation(complete, masked, draws)
    assert scores["interval_method"] == ("t" if n_draws < 19 else "quantiles")
    assert scores["coverage_90"] == pytest.approx(0.90, abs=0.012)
    # the plain range of 5 draws would cover only 4/6 of the time: the t interval is what fixes it
    if n_draws == 5:
        values = np.stack([d["x"].to_numpy() for d in draws])
        naive = np.mean((complete["x"].to_numpy() >= values.min(0)) & (complete["x"].to_numpy() <= values.max(0)))
        assert naive == pytest.approx(4 / 6, abs=0.015)


def test_hide_cells_is_mcar_and_reproducible():
    frame = gaussian(1000, seed=0)
    masked = hide_cells(frame, 0.5, seed=3)
    assert masked.isna().to_numpy().sum() == 1500
    assert masked.isna().mean().between(0.45, 0.55).all()
    assert masked.equals(hide_cells(frame, 0.5, seed=3)) and not masked.equals(hide_cells(frame, 0.5, seed=4))
    with pytest.raises(ValueError, match="share"):
        hide_cells(frame, 1.5)


# ---------------------------------------------------------------------- command line
def test_cli_imputes_without_a_prior_fit(tmp_path, capsys):
    from plausible.cli import main

    complete = gaussian(200, seed=0)
    masked = hide_cells(complete, 0.2, seed=0)
    source, out, spread = tmp_path / "holes.csv", tmp_path / "filled.csv", tmp_path / "spread.csv"
    masked.to_csv(source, index=False)
    code = main(["impute", str(source), "--draws", "3", "--out", str(out), "--spread-out", str(spread),
                 "--pool", "mean(a)", "--pool", "b ~ a"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "auto chose" in printed and "fraction_missing_information" in printed
    assert "Rubin's rules for mean(a)" in printed and "Rubin's rules for b ~ a" in printed   # both, in order
    long = pd.read_csv(out)
    assert list(long.columns) == ["draw", "row", "a", "b", "c"] and len(long) == 600
    first = long[long["draw"] == 0].reset_index(drop=True)[["a", "b", "c"]]
    observed = masked.notna().to_numpy()
    assert np.allclose(first.to_numpy()[observed], masked.to_numpy()[observed])
    assert not first.isna().to_numpy().any()
    assert (pd.read_csv(spread).to_numpy()[observed] == 0).all()


def test_cli_keeps_the_model_folder_form_and_explains_misuse(tmp_path, capsys):
    from plausible.cli import main

    masked = hide_cells(gaussian(100, seed=0), 0.2, seed=0)
    source, folder, out = tmp_path / "holes.csv", tmp_path / "m.plausible", tmp_path / "filled.csv"
    masked.to_csv(source, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit", str(source), "--model", "gaussian", "--out", str(folder)]) == 0
    assert main(["impute", str(folder), str(source), "--draws", "2", "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 200
    assert "cannot impute" in fails_in_one_line(["impute", str(source), "--model", "gan", "--out", str(out)])
    assert "--model" in fails_in_one_line(["impute", str(folder), str(source), "--model", "gmm", "--out", str(out)])
    assert "--uncertainty posterior" in fails_in_one_line(["impute", str(folder), str(source), "--uncertainty",
                                                           "posterior", "--out", str(out)])
    assert main(["impute", str(source), "--uncertainty", "fitted", "--draws", "2", "--out", str(out)]) == 0
    assert "does not draw its parameters from a posterior" in fails_in_one_line(
        ["impute", str(source), "--model", "gmm", "--uncertainty", "posterior", "--out", str(out)])
    fresh = tmp_path / "never.csv"      # a bad --pool is refused before any imputation is written
    assert "no column 'nope'" in fails_in_one_line(
        ["impute", str(source), "--draws", "3", "--out", str(fresh), "--pool", "mean(nope)"]) and not fresh.exists()
    assert "--draws 2 or more" in fails_in_one_line(
        ["impute", str(source), "--draws", "1", "--out", str(fresh), "--pool", "mean(a)"]) and not fresh.exists()


def test_bootstrap_refits_carry_parameter_uncertainty_into_the_draws():
    # 40 rows, c hidden in half of them: the fitted mean of c is uncertain. Draws from one fit vary
    # only by the conditional noise; one bootstrap fit per draw (proper imputation) adds the
    # uncertainty of the fit, so Rubin's between-draw variance of mean(c) roughly doubles
    # (theory: ~2x here; measured over 4 data seeds: 2.4, 5.6, 2.9, 6.2).
    rng = np.random.default_rng(0)
    data = gaussian(40, seed=5).assign(kind=rng.choice(["x", "y", "rare"], 40, p=[0.5, 0.47, 0.03]))
    masked = data.copy()
    masked.loc[::2, "c"] = np.nan
    single = pl.impute(masked, n_draws=20, model="gaussian", seed=0, uncertainty="fitted")
    proper = pl.impute(masked, n_draws=20, model="gaussian", seed=0, refits=20)
    assert len(proper) == 20
    hidden = masked["c"].isna()
    for draw in proper:
        assert draw.loc[~hidden, "c"].equals(masked.loc[~hidden, "c"]) and not draw["c"].isna().any()
        assert draw["kind"].equals(masked["kind"])          # the rare level survives every resample
    ratio = pl.pool(proper, "mean(c)")["between_variance"] / pl.pool(single, "mean(c)")["between_variance"]
    assert ratio.iloc[0] > 1.5
    with pytest.raises(ValueError, match="refits"):
        pl.impute(masked, n_draws=2, model="gaussian", refits=3)


def test_posterior_draws_make_rubins_standard_error_honest():
    """y is N(0, 1), half of it missing completely at random, x says nothing about it: the mean of y
    is known only from the 60 observed values, so its pooled standard error must be about 1/sqrt(60).
    Draws from the plug-in model leave out the uncertainty of the fitted mean (about 1/sqrt(120))."""
    rng = np.random.default_rng(21)
    table = pd.DataFrame({"x": rng.standard_normal(120), "y": rng.standard_normal(120)})
    table.loc[rng.permutation(120)[:60], "y"] = np.nan
    observed_se = table["y"].std() / np.sqrt(60)
    proper = pl.pool(pl.impute(table, n_draws=40, model="gaussian", seed=0), "mean(y)")
    # plug-in: about 0.84 x (0.82-0.86 over seeds with 200 draws; with 40 draws 0.79-0.88, too noisy to test)
    plug_in = pl.pool(pl.impute(table, n_draws=200, model="gaussian", seed=0, uncertainty="fitted"), "mean(y)")
    assert proper.loc["mean(y)", "std_error"] == pytest.approx(observed_se, rel=0.2)
    assert plug_in.loc["mean(y)", "std_error"] < 0.9 * observed_se
    # the default: auto picks gmm for this all-numeric table, whose draws each come from a bootstrap refit
    assert choose_model(table)[0] == "gmm"
    default = pl.pool(pl.impute(table, n_draws=40, seed=0), "mean(y)").loc["mean(y)", "std_error"]
    one_fit = pl.pool(pl.impute(table, n_draws=200, seed=0, uncertainty="fitted"), "mean(y)")
    one_fit = one_fit.loc["mean(y)", "std_error"]
    assert 0.9 * observed_se < default < 1.2 * observed_se       # 0.94 x; one gmm fit for all draws: 0.85 x
    assert one_fit < 0.9 * observed_se


def test_uncertainty_option_is_checked():
    masked = hide_cells(gaussian(60, seed=3), 0.2, seed=0)
    with pytest.raises(ValueError, match="uncertainty must be one of"):
        pl.impute(masked, model="gaussian", uncertainty="bayes")
    with pytest.raises(ValueError, match="choose one"):
        pl.impute(masked, n_draws=4, model="gaussian", uncertainty="posterior", refits=2)
    with pytest.raises(pl.NotSupportedError, match="posterior"):
        pl.impute(masked, model="gmm", uncertainty="posterior")
    fitted = pl.make("gaussian").fit(masked)
    with pytest.raises(ValueError, match="fitted model is used as it is"):
        pl.impute(masked, model=fitted, uncertainty="posterior")


def test_a_frame_labelled_by_numbers_is_read_and_given_back_with_its_labels():
    # correlation 2/3: the mean of 3 draws has nRMSE about 0.55-0.8 (with 1/3 it was about 1, a coin flip)
    frame = pd.DataFrame(np.random.default_rng(0).multivariate_normal([0, 0, 0], np.eye(3) + 2.0, 80))
    holes = frame.mask(np.random.default_rng(1).random(frame.shape) < 0.2)
    draws = pl.impute(holes, n_draws=3, seed=0)
    assert [list(d.columns) for d in draws] == [[0, 1, 2]] * 3
    assert not draws[0].isna().any().any()
    assert pl.evaluate_imputation(frame, holes, draws)["nrmse"] < 0.9
    model = pl.make("gaussian", seed=0).fit(frame)
    assert list(model.sample(2, seed=0).columns) == ["0", "1", "2"]
    with pytest.raises(pl.SchemaError, match="distinct when written as text"):
        pl.make("gaussian").fit(pd.DataFrame([[1.0, 2.0]] * 5, columns=[0, "0"]))


def test_impute_keeps_each_label_on_its_own_column_whatever_the_order():
    frame = pd.DataFrame({1: np.arange(40.0), 0: np.arange(40.0) * 2 + 1})
    model = pl.make("gaussian", seed=0).fit(frame)
    rows = pd.DataFrame({0: [5.0, np.nan], 1: [np.nan, 10.0]})          # the other column order
    draw = model.impute(rows, n_draws=1, seed=0)[0]
    assert draw.loc[0, 0] == 5.0 and draw.loc[1, 1] == 10.0
    assert draw.loc[0, 1] == pytest.approx(2.0, abs=0.5) and draw.loc[1, 0] == pytest.approx(21.0, abs=1.0)


def test_auto_uncertainty_refits_a_mixture_once_per_draw_on_small_tables(monkeypatch):
    from plausible.ladder.gmm import GaussianMixture
    from plausible.tasks import imputation

    fits = []
    original = GaussianMixture._fit
    starts = []
    monkeypatch.setattr(GaussianMixture, "_fit", lambda self, data, rng: fits.append(len(data))
                        or starts.append(self.initializations) or original(self, data, rng))
    rng = np.random.default_rng(0)
    mixed = gaussian(120, seed=0).assign(kind=rng.choice(["x", "y"], 120))
    masked = hide_cells(mixed, 0.2, seed=0)
    assert imputation.choose_model(masked)[0] == "gmm"
    pl.impute(masked, n_draws=4, seed=0)                     # auto: one bootstrap refit per draw
    assert len(fits) == 4
    assert starts == [imputation.AUTO_REFIT_STARTS] * 4 == [1] * 4   # one k-means++ start per K in each refit
    fits.clear(), starts.clear()
    pl.impute(masked, n_draws=4, seed=0, model="gmm")        # named: the refits keep gmm's own default (2)
    assert starts == [GaussianMixture.params["initializations"].default] * 4 == [2] * 4
    fits.clear(), starts.clear()
    pl.impute(masked, n_draws=4, seed=0, uncertainty="fitted")
    assert len(fits) == 1 and starts == [2]                  # one fit for all draws: its starts are not cut
    fits.clear(), starts.clear()
    monkeypatch.setattr(imputation, "MAX_BOOTSTRAP_ROWS", 100)   # a larger table: one fit
    pl.impute(masked, n_draws=4, seed=0)
    assert len(fits) == 1 and starts == [2]


# ---------------------------------------------------------------------- what a user probe found (session 10)
def test_an_unfitted_instance_is_not_fitted_in_place_so_it_can_be_reused():
    data = gaussian(200, seed=0)
    masked = hide_cells(data, 0.2, seed=0)
    unfitted = pl.make("gaussian", seed=0)
    pl.impute(masked, n_draws=1, model=unfitted, uncertainty="fitted")
    assert not hasattr(unfitted, "layout_")
    shifted = masked.assign(a=masked["a"] + 100)            # a second table: a must be imputed near 100
    filled = pl.impute(shifted, n_draws=1, model=unfitted, uncertainty="fitted")[0]
    assert filled.loc[shifted["a"].isna(), "a"].mean() == pytest.approx(100, abs=1)


def test_a_fitted_model_gives_the_callers_column_order_and_categories_keep_their_declared_order():
    frame = gaussian(120, seed=0).assign(g=pd.Categorical(np.where(np.arange(120) % 4, "b", "a"),
                                                           categories=["a", "b", "c"]))
    with pytest.warns(UserWarning, match="declares 1 categories"):
        model = pl.make("gaussian", seed=0).fit(frame)
    shuffled = hide_cells(frame, 0.2, seed=1)[["g", "c", "a", "b"]]
    draw = model.impute(shuffled, n_draws=1, seed=0)[0]
    assert list(draw.columns) == ["g", "c", "a", "b"]
    assert list(draw["g"].cat.categories) == ["a", "b", "c"]   # declared order, not by frequency ("b" first)


def test_duplicate_column_names_are_a_clear_error():
    frame = pd.DataFrame([[1.0, 2.0, np.nan], [2.0, 3.0, 4.0]] * 10, columns=["a", "a", "b"])
    with pytest.raises(ValueError, match="repeats column names \\('a'\\)"):
        pl.impute(frame)


def test_pool_names_a_level_drawn_in_some_completions_only():
    base = pd.DataFrame({"y": np.arange(6.0), "x": [0.0, 1.0, 0.0, 2.0, 1.0, 3.0], "g": ["a", "b"] * 3})
    other = base.assign(g=["a", "b", "a", "b", "a", "z"])
    with pytest.raises(ValueError, match=r"draw 1 has \['g\[z\]'\].*category level is drawn in some"):
        pl.pool([base, other], "y ~ x + g")


def test_pool_refuses_dangling_formulas_and_the_mean_of_dates():
    frame = pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0], "x": [0.0, 1.0, 3.0, 2.0],
                          "t": pd.date_range("2020-01-01", periods=4)})
    for formula in ("y ~ x +", "y ~", "y ~ x + + x", "y ~ x -"):
        with pytest.raises(ValueError, match="a term is missing"):
            pl.pool([frame, frame], formula)
    assert pl.pool([frame, frame], "y ~ 1")["estimate"].iloc[0] == pytest.approx(2.5)
    with pytest.raises(ValueError, match="column 't' holds dates"):
        pl.pool([frame, frame], "mean(t)")
    named = frame.assign(Intercept=[1.0, 0.0, 2.0, 5.0])
    with pytest.raises(ValueError, match="two coefficients named 'Intercept'"):
        pl.pool([named, named], "y ~ Intercept")
    assert list(pl.pool([named, named], "y ~ Intercept - 1").index) == ["Intercept"]


def test_cli_checks_the_pooled_columns_kind_before_imputing(tmp_path, capsys):
    from plausible.cli import main

    frame = gaussian(60, seed=0).assign(g=np.where(np.arange(60) % 2, "p", "q"))
    masked = hide_cells(frame, 0.2, seed=0)
    source, out = tmp_path / "holes.csv", tmp_path / "filled.csv"
    masked.to_csv(source, index=False)
    for statistic in ("mean(g)", "g ~ a"):
        assert main(["impute", str(source), "--draws", "3", "--out", str(out), "--pool", statistic]) == 2
        assert "column 'g' is categorical" in capsys.readouterr().err
        assert not out.exists()                                   # refused before any imputation


def test_cli_warnings_are_one_line_messages(tmp_path, capsys):
    from plausible.cli import main

    source, out = tmp_path / "full.csv", tmp_path / "filled.csv"
    gaussian(30, seed=0).to_csv(source, index=False)              # nothing missing: impute warns
    assert main(["impute", str(source), "--draws", "2", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "plausible impute: warning: the table has no missing cell" in err and ".py:" not in err


def test_evaluate_imputation_refuses_what_would_score_nonsense():
    complete = gaussian(50, seed=0)
    masked = hide_cells(complete, 0.2, seed=0)
    draws = [complete.copy(), complete.copy()]
    with pytest.raises(ValueError, match="hides no cell that complete holds"):
        pl.evaluate_imputation(masked, complete, draws)            # the arguments swapped
    with pytest.raises(ValueError, match="not the tables' .* in that order"):
        pl.evaluate_imputation(complete, masked, [d[["c", "b", "a"]] for d in draws])
    changed = complete.copy()
    changed.loc[masked["a"].notna().idxmax(), "a"] = 1e6           # an observed cell
    with pytest.raises(ValueError, match="draw 1 changed observed cells of column 'a'"):
        pl.evaluate_imputation(complete, masked, [complete.copy(), changed])


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_bootstrap_refits_show_a_progress_bar_on_a_terminal_only(terminal, monkeypatch):
    masked = hide_cells(gaussian(60, seed=0), 0.2, seed=0)
    stream = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    draws = pl.impute(masked, n_draws=3, model="gaussian", refits=3, seed=0)
    assert len(draws) == 3
    assert ("bootstrap refits" in stream.getvalue()) == terminal


def test_refits_in_several_processes_give_the_same_draws():
    masked = hide_cells(gaussian(80, seed=0), 0.2, seed=0)
    alone = pl.impute(masked, n_draws=4, model="gaussian", refits=3, seed=5)
    side_by_side = pl.impute(masked, n_draws=4, model="gaussian", refits=3, seed=5, n_jobs=2)
    assert len(side_by_side) == 4
    for one, other in zip(alone, side_by_side):
        pd.testing.assert_frame_equal(one, other)
    assert not alone[0].equals(alone[-1])            # the refits differ: the comparison is not vacuous
    with pytest.raises(ValueError, match="n_jobs"):
        pl.impute(masked, n_draws=2, model="gaussian", refits=2, n_jobs=0)
    with pytest.raises(ValueError, match="n_jobs"):
        pl.impute(masked, n_draws=2, model="gaussian", refits=2, n_jobs=True)


def test_cli_impute_passes_jobs_and_refuses_it_with_a_fitted_model(tmp_path, capsys):
    from plausible.cli import main

    masked = hide_cells(gaussian(80, seed=0), 0.2, seed=0)
    source, folder = tmp_path / "holes.csv", tmp_path / "m.plausible"
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    masked.to_csv(source, index=False)
    for out, jobs in ((one, "1"), (two, "2")):
        assert main(["impute", str(source), "--model", "gaussian", "--refits", "3", "--draws", "3",
                     "--jobs", jobs, "--out", str(out)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(one), pd.read_csv(two))
    assert "n_jobs" in fails_in_one_line(["impute", str(source), "--refits", "2", "--draws", "2", "--jobs", "0", "--out", str(one)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit", str(source), "--model", "gaussian", "--out", str(folder)]) == 0
    assert "--jobs" in fails_in_one_line(["impute", str(folder), str(source), "--jobs", "2", "--out", str(one)])


def test_cli_impute_says_how_many_fits_and_suggests_jobs(tmp_path, capsys, monkeypatch):
    from plausible.cli import main

    rng = np.random.default_rng(0)
    table = gaussian(80, seed=0).assign(kind=rng.choice(["x", "y"], 80))
    source, out = tmp_path / "holes.csv", tmp_path / "filled.csv"
    hide_cells(table, 0.2, seed=0).to_csv(source, index=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert main(["impute", str(source), "--draws", "3", "--out", str(out)]) == 0      # auto -> gmm: 3 refits
    printed = capsys.readouterr().out
    assert "3 fits of gmm, a bootstrap refit per draw" in printed and "on all 8 CPUs" in printed
    assert main(["impute", str(source), "--draws", "3", "--jobs", "2", "--out", str(out)]) == 0
    assert "--jobs -1" not in capsys.readouterr().out
    assert main(["impute", str(source), "--draws", "3", "--uncertainty", "fitted", "--out", str(out)]) == 0
    assert "fits of" not in capsys.readouterr().out
    assert main(["impute", str(source), "--draws", "3", "--model", "gaussian", "--refits", "3",
                 "--out", str(out)]) == 0
    assert "3 fits of gaussian, --refits" in capsys.readouterr().out
