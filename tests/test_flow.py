"""flow: the coupling flow inverts with the right log-determinant, and its likelihood is normalised."""
import numpy as np
import pandas as pd
import pytest
import torch
from _tables import colour_grid, colours, small_given_colour

import plausible as pl

FAST = {"epochs": 40, "hidden": 32, "couplings": 4, "learning_rate": 3e-3}


def correlated(n: int, rho: float, seed: int) -> pd.DataFrame:
    x = np.random.default_rng(seed).multivariate_normal([10.0, -3.0], [[4.0, 2 * rho], [2 * rho, 1.0]], size=n)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1]})


@pytest.fixture(scope="module")
def bivariate():
    return pl.make("flow", seed=0, **FAST).fit(correlated(3000, rho=0.8, seed=0))


def test_the_flow_inverts_and_its_log_determinant_is_the_jacobian():
    data = pl.testing.mixed_table(300)
    net = pl.make("flow", seed=0, epochs=1, hidden=16, couplings=4).fit(data).net_
    with torch.random.fork_rng():
        torch.manual_seed(0)
        for conditioner in net.conditioners:          # far from the identity a freshly trained flow starts at
            torch.nn.init.normal_(conditioner[-1].weight, std=0.5)
            torch.nn.init.normal_(conditioner[-1].bias, std=0.5)
        codes = torch.randint(0, 2, (64, net.code_columns.shape[0]))
        z = torch.randn(64, len(net.value_columns), dtype=torch.float32) * 1.5
    onehot = torch.zeros(64, int(net.blocks[-1].stop))
    for j, block in enumerate(net.blocks):
        onehot[torch.arange(64), block.start + codes[:, j]] = 1.0
    active = net.context(onehot)[1] > 0
    assert active.any() and not active.all(), "the test needs both active and inactive scores"
    with torch.no_grad():
        u, log_det = net.transform(z, onehot)
        back, _ = net.transform(u, onehot, inverse=True)
    assert (u - z)[active].abs().max() > 0.3, "the flow is (nearly) the identity: the test would prove nothing"
    assert torch.equal(u[~active], z[~active]), "inactive scores must pass through unchanged"
    np.testing.assert_allclose(back.numpy(), z.numpy(), atol=1e-4)
    # log |det ∂u/∂z| over the active scores, against autograd's Jacobian, row by row
    for row in range(4):
        jacobian = torch.autograd.functional.jacobian(lambda v: net.transform(v[None], onehot[row:row + 1])[0][0],
                                                      z[row])
        keep = active[row]
        expected = torch.linalg.slogdet(jacobian[keep][:, keep].double())[1]
        np.testing.assert_allclose(float(log_det[row]), float(expected), atol=1e-4)


def test_density_integrates_to_one_in_2d(bivariate):
    data = correlated(3000, rho=0.8, seed=0)
    a = np.linspace(data["a"].min(), data["a"].max(), 301)
    b = np.linspace(data["b"].min(), data["b"].max(), 301)
    grid_a, grid_b = np.meshgrid(a, b, indexing="ij")
    density = np.exp(bivariate.log_prob(pd.DataFrame({"a": grid_a.ravel(), "b": grid_b.ravel()}))).reshape(301, 301)
    total = np.trapezoid(np.trapezoid(density, b, axis=1), a)
    assert abs(total - 1) < 0.03, f"the 2-D density integrates to {total:.4f}"


def test_probabilities_sum_to_one_on_a_discrete_table():
    model = pl.make("flow", seed=0, **FAST).fit(colours(400, seed=1))
    grid = colour_grid()
    probabilities = np.exp(model.log_prob(grid))
    assert abs(probabilities.sum() - 1) < 1e-5
    # and it learned the dependence of size on colour
    assert small_given_colour(grid, probabilities, "red") > 0.75 > small_given_colour(grid, probabilities, "green")


def test_a_nullable_number_beside_a_category_is_normalised():
    """Σ_c [P(c, missing) + ∫ p(c, x) dx] = 1: the inactive score is left out exactly."""
    rng = np.random.default_rng(2)
    n = 1000
    group = rng.choice(["x", "y"], n, p=[0.6, 0.4])
    value = np.where(group == "x", rng.normal(0, 1, n), rng.normal(3, 0.5, n))
    value[rng.random(n) < np.where(group == "x", 0.1, 0.4)] = np.nan
    data = pd.DataFrame({"group": group, "value": value})
    model = pl.make("flow", seed=0, **FAST).fit(data)
    grid = np.linspace(np.nanmin(value), np.nanmax(value), 4001)
    total = 0.0
    for label in ("x", "y"):
        density = np.exp(model.log_prob(pd.DataFrame({"group": label, "value": grid})))
        total += np.trapezoid(density, grid) + np.exp(model.log_prob(pd.DataFrame({"group": [label], "value": [np.nan]})))[0]
    assert abs(total - 1) < 0.02, f"total probability {total:.4f}"


def test_imputation_follows_the_bivariate_gaussian_conditional(bivariate):
    # b | a ~ N(-3 + rho (a - 10) / 2, 1 - rho²): at a = 10 + 1.5 sd the mean is -3 + 1.2 and the sd 0.6
    rows = pd.DataFrame({"a": np.full(1000, 13.0), "b": np.nan})
    draws = bivariate.impute(rows, n_draws=1, seed=3)[0]
    assert (draws["a"] == 13.0).all()
    assert abs(draws["b"].mean() - (-1.8)) < 0.15, f"conditional mean {draws['b'].mean():.3f}, expected -1.8"
    # the chain starts from the marginal of b (mean -3, sd 1): it has to move to get here
    assert 0.45 < draws["b"].std() < 0.75, f"conditional sd {draws['b'].std():.3f}, expected 0.6"
