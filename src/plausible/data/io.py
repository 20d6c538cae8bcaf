"""Tables in and out: CSV or Parquet chosen by file extension, written atomically.

An output file is written to a temporary file in the same folder and renamed into place, so a
crash (or Ctrl-C) never leaves a half-written result where a finished one is expected.
"""
from __future__ import annotations

import codecs
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
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


def read_table(path, na_values=None, sep: str | None = None, decimal: str | None = None,
               encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file. ISO dates in a CSV become datetime columns; a CSV of one column
    whose first line is a number has no header (a bare list of values) and its column is `value`.
    `na_values`: texts that mark a missing cell in a CSV (e.g. ["?"]), besides empty cells and
    pandas' usual markers (NA, NaN, null, ...). A numeric column holding a few other texts is read
    as text, with a warning that names them.

    A CSV's separator (comma, semicolon, tab or |), its decimal mark (a decimal comma: "3,14" in a
    file separated by semicolons or tabs) and its encoding (UTF-8; else cp1252 or latin-1, with a
    warning) are found from the file; `sep`, `decimal` and `encoding` say them instead. A file that
    is not a table (binary bytes, a page of prose) is refused with an error naming it."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a table: give a .csv or .parquet file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    kind = table_format(path)
    if kind == "parquet":
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as error:
            reason = re.sub(r"^Could not open Parquet input source '[^']*': ", "", _first_line(error))
            raise ValueError(f"{path}: could not read it as Parquet ({reason})") from None
    markers = [str(v) for v in na_values] if na_values else None
    dialect = csv_dialect(path, sep=sep, decimal=decimal, encoding=encoding, na_values=markers)
    options = {"sep": dialect.sep, "decimal": dialect.decimal, "encoding": dialect.encoding, "na_values": markers}
    frame = _read_csv(path, options)
    if len(frame.columns) > 1:   # pandas renames a repeated header a, a -> a, a.1
        repeated = sorted({name for name in dialect.header if dialect.header.count(name) > 1})
        if repeated:
            raise ValueError(f"{path}: the header repeats column names {repeated}; give every column its own name")
    long_names = [name for name in frame.columns if len(str(name)) > MAX_CELL]
    if long_names:
        raise ValueError(f"{path}: the header holds a name of {len(str(long_names[0])):,} characters; is it a table? "
                         f"Column names and cells hold at most {MAX_CELL:,} characters")
    if len(frame.columns) == 1 and _is_number(str(frame.columns[0]).replace(dialect.decimal, ".")):
        # one column whose "header" is a number: a bare list of values, the first one included
        options.update(header=None, names=["value"])
        frame = _read_csv(path, options)
    _refuse_prose(path, frame)
    frame = _keep_leading_zeros(path, frame, options)
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_string_dtype(column.dtype) or column.dtype == object:
            present = column.dropna().astype(str)
            _check_cell_sizes(path, name, present)
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
                    warnings.warn(f"{path}: column {name!r} looks like dates but is not ({_first_line(error)}); "
                                  "it is kept as text", stacklevel=2)
                continue
            _warn_marker_text(path, name, present)
    return frame


def _first_line(error) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _read_csv(path: Path, options: dict) -> pd.DataFrame:
    """pandas' reader with the file's dialect; its errors as one line that names the file."""
    try:
        return pd.read_csv(path, low_memory=False, **options)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty: a table needs a header line and rows") from None
    except UnicodeError as error:   # a wrong --encoding: bytes it cannot decode, no UTF-16 byte-order mark
        raise ValueError(f"{path} is not {options['encoding']} text ({getattr(error, 'reason', error)}): give the "
                         "file's encoding with --encoding (encoding= in read_table)") from None
    except (pd.errors.ParserError, OSError, ValueError) as error:
        message = _first_line(error)
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
        if ragged:
            expected, line, seen = ragged.groups()
            raise ValueError(f"{path}: line {line} has {seen} fields but the header has {expected}: put quotes "
                             "around cells that hold the separator, or give the separator with --sep") from None
        raise ValueError(f"{path}: could not read it as csv: {message}") from None


def _check_cell_sizes(path, name, present: pd.Series) -> None:
    """A cell longer than Python's csv module accepts is a document, not a value of a column."""
    if len(present):
        lengths = present.str.len()
        if lengths.max() > MAX_CELL:
            raise ValueError(f"{path}: column {name!r} holds a cell of {lengths.max():,} characters (row "
                             f"{lengths.argmax() + 1:,}); plausible learns numbers and categories, not documents: "
                             f"cells hold at most {MAX_CELL:,} characters")


def _refuse_prose(path, frame: pd.DataFrame) -> None:
    """A page of text read as a table: every column text, and the typical cell (header included) a sentence."""
    if not all(frame[name].dtype == object or pd.api.types.is_string_dtype(frame[name]) or frame[name].isna().all()
               for name in frame.columns):
        return
    names = [str(name) for name in frame.columns if not str(name).startswith("Unnamed: ")]
    cells = pd.concat([pd.Series(names, dtype=object), *(frame[name].dropna().astype(str) for name in frame.columns)])
    if len(cells) and cells.str.split().str.len().median() >= PROSE_WORDS:
        raise ValueError(f"{path} does not look like a table: its lines are sentences (free text); plausible learns "
                         "tables of numbers and categories: if it is one, give its separator with --sep")


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
    counts = present.value_counts()                   # each distinct text once: fast on a long column
    numbers = pd.to_numeric(pd.Series(counts.index, dtype=object), errors="coerce").notna().to_numpy()
    others = {str(text).strip() for text in counts.index[~numbers]}
    if len(present) < 5 or not others or counts[numbers].sum() < len(present) / 2 or len(others) > 3:
        return   # (no other text: codes kept as text, e.g. with their leading zeros)
    texts = ", ".join(repr(v) for v in sorted(others) if v)
    shown = " and ".join(filter(None, [texts and f"the text {texts}", "" in others and "cells of spaces only"]))
    warnings.warn(f"{path}: column {name!r} holds numbers and {shown}, so it is read as text; if that text marks a "
                  "missing cell, say so (--na-values on the command line, na_values= in read_table)", stacklevel=3)


# ---------------------------------------------------------------------- the CSV dialect
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
FALLBACK_ENCODINGS = ("cp1252", "latin-1")   # Windows Western European, then any byte at all
ONE_COLUMN = "\x1f"         # the separator a one-column file is read with: one no text holds (unit separator)
SAMPLE_BYTES = 1 << 16
MAX_CELL = 131_072          # Python's csv module's own limit on a cell
PROSE_WORDS = 5             # a text table whose typical cell has this many words is prose
_NUMBER = re.compile(r"[+-]?\d+([eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+([eE][+-]?\d+)?")
_DECIMAL_POINT = re.compile(r"[+-]?\d*\.\d+([eE][+-]?\d+)?")
_MISSING = {"", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-", "?", "#N/A"}


@dataclass(frozen=True)
class Dialect:
    """How a CSV file is written: what `read_table` found (or was told)."""
    sep: str
    decimal: str
    encoding: str
    header: tuple[str, ...] = ()


def csv_dialect(path, sep: str | None = None, decimal: str | None = None, encoding: str | None = None,
                na_values=None) -> Dialect:
    """The separator, decimal mark and encoding of the CSV at `path`, each found from the file unless
    given. A file that is empty, binary, or whose lines hold different numbers of fields whatever the
    separator (prose) is refused with a ValueError that names it."""
    path = Path(path)
    for value, flag in ((sep, "--sep"), (decimal, "--decimal")):
        if value is not None and (not isinstance(value, str) or len(value) != 1 or value in "\"\r\n"):
            raise ValueError(f"{flag} must be one character (a separator such as ',', ';' or a tab), got {value!r}")
    if decimal is not None and decimal not in ".,":
        raise ValueError(f"--decimal must be '.' or ',', got {decimal!r}")
    if sep is not None and sep == decimal:
        raise ValueError(f"the separator and the decimal mark cannot both be {sep!r}")
    with open(path, "rb") as handle:
        raw = handle.read(SAMPLE_BYTES)
    if not raw.strip():
        raise ValueError(f"{path} is empty: a table needs a header line and rows")
    if encoding is None:
        encoding = _encoding(path, raw)
    else:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r}: give one Python knows, such as utf-8, cp1252, "
                             "latin-1 or utf-16") from None
    text = raw.decode(encoding, errors="replace").lstrip("\ufeff")
    truncated = len(raw) == SAMPLE_BYTES
    parsed = {candidate: _records(text, candidate, truncated) for candidate in SEPARATORS}
    if sep is None:
        sep = _separator(path, parsed, exclude=decimal)
    if sep is None:   # one column: each line is one cell, commas (decimal ones too) included
        sep = "," if decimal != "," and all(len(row) == 1 for row in parsed[","]) else ONE_COLUMN
    records = parsed.get(sep) or _records(text, sep, truncated)
    if decimal is None:
        decimal = "," if sep != "," and _decimal_comma(records, na_values) else "."
    return Dialect(sep, decimal, encoding, tuple(records[0]) if records else ())


def _encoding(path: Path, raw: bytes) -> str:
    """UTF-8 (with or without its byte-order mark), UTF-16 by its mark, or a stated single-byte fallback."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    controls = sum(raw.count(bytes([code])) for code in range(32) if code not in (9, 10, 12, 13))
    if b"\x00" in raw or controls > len(raw) / 100:
        raise ValueError(f"{path} is not a text file (it holds binary bytes): give a CSV text file or a .parquet "
                         "file (a text file in UTF-16 or another encoding: say so with --encoding)")
    bad = _first_undecodable(path, "utf-8")
    if bad is None:
        return "utf-8"
    position, byte = bad
    for fallback in FALLBACK_ENCODINGS:
        if _first_undecodable(path, fallback) is None:
            warnings.warn(f"{path} is not UTF-8 (byte 0x{byte} at offset {position:,}): read as {fallback}; if "
                          "letters look wrong, give the file's encoding with --encoding (encoding= in read_table)",
                          stacklevel=4)
            return fallback
    raise AssertionError("latin-1 decodes any byte")


def _first_undecodable(path: Path, encoding: str) -> tuple[int, str] | None:
    """Where the file stops being `encoding` text: (offset, the byte in hex), or None when it all is."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                return offset + error.start, chunk[error.start:error.start + 1].hex() or "end of file"
            if not chunk:
                return None
            offset += len(chunk)


def _records(text: str, sep: str, truncated: bool) -> list[list[str]]:
    """The sample's records (blank lines skipped, as pandas does); the last one dropped when the
    sample ends inside the file."""
    import csv

    try:
        records = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=sep) if row]
    except csv.Error:
        return []
    return records[:-1] if truncated and len(records) > 1 else records


def _separator(path: Path, parsed: dict[str, list[list[str]]], exclude: str | None) -> str | None:
    """The separator whose records hold as many fields as the header most often (ties: the order of
    SEPARATORS); None when no separator gives the header two fields (one column)."""
    scores = {}
    for candidate, records in parsed.items():
        if candidate == exclude or not records or len(records[0]) < 2:
            continue
        header, rows = len(records[0]), records[1:]
        scores[candidate] = sum(len(row) == header for row in rows) / len(rows) if rows else 1.0
    if not scores:
        return None
    best = max(scores, key=lambda candidate: (scores[candidate], -list(SEPARATORS).index(candidate)))
    rows = parsed[best][1:]
    if len(rows) >= 3 and scores[best] < 0.5:
        counts = ", ".join(str(len(row)) for row in parsed[best][:6])
        raise ValueError(f"{path} does not look like a table: its lines hold different numbers of fields "
                         f"({counts}, ... with {SEPARATORS[best]}s) whatever the separator; if it is a table, "
                         "give its separator with --sep")
    return best


def _decimal_comma(records: list[list[str]], na_values) -> bool:
    """Whether a column of the sample holds numbers written with a decimal comma ("3,14") and no
    column numbers written with a decimal point."""
    missing = _MISSING | set(na_values or ())
    comma = point = False
    for index in range(len(records[0]) if records else 0):
        cells = [row[index].strip() for row in records[1:] if index < len(row)]
        cells = [cell for cell in cells if cell not in missing]
        if not cells:
            continue
        if all(_NUMBER.fullmatch(c) or _DECIMAL_COMMA.fullmatch(c) for c in cells):
            comma |= any(_DECIMAL_COMMA.fullmatch(c) for c in cells)
        if all(_NUMBER.fullmatch(c) or _DECIMAL_POINT.fullmatch(c) for c in cells):
            point |= any(_DECIMAL_POINT.fullmatch(c) for c in cells)
    return comma and not point


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
