"""pl.evaluate, plausible evaluate and plausible compare on tables nobody tidied: a label column of
5,000 levels, an ID column, dates; and every failure as one line, never a traceback."""
import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest

from plausible.cli import main
from plausible.evaluation import metrics, samples
from plausible.evaluation.compare import quality
from plausible.evaluation.samples import evaluate


def many_levels(seed: int = 0, novel: bool = False) -> pd.DataFrame:
    """8,820 rows whose 'customer' column has 5,000 levels: 10 frequent (300 rows each, with larger
    x), 830 seen twice, 4,160 once. `novel`: every customer a label the other tables never hold."""
    rng = np.random.default_rng(seed)
    codes = np.r_[np.repeat(np.arange(10), 300), np.repeat(np.arange(10, 840), 2), np.arange(840, 5000)]
    rng.shuffle(codes)
    n = len(codes)
    x = rng.normal(size=n) + (codes < 10)
    return pd.DataFrame({"customer": [f"{'new' if novel else 'c'}{k}" for k in codes], "x": x,
                         "g": np.where(x + rng.normal(size=n) > 0.5, "yes", "no"),
                         "when": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")})


@pytest.fixture(scope="module")
def tables():
    """Training rows (5,000 customers), held-out rows, and synthetic rows of the same distribution."""
    return many_levels(0), many_levels(1).iloc[:1000], many_levels(2).iloc[:1000]


def test_label_groups_keep_the_frequent_levels_and_pool_the_rest(tables):
    train, _, _ = tables
    groups = metrics.label_groups(train)
    assert list(groups) == ["customer"]            # 'g' has two levels: left as it is
    assert len(groups["customer"]) == 50 and {f"c{k}" for k in range(10)} | {"<missing>"} < groups["customer"]
    ids = pd.DataFrame({"id": [f"row{k}" for k in range(200)]})
    assert metrics.label_groups(ids) == {"id": frozenset({"<missing>"})}   # nothing repeats: nothing kept
    notes = metrics.grouping_notes(train, groups) + metrics.grouping_notes(ids, metrics.label_groups(ids))
    assert notes[0].startswith("column 'customer' has 5,000 levels: the 49 most frequent kept")
    assert notes[1].startswith("column 'id' has a different value in every row (200 values; an ID?)")


def test_every_metric_on_a_5000_level_column(tables):
    train, real, synthetic = tables
    result = evaluate(real, synthetic, train=train, target="g")
    for name in ("detection_auc", "marginal_fidelity", "pairwise_fidelity", "utility_ratio", "dcr_ratio",
                 "exact_copy_rate"):
        assert np.isfinite(result[name]), (name, result)
    assert 0.4 < result["detection_auc"] < 0.62
    assert result["marginal_fidelity"] > 0.9 and result["pairwise_fidelity"] > 0.85
    assert 0.8 < result["utility_ratio"] < 1.2 and 0.8 < result["dcr_ratio"] < 1.25
    assert any("5,000 levels" in note for note in result.details["levels_notes"])
    # the pooled column still carries signal: customers never seen are told apart and cost fidelity
    strangers = evaluate(real, many_levels(2, novel=True).iloc[:1000], train=train, target="g")
    assert strangers["detection_auc"] > result["detection_auc"] + 0.08
    assert strangers.details["marginal_fidelity_per_column"]["customer"] < 0.75


def test_ids_are_left_to_the_privacy_metrics_and_dates_compare_as_times():
    rng = np.random.default_rng(0)

    def table(n, first, seed):
        r = np.random.default_rng(seed)
        return pd.DataFrame({"id": [f"ID{k:06d}" for k in range(first, first + n)], "x": r.normal(size=n),
                             "day": pd.Timestamp("2020-01-01") + pd.to_timedelta(r.integers(0, 900, n), unit="D")})
    train, real = table(400, 0, 1), table(300, 1000, 2)
    fresh = table(300, 5000, 3)                                # new IDs, as an id column is regenerated
    fresh["day"] = fresh["day"].dt.strftime("%Y-%m-%d")        # dates read back as text
    result = evaluate(real, fresh, train=train)
    assert result["detection_auc"] < 0.65 and result["marginal_fidelity"] > 0.85
    assert 0.8 < result["dcr_ratio"] < 1.25 and result["exact_copy_rate"] == 0
    assert "column 'id' has a different value in every row" in " ".join(result.details["levels_notes"])
    copied = evaluate(real, train.iloc[rng.permutation(400)[:300]], train=train)   # rows, IDs and all
    assert copied["dcr_ratio"] < 0.01 and copied["exact_copy_rate"] == 1


def test_a_whole_number_id_made_anew_is_no_fault_and_a_copied_one_is():
    """A counter an ID column's model continues past the training values (data/identifiers.py) is
    compared as labels: not a giveaway to the detector, only a copy counts."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"customer_id": np.arange(1000, 3000), "x": rng.normal(size=2000)})
    table = table.iloc[rng.permutation(2000)].reset_index(drop=True)
    train, real = table.iloc[:1400], table.iloc[1400:]
    made = pd.DataFrame({"customer_id": np.arange(3000, 3600), "x": rng.normal(size=600)})
    result = evaluate(real, made, train=train)
    assert result["detection_auc"] < 0.6 and result.details["marginal_fidelity_per_column"]["customer_id"] == 1
    assert 0.8 < result["dcr_ratio"] < 1.25
    assert "column 'customer_id' has a different value in every row" in result.details["levels_notes"][0]
    copied = evaluate(real, train.iloc[:600], train=train)
    assert copied["exact_copy_rate"] == 1 and copied["dcr_ratio"] < 0.01


def test_utility_of_a_target_with_a_class_of_one_row():
    rng = np.random.default_rng(0)
    x = rng.normal(size=1500)
    table = pd.DataFrame({"x": x, "label": np.where(x > 0, "high", "low")})
    table.loc[0, "label"] = "once"                     # early stopping's stratified split refused this
    assert metrics.utility(table.iloc[:1200], table.iloc[1200:], "label") > 0.95


def test_distances_with_many_labels_equal_the_one_hot_distances(monkeypatch):
    rng = np.random.default_rng(0)

    def table(n):
        return pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(list("ab"), n),
                             "many": [f"L{k}" for k in rng.integers(0, 300, n)]})
    rows, reference = table(300), table(500)
    rows.iloc[:20] = reference.iloc[:20].to_numpy()           # copies are at distance 0 exactly
    by_codes = metrics.distances_to_closest(rows, reference)
    monkeypatch.setattr(metrics, "LEVELS_KEPT", 10_000)         # every column one-hot
    one_hot = metrics.distances_to_closest(rows, reference)
    np.testing.assert_allclose(by_codes, one_hot, atol=1e-9)
    assert (by_codes[:20] == 0).all()


def test_a_metric_that_fails_is_one_note_and_the_others_stand(tables, monkeypatch):
    train, real, synthetic = tables

    def broken(*args, **kwargs):
        raise ValueError("All the 5 fits failed.\nTraceback (most recent call last):\n  File x\nValueError: bad fold")
    monkeypatch.setattr(metrics, "detection_auc", broken)
    with pytest.warns(UserWarning, match="detection_auc could not be computed"):
        result = evaluate(real, synthetic, train=train)
    assert np.isnan(result["detection_auc"]) and np.isfinite(result["marginal_fidelity"])
    assert result.details["detection_auc_note"] == "detection_auc could not be computed: ValueError: bad fold"
    assert quality(dict(result)) == pytest.approx((result["marginal_fidelity"] + result["pairwise_fidelity"]) / 2)


def test_one_line_of_an_error():
    assert samples.one_line(ValueError("first\n\nsecond")) == "ValueError: first second"
    assert len(samples.one_line(RuntimeError("x" * 500))) == 200


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def test_cli_evaluate_on_a_5000_level_column(tables, tmp_path):
    train, real, synthetic = tables
    for name, frame in (("train", train), ("real", real), ("synthetic", synthetic)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    status, out, err = _run(["evaluate", "--real", str(tmp_path / "real.csv"), "--synthetic",
                             str(tmp_path / "synthetic.csv"), "--train", str(tmp_path / "train.csv"), "--target", "g"])
    assert status == 0 and "Traceback" not in out + err, err
    assert "column 'customer' has 5,000 levels: the 49 most frequent kept" in out
    assert "detection_auc" in out and "utility_ratio" in out


def test_cli_compare_on_a_5000_level_column(tmp_path):
    many_levels(0).to_csv(tmp_path / "data.csv", index=False)
    status, out, err = _run(["compare", str(tmp_path / "data.csv"), "--models", "independent,copula",
                             "--target", "g", "--quiet"])
    assert status == 0 and "Traceback" not in out + err, err
    assert "Recommended:" in out and "levels: the 49 most frequent kept" in out
    assert out.count(" ok ") == 2


def test_cli_compare_exits_2_when_no_model_could_be_evaluated(tmp_path):
    many_levels(0).iloc[:300].to_csv(tmp_path / "data.csv", index=False)
    status, out, err = _run(["compare", str(tmp_path / "data.csv"), "--models", "independent,gaussian",
                             "--time-budget", "0.001", "--quiet"])
    lines = err.strip().splitlines()
    assert status == 2 and out == "" and "Traceback" not in err
    assert lines[0].startswith("plausible compare: independent: out of time")
    assert lines[1].startswith("plausible compare: gaussian: out of time")
    assert lines[2] == "plausible compare: error: no model could be evaluated (2 tried): see the line for each above"
    assert len(lines) == 3


def test_compare_reports_an_evaluation_failure_in_one_line(monkeypatch):
    from plausible.evaluation import compare as compare_module

    def broken(*args, **kwargs):
        raise ValueError("\nAll the 5 fits failed.\nTraceback (most recent call last):\n  File x\nKeyError: 'c'")
    monkeypatch.setattr(samples, "evaluate", broken)
    table = compare_module.compare(many_levels(0).iloc[:200], models=["independent"], progress=False)
    assert table["status"].tolist() == ["evaluation failed: KeyError: 'c'"]


def test_labels_the_real_rows_never_hold_are_one_code_for_the_detector():
    """SDV invented city names on txhousing (46 real labels, 584 with the synthetic ones): the
    detector refused more than 255 levels and the AUC was NaN."""
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"city": rng.choice([f"c{i}" for i in range(40)], 400), "x": rng.normal(size=400)})
    fake = real.assign(city=[f"new{i}" for i in range(400)])
    from plausible.evaluation.metrics import detection_auc

    assert detection_auc(real, fake) > 0.9
