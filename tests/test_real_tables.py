"""Real tables with their mess: few-valued numbers, numbers on a grid, ID columns (issue 24).

`fair` (statsmodels) is the table the issue found broken: every column a float with 4-7 values.
"""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import plausible as pl
from plausible.core.registry import get_class
from plausible.data.schema import Schema

FAST_TABLE_MODELS = ["independent", "copula", "gmm", "bayesnet", "gaussian", "histogram"]


@pytest.fixture(scope="module")
def fair():
    import statsmodels.api as sm

    return sm.datasets.fair.load_pandas().data


def test_few_valued_floats_are_discrete_and_keep_their_rank_ties(fair):
    schema = Schema.infer(fair)
    assert schema["age"].discrete and schema["age"].support == [17.5, 22.0, 27.0, 32.0, 37.0, 42.0]
    assert schema["rate_marriage"].discrete and len(schema["rate_marriage"].support) == 5
    model = pl.make("copula", seed=0).fit(fair.iloc[:3000])
    synthetic = model.sample(3000, seed=1)
    for name in ("age", "yrs_married", "children", "religious", "educ", "occupation"):
        assert set(synthetic[name]) <= set(fair[name]), name
    real = fair.iloc[:3000][["age", "yrs_married"]].corr("spearman").iloc[0, 1]
    fake = synthetic[["age", "yrs_married"]].corr("spearman").iloc[0, 1]
    assert real > 0.8 and abs(real - fake) < 0.05          # age and years married go together


@pytest.mark.parametrize("name", FAST_TABLE_MODELS)
def test_every_sampled_and_imputed_value_of_a_discrete_column_is_one_it_takes(fair, name):
    train = fair.iloc[:800].drop(columns="affairs")
    if name == "histogram":
        train = train[["age", "children", "religious"]]
    model = pl.make(name, seed=0).fit(train)
    synthetic = model.sample(500, seed=1)
    gappy = pl.hide_cells(train.iloc[:200], 0.2, seed=0)
    filled = model.impute(gappy, n_draws=2, seed=2)
    for column in train.columns:
        taken = set(train[column])
        assert set(synthetic[column]) <= taken, column
        for draw in filled:
            assert set(draw[column]) <= taken, column
    # frequencies: a value's share within 0.06 of the data's
    share = train["age"].value_counts(normalize=True)
    assert (synthetic["age"].value_counts(normalize=True).reindex(share.index, fill_value=0) - share).abs().max() < 0.06


def test_many_repeated_values_snap_to_their_support_and_a_grid_is_kept():
    rng = np.random.default_rng(0)
    levels = np.round(np.sort(rng.uniform(0, 50, 60)), 3)           # 60 irregular values, ~25 rows each
    prices = rng.integers(1, 400, 1500) + 0.99                       # dollars and 99 cents: a grid of 1.00
    data = pd.DataFrame({"level": rng.choice(levels, 1500), "price": prices, "x": rng.normal(size=1500)})
    schema = Schema.infer(data)
    assert schema["level"].discrete and len(schema["level"].support) == 60
    assert not schema["price"].discrete and schema["price"].step == pytest.approx(1.0)
    assert schema["x"].step is None and not schema["x"].discrete
    synthetic = pl.make("copula", seed=0).fit(data).sample(2000, seed=1)
    assert set(synthetic["level"]) <= set(levels)
    cents = np.round(synthetic["price"] * 100).astype(int) % 100
    assert (cents == 99).all() and synthetic["price"].between(1.99, 399.99).all()


def test_the_rule_is_overridden_per_column(fair):
    data = fair.iloc[:400][["age", "yrs_married", "affairs"]]
    model = pl.make("copula", seed=0).fit(data, schema={"age": "continuous", "affairs": "discrete"})
    assert not model.schema_["age"].discrete and model.schema_["affairs"].discrete
    synthetic = model.sample(400, seed=1)
    assert set(synthetic["affairs"]) <= set(data["affairs"])
    assert len(set(synthetic["age"]) - set(data["age"])) > 5       # continuous: values between the steps
    with pytest.raises(pl.SchemaError, match="unknown kind"):
        pl.make("copula").fit(data, schema={"age": "discreet"})


def _customers(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer": [f"CUST-{i:05d}" for i in rng.permutation(n) + 1000],
        "row": np.arange(n),
        "uuid": ["".join(rng.choice(list("0123456789abcdef"), 12)) for _ in range(n)],
        "segment": rng.choice(["a", "b", "c"], n),
        "spend": rng.gamma(2.0, 50.0, n).round(2),
    })


def test_id_columns_are_recognised_regenerated_and_never_stored(tmp_path):
    data = _customers()
    with pytest.warns(UserWarning, match="'customer', 'row', 'uuid' name each row"):
        model = pl.make("copula", seed=0).fit(data)
    assert [c.kind for c in model.schema_.columns] == ["id", "id", "id", "categorical", "numeric"]
    synthetic = model.sample(500, seed=1)
    assert synthetic["customer"].is_unique and synthetic["customer"].str.fullmatch(r"CUST-\d{5}").all()
    assert not set(synthetic["customer"]) & set(data["customer"])
    assert synthetic["row"].is_unique and not set(synthetic["row"]) & set(data["row"])
    assert synthetic["row"].dtype == data["row"].dtype
    assert synthetic["uuid"].str.fullmatch(r"[0-9a-f]{12}").all() and synthetic["uuid"].is_unique
    model.save(tmp_path / "m")
    stored = "".join(path.read_text(errors="replace") if path.suffix == ".json" else path.read_bytes().decode(
        "latin-1") for path in (tmp_path / "m").iterdir())
    for value in data["customer"].tolist() + data["uuid"].tolist():
        assert value not in stored
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    row = next(c for c in _find_columns(saved) if c["name"] == "row")
    assert not set(map(float, _numbers(row))) & set(data["row"].astype(float))
    gappy = data.copy()
    gappy.loc[:9, "customer"] = None
    filled = pl.load(tmp_path / "m").impute(gappy, n_draws=1, seed=0)[0]
    assert filled["customer"].notna().all() and filled["customer"].is_unique
    assert (filled["customer"].iloc[10:] == data["customer"].iloc[10:]).all()
    assert np.isfinite(model.log_prob(_customers(seed=1))).all()       # new IDs score like any other


def _find_columns(config):
    """Every schema column dict anywhere in a saved config."""
    if isinstance(config, dict):
        if "kind" in config and "name" in config:
            yield config
        for value in config.values():
            yield from _find_columns(value)
    elif isinstance(config, list):
        for value in config:
            yield from _find_columns(value)


def _numbers(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def test_a_column_that_only_looks_like_an_id_can_be_declared_categorical():
    data = _customers()[["customer", "spend"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = pl.make("independent", seed=0).fit(data, schema={"customer": "categorical"})
    assert model.schema_["customer"].kind == "categorical"
    small = _customers(n=12)                 # too few rows to tell a key from a category
    assert Schema.infer(small)["customer"].kind == "categorical"


def test_measurements_that_happen_to_be_distinct_are_not_ids():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"population": rng.permutation(rng.integers(10_000, 10_000_000, 200)),
                         "ratio": rng.normal(size=200)})
    schema = Schema.infer(data.assign(year=np.arange(1800, 2000)))
    assert schema["population"].kind == "integer" and schema["ratio"].kind == "numeric"
    assert schema["year"].kind == "integer"             # one row per year: a variable, not a key


def test_bootstrap_imputation_takes_the_schema_from_the_whole_table(fair):
    """fair's first 300 rows, 10% hidden: a resample without the one 17.5 inferred an integer age
    and then refused the table (issue 24)."""
    gappy = pl.hide_cells(fair.iloc[:300], 0.1, seed=0)
    draws = pl.impute(gappy, n_draws=2, seed=0)
    for draw in draws:
        assert draw.notna().all().all() and set(draw["age"]) <= set(fair["age"])


def test_impute_checks_a_table_without_gaps_too():
    frame = pd.DataFrame({"a": [1.0, np.inf, 2.0] * 10, "b": list("abc") * 10})
    with pytest.raises(pl.SchemaError, match="'a' has infinite values"):
        pl.impute(frame)


@pytest.mark.parametrize("name", [n for n, info in pl.models().items() if info.get("data_kind", "table") == "table"])
def test_every_table_model_fits_samples_and_imputes_beside_an_id_column(name):
    """An id column is left out of model space: every rung works on the other columns."""
    cls = get_class(name)
    data = _customers(n=60)[["row", "segment", "spend"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pl.make(name, seed=0, **cls.test_params).fit(data)
    synthetic = model.sample(20, seed=1)
    assert synthetic["row"].is_unique and synthetic["row"].min() >= 60
    assert set(synthetic["segment"]) <= set(data["segment"])
    if cls.impute_kind != "none":
        gappy = data.copy()
        gappy.loc[:4, "spend"] = np.nan
        filled = model.impute(gappy, n_draws=1, seed=2)[0]
        assert filled["spend"].notna().all() and (filled["row"] == data["row"]).all()


def test_an_id_format_never_spells_out_a_training_value():
    """Names of many lengths: the commonest length may hold one name only; its characters are not
    kept as the format's fixed text (they would be that name)."""
    from plausible.data.identifiers import id_format, make_ids

    names = pd.Series(["ann"] + [f"{'x' * k}{k}" for k in range(5, 40)])
    form = id_format(names)
    assert "ann" not in str(form) and all(cls != "=" for cls, _ in form["positions"])
    assert len(set(make_ids(form, 50, np.random.default_rng(0)))) == 50
