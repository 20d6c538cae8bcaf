"""`Model.fit` from a partitioned table (a directory of Parquet files, or a Dask DataFrame), never
loaded whole.

1. The codec (schema and layout) comes from one pass over the columns: each column is read over
   every piece (`Partitions.column`: the memory of one column, not of the table) and described by
   the same per-column inference an in-memory fit runs (`TableCodec.fit_columns`), so it is exactly
   the codec of the concatenated table. Nothing in it is joint across columns.
2. A rung that declares `merged_fit` (`independent`, `histogram`, `gaussian`, `bayesnet`) is fitted
   exactly: it writes its fit once as `_fit_pieces(pieces, rng)`, a few passes of additive
   statistics over the pieces (counts, sums, EM's moments; quantile bins from one column at a
   time), and its in-memory `_fit` runs the same code on one piece (`ladder/_marginals.OnePiece`),
   so the two agree to rounding (1e-10 and better). Each pass's per-piece statistics run on the
   workers of `engine` when one is given, in this process otherwise; they come back in piece order
   and are summed in that order, so the result does not depend on the number of workers.
3. Every other rung is fitted on a uniform sample of rows, without replacement, `sample_rows`
   of them (default DEFAULT_SAMPLE_ROWS = 1,000,000; all rows when the table has no more), drawn
   from a generator seeded with the model's seed (`sample_index`), so the same rows whatever the
   engine; its codec still comes from every row (step 1). Series rungs take their codec from the
   sample too. The "plausible" logger says (at INFO, never a warning) how many rows were used.
   Neural rungs are not streamed minibatch by minibatch from the files: they take the sample too.

`n_training_rows_` is the table's row count. Errors name the piece they come from.
"""
from __future__ import annotations

import functools
import logging

import numpy as np
import pandas as pd

from ..data.codecs import TableCodec
from ..data.layout import TableLayout
from ..data.partitioned import Partitions, is_partitioned
from ..data.schema import Schema, SchemaError
from .engine import check_engine, engine_client
from .errors import ParameterError
from .params import _check_count
from .parallel import side_by_side

#: Rows a rung without `merged_fit` is fitted on (a uniform sample of the table's rows).
DEFAULT_SAMPLE_ROWS = 1_000_000
#: A partitioned table whose encoded arrays take at most this many bytes is encoded once and kept.
KEEP_BYTES = 1 << 28
LOG = logging.getLogger("plausible")


def fit_parts(model, data, schema: dict | None = None, *, engine=None, workers: int | None = None, **options):
    """Fit `model` on the partitioned table `data` (module doc) and return it. `options`:
    `sample_rows` (int, default DEFAULT_SAMPLE_ROWS), the rows a rung without `merged_fit` learns from."""
    sample_rows = _check_count(options.pop("sample_rows", DEFAULT_SAMPLE_ROWS), "sample_rows", minimum=1)
    if options:
        raise ParameterError(f"fit of a partitioned table takes no {sorted(options)[0]!r}; it takes schema=, "
                             "engine=, workers= and sample_rows=")
    check_engine(engine, workers)
    if not is_partitioned(data):       # a table in memory: one piece, nothing to spread over workers
        model.fit(data, schema)
        return model
    if model.data_kind == "image":
        raise ParameterError(f"model {model.name!r} models images; a partitioned table (a Parquet directory or a "
                             "Dask DataFrame) holds tables: fit it with a table model")
    parts = Partitions(data)
    rows = parts.rows
    n = int(sum(rows))
    where = parts.source if parts.files is not None else "the Dask DataFrame"
    if n < max(model.min_rows, 1):
        raise SchemaError(f"{where}: the table has {n} row{'s' if n != 1 else ''}: model {model.name!r} needs at "
                          f"least {max(model.min_rows, 1)} rows to learn from")
    rng = np.random.default_rng(model.seed)
    with engine_client(engine, workers) as client:
        codec = None
        if model.data_kind == "table":
            codec = TableCodec.fit_columns(parts.columns, functools.partial(_column, parts), schema, "dataframe",
                                           interior_point_masses=model.interior_point_masses,
                                           pieces=functools.partial(_column_pieces, parts))
        if codec is not None and model.merged_fit:
            model._set_codec(codec)
            model._fit_pieces(Pieces(parts, codec, client, rows), rng)
        else:
            index = sample_index(n, sample_rows, model.seed)
            LOG.info("%s: model %r learns from %s of its %s rows (a uniform sample, sample_rows=%s)", where,
                     model.name, f"{len(index):,}", f"{n:,}", f"{sample_rows:,}")
            frame = _sample_rows(parts, client, rows, index)
            if codec is None:
                model.fit(frame, schema)
            else:
                model._set_codec(codec)
                model._fit(codec.encode(codec.check(frame)), rng)
    model.n_training_rows_ = n
    return model


def _column(parts: Partitions, name: str) -> pd.Series:
    """Column `name` over every piece, in order (a Dask DataFrame's in one computation)."""
    if parts.files is None:
        label = next(c for c in parts.frame.columns if str(c) == name)
        return parts.frame[label].compute().reset_index(drop=True).rename(name)
    return parts.column(name)


def _column_pieces(parts: Partitions, name: str):
    """Column `name` piece by piece, in order (one piece in memory at a time)."""
    for i in range(len(parts)):
        yield parts.read(i, [name])[name]


def sample_index(total: int, size: int, seed: int | None) -> np.ndarray:
    """The rows (ascending) a rung without `merged_fit` learns from: all `total` rows if there are at
    most `size`, else `size` drawn uniformly without replacement by a generator seeded from `seed`
    (its first spawned child: `np.random.SeedSequence(seed).spawn(1)[0]`), the same whatever the engine."""
    if size >= total:
        return np.arange(total, dtype=np.int64)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    return np.sort(rng.choice(total, size=size, replace=False))


class Pieces:
    """A partitioned table's pieces as a rung's statistics see them (`ladder/_marginals.OnePiece`):
    `rows`, `each(function, *args)` (function(encoded piece, first row, *args) per piece, in order, on
    the engine's workers when there is one) and `values(c)` (continuous variable c over all rows).

    A table whose encoded arrays take at most KEEP_BYTES is read and encoded once and kept (in this
    process, or on the workers that encoded it, as Dask futures): `gaussian`'s shrinkage search makes
    hundreds of passes over a small table. A larger one is read again at each pass, so memory holds
    one piece per worker at a time."""

    def __init__(self, parts: Partitions, codec: TableCodec, client, rows: list[int]):
        self.parts, self.codec, self.client = parts, codec, client
        self.first = [int(r) for r in np.concatenate([[0], np.cumsum(rows)[:-1]])]
        self.rows = int(sum(rows))
        names = [parts.name(i) for i in range(len(parts))]
        self._encode = functools.partial(_encoded, codec, parts.columns, names)
        width = len(codec.layout.discrete) + len(codec.layout.continuous)
        self.kept = None
        if self.rows * max(width, 1) * 8 <= KEEP_BYTES:
            self.kept = _keep(parts, client, self._encode)

    def each(self, function, *args):
        if self.kept is None:
            task = functools.partial(_statistics, self._encode, function, args, self.first)
            yield from _map_pieces(self.parts, self.client, task)
        elif self.client is None:
            for i, piece in enumerate(self.kept):
                yield function(piece, self.first[i], *args)
        else:
            futures = self.client.map(functools.partial(_apply, function, args), self.kept, self.first, pure=False)
            yield from _results(self.client, futures, self.parts.name)

    def values(self, c: int) -> np.ndarray:
        """Continuous variable c over every row, read one piece of its column at a time."""
        layout = self.codec.layout
        var = layout.continuous[c]
        column = self.codec.schema[var.column]
        discrete = [layout.discrete[var.state]] if var.state >= 0 else []
        alone = TableLayout(Schema([column]), discrete, [type(var)(**{**vars(var), "state": 0 if discrete else -1})])
        out = []
        for i in range(len(self.parts)):
            frame = self.parts.read(i, [var.column])
            try:
                out.append(alone.encode(alone.schema.check(frame)).values[:, 0])
            except (SchemaError, ValueError, TypeError) as error:
                raise SchemaError(f"{self.parts.name(i)}: {error}") from None
        return np.concatenate(out)


def _encoded(codec, columns, names, frame: pd.DataFrame, i: int):
    """Piece i checked and encoded by the codec (an error names the piece)."""
    try:
        return codec.encode(codec.check(_normal(frame, columns)))
    except (SchemaError, ValueError, TypeError) as error:
        raise SchemaError(f"{names[i]}: {error}") from None


def _statistics(encode, function, args, first, frame: pd.DataFrame, i: int):
    """One piece's statistics: the piece encoded, then `function`."""
    return function(encode(frame, i), first[i], *args)


def _apply(function, args, piece, first: int):
    return function(piece, first, *args)


def _keep(parts: Partitions, client, encode) -> list:
    """Every piece encoded once: a list here, or futures held by the workers that encoded them."""
    if client is None:
        return list(_map_pieces(parts, None, encode))
    if parts.files is None:
        import dask

        return client.compute([dask.delayed(encode, pure=False)(piece, i)
                               for i, piece in enumerate(parts.frame.to_delayed())])
    return client.map(functools.partial(_read_then, parts, encode), list(range(len(parts))), pure=False)


def _results(client, futures, describe):
    """The futures' results in order; a piece whose workers keep dying is named (`engine_map`)."""
    import distributed

    try:
        for index, future in enumerate(futures):
            try:
                yield future.result()
            except distributed.KilledWorker:
                raise RuntimeError(f"{describe(index)}: the workers running it died repeatedly (out of memory or "
                                   "killed); give the workers more memory or use smaller pieces") from None
    finally:
        client.cancel([f for f in futures if not f.done()])


def _normal(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A piece with text column names in the table's order and a fresh index (`Partitions.read`)."""
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    return frame[columns].reset_index(drop=True)


def _read_then(parts: Partitions, function, i: int):
    return function(parts.read(i), i)


def _map_pieces(parts: Partitions, client, function):
    """`function(piece as a DataFrame, i)` for every piece i, in order: read and computed on the
    engine's workers with a client (a Dask DataFrame's pieces computed there by Dask), else here."""
    if client is not None and parts.files is None:
        import dask

        futures = client.compute([dask.delayed(function, pure=False)(piece, i)
                                  for i, piece in enumerate(parts.frame.to_delayed())])
        yield from _results(client, futures, parts.name)
        return
    with side_by_side(functools.partial(_read_then, parts, function), list(range(len(parts))), 1, client=client,
                      describe=parts.name) as results:
        yield from results


def _sample_rows(parts: Partitions, client, rows: list[int], index: np.ndarray) -> pd.DataFrame:
    """The rows `index` (global, ascending) of the table as one DataFrame, in their order."""
    bounds = np.concatenate([[0], np.cumsum(rows)])
    local = [index[(index >= bounds[i]) & (index < bounds[i + 1])] - bounds[i] for i in range(len(rows))]
    taken = _map_pieces(parts, client, _Take(local, parts.columns))
    return pd.concat(list(taken), ignore_index=True)


class _Take:
    """Piece i's rows `local[i]` (a picklable task for the workers)."""

    def __init__(self, local: list[np.ndarray], columns: list[str]):
        self.local, self.columns = local, columns

    def __call__(self, frame: pd.DataFrame, i: int) -> pd.DataFrame:
        return _normal(frame, self.columns).iloc[self.local[i]]
