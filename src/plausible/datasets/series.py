"""Series datasets: generated ones (`noise`, `seasonal`) and real ones bundled with statsmodels.

Each loader returns a long DataFrame with a `time` column (dates, or years for annual series)
and a `value` column, sorted by time, one row per step.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def noise(n: int, seed: int) -> pd.DataFrame:
    """n draws of standard Gaussian noise at times 0..n-1: the future is N(0, I) whatever the past."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"time": np.arange(n), "value": rng.standard_normal(n)})


def seasonal(n: int, seed: int) -> pd.DataFrame:
    """Monthly: 10 + 0.05 t + 2 sin(2 pi t / 12) + cos(4 pi t / 12) + AR(1) noise (phi 0.5, sd 0.5)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise = np.zeros(n)
    shocks = rng.normal(0.0, 0.5, n)
    noise[0] = shocks[0] / np.sqrt(1 - 0.25)
    for k in range(1, n):
        noise[k] = 0.5 * noise[k - 1] + shocks[k]
    value = 10 + 0.05 * t + 2 * np.sin(2 * np.pi * t / 12) + np.cos(4 * np.pi * t / 12) + noise
    return pd.DataFrame({"time": pd.date_range("2000-01-01", periods=n, freq="MS"), "value": value})


def _statsmodels(name: str) -> pd.DataFrame:
    import statsmodels.api as sm

    return getattr(sm.datasets, name).load_pandas().data


def nile() -> pd.DataFrame:
    data = _statsmodels("nile")
    return pd.DataFrame({"time": data["year"].astype(int).to_numpy(), "value": data["volume"].to_numpy(float)})


def sunspots() -> pd.DataFrame:
    data = _statsmodels("sunspots")
    return pd.DataFrame({"time": data["YEAR"].astype(int).to_numpy(), "value": data["SUNACTIVITY"].to_numpy(float)})


def co2() -> pd.DataFrame:
    """Weekly Mauna Loa CO2 (1958-2001, some weeks missing) as monthly means; a month with no week
    is interpolated linearly."""
    data = _statsmodels("co2")["co2"]
    monthly = data.resample("MS").mean().interpolate()
    return pd.DataFrame({"time": monthly.index, "value": monthly.to_numpy(float)})


def macro(column: str) -> pd.DataFrame:
    data = _statsmodels("macrodata")
    times = pd.PeriodIndex.from_fields(year=data["year"].astype(int), quarter=data["quarter"].astype(int),
                                       freq="Q").to_timestamp()
    return pd.DataFrame({"time": times, "value": data[column].to_numpy(float)})


def elnino() -> pd.DataFrame:
    """Monthly sea surface temperature (Nino 1+2 region), 1950-2010, flattened year by year."""
    data = _statsmodels("elnino")
    values = data.drop(columns="YEAR").to_numpy(float).ravel()
    times = pd.date_range(f"{int(data['YEAR'].iloc[0])}-01-01", periods=len(values), freq="MS")
    return pd.DataFrame({"time": times, "value": values})
