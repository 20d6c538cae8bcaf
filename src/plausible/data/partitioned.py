"""Partitioned tables: a directory of Parquet files (or a Dask DataFrame) read one piece at a time.

A table too big for one process's memory arrives as many Parquet files in one directory (what
Spark, Dask, DuckDB and `plausible sample --out DIR` write). `Partitions` lists them in a fixed
order (file names sorted naturally, so part-2 comes before part-10), checks that they share their
columns, and reads one partition, or one column across all of them, at a time. Results never depend
on how the work is spread over workers: partition i is always the same rows.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..core.errors import ParameterError

PART = "part-{:05d}.parquet"


def is_partitioned(data) -> bool:
    """Whether `data` names a partitioned table: a directory holding .parquet files, or a Dask
    DataFrame (recognised without importing Dask)."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        return path.is_dir() and any(path.rglob("*.parquet"))
    return type(data).__module__.startswith("dask") and hasattr(data, "npartitions")


def _natural(path: Path) -> list:
    return [int(piece) if piece.isdigit() else piece for piece in re.split(r"(\d+)", str(path))]


class Partitions:
    """The pieces of a partitioned table, in a fixed order.

    `source`: a directory of Parquet files (searched recursively, as hive-style `key=value/`
    folders hold them) or a Dask DataFrame. `len(parts)` pieces; `parts.read(i, columns)` one piece
    as a DataFrame; `parts.column(name)` one column over all pieces; `parts.rows` the row count of
    each piece (from the Parquet footers, without reading the data)."""

    def __init__(self, source):
        self.source = source
        if isinstance(source, (str, Path)):
            root = Path(source)
            if not root.is_dir():
                raise ParameterError(f"{root}: not a directory of Parquet files")
            self.files = sorted(root.rglob("*.parquet"), key=_natural)
            if not self.files:
                raise ParameterError(f"{root}: holds no .parquet files; write the table as Parquet pieces there")
            self.frame = None
        else:
            self.files, self.frame = None, source
        self.columns = self._columns()

    def __len__(self) -> int:
        return len(self.files) if self.files is not None else self.frame.npartitions

    def __repr__(self) -> str:
        where = self.source if self.files is not None else "a Dask DataFrame"
        return f"Partitions({where}: {len(self)} pieces, {sum(self.rows)} rows)"

    def name(self, i: int) -> str:
        """How an error names piece i: its file, or its index in a Dask DataFrame."""
        return str(self.files[i]) if self.files is not None else f"partition {i}"

    def _columns(self) -> list[str]:
        if self.files is None:
            return [str(c) for c in self.frame.columns]
        import pyarrow.parquet as pq

        first = None
        for file in self.files:
            try:
                names = [str(n) for n in pq.read_schema(file).names if not str(n).startswith("__index_level_")]
            except Exception as error:   # noqa: BLE001 (pyarrow raises several types for a bad file)
                raise ParameterError(f"{file}: not a readable Parquet file ({str(error).splitlines()[0]})") from None
            if first is None:
                first = names
            elif set(names) != set(first):
                odd = sorted(set(names) ^ set(first))
                raise ParameterError(f"{file}: its columns differ from {self.files[0].name}'s (column {odd[0]!r}); "
                                     "every piece of a partitioned table must have the same columns")
        return first

    @property
    def rows(self) -> list[int]:
        """The number of rows of each piece."""
        if self.files is None:
            return [int(n) for n in self.frame.map_partitions(len).compute()]
        import pyarrow.parquet as pq

        return [pq.ParquetFile(file).metadata.num_rows for file in self.files]

    def read(self, i: int, columns: list[str] | None = None) -> pd.DataFrame:
        """Piece i as a DataFrame (only `columns` if given), with a fresh 0..n-1 index."""
        if self.files is None:
            part = self.frame.get_partition(i)
            frame = (part[columns] if columns is not None else part).compute()
        else:
            frame = pd.read_parquet(self.files[i], columns=columns)
        frame.columns = [str(c) for c in frame.columns]
        return frame[columns if columns is not None else self.columns].reset_index(drop=True)

    def column(self, name: str) -> pd.Series:
        """Column `name` over every piece, in order (the memory of one column, not of the table)."""
        return pd.concat([self.read(i, [name])[name] for i in range(len(self))], ignore_index=True)


def write_part(frame: pd.DataFrame, out, i: int) -> Path:
    """Write piece i of a partitioned result into directory `out` as part-%05d.parquet (atomically:
    a reader never sees half a file)."""
    import os
    import tempfile

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / PART.format(i)
    handle, temp = tempfile.mkstemp(dir=out, prefix=".part-", suffix=".tmp")
    os.close(handle)
    try:
        frame.to_parquet(temp, index=False)
        os.replace(temp, target)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return target
