"""A partitioned table's number columns described from their pieces' distinct values
(data/summary.py) give exactly the codec an in-memory fit of the concatenated table gets (to_config
equal), and the columns the summary cannot decide fall back to the whole column."""
import numpy as np
import pandas as pd
import pytest

from plausible.data import summary as summary_module
from plausible.data.codecs import TableCodec
from plausible.data.summary import describe_numbers, summarize


def numbers_table(n: int = 400, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gaps = rng.random(n) < .1
    frame = pd.DataFrame({
        "smooth": rng.normal(size=n),                                         # no decimals
        "rounded": rng.normal(3, 2, n).round(2),                              # decimals 2
        "gappy": np.where(gaps, np.nan, rng.gamma(2.0, size=n).round(3)),
        "whole_with_gaps": np.where(gaps, np.nan, rng.integers(0, 500, n).astype(float)),  # integer kind
        "levels": rng.choice([1.5, 2.5, 7.0], n),                             # discrete support
        "grid": rng.integers(0, 300, n) * 5 + 0.99,                           # a grid step of 5
        "claim": np.where(rng.random(n) < .3, 0.0, rng.gamma(2.0, size=n).round(2)),   # an atom at 0
        "spike": np.where(rng.random(n) < .2, 6.907755, rng.normal(5, 1, n).round(6)),  # interior spike
        "hours": np.where(rng.random(n) < .3, 40, rng.integers(0, 80, n)),   # whole numbers, interior spike
        "count": rng.integers(0, 40, n),
        "small": rng.normal(size=n).astype(np.float32),
        "year": np.arange(n) + 1800,                                          # counts up, a time name
        "row_id": np.arange(n),                                               # an ID: the whole column
        "colour": rng.choice(["red", "green"], n),                            # text: the whole column
        "zero": np.where(rng.random(n) < .5, -0.0, rng.normal(size=n).round(1)),  # -0.0 and 0.0: one value
    })
    return frame


def pieces_of(frame, k):
    parts = np.array_split(np.arange(len(frame)), k)
    return [frame.iloc[rows].reset_index(drop=True) for rows in parts]


@pytest.mark.parametrize("k", [1, 3, 8])
@pytest.mark.parametrize("masses", [True, False])
def test_the_codec_from_pieces_equals_the_codec_in_memory(k, masses):
    frame = numbers_table()
    pieces = pieces_of(frame, k)
    whole = pd.concat(pieces, ignore_index=True)
    read = []

    def column(name):
        read.append(name)
        return whole[name]

    with pytest.warns(UserWarning, match="row_id"):
        from_pieces = TableCodec.fit_columns(list(frame.columns), column, None, interior_point_masses=masses,
                                             pieces=lambda name: (piece[name] for piece in pieces))
    with pytest.warns(UserWarning, match="row_id"):
        in_memory = TableCodec.fit(whole, None, "dataframe", interior_point_masses=masses)
    assert from_pieces.to_config() == in_memory.to_config()
    assert set(read) == {"row_id", "colour", "year"}      # every other column from its summary


def test_an_override_or_mixed_dtypes_read_the_whole_column():
    frame = numbers_table(60)
    pieces = pieces_of(frame, 3)
    pieces[1]["count"] = pieces[1]["count"].astype(float)          # int64 then float64: concatenated as float
    whole = pd.concat(pieces, ignore_index=True)
    read = []

    def column(name):
        read.append(name)
        return whole[name]

    names = ["rounded", "count", "levels"]
    codec = TableCodec.fit_columns(names, column, {"levels": "continuous"},
                                   pieces=lambda name: (piece[name] for piece in pieces))
    assert codec.to_config() == TableCodec.fit(whole[names], {"levels": "continuous"}, "dataframe").to_config()
    assert read == ["count", "levels"]


def test_many_distinct_values_give_up_early(monkeypatch):
    monkeypatch.setattr(summary_module, "MOST_DISTINCT", 10)
    values = pd.Series(np.random.default_rng(0).normal(size=100))
    seen = []

    def pieces():
        for start in range(0, 100, 10):
            piece = values.iloc[start:start + 10]
            seen.append(len(piece))
            yield piece
    assert summarize(pieces()) is None
    assert len(seen) == 2                # stopped at the second piece: 20 distinct values of 20 rows
    small = summarize([pd.Series([1.0, 1.0, 2.0]), pd.Series([2.0, np.nan])])
    assert (small.uniques.tolist(), small.counts.tolist(), small.rows, small.missing) == ([1.0, 2.0], [2, 2], 5, 1)
    assert describe_numbers("x", summarize([pd.Series([np.inf, 1.0])]), [], []) is None
