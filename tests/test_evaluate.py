"""Each metric of pl.evaluate on a case whose answer is known."""
import numpy as np
import pandas as pd
import pytest

import plausible as pl
from plausible.evaluation.samples import METRICS, evaluate


def _table(seed: int, n: int = 800) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    kind = np.where(x + rng.normal(scale=0.5, size=n) > 0, "high", "low")
    return pd.DataFrame({"x": x, "y": 2 * x + rng.normal(scale=0.5, size=n), "kind": kind,
                         "count": rng.poisson(np.exp(1 + 0.5 * x))})


@pytest.fixture(scope="module")
def split():
    return _table(0), _table(1)  # train, held-out


def test_two_samples_of_one_distribution_are_indistinguishable(split):
    train, real = split
    result = evaluate(real, _table(2), train=train, target="kind")
    assert 0.4 < result["detection_auc"] < 0.6
    assert result["marginal_fidelity"] > 0.93 and result["pairwise_fidelity"] > 0.93
    assert 0.85 < result["utility_ratio"] < 1.15
    assert 0.8 < result["dcr_ratio"] < 1.25 and result["exact_copy_rate"] < 0.05
    for name in ("detection_auc", "marginal_fidelity", "pairwise_fidelity"):  # the floor is the same game
        assert abs(result[name] - result.floor[name]) < 0.08


def test_copying_the_training_rows_is_flagged(split):
    train, real = split
    result = evaluate(real, train.copy(), train=train)
    assert result["dcr_ratio"] < 0.01 and result.floor["dcr_ratio"] > 0.8
    assert result["exact_copy_rate"] == 1.0 and result.floor["exact_copy_rate"] < 0.05


def test_shuffled_columns_keep_marginals_but_lose_pairs_and_utility(split):
    train, real = split
    rng = np.random.default_rng(3)
    shuffled = _table(2).apply(lambda column: column.to_numpy()[rng.permutation(len(column))])
    result = evaluate(real, shuffled, train=train, target="kind")
    assert result["marginal_fidelity"] > 0.93
    assert result["pairwise_fidelity"] < result.floor["pairwise_fidelity"] - 0.15
    assert result["utility_ratio"] < 0.75  # nothing left to learn the target from
    assert result["detection_auc"] > 0.75


def test_model_metrics_and_known_truth():
    train = pl.datasets.load("fashion", n=2000, seed=0)
    real = pl.datasets.load("fashion", n=600, seed=1)
    model = pl.make("histogram").fit(train)
    result = evaluate(real, model.sample(600, seed=2), train=train, model=model, truth="fashion")
    assert np.isclose(result["log_likelihood"], model.log_prob(real).mean())
    low, high = result.intervals["log_likelihood"]
    assert low < result["log_likelihood"] < high
    assert 0 < result["kl_to_truth"] < 2 and 0 < result["tv_to_truth"] < 1
    assert result.details["dcr_summary"] == "mean"  # discrete rows repeat: medians are 0
    assert set(result) <= set(METRICS)
    assert list(result.table().columns) == ["metric", "value", "noise_floor", "interval_95", "better"]


def test_bad_input_is_explained(split):
    train, real = split
    with pytest.raises(ValueError, match="lacks columns"):
        evaluate(real, real.drop(columns="x"))
    with pytest.raises(ValueError, match="target column 'nope'"):
        evaluate(real, real, target="nope")


def test_values_never_seen_in_training_get_probability_zero_when_asked():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"visits": rng.integers(0, 5, 300), "kind": rng.choice(["a", "b"], 300)})
    model = pl.make("independent", seed=0).fit(train)
    rows = pd.DataFrame({"visits": [1, 9, 2], "kind": ["a", "a", "zebra"]})
    with pytest.raises(pl.SchemaError, match="visits|kind"):
        model.log_prob(rows)
    scores = model.log_prob(rows, unseen="impossible")
    assert np.isfinite(scores[0]) and np.isneginf(scores[1:]).all()
    assert scores[0] == model.log_prob(rows.iloc[:1])[0]
    # evaluate scores held-out rows this way and counts the impossible ones
    result = pl.evaluate(real=pd.concat([train.iloc[:100], rows.iloc[1:]], ignore_index=True),
                         synthetic=model.sample(102, seed=1), model=model)
    assert result.details["zero_likelihood_rows"] == 2


def test_utility_ratio_is_undefined_when_real_rows_cannot_predict_the_target():
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300), "y": rng.normal(size=300)})
    synthetic = pl.make("gaussian").fit(noise).sample(300, seed=0)
    result = evaluate(noise, synthetic, target="y")
    assert np.isnan(result["utility_ratio"]) and "not predictable" in result.details["utility_note"]


def test_a_numeric_target_with_gaps_is_scored_on_its_known_rows():
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"a": rng.normal(size=300)})
    table["y"] = 2 * table["a"] + 0.1 * rng.normal(size=300)
    table.loc[::7, "y"] = np.nan
    synthetic = pl.make("gaussian").fit(table).sample(300, seed=0)
    assert 0.8 < evaluate(table, synthetic, target="y")["utility_ratio"] < 1.2


def test_held_out_rows_that_are_training_rows_make_the_dcr_ratio_undefined():
    rng = np.random.default_rng(2)
    table = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    synthetic = pl.make("gaussian").fit(table).sample(120, seed=0)
    with pytest.warns(UserWarning, match="also a training row"):
        result = evaluate(table, synthetic, train=table)
    assert np.isnan(result["dcr_ratio"]) and "undefined" in result.details["dcr_note"]
    with pytest.raises(ValueError, match="training table lacks columns \\['b'\\]"):
        evaluate(table, synthetic, train=table[["a"]])


def test_truth_needs_a_model_and_a_known_dataset():
    real = pl.datasets.load("fashion", n=200, seed=0)
    synthetic = pl.datasets.load("fashion", n=200, seed=1)
    with pytest.raises(ValueError, match="give model= too"):
        evaluate(real, synthetic, truth="fashion")
    model = pl.make("independent").fit(real)
    with pytest.raises(ValueError, match="real data"):
        evaluate(real, synthetic, model=model, truth="wine")
    assert "kl_to_truth" in evaluate(real, synthetic, model=model, truth="fashion")


def test_text_in_a_synthetic_number_column_is_named():
    real = pd.DataFrame({"a": np.arange(20.0), "b": list("xy") * 10})
    with pytest.raises(ValueError, match="column 'a' holds numbers in the real table"):
        evaluate(real, real.assign(a="1.5u"))
    assert "['extra']" in evaluate(real, real.assign(extra=1.0)).details["columns_note"]


def test_a_table_labelled_0_1_is_evaluated_against_the_samples_of_its_model():
    """A model fitted on columns 0, 1 samples columns "0", "1" (names are text); evaluate refused
    the pair with "the synthetic table lacks columns [0, 1]"."""
    rng = np.random.default_rng(0)
    real = pd.DataFrame({0: rng.normal(size=200), 1: rng.normal(size=200)})
    model = pl.make("gaussian", seed=0).fit(real)
    synthetic = model.sample(200, seed=1)
    assert list(synthetic.columns) == ["0", "1"]
    result = pl.evaluate(real=real, synthetic=synthetic, model=model, target=1)
    assert 0 <= result["marginal_fidelity"] <= 1 and np.isfinite(result["log_likelihood"])
    with pytest.raises(ValueError, match="distinct when written as text"):
        pl.evaluate(real=pd.DataFrame({1: [1.0, 2.0], "1": [3.0, 4.0]}), synthetic=synthetic)
