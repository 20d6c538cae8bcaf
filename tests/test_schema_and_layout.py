import numpy as np
import pandas as pd
import pytest

import plausible as pl
from plausible.data.layout import MISSING, VALUE, TableLayout
from plausible.data.schema import RARE_LABEL, Schema, SchemaError
from plausible.testing import mixed_table


def test_kinds_are_inferred():
    schema = Schema.infer(mixed_table())
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {"group": "categorical", "age": "integer", "spend": "numeric", "member": "boolean",
                     "joined": "datetime", "score": "numeric", "tier": "categorical"}
    assert schema["score"].nullable and schema["tier"].nullable and not schema["age"].nullable
    assert schema["joined"].resolution == "D"


def test_float_column_of_whole_numbers_with_gaps_is_integer():
    schema = Schema.infer(pd.DataFrame({"n": [1.0, 2.0, np.nan, 4.0]}))
    assert schema["n"].kind == "integer" and schema["n"].nullable


def test_overrides_and_roundtrip():
    data = pd.DataFrame({"zip": [75001, 69001, 75001], "x": [0.5, 1.5, 2.5]})
    schema = Schema.infer(data, overrides={"zip": "categorical"})
    assert schema["zip"].kind == "categorical" and schema["zip"].categories == [75001, 69001]
    assert Schema.from_dict(schema.to_dict()) == schema
    with pytest.raises(SchemaError, match="not in the table"):
        Schema.infer(data, overrides={"nope": "numeric"})
    with pytest.raises(SchemaError, match="unknown kind"):
        Schema.infer(data, overrides={"x": "complex"})


def test_high_cardinality_is_pooled_and_still_sampled():
    rng = np.random.default_rng(0)
    ids = [f"id{i}" for i in rng.integers(0, 300, 3000)]      # ~10 rows per label: every label common
    data = pd.DataFrame({"id": ids, "v": rng.normal(size=3000)})
    model = pl.make("independent", seed=0).fit(data)
    column = model.schema_["id"]
    assert len(column.categories) == 49 and len(column.rare) > 200  # memory stays bounded
    synthetic = model.sample(500, seed=1)
    assert set(synthetic["id"]) <= set(ids)
    assert np.isfinite(model.log_prob(data)).all()


def test_labels_below_min_count_are_pooled_and_never_stored(tmp_path):
    """A label of fewer than `min_count` rows in a high-cardinality column (a name, an address) is
    neither kept nor remembered: the model file can be shared. Samples of the pooled bucket get a
    remembered label, or RARE_LABEL when none was common enough."""
    rng = np.random.default_rng(0)
    common = [f"town{i}" for i in range(60)]
    singles = [f"street {i}" for i in range(400)]                  # one row each
    data = pd.DataFrame({"place": rng.permutation(common * 10 + singles), "v": rng.normal(size=1000)})
    model = pl.make("independent", seed=0).fit(data)
    column = model.schema_["place"]
    assert set(column.categories) | set(column.rare) == set(common)
    model.save(tmp_path / "m")
    saved = (tmp_path / "m" / "config.json").read_text()
    assert not any(f'"{label}"' in saved for label in singles)
    synthetic = model.sample(2000, seed=1)["place"]
    assert set(synthetic) <= set(common)
    assert np.isfinite(model.log_prob(data)).all()              # a pooled single scores through the bucket
    only_singles = pl.make("independent", seed=0).fit(pd.DataFrame({"c": common[:49] * 5 + singles[:30]}))
    assert only_singles.schema_["c"].rare == [] and RARE_LABEL in set(only_singles.sample(3000, seed=0)["c"])


@pytest.mark.parametrize("name", ["independent", "copula"])
def test_the_pooled_bucket_is_a_distribution_over_the_training_labels(name, tmp_path):
    """1,100 labels of 5 rows each: a pooled label beyond the 1,000 remembered scored as if seen once
    among the remembered ones, so the training labels' probabilities summed to more than one, and a
    new label scored higher than a kept one."""
    labels = [f"cust_{i:06d}" for i in range(1100)]
    data = pd.DataFrame({"id": labels * 5})
    model = pl.make(name, seed=0).fit(data)
    column = model.schema_["id"]
    assert (column.rare_rows, column.rare_labels, len(column.rare)) == (5255, 1051, 1000)
    scores = np.asarray(model.log_prob(pd.DataFrame({"id": labels})))
    assert np.exp(scores).sum() == pytest.approx(1.0, abs=0.02)
    new = float(model.log_prob(pd.DataFrame({"id": ["never_seen"]}))[0])
    assert new == pytest.approx(scores[-1]) and new < scores[0]     # an unremembered training label's share
    model.save(tmp_path / "m.plausible")
    back = pl.load(tmp_path / "m.plausible")
    np.testing.assert_allclose(back.log_prob(pd.DataFrame({"id": labels})), scores)


def test_a_label_outside_a_fully_remembered_bucket_is_unseen():
    """60 labels: 49 kept, 11 pooled and all remembered, so a 61st label was never seen."""
    data = pd.DataFrame({"c": [f"l{i}" for i in range(60)] * 5})
    model = pl.make("independent", seed=0).fit(data)
    assert len(model.schema_["c"].rare) == 11 and model.schema_["c"].rare_labels == 11
    assert np.isfinite(model.log_prob(data)).all()
    assert np.exp(model.log_prob(pd.DataFrame({"c": [f"l{i}" for i in range(60)]}))).sum() == pytest.approx(1.0)
    with pytest.raises(SchemaError, match="never seen in training"):
        model.log_prob(pd.DataFrame({"c": ["l99"]}))
    assert np.isneginf(model.log_prob(pd.DataFrame({"c": ["l99", "l50"]}), unseen="impossible")[0])


def test_point_masses_missing_and_states():
    data = mixed_table(n=500)
    layout = TableLayout.fit(data, Schema.infer(data))
    names = {d.name: d.labels for d in layout.discrete}
    assert names["spend:state"] == [VALUE, 0.0]               # 40% zeros: a point mass
    assert names["score:state"] == [VALUE, MISSING]           # gaps: a missing state
    assert MISSING in names["tier"]
    encoded = layout.encode(Schema.infer(data).check(data))
    decoded = layout.decode(encoded, np.random.default_rng(0))
    for column in data.columns:  # encode then decode gives the data back exactly
        pd.testing.assert_series_equal(decoded[column], data[column], check_names=False)


def test_spikes_inside_a_column_of_fractions_are_point_masses_unless_the_model_says_not():
    """A spike inside a column of fractions (randhie's log deductible: 16% of rows at 6.907755) is a
    point mass: smeared, a detector finds it at once. Whole-number spikes stay on the number line
    (they would overlap the unit bins), and so do all for a model that keeps them continuous (gmm)."""
    rng = np.random.default_rng(2)
    continuous = rng.normal(3.0, 1.0, 600)
    gridded = np.where(rng.random(600) < 0.6, np.round(continuous), continuous)   # 2.0, 3.0, 4.0 ... spikes
    capped = np.minimum(continuous, 4.0)                                          # ~16% at the cap
    flag = rng.choice([0.25, 0.75], 600)                                          # two values only
    counts = np.where(rng.random(600) < 0.3, 7, rng.integers(0, 200, 600))        # whole numbers, spike at 7
    data = pd.DataFrame({"gridded": gridded, "capped": capped, "flag": flag, "counts": counts})
    names = {d.name: d.labels for d in TableLayout.fit(data, Schema.infer(data)).discrete}
    assert names["gridded:state"][0] == VALUE and {2.0, 3.0, 4.0} <= set(names["gridded:state"])
    assert names["capped:state"] == [VALUE, 4.0]
    assert names["flag:state"] == [0.25, 0.75]                 # every value a spike: all point masses
    assert "counts:state" not in names                         # a whole-number spike stays a number
    kept = {d.name: d.labels for d in TableLayout.fit(data, Schema.infer(data), interior_point_masses=False).discrete}
    assert "gridded:state" not in kept and kept["capped:state"] == [VALUE, 4.0]
    assert "gridded:state" not in {d.name for d in pl.make("gmm").fit(data).layout_.discrete}
    synthetic = pl.make("copula", seed=0).fit(data).sample(3000, seed=1)
    assert abs((synthetic["gridded"] == 3.0).mean() - (data["gridded"] == 3.0).mean()) < 0.03


def test_all_point_masses_column_comes_back_as_those_values():
    data = pd.DataFrame({"likert": np.random.default_rng(1).integers(1, 6, 400)})
    model = pl.make("independent", seed=0).fit(data)
    assert model.layout_.continuous == []  # every value is a point mass: no continuous part
    assert set(model.sample(300, seed=0)["likert"]) == {1, 2, 3, 4, 5}


def test_a_few_rows_of_distinct_whole_numbers_are_a_number_not_categories():
    # 8 rows, b = 2a and c = 3a, a few cells hidden: with every value held once, the columns are
    # numbers (a category per value would cut them off from each other and draw b from its list)
    a = np.arange(1, 9)
    data = pd.DataFrame({"a": a, "b": 2 * a, "c": 3 * a})
    layout = TableLayout.fit(data, Schema.infer(data))
    assert [c.name for c in layout.continuous] == ["a", "b", "c"] and layout.discrete == []
    holes = data.astype(float)
    holes.loc[[2, 5], "b"] = np.nan
    holes.loc[[3], "c"] = np.nan
    # each draw: the line's value up to a rounding slip (posterior draws from 8 rows): 88% exact, else +-1
    draws = np.array([[d.loc[2, "b"], d.loc[5, "b"], d.loc[3, "c"]]
                      for d in pl.impute(holes, n_draws=40, model="gaussian", seed=0)])
    assert (np.abs(draws - [6, 12, 12]) <= 1).all() and (draws == [6, 12, 12]).mean() > 0.75
    # the same whole numbers repeated (3+ rows per value) are categories, as a Likert item is
    repeated = pd.DataFrame({"a": np.tile(a, 3)})
    assert TableLayout.fit(repeated, Schema.infer(repeated)).continuous == []


def test_errors_name_the_column():
    with pytest.raises(SchemaError, match="'a'"):
        Schema.infer(pd.DataFrame({"a": [np.nan, np.nan], "b": [1, 2]}))
    with pytest.raises(SchemaError, match="empty"):
        Schema.infer(pd.DataFrame({"a": []}))
    with pytest.raises(SchemaError, match="infinite"):
        Schema.infer(pd.DataFrame({"a": [1.0, np.inf]}))
    schema = Schema.infer(pd.DataFrame({"a": [1.0, 2.0], "c": ["x", "y"]}))
    with pytest.raises(SchemaError, match="'a'.*not numbers"):
        schema.check(pd.DataFrame({"a": ["one", "2"], "c": ["x", "x"]}))
    with pytest.raises(SchemaError, match="'c'.*never seen"):
        schema.check(pd.DataFrame({"a": [1.0], "c": ["z"]}))


def test_numbers_come_back_at_the_precision_the_data_was_recorded_with():
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"ash": np.round(rng.normal(19.5, 3.0, 300), 1),          # one decimal place
                         "phenols": np.round(rng.normal(0.36, 0.1, 300), 2),      # two
                         "raw": rng.normal(0.0, 1.0, 300)})                       # full float precision
    model = pl.make("gaussian", seed=0).fit(data)
    assert [c.decimals for c in model.schema_.columns] == [1, 2, None]
    sample = model.sample(500, seed=1)
    np.testing.assert_array_equal(sample["ash"], np.round(sample["ash"], 1))
    np.testing.assert_array_equal(sample["phenols"], np.round(sample["phenols"], 2))
    assert (sample["raw"] != np.round(sample["raw"], 6)).mean() > 0.9
    masked = data.mask(rng.random(data.shape) < 0.2)
    filled = pl.impute(masked, n_draws=2, model="gaussian", seed=0)[1]
    np.testing.assert_array_equal(filled["ash"], np.round(filled["ash"], 1))
    stored = {k: v for k, v in model.schema_.columns[0].to_dict().items() if k != "decimals"}
    assert pl.Column.from_dict(stored).decimals is None     # model files written before the field load


def test_atoms_false_keeps_every_value_continuous_and_unknown_fields_are_errors():
    df = pd.DataFrame({"x": np.tile([0.0, 1.0, 2.0], 20)})       # every value a spike: fully discrete
    discrete = pl.make("gaussian", seed=0).fit(df)
    assert not discrete.layout_.continuous
    with pytest.raises(SchemaError, match="only took the values"):
        discrete.log_prob(pd.DataFrame({"x": [1.5]}))
    continuous = pl.make("gaussian", seed=0).fit(df, schema={"x": {"atoms": False}})
    assert [v.column for v in continuous.layout_.continuous] == ["x"] and not continuous.layout_.discrete
    assert np.isfinite(continuous.log_prob(pd.DataFrame({"x": [1.5]}))).all()   # a new value is possible
    restored = Schema.from_dict(continuous.schema_.to_dict())
    assert restored.columns[0].atoms is False
    with pytest.raises(SchemaError, match="unknown schema field 'atom'"):
        pl.make("gaussian").fit(df, schema={"x": {"atom": False}})


def test_tiny_magnitude_column_is_not_rounded_to_zero():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200) * 1e-11})
    model = pl.make("gaussian").fit(frame)
    assert model.schema_["a"].decimals is None
    sampled = model.sample(200, seed=0)["a"]
    assert (sampled != 0).all() and 0.5e-11 < sampled.std() < 2e-11
    # a column of zeros and ones written with float noise still rounds to whole numbers
    noisy = pd.DataFrame({"b": np.tile([0.0, 0.1 + 0.2 - 0.3, 1.0, 3 * 0.1 / 0.3], 30)})
    assert pl.make("independent").fit(noisy).schema_["b"].decimals == 0


def test_impute_keeps_the_callers_index():
    frame = mixed_table(60, seed=0).set_axis(range(500, 560))
    frame.loc[505, "spend"] = np.nan
    model = pl.make("gaussian").fit(frame)
    for draw in model.impute(frame, n_draws=2, seed=0):
        assert list(draw.index) == list(frame.index) and draw["spend"].notna().all()
    assert list(model.impute(frame.dropna(), n_draws=1, seed=0)[0].index) == list(frame.dropna().index)
    assert list(pl.impute(frame, n_draws=2, seed=0)[0].index) == list(frame.index)


def test_time_zones_nullable_floats_durations_and_unused_categories_survive_the_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "when": pd.date_range("2020-03-28", periods=80, freq="h", tz="Europe/Berlin"),
        "share": pd.array(rng.uniform(size=80), dtype="Float64"),
        "wait": pd.to_timedelta(rng.gamma(2.0, 60.0, size=80).round(), unit="s"),
        "colour": pd.Categorical(rng.choice(["red", "blue"], 80), categories=["red", "blue"] + [f"c{i}" for i in range(60)]),
    })
    frame.loc[3, "when"], frame.loc[4, "share"], frame.loc[5, "wait"] = pd.NaT, pd.NA, pd.NaT
    with pytest.warns(UserWarning, match="'colour' declares 60 categories that no row holds"):
        model = pl.make("gaussian").fit(frame)
    assert model.schema_["wait"].kind == "numeric" and set(model.schema_["colour"].rare_counts) == {1}
    model.save(tmp_path / "m")
    model = pl.load(tmp_path / "m")
    for table in (model.sample(50, seed=0), model.impute(frame, n_draws=1, seed=0)[0]):
        assert str(table["when"].dt.tz) == "Europe/Berlin"
        assert table["share"].dtype == "Float64"
        assert pd.api.types.is_timedelta64_dtype(table["wait"].dtype)
        assert set(table["colour"].dropna()) <= set(frame["colour"].cat.categories)
    filled = model.impute(frame, n_draws=1, seed=0)[0]
    assert filled.loc[10, "when"] == frame.loc[10, "when"] and filled.loc[10, "wait"] == frame.loc[10, "wait"]
    assert filled[["when", "share", "wait"]].notna().all().all()
    assert np.isfinite(model.log_prob(frame.dropna())).all()
    assert np.isfinite(pl.evaluate(frame.dropna(), model.sample(80, seed=1))["marginal_fidelity"])


def test_labels_that_json_cannot_hold_are_kept_as_text(tmp_path):
    stamps = pd.to_datetime(["2020-01-01", "2021-01-01", "2022-06-01"])
    frame = pd.DataFrame({"d": pd.Categorical(stamps[np.arange(90) % 3]), "x": np.arange(90.0) % 7})
    model = pl.make("histogram").fit(frame)
    model.save(tmp_path / "m")
    loaded = pl.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.log_prob(frame.head(5)), model.log_prob(frame.head(5)))
    assert set(loaded.sample(30, seed=0)["d"].astype(str)) <= {str(s) for s in stamps}


def test_dates_out_of_range_and_fractional_whole_numbers_are_named_errors():
    far = pd.DataFrame({"d": np.array(["3000-01-01", "1000-01-01"] * 10, dtype="datetime64[s]"), "x": np.arange(20.0)})
    with pytest.raises(SchemaError, match="'d'.*1677"):
        pl.make("gaussian").fit(far)
    counts = pd.DataFrame({"n": np.arange(30) % 5, "x": np.arange(30.0)})
    model = pl.make("histogram").fit(counts)
    with pytest.raises(SchemaError, match="'n'.*fractional"):
        model.log_prob(pd.DataFrame({"n": [2.5], "x": [1.0]}))


def test_ordered_categories_come_back_ordered_and_numbers_are_not_dates(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": pd.Categorical(rng.choice(["lo", "mid", "hi"], 100, p=[0.2, 0.5, 0.3]),
                                                 categories=["lo", "mid", "hi"], ordered=True),
                          "x": rng.normal(size=100)})
    model = pl.make("gaussian").fit(frame)
    model.save(tmp_path / "m")
    for table in (pl.load(tmp_path / "m").sample(20, seed=0), model.impute(frame.assign(size=None), n_draws=1)[0]):
        assert table["size"].dtype.ordered and list(table["size"].cat.categories) == ["lo", "mid", "hi"]
    with pytest.raises(SchemaError, match="'x' is declared datetime but holds numbers"):
        pl.make("gaussian").fit(frame, schema={"x": "datetime"})


def test_integers_at_the_top_of_int64_do_not_wrap_around():
    """Models work in float64, where 2**63 - 1 rounds to 2**63: cast back, it wrapped to -2**63."""
    table = pd.DataFrame({"big": np.array([2**63 - 1, 2**63 - 2] * 20, dtype=np.int64), "x": np.arange(40.0)})
    drawn = pl.make("copula", seed=0).fit(table).sample(20, seed=0)["big"]
    assert drawn.dtype == np.int64 and (drawn > 2**63 - 2**11).all()
