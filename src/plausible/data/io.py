"""Tables in and out: CSV or Parquet chosen by file extension, written atomically.

An output file is written to a temporary file in the same folder and renamed into place, so a
crash (or Ctrl-C) never leaves a half-written result where a finished one is expected.
"""
from __future__ import annotations

import os
import re
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from .schema import _is_number

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DURATION = r"-?\d+ days? [+-]?\d{2}:\d{2}:\d{2}(\.\d+)?"   # pandas' text of a timedelta: 0 days 01:23:26
_WITH_OFFSET = re.compile(r"^.*[ T]\d{2}:\d{2}.*(Z|[+-]\d{2}:?\d{2})$")   # a time with its UTC offset


def make_public(path) -> None:
    """The permissions a new file or folder gets from the user's umask (mkstemp and mkdtemp make
    theirs private to the owner)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~umask)


def _publish(temp: str, path: Path) -> None:
    """Give the finished temporary file normal permissions, then rename it into place."""
    make_public(temp)
    os.replace(temp, path)


def table_format(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown table format {suffix or '(no extension)'!r}; use .csv or .parquet")
    return FORMATS[suffix]


def read_table(path, na_values=None) -> pd.DataFrame:
    """Read a CSV or Parquet file. ISO dates in a CSV become datetime columns; a CSV of one column
    whose first line is a number has no header (a bare list of values) and its column is `value`.
    `na_values`: texts that mark a missing cell in a CSV (e.g. ["?"]), besides empty cells and
    pandas' usual markers (NA, NaN, null, ...). A numeric column holding a few other texts is read
    as text, with a warning that names them."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    kind = table_format(path)
    markers = [str(v) for v in na_values] if na_values else None
    try:
        frame = pd.read_csv(path, na_values=markers, low_memory=False) if kind == "csv" else pd.read_parquet(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as error:
        raise ValueError(f"{path}: could not read it as {kind}: {error}") from None
    if kind == "csv" and len(frame.columns) > 1:   # pandas renames a repeated header a, a -> a, a.1
        import csv

        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            header = next(csv.reader(handle), [])
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise ValueError(f"{path}: the header repeats column names {repeated}; give every column its own name")
    bare = False
    if kind == "csv" and len(frame.columns) == 1 and _is_number(frame.columns[0]):
        # one column whose "header" is a number: a bare list of values, the first one included
        frame = pd.read_csv(path, header=None, names=["value"], na_values=markers, low_memory=False)
        bare = True
    if kind == "csv":
        frame = _keep_leading_zeros(path, frame, dict(na_values=markers, **(
            dict(header=None, names=["value"]) if bare else {})))
        for name in frame.columns:
            column = frame[name]
            if pd.api.types.is_string_dtype(column.dtype) or column.dtype == object:
                present = column.dropna().astype(str)
                if len(present) and present.str.fullmatch(_DURATION).all():   # what write_table makes of
                    frame[name] = pd.to_timedelta(column)                          # a timedelta column
                    continue
                if len(present) and present.str.match(_DATE_LIKE).all():
                    try:
                        try:
                            frame[name] = pd.to_datetime(column, format="ISO8601")
                        except ValueError:
                            if not present.str.match(_WITH_OFFSET).all():
                                raise
                            # every time carries its UTC offset, and the offsets differ (a daylight-saving
                            # change): the same instants in UTC
                            frame[name] = pd.to_datetime(column, format="ISO8601", utc=True)
                    except (ValueError, TypeError, OverflowError) as error:   # e.g. 2021-02-30
                        warnings.warn(f"{path}: column {name!r} looks like dates but is not ({str(error).splitlines()[0]}); "
                                      "it is kept as text", stacklevel=2)
                    continue
                _warn_marker_text(path, name, present)
    return frame


def _keep_leading_zeros(path, frame: pd.DataFrame, options: dict) -> pd.DataFrame:
    """Integer columns whose text has leading zeros (zip codes 02134, product codes 007) are codes,
    not numbers: read as text so the zeros stay (pandas had already made 2134 of 02134)."""
    integers = [name for name in frame.columns if pd.api.types.is_integer_dtype(frame[name].dtype)
                or (pd.api.types.is_float_dtype(frame[name].dtype) and frame[name].dropna().mod(1).eq(0).all())]
    if not integers:
        return frame
    text = pd.read_csv(path, usecols=integers, dtype=str, **options)   # the same cells, as written
    for name in integers:
        present = text[name].dropna().str.strip()
        padded = present.str.fullmatch(r"[+-]?0\d+")
        if padded.any():
            frame[name] = text[name].str.strip()
            warnings.warn(f"{path}: column {name!r} holds whole numbers written with leading zeros (e.g. "
                          f"{present[padded].iloc[0]!r}): read as text (codes), so the zeros stay", stacklevel=3)
    return frame


def _warn_marker_text(path, name, present: pd.Series) -> None:
    """Warn when a text column is numbers but for a few repeated texts (a missing-cell marker such as '?')."""
    numbers = pd.to_numeric(present, errors="coerce")
    others = present[numbers.isna()].str.strip()
    if len(present) < 5 or numbers.notna().mean() < 0.5 or others.nunique() > 3:
        return
    shown = ", ".join(repr(v) for v in sorted(others.unique()))
    warnings.warn(f"{path}: column {name!r} holds numbers and the text {shown}, so it is read as text; if "
                  f"{shown} marks a missing cell, say so (--na-values on the command line, na_values= in "
                  "read_table)", stacklevel=3)


def write_table(frame: pd.DataFrame, path) -> Path:
    """Write atomically: a temporary file next to `path`, then a rename."""
    path = Path(path)
    kind = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        if kind == "csv":
            frame.to_csv(temp, index=False)
        else:
            frame.to_parquet(temp, index=False)
        _publish(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return path


def write_text(text: str, path) -> Path:
    """Atomically write a text file (reports, tables)."""
    return _write_atomically(text, path, "w")


def write_bytes(data: bytes, path) -> Path:
    """Atomically write a binary file (a report's PNG figures)."""
    return _write_atomically(data, path, "wb")


def _write_atomically(content, path, mode: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, mode) as stream:
            stream.write(content)
        _publish(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return path
