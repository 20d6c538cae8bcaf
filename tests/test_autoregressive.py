"""autoregressive: exact probabilities that sum to one, and exact conditionals for any known subset."""
import numpy as np
import pandas as pd
from _tables import colour_grid, colours, small_given_colour

import plausible as pl

FAST = {"epochs": 60, "hidden": 64, "layers": 2, "components": 4, "learning_rate": 3e-3, "batch_size": 128}


def test_probabilities_sum_to_one_and_learn_the_dependence():
    model = pl.make("autoregressive", seed=0, **FAST).fit(colours(1500, seed=0))
    grid = colour_grid()
    probabilities = np.exp(model.log_prob(grid))
    assert abs(probabilities.sum() - 1) < 1e-5
    assert small_given_colour(grid, probabilities, "red") > 0.8
    assert 0.35 < small_given_colour(grid, probabilities, "green") < 0.65


def test_integer_column_masses_sum_to_one():
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"count": rng.poisson(30, 800), "flag": rng.random(800) < 0.3})
    model = pl.make("autoregressive", seed=0, **FAST).fit(data)
    grid = pd.DataFrame({"count": np.tile(np.arange(0, 120), 2), "flag": np.repeat([True, False], 120)})
    assert abs(np.exp(model.log_prob(grid)).sum() - 1) < 0.01


def test_imputation_conditions_on_a_column_that_comes_later_in_the_order():
    # b | a and a | b of a bivariate normal with rho = 0.8; log_prob's order is (a, b), imputing a
    # from b uses the orders that start with b, which the order-agnostic training taught it
    rng = np.random.default_rng(1)
    x = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.8], [0.8, 1.0]], size=4000)
    model = pl.make("autoregressive", seed=0, epochs=200, hidden=128, layers=2, components=4,
                    learning_rate=1e-3, batch_size=256).fit(pd.DataFrame({"a": x[:, 0], "b": x[:, 1]}))
    for known, missing in (("a", "b"), ("b", "a")):
        rows = pd.DataFrame({known: np.full(2000, 1.5), missing: np.nan})
        draws = model.impute(rows, n_draws=1, seed=2)[0]
        assert (draws[known] == 1.5).all()
        assert abs(draws[missing].mean() - 1.2) < 0.1, f"E[{missing} | {known}] = {draws[missing].mean():.3f}, expected 1.2"
        assert 0.45 < draws[missing].std() < 0.75, f"sd {draws[missing].std():.3f}, expected 0.6"
