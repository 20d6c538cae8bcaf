"""A number column described from its pieces, never whole: what `TableCodec.fit_columns` needs of a
partitioned table's column of plain numbers (numpy integer or float dtype, no override) is, exactly,
its distinct present values with their counts, its gaps and its dtype. Every rule of `infer_column`
and `layout_column` on such a column is a function of these (min and max, decimals, "whole numbers
with gaps", discrete support, grid step, point masses and the continuous part's range: `_decimals`,
`settle_numbers` and `layout_numbers` run on the distinct values, with the same results as on the
rows), so the codec is the one an in-memory fit of the concatenated table gets, while memory holds
one piece of the column and the distinct values seen so far (a column of 20M values written with 4
decimals holds a few hundred thousand).

Where the rows' order or their exact representation matters, `describe_numbers` answers None and
the caller reads the whole column: an integer column whose values are all distinct (the ID test
asks whether it counts up, row after row), an infinite value or a column with no value (their
errors), pieces of differing dtypes, and a column with more distinct values than MOST_DISTINCT and
half its rows (no memory saved). (0.0 and -0.0 are one value, as for np.unique on the rows, which
keeps whichever sorts first: a zero's sign is the one thing that may differ, and 0.0 == -0.0.)
"""
from __future__ import annotations

import numpy as np

from .identifiers import MIN_ID_ROWS
from .layout import layout_numbers
from .schema import Column, _decimals, settle_numbers


#: A summary gives up (the caller reads the whole column) once it holds more distinct values than
#: this and than half the rows seen: then it saves no memory over the column itself.
MOST_DISTINCT = 1_000_000


class NumberSummary:
    """Distinct present values (ascending float64) and counts, gaps, rows and dtype of a column."""

    def __init__(self):
        self.uniques, self.counts = np.zeros(0), np.zeros(0, np.int64)
        self.rows = self.missing = 0
        self.dtype = None

    def add(self, series) -> bool:
        """Add one piece; False when the column cannot be summarized (module doc)."""
        dtype = series.dtype
        if not isinstance(dtype, np.dtype) or dtype.kind not in "iuf" or (self.dtype is not None and self.dtype != dtype):
            return False
        self.dtype = dtype
        values = series.to_numpy().astype(np.float64)       # as `as_float` reads it (int64 rounds alike)
        gaps = np.isnan(values)
        present = values[~gaps]
        uniques, counts = np.unique(present, return_counts=True)
        if len(self.uniques):
            merged, where = np.unique(np.concatenate([self.uniques, uniques]), return_inverse=True)
            counts = np.bincount(where, weights=np.concatenate([self.counts, counts]), minlength=len(merged))
            uniques = merged
        self.uniques, self.counts = uniques, np.asarray(counts, dtype=np.int64)
        self.rows += len(values)
        self.missing += int(gaps.sum())
        return len(uniques) <= max(self.rows // 2, MOST_DISTINCT)


def summarize(pieces) -> NumberSummary | None:
    """The summary of a column given as its pieces (pd.Series, in order), or None (module doc)."""
    summary = NumberSummary()
    for series in pieces:
        if not summary.add(series):
            return None
    return summary


def describe_numbers(name: str, summary: NumberSummary, discrete: list, continuous: list,
                     interior_point_masses: bool = True) -> Column | None:
    """`infer_column(name, column, None)` of the summarized column, with its variables appended
    to `discrete` and `continuous` as `layout_column` does; None where the whole column is needed."""
    uniques, counts = summary.uniques, summary.counts
    present = summary.rows - summary.missing
    if present == 0 or not np.all(np.isfinite(uniques)):
        return None
    whole = bool(np.all(uniques == np.round(uniques)))
    if summary.dtype.kind in "iu" or (whole and summary.missing > 0):     # `_infer_kind`
        kind = "integer"
        if present >= MIN_ID_ROWS and len(uniques) == present:
            return None                  # `looks_like_id` may ask whether the rows count up
    else:
        kind = "numeric"
    column = Column(name=name, kind=kind, nullable=summary.missing > 0, dtype=str(summary.dtype))
    column.minimum, column.maximum = float(uniques[0]), float(uniques[-1])
    if kind == "numeric":
        column.decimals = _decimals(uniques)
    settle_numbers(column, uniques, counts)
    layout_numbers(column, uniques, counts, summary.rows, discrete, continuous,
                   interior_point_masses=interior_point_masses)
    return column
