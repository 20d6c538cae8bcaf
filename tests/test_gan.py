"""gan: a rare category and a two-mode number come out at their rates; no density, no imputation."""
import numpy as np
import pandas as pd
import pytest

import plausible as pl


def table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "enterprise"], n, p=[0.75, 0.2, 0.05])
    # the price is bimodal (two tiers) and depends on the plan
    high = rng.random(n) < np.where(plan == "basic", 0.1, 0.9)
    price = np.where(high, rng.normal(100, 5, n), rng.normal(20, 2, n))
    return pd.DataFrame({"plan": plan, "price": price})


@pytest.fixture(scope="module")
def fitted():
    return pl.make("gan", seed=0, epochs=150, hidden=64, noise=32, learning_rate=1e-3).fit(table(3000, seed=0))


@pytest.mark.slow   # 15-30 s: the fast suite must stay under 10 minutes on 2 cores
def test_a_rare_category_and_both_modes_of_a_number_survive(fitted):
    samples = fitted.sample(5000, seed=1)
    shares = samples["plan"].value_counts(normalize=True)
    np.testing.assert_allclose(shares[["basic", "plus", "enterprise"]], [0.75, 0.2, 0.05], atol=0.04)
    between = samples["price"].between(40, 80).mean()
    assert between < 0.05, f"{between:.1%} of prices fall between the two modes"
    high = samples["price"] > 60
    assert 0.2 < high.mean() < 0.45            # truth: 0.75·0.1 + 0.25·0.9 = 0.30
    # and the dependence: the high tier goes with the paid plans
    assert high[samples["plan"] != "basic"].mean() > 0.6 > 0.3 > high[samples["plan"] == "basic"].mean()


def test_it_says_why_it_cannot_score_or_impute():
    fitted = pl.make("gan", seed=0, epochs=2, hidden=16, noise=8).fit(table(200, seed=0))  # what it says, not how well
    with pytest.raises(pl.NotSupportedError, match="push-forward of noise"):
        fitted.log_prob(table(5, seed=1))
    with pytest.raises(pl.NotSupportedError, match="conditions on one category"):
        fitted.impute(table(5, seed=1).assign(price=np.nan), n_draws=2)
