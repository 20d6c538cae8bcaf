"""Many series on the distributed engine (issue 28 part 1): forecasts and backtests computed by the
workers of a local Dask cluster equal the single-process results exactly, a failing series is
skipped or reported as `on_error` says, a worker that dies mid-job has its series rerun, and the
CLI's --engine/--workers run the same code (a missing extra: one line saying what to install)."""
import os
import sys

import numpy as np
import pandas as pd
import pytest

import plausible as pl
from plausible.cli import main
from plausible.core.engine import available, engine_client
from plausible.core.errors import ParameterError

from test_cli_surface import fails_in_one_line

needs_dask = pytest.mark.skipif(not available(), reason="the distributed extra (dask.distributed) is not "
                                "installed: pip install 'plausible[distributed]'")
SETTINGS = dict(horizon=3, n_paths=5, model="statespace", difference=1, progress=False)   # tiny and fast


def _table(count: int = 20, n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.concat([pd.DataFrame({"id": f"s{k:02d}", "time": pd.date_range("2020-01-01", periods=n, freq="D"),
                                    "value": rng.standard_normal(n).cumsum()}) for k in range(count)],
                     ignore_index=True)


@pytest.fixture(scope="module")
def client():
    """One local cluster of 2 worker processes for the whole file (passed as the Client object)."""
    if not available():
        pytest.skip("the distributed extra (dask.distributed) is not installed: pip install 'plausible[distributed]'")
    with engine_client("dask", 2) as started:
        yield started


@pytest.fixture(scope="module")
def twenty():
    """20 short series and their single-process forecast (the reference every engine run must equal)."""
    frame = _table()
    return frame, pl.forecast(frame, **SETTINGS)


@needs_dask
def test_twenty_series_on_two_workers_equal_the_single_process_forecast(client, twenty):
    frame, alone = twenty
    spread = pl.forecast(frame, **SETTINGS, engine=client)
    pd.testing.assert_frame_equal(alone, spread)
    assert spread.attrs == alone.attrs and len(spread.attrs["models"]) == 20


@needs_dask
def test_backtest_origins_on_two_workers_score_the_same(client):
    y = _table(1, 60)["value"].to_numpy()
    options = dict(horizon=4, origins=4, n_paths=10, model="gaussian", progress=False)
    alone, spread = pl.backtest(y, **options), pl.backtest(y, **options, engine=client)
    assert {k: alone[k] for k in ("crps", "mase", "coverage_50", "coverage_95")} == \
           {k: spread[k] for k in ("crps", "mase", "coverage_50", "coverage_95")}
    pd.testing.assert_frame_equal(alone["per_origin"].drop(columns="seconds"),
                                  spread["per_origin"].drop(columns="seconds"))
    scale = 2.0

    def widened(history, horizon, n_paths, seed):   # a closure: Dask sends it by value (n_jobs could not)
        rng = np.random.default_rng(seed)
        return history[-1] + scale * rng.standard_normal((n_paths, horizon)).cumsum(axis=1)

    assert pl.backtest(y, **{**options, "model": widened}, engine=client)["crps"] == \
        pl.backtest(y, **{**options, "model": widened})["crps"]


@needs_dask
@pytest.mark.filterwarnings("ignore:series 'bad'")
def test_a_failing_series_is_skipped_and_listed_or_named(client):
    frame = _table(4)
    frame = pd.concat([frame, _table(1, 8, seed=1).assign(id="bad")], ignore_index=True)   # too short for windows
    options = dict(SETTINGS, model="gaussian", on_error="skip")
    with pytest.warns(UserWarning, match="series 'bad' skipped"):
        alone = pl.forecast(frame, **options)
    with pytest.warns(UserWarning, match="series 'bad' skipped"):
        spread = pl.forecast(frame, **options, engine=client)
    pd.testing.assert_frame_equal(alone, spread)
    assert list(spread.attrs["skipped"]) == ["bad"] and "too short" in spread.attrs["skipped"]["bad"]
    with pytest.raises(ValueError, match="series 'bad': the series is too short"):
        pl.forecast(frame, **dict(options, on_error="raise"), engine=client)


@needs_dask
def test_a_worker_that_dies_mid_job_has_its_series_rerun(client, twenty, tmp_path):
    frame, alone = twenty
    marker = str(tmp_path / "died")

    def arm():       # in each worker: the first series to start kills its own process (once, by the marker)
        import plausible.tasks.forecast as module

        original = getattr(module.forecast_one, "original", module.forecast_one)

        def dying(*args, **kwargs):
            if not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(1)
            return original(*args, **kwargs)

        dying.original = original
        module.forecast_one = dying

    def disarm():
        import plausible.tasks.forecast as module

        module.forecast_one = getattr(module.forecast_one, "original", module.forecast_one)

    client.run(arm)
    try:
        spread = pl.forecast(frame, **SETTINGS, engine=client)
    finally:
        client.run(disarm)
    assert os.path.exists(marker)             # a worker did die, and its series was computed again
    pd.testing.assert_frame_equal(alone, spread)
    assert spread.attrs == alone.attrs


@needs_dask
def test_engine_by_name_starts_its_own_cluster_and_refuses_n_jobs():
    frame = _table(2)
    spread = pl.forecast(frame, **SETTINGS, engine="dask", workers=2)
    pd.testing.assert_frame_equal(pl.forecast(frame, **SETTINGS), spread)
    with pytest.raises(ParameterError, match="engine and n_jobs=2 both spread the work"):
        pl.forecast(frame, **SETTINGS, engine="dask", n_jobs=2)
    with pytest.raises(ParameterError, match="engine and n_jobs=2 both spread the work"):
        pl.backtest(frame[frame["id"] == "s00"], horizon=3, origins=2, engine="dask", n_jobs=2)


@needs_dask
def test_cli_forecast_and_backtest_with_engine_dask(client, tmp_path, capsys, monkeypatch):
    import contextlib

    import plausible.core.engine
    import plausible.tasks.forecast

    asked = []

    @contextlib.contextmanager
    def shared(engine, workers=None):     # the file's cluster stands in for the one --engine dask starts
        asked.append((engine, workers))
        yield client

    monkeypatch.setattr(plausible.tasks.forecast, "engine_client", shared)
    monkeypatch.setattr(plausible.core.engine, "engine_client", shared)
    frame = _table(2)
    path = tmp_path / "stores.csv"
    frame.to_csv(path, index=False)
    common = ["--horizon", "3", "--paths", "5", "--model", "statespace", "--difference", "1", "--engine", "dask",
              "--workers", "2"]
    assert main(["forecast", str(path), *common, "--out", str(tmp_path / "paths.csv")]) == 0
    assert "for 2 series" in capsys.readouterr().out
    alone = pl.forecast(frame, **SETTINGS)
    spread = pd.read_csv(tmp_path / "paths.csv")
    assert list(spread["id"]) == list(alone["id"]) and np.array_equal(spread["value"], alone["value"])
    assert asked[0] == ("dask", 2)
    assert main(["backtest", str(path), *common, "--origins", "2", "--json"]) == 0
    said = capsys.readouterr().out
    assert '"s00"' in said and '"s01"' in said and asked.count(("dask", 2)) == 2
    out = ["forecast", str(path), *common[:8], "--out", str(tmp_path / "p.csv")]
    assert "--engine dask and --jobs 2" in fails_in_one_line(out + ["--engine", "dask", "--jobs", "2"])
    assert "add --engine dask" in fails_in_one_line(out + ["--workers", "2"])


def test_cli_engine_without_the_extra_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "stores.csv"
    _table(2, 20).to_csv(path, index=False)
    monkeypatch.setitem(sys.modules, "distributed", None)      # as if the extra were not installed
    for command in (["forecast", "--out", str(tmp_path / "p.csv")], ["backtest"]):
        said = fails_in_one_line([command[0], str(path), "--horizon", "3", *command[1:], "--engine", "dask"])
        assert "pip install 'plausible[distributed]'" in said
