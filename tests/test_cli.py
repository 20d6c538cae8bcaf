import json

import numpy as np
import pandas as pd
import pytest

from plausible.cli import main
from plausible.data import io
from plausible.testing import mixed_table
from test_cli_surface import fails_in_one_line


def test_fit_sample_impute_score_roundtrip(tmp_path, capsys):
    data = mixed_table(n=200)
    io.write_table(data, tmp_path / "data.csv")
    assert main(["fit", str(tmp_path / "data.csv"), "--model", "independent", "--set", "bins=5",
                 "--out", str(tmp_path / "m.plausible")]) == 0
    assert main(["sample", str(tmp_path / "m.plausible"), "--n", "25", "--out", str(tmp_path / "s.parquet")]) == 0
    synthetic = pd.read_parquet(tmp_path / "s.parquet")
    assert list(synthetic.columns) == list(data.columns) and len(synthetic) == 25
    assert str(synthetic["joined"].dtype).startswith("datetime64")  # dates in a CSV are read as dates

    holes = data.head(10).copy()
    holes.loc[[1, 3], "spend"] = None
    io.write_table(holes, tmp_path / "holes.csv")
    assert main(["impute", str(tmp_path / "m.plausible"), str(tmp_path / "holes.csv"), "--draws", "3",
                 "--out", str(tmp_path / "done.csv")]) == 0
    done = pd.read_csv(tmp_path / "done.csv")
    assert list(done.columns[:2]) == ["draw", "row"] and len(done) == 30 and done["spend"].notna().all()

    assert main(["score", str(tmp_path / "m.plausible"), str(tmp_path / "data.csv"), "--out", str(tmp_path / "lp.csv")]) == 0
    assert pd.read_csv(tmp_path / "lp.csv")["log_prob"].notna().all()
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporary files behind


def test_errors_are_one_line_and_exit_2(tmp_path):
    assert "unknown model 'nope'" in fails_in_one_line(["fit", "fashion", "--model", "nope", "--out", str(tmp_path / "x")])
    assert "KEY=VALUE" in fails_in_one_line(["fit", "fashion", "--model", "histogram", "--set", "bins",
                                             "--out", str(tmp_path / "x")])
    assert "'bins' must be int" in fails_in_one_line(["fit", "fashion", "--model", "histogram", "--set", "bins=many",
                                                      "--out", str(tmp_path / "x")])
    assert "missing" in fails_in_one_line(["sample", str(tmp_path / "missing"), "--n", "3",
                                           "--out", str(tmp_path / "s.csv")])
    assert "data.txt" in fails_in_one_line(["fit", str(tmp_path / "data.txt"), "--model", "histogram",
                                            "--out", str(tmp_path / "x")])
    io.write_table(mixed_table(30, seed=0), tmp_path / "holes.csv")
    assert "--set needs a named --model" in fails_in_one_line(["impute", str(tmp_path / "holes.csv"), "--set",
                                                               "alpha=1", "--out", str(tmp_path / "c.csv")])


def test_models_and_datasets_list(capsys):
    assert main(["models"]) == 0 and "histogram" in capsys.readouterr().out
    assert main(["datasets"]) == 0 and "fashion" in capsys.readouterr().out


def test_demo_runs_and_writes_its_table(tmp_path, capsys):
    out = tmp_path / "demo.md"
    assert main(["demo", "--sizes", "50,400", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "KL(truth||model)" in printed and "new avatars" in printed
    assert "| 400 | histogram |" in out.read_text()
    # a few rows do not show every label; the labels are declared, so KL stays finite and falls with N
    from io import StringIO

    from plausible.demo import run

    results = run(sizes=(5, 50), models=("histogram",), show=0, stream=StringIO())
    kl = results["KL(truth||model)"].to_numpy()
    assert np.isfinite(kl).all() and kl[1] < kl[0]


def test_a_csv_column_that_only_looks_like_dates_stays_text(tmp_path):
    from plausible.data.io import read_table

    path = tmp_path / "bad.csv"
    path.write_text("d,x\n2020-01-01,1\n2021-02-30,2\n")
    with pytest.warns(UserWarning, match="'d' looks like dates"):
        frame = read_table(path)
    assert not pd.api.types.is_datetime64_any_dtype(frame["d"]) and frame["d"].tolist()[1] == "2021-02-30"


def test_a_bare_list_of_numbers_is_a_value_column_with_its_first_value(tmp_path):
    from plausible.data.io import read_table

    path = tmp_path / "bare.csv"
    path.write_text("112\n118\n132\n129\n")
    assert read_table(path)["value"].tolist() == [112, 118, 132, 129]


def test_outputs_are_checked_before_the_work_and_odd_inputs_are_one_line_errors(tmp_path, capsys, monkeypatch):
    import os
    import stat

    import plausible.core.model

    io.write_table(mixed_table(60, seed=0), tmp_path / "data.csv")
    (tmp_path / "afile").write_text("x")
    fitted = []
    monkeypatch.setattr(plausible.core.model.Model, "fit", lambda self, *a, **k: fitted.append(1))
    for argv, message in [
        (["fit", str(tmp_path / "data.csv"), "--model", "copula", "--out", str(tmp_path / "afile")], "not a plausible model folder"),
        (["fit", str(tmp_path / "data.csv"), "--model", "copula", "--out", str(tmp_path / "afile" / "m")], "is a file"),
        (["impute", str(tmp_path / "data.csv"), "--out", str(tmp_path / "x.json")], "unknown table format"),
        (["impute", str(tmp_path / "data.csv"), "--out", str(tmp_path / "x.csv"), "--spread-out", str(tmp_path)],
         "is a folder"),
        (["evaluate", "--real", str(tmp_path / "data.csv"), "--synthetic", str(tmp_path / "data.csv"),
          "--model-dir", str(tmp_path / "none")], "none"),
        (["compare", str(tmp_path / "data.csv"), "--models", "copula", "--report", str(tmp_path / "r.pdf")], "HTML file"),
        (["forecast", "nile", "--horizon", "3", "--out", str(tmp_path / "p.csv"), "--plot", str(tmp_path / "p.doc")], "figure"),
    ]:
        assert message in fails_in_one_line(argv), argv
    assert not fitted   # refused before any fitting
    monkeypatch.undo()

    (tmp_path / "dup.csv").write_text("a,a,b\n1,2,3\n4,5,6\n")
    assert "repeats column names ['a']" in fails_in_one_line(["fit", str(tmp_path / "dup.csv"), "--model",
                                                              "independent", "--out", str(tmp_path / "d")])
    (tmp_path / "header.csv").write_text("a,b,c\n")
    assert "no rows" in fails_in_one_line(["impute", str(tmp_path / "header.csv"), "--out", str(tmp_path / "c.csv")])

    assert main(["fit", str(tmp_path / "data.csv"), "--model", "independent", "--out", str(tmp_path / "m")]) == 0
    assert "seed must be a non-negative integer" in fails_in_one_line(
        ["sample", str(tmp_path / "m"), "--n", "3", "--seed", "-1", "--out", str(tmp_path / "s.csv")])
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "m").stat().st_mode) == 0o777 & ~umask   # a model is as readable as a table
    assert stat.S_IMODE((tmp_path / "m" / "weights.safetensors").stat().st_mode) == 0o666 & ~umask


def test_evaluate_prints_why_a_metric_is_undefined(tmp_path, capsys):
    data = mixed_table(200, seed=0)
    io.write_table(data, tmp_path / "real.csv")
    io.write_table(data.sample(200, random_state=1, replace=True), tmp_path / "synthetic.csv")
    assert main(["evaluate", "--real", str(tmp_path / "real.csv"), "--synthetic", str(tmp_path / "synthetic.csv"),
                 "--train", str(tmp_path / "real.csv")]) == 0
    printed = capsys.readouterr()
    assert "Notes:" in printed.out and "also a training row" in printed.out and "Warning" not in printed.err
    assert main(["evaluate", "--real", str(tmp_path / "real.csv"), "--synthetic", str(tmp_path / "synthetic.csv"),
                 "--train", str(tmp_path / "real.csv"), "--json"]) == 0
    def refuse(constant):
        raise ValueError(f"not standard JSON: {constant}")
    result = json.loads(capsys.readouterr().out, parse_constant=refuse)   # NaN was written bare
    assert result["metrics"]["dcr_ratio"] is None


def test_score_keeps_a_users_log_prob_column_and_scores_unseen_rows_on_request(tmp_path, capsys):
    data = pd.DataFrame({"log_prob": ["a", "b"] * 30, "x": np.arange(60.0)})
    io.write_table(data, tmp_path / "d.csv")
    assert main(["fit", str(tmp_path / "d.csv"), "--model", "independent", "--out", str(tmp_path / "m")]) == 0
    out = tmp_path / "s.csv"
    assert "already has a column 'log_prob'" in fails_in_one_line(["score", str(tmp_path / "m"),
                                                                   str(tmp_path / "d.csv"), "--out", str(out)])
    assert not out.exists()
    assert main(["score", str(tmp_path / "m"), str(tmp_path / "d.csv"), "--out", str(out), "--column", "lp"]) == 0
    scored = pd.read_csv(out)
    assert list(scored["log_prob"]) == list(data["log_prob"]) and np.isfinite(scored["lp"]).all()
    io.write_table(data.assign(log_prob=["a", "new"] * 30), tmp_path / "new.csv")
    assert "--unseen impossible" in fails_in_one_line(["score", str(tmp_path / "m"), str(tmp_path / "new.csv"),
                                                       "--out", str(out), "--column", "lp"])
    assert main(["score", str(tmp_path / "m"), str(tmp_path / "new.csv"), "--out", str(out), "--column", "lp",
                 "--unseen", "impossible"]) == 0
    assert "30 impossible" in capsys.readouterr().out
    assert np.isneginf(pd.read_csv(out)["lp"]).sum() == 30


def test_na_values_marks_missing_cells_and_a_marker_read_as_text_is_named(tmp_path, capsys):
    source, out = tmp_path / "holes.csv", tmp_path / "filled.csv"
    rng = np.random.default_rng(0)
    rows = ["a,b"] + [f"{x:.3f},{'?' if k % 5 == 0 else f'{2 * x:.3f}'}" for k, x in enumerate(rng.standard_normal(40))]
    source.write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match="column 'b' holds numbers and the text '\\?'"):
        io.read_table(source)
    assert main(["impute", str(source), "--draws", "2", "--out", str(out), "--na-values", "?"]) == 0
    long = pd.read_csv(out)
    assert long["b"].notna().all() and pd.api.types.is_float_dtype(long["b"])
    assert "filled 8 missing cells" in capsys.readouterr().out


def test_times_whose_utc_offset_changes_are_read_as_the_same_instants_in_utc(tmp_path):
    """A daylight-saving change gives one column two offsets (+01:00, +02:00): pandas refuses to
    mix them, so the column was read as text (80 labels, pooled, samples copied real rows)."""
    times = pd.date_range("2021-03-20", periods=80, freq="6h", tz="Europe/Berlin")
    pd.DataFrame({"t": times, "x": np.arange(80.0)}).to_csv(tmp_path / "dst.csv", index=False)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = io.read_table(tmp_path / "dst.csv")
    assert str(frame["t"].dt.tz) == "UTC" and (frame["t"] == times.tz_convert("UTC")).all()
    pd.DataFrame({"t": ["2021-03-20 10:00+01:00", "2021-03-30 10:00"]}).to_csv(tmp_path / "mixed.csv", index=False)
    with pytest.warns(UserWarning, match="looks like dates"):           # a time without an offset: not guessed
        mixed = io.read_table(tmp_path / "mixed.csv")
    assert not pd.api.types.is_datetime64_any_dtype(mixed["t"])


def test_codes_with_leading_zeros_and_durations_survive_a_csv_round_trip(tmp_path):
    """Zip codes such as 02134 were read as the number 2134 (and --schema categorical could not
    bring the zero back); durations written as '0 days 01:23:26' were read back as text labels."""
    table = pd.DataFrame({"zip": ["02134", "10001", "00501", None], "n": [1, 2, 3, 4],
                          "dur": pd.to_timedelta([60, 3600.5, 2 * 86400 + 5, None], unit="s")})
    io.write_table(table, tmp_path / "t.csv")
    with pytest.warns(UserWarning, match="column 'zip' holds whole numbers written with leading zeros"):
        back = io.read_table(tmp_path / "t.csv")
    assert back["zip"].tolist()[:3] == ["02134", "10001", "00501"] and back["zip"].isna().tolist()[3]
    assert pd.api.types.is_integer_dtype(back["n"])
    assert pd.api.types.is_timedelta64_dtype(back["dur"])
    assert back["dur"].iloc[:3].dt.total_seconds().tolist() == [60, 3600.5, 2 * 86400 + 5]


def test_a_large_csv_is_typed_from_all_its_rows_without_a_pandas_warning(tmp_path):
    """pandas parses a large CSV in chunks by default and typed a boolean column with one empty
    cell as mixed, printing its DtypeWarning through the CLI."""
    import warnings

    n = 300_000
    active = np.where(np.arange(n) % 3 == 0, "True", "False").astype(object)
    active[5] = ""
    (tmp_path / "big.csv").write_text("x,active\n" + "\n".join(f"{i},{a}" for i, a in enumerate(active)) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.DtypeWarning)
        frame = io.read_table(tmp_path / "big.csv")
    assert len(frame) == n and frame["active"].isna().sum() == 1


def test_strict_json_turns_numpy_values_and_non_finite_numbers_into_standard_json():
    from plausible.cli.files import _strict_json

    text = _strict_json({"a": np.float64("nan"), "b": np.array([1.0, np.inf]), "c": np.int64(3), "d": [-np.inf, "x"]})
    assert json.loads(text) == {"a": None, "b": [1.0, None], "c": 3, "d": [None, "x"]}
