import numpy as np
import pandas as pd
import pytest

from plausible.evaluation.samples import metrics


def _table(seed, n=2000):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": x + rng.normal(scale=0.5, size=n), "c": np.where(x > 0, "hi", "lo")})


def test_same_distribution_scores_near_one():
    assert metrics.marginal_fidelity(_table(0), _table(1)) > 0.95
    assert metrics.pairwise_fidelity(_table(0), _table(1)) > 0.95


def test_marginal_fidelity_drops_by_the_distance_in_the_changed_column_only():
    """Two-sided: near 1 when the marginals agree, and 1 - KS (numbers) or 1 - TV (labels) in the
    one column that differs: N(0, 1) vs N(1, 1) has KS = 2 Phi(1/2) - 1 = 0.383; labels 50/50 vs
    80/20 have TV = 0.3."""
    real, same = _table(0), _table(1)
    shifted = same.assign(x=same["x"] + 1.0)
    relabelled = same.assign(c=np.where(np.random.default_rng(3).random(len(same)) < 0.8, "hi", "lo"))
    _, agree = metrics.marginal_fidelity(real, same, per_column=True)
    assert min(agree.values()) > 0.95
    for changed, column, expected in [(shifted, "x", 1 - 0.383), (relabelled, "c", 0.7)]:
        score, per_column = metrics.marginal_fidelity(real, changed, per_column=True)
        assert abs(per_column[column] - expected) < 0.04, (column, per_column)
        assert all(per_column[other] > 0.95 for other in per_column if other != column), per_column
        assert score < metrics.marginal_fidelity(real, same) - 0.08


def test_shuffling_columns_keeps_marginals_but_breaks_pairs():
    real, other = _table(0), _table(1)
    rng = np.random.default_rng(2)
    shuffled = other.apply(lambda col: col.to_numpy()[rng.permutation(len(col))])
    assert metrics.marginal_fidelity(real, shuffled) > 0.95
    assert metrics.pairwise_fidelity(real, shuffled) < metrics.pairwise_fidelity(real, other) - 0.2


def test_missing_rate_counts_in_marginal_fidelity():
    real = pd.DataFrame({"v": np.arange(100.0)})
    holes = real.assign(v=np.where(np.arange(100) % 10 < 3, np.nan, real["v"]))   # spread out: KS only 0.03
    score, per_column = metrics.marginal_fidelity(real, holes, per_column=True)
    assert per_column["v"] == pytest.approx(0.7)   # 30% missing: a missing-rate gap of 0.3
    assert score == per_column["v"] and metrics.marginal_fidelity(real, real) == 1.0


def test_unseen_share():
    train = pd.DataFrame({"a": ["x", "y"], "b": [1, 2]})
    assert metrics.unseen_share(pd.DataFrame({"a": ["x", "x"], "b": [1, 2]}), train) == 0.5


def test_detection_sees_obvious_fakes_on_a_few_rows_and_nothing_in_real_ones():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=200), "y": rng.choice(["a", "b"], 200), "z": rng.integers(0, 100, 200)})
    for n in (15, 30):
        fake = pd.DataFrame({"x": np.full(n, 100.0), "y": ["a"] * n, "z": np.full(n, 50)})
        assert metrics.detection_auc(real.head(n), fake) > 0.9   # a 20-row leaf made this 0.5
        fresh = [metrics.detection_auc(real.head(n), real.iloc[100:].sample(n, random_state=s), seed=s) for s in range(5)]
        assert 0.3 < np.mean(fresh) < 0.65


def test_utility_learns_from_a_few_rows():
    rng = np.random.default_rng(1)
    x = rng.normal(size=60)
    table = pd.DataFrame({"x": x, "label": np.where(x > 0, "up", "down"), "y": 3 * x + 0.1 * rng.normal(size=60)})
    train, test = table.head(26), table.tail(34)
    assert metrics.utility(train, test, "label") > 0.9          # a 20-row leaf made this 0.5
    assert metrics.utility(train.drop(columns="label"), test.drop(columns="label"), "y") > 0.6   # was about 0


def test_utility_scores_test_rows_that_hold_fewer_or_other_classes_than_training():
    """A random split can leave a rare class out of the scored rows (2 of 3 classes: a binary AUC,
    which scikit-learn refused as an (n, 2) score matrix) or put a never-trained class in them."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = np.where(x > 0, "yes", "no").astype(object)
    y[:3] = "maybe"
    table = pd.DataFrame({"x": x, "y": y})
    train, test = table.iloc[:140], table.iloc[140:]
    assert set(test["y"]) == {"yes", "no"}
    assert metrics.utility(train, test, "y") > 0.9
    unseen = test.assign(y=np.where(np.arange(60) < 5, "new", test["y"]))     # 3 classes, one never trained
    assert 0.5 < metrics.utility(train.iloc[3:], unseen, "y") <= 1.0
