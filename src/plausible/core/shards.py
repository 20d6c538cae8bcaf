"""Big tables out: `sample(n, out=DIR)` as a partitioned Parquet table, and `log_prob` / `impute`
mapped over the pieces of a partitioned table, here or on the workers of a distributed engine.

What comes out never depends on the number of workers: the work is a list of pieces, each with its
own seed, and the results come back (or are written) in piece order.

Seeds. Piece (or shard) i is drawn with `piece_seed(seed, i)`: the call's seed itself for piece 0,
and for i >= 1 a number derived from the seed and i by NumPy's SeedSequence (an independent stream
for every piece, whatever the number of pieces). So:
- `sample(n, seed, out=DIR)` writes shard i = `model.sample(rows_i, seed=piece_seed(seed, i))`
  with rows_i = `shard_rows` (default 1,000,000; the last shard the rest). The first shard equals
  `model.sample(min(n, shard_rows), seed)`; the whole dataset does not equal `model.sample(n, seed)`
  once n > shard_rows (one stream is cut into shards differently from one long draw);
- `impute(table, n_draws, seed)` over pieces gives piece i = `model.impute(piece_i, n_draws,
  piece_seed(seed, i))`: a table in one piece (an in-memory table of at most `piece_rows` rows)
  imputes exactly as in memory; a table of several pieces does not equal the in-memory call, whose
  draws run one stream per draw through all the incomplete rows of the whole table;
- `log_prob` is deterministic: the scores of a partitioned table equal the in-memory scores of the
  concatenated table.

Layouts written (every file DIR/part-%05d.parquet, written atomically by `data.partitioned.write_part`):
- sample: the rows, one shard a file (an array-fitted model's columns named as it names them);
- log_prob: each piece's rows with a `log_prob` column added (`column=` names it);
- impute: one file per piece, a long table: `draw` (0..n_draws-1), `row` (the row's position in the
  whole table), then the piece's columns, gaps filled: what `plausible impute` writes for one file.

An existing non-empty DIR is refused unless `overwrite=True` (`--force`), which replaces the
part-*.parquet files written there before and nothing else. With an engine the workers write the
files themselves: DIR must be a folder every worker can write to (any folder for a local cluster).
Image models draw arrays, not table rows: out= and engine= refuse them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.partitioned import PART, Partitions, is_partitioned, write_part
from .engine import check_engine, engine_client
from .errors import NotSupportedError, ParameterError
from .parallel import side_by_side
from .params import _check_count, _check_seed

PIECE_ROWS = 1_000_000
_PIECES = 0x5EED   # the spawn key's first word for pieces: no draw of one piece spawns it


def piece_seed(seed: int, i: int) -> int:
    """The seed of piece (or shard) i of a call made with `seed`: `seed` itself for i == 0, else a
    63-bit number derived from (seed, i) by NumPy's SeedSequence."""
    if i == 0:
        return int(seed)
    state = np.random.SeedSequence(int(seed), spawn_key=(_PIECES, int(i))).generate_state(1, np.uint64)[0]
    return int(state) >> 1


def _call_seed(seed) -> int:
    """The call's seed; None (fresh randomness) becomes fresh entropy, drawn once for every piece."""
    seed = _check_seed(seed, error=ParameterError)
    return int(np.random.SeedSequence().entropy) if seed is None else seed


def _check_rows(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def _tables_only(model, what: str) -> None:
    model._check_fitted()
    if model.data_kind == "image":
        raise NotSupportedError(f"{what} with out= or engine= works on table rows; model {model.name!r} draws images: "
                                "call it without out= and engine=, and save the array (plausible sample writes "
                                "PNGs or .npy)")


def prepare_out(out, overwrite: bool = False, inputs=()) -> Path:
    """The output folder, checked before any work: not a file, not an input (nor inside one), and
    empty unless `overwrite` (then the part-*.parquet files there are removed, and only those)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{out} is a file: give a folder for the Parquet pieces")
    target = out.resolve()
    for source in inputs:
        if isinstance(source, (str, Path)) and Path(source).is_dir():
            held = Path(source).resolve()
            if target == held or held in target.parents:
                raise ParameterError(f"{out} is inside the input {source}: writing pieces there would add them to "
                                     "the table; choose another folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ParameterError(f"{out} is not empty: choose an empty or new folder, or replace its part files "
                                 "with --force (overwrite=True)")
        ours = set(out.glob("part-*.parquet"))
        foreign = [p for p in out.rglob("*.parquet") if p not in ours]
        if foreign:
            raise ParameterError(f"{out} holds Parquet files plausible did not write ({foreign[0].name}); "
                                 "choose another folder")
        for path in ours:
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def _bar(results, total: int, desc: str, progress):
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else bool(progress)
    return tqdm(results, total=total, desc=desc, unit="piece", disable=not show, leave=False)


def _run(function, tasks: list, model, engine, workers, describe, desc: str, progress):
    """Yield function(model, task) for each task, in order: here one by one (engine None), or on the
    engine's workers, the fitted model pickled once to every worker."""
    with engine_client(engine, workers) as client:
        handle = model if client is None else client.scatter([model], broadcast=True, hash=False)[0]
        jobs = [(handle, *task) for task in tasks]
        with side_by_side(function, jobs, 1, client=client, describe=describe) as results:
            yield from _bar(results, len(tasks), desc, progress)


# ---------------------------------------------------------------------- sample
def _as_frame(model, rows) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows
    rows = np.asarray(rows)
    return pd.DataFrame(rows.reshape(len(rows), -1), columns=[str(n) for n in model.codec_.schema.names])


def _sample_shard(task) -> int:
    model, out, i, rows, seed = task
    write_part(_as_frame(model, model.sample(rows, seed=seed)), out, i)
    return rows


def sample_to(model, n: int, seed: int | None, out, engine=None, workers: int | None = None, *,
              shard_rows: int = PIECE_ROWS, overwrite: bool = False, progress: bool | None = None) -> Path:
    """Write `n` rows drawn from `model` to the folder `out` as part-%05d.parquet shards of
    `shard_rows` rows, shard i drawn with `piece_seed(seed, i)` here (one shard in memory at a time)
    or on the workers of `engine`; returns the folder's Path. The same rows for any number of workers."""
    if out is None:
        raise ParameterError("engine= and workers= draw shards written to a folder: give out=DIR too")
    _tables_only(model, "sample")
    n = _check_count(n, "n")
    shard_rows = _check_rows(shard_rows, "shard_rows")
    seed = _call_seed(seed)
    check_engine(engine, workers)
    out = prepare_out(out, overwrite)
    sizes = [min(shard_rows, n - start) for start in range(0, n, shard_rows)] or [0]
    tasks = [(str(out), i, rows, piece_seed(seed, i)) for i, rows in enumerate(sizes)]
    for _ in _run(_sample_shard, tasks, model, engine, workers, lambda i: f"shard {i} of {out}", "sample", progress):
        pass
    return out


# ---------------------------------------------------------------------- the pieces of a table
class _InMemory:
    """An in-memory table (DataFrame or array) cut into pieces of `rows` rows: what engine= sends."""

    def __init__(self, data, rows: int):
        self.data, self.step = data, rows
        self.columns = [str(c) for c in data.columns] if isinstance(data, pd.DataFrame) else None
        total = len(data)
        self.rows = [min(rows, total - start) for start in range(0, total, rows)] or [0]

    def __len__(self) -> int:
        return len(self.rows)

    def read(self, i: int):
        piece = self.data[i * self.step:(i + 1) * self.step]
        return piece.reset_index(drop=True) if isinstance(piece, pd.DataFrame) else piece

    def name(self, i: int) -> str:
        return f"rows {i * self.step:,}..{i * self.step + self.rows[i] - 1:,}"


def _pieces(data, piece_rows: int, engine):
    if is_partitioned(data):
        parts = Partitions(data)
        if parts.files is None and engine is not None:
            raise ParameterError("engine= with a Dask DataFrame: write it as Parquet (frame.to_parquet(DIR)) and pass "
                                 "DIR, so each worker reads its own pieces; or drop engine= to score it piece by piece "
                                 "here")
        return parts
    if isinstance(data, (str, Path)):
        raise ParameterError(f"{data}: not a folder of Parquet files; read a single file with "
                             "plausible.data.io.read_table and pass the table")
    return _InMemory(data, piece_rows)


def _piece_tasks(parts, extra) -> list:
    """One task per piece: the piece itself for an in-memory table; (the pieces, i) for files, so
    each worker reads its own."""
    starts = np.concatenate([[0], np.cumsum(parts.rows)[:-1]]).astype(int)
    if isinstance(parts, _InMemory):
        return [(parts.read(i), None, i, int(starts[i]), *extra(i)) for i in range(len(parts))]
    return [(None, parts, i, int(starts[i]), *extra(i)) for i in range(len(parts))]


def _read_piece(piece, parts, i):
    return piece if parts is None else parts.read(i)


# ---------------------------------------------------------------------- log_prob
def _score_piece(task):
    model, piece, parts, i, _start, unseen, out, column = task
    frame = _read_piece(piece, parts, i)
    scores = model.log_prob(frame, unseen=unseen)
    if out is None:
        return scores
    table = frame if isinstance(frame, pd.DataFrame) else _as_frame(model, frame)
    write_part(table.assign(**{column: scores}), out, i)
    return int(np.isneginf(scores).sum())


def log_prob_parts(model, data, unseen: str = "raise", out=None, engine=None, workers: int | None = None, *,
                   column: str = "log_prob", piece_rows: int = PIECE_ROWS, overwrite: bool = False,
                   progress: bool | None = None):
    """log P(row) over the pieces of `data` (a Parquet folder, a Dask DataFrame, or an in-memory
    table cut into `piece_rows` rows), here or on the workers of `engine`. Without `out`: the scores
    of every row, in order (equal to the in-memory log_prob of the whole table). With `out`: each
    piece's rows plus the score `column` written as out/part-%05d.parquet; returns out's Path."""
    _tables_only(model, "log_prob")
    if unseen not in ("raise", "impossible"):
        raise ParameterError(f"unseen must be 'raise' or 'impossible', got {unseen!r}")
    if model.log_prob_kind == "none":
        return model.log_prob(pd.DataFrame())      # the model's own NotSupportedError, with its reason
    check_engine(engine, workers)
    parts = _pieces(data, _check_rows(piece_rows, "piece_rows"), engine)
    if out is not None:
        if parts.columns is not None and column in parts.columns:
            raise ParameterError(f"the table already has a column {column!r}: name the score column with column=")
        out = prepare_out(out, overwrite, inputs=[data])
    tasks = _piece_tasks(parts, lambda i: (unseen, None if out is None else str(out), column))
    results = list(_run(_score_piece, tasks, model, engine, workers, parts.name, "log_prob", progress))
    if out is not None:
        return out
    return np.concatenate([np.asarray(r, dtype=float) for r in results]) if results else np.zeros(0)


# ---------------------------------------------------------------------- impute
def _impute_piece(task):
    model, piece, parts, i, start, n_draws, seed, out = task
    frame = _read_piece(piece, parts, i)
    draws = model.impute(frame, n_draws=n_draws, seed=seed)
    if out is None:
        return draws
    rows = np.arange(start, start + len(frame))
    long = pd.concat([_as_frame(model, d).assign(draw=k, row=rows) for k, d in enumerate(draws)], ignore_index=True)
    write_part(long[["draw", "row", *[c for c in long.columns if c not in ("draw", "row")]]], out, i)
    return int(pd.DataFrame(frame).isna().sum().sum())


def impute_parts(model, data, n_draws: int = 5, seed: int | None = 0, mask=None, out=None, engine=None,
                 workers: int | None = None, *, piece_rows: int = PIECE_ROWS, overwrite: bool = False,
                 progress: bool | None = None):
    """`n_draws` completions of `data` (a Parquet folder, a Dask DataFrame, or an in-memory table cut
    into `piece_rows` rows), piece i imputed as `model.impute(piece_i, n_draws, piece_seed(seed, i))`,
    here or on the workers of `engine`. Without `out`: the list of `n_draws` completed tables (each
    the pieces' draws concatenated in order). With `out`: one long table per piece (`draw`, `row`,
    the columns) written as out/part-%05d.parquet; returns out's Path."""
    _tables_only(model, "impute")
    if mask is not None:
        raise ParameterError("mask= marks pixels of images; in a table mark the unknown cells with NaN")
    if model.impute_kind == "none":
        return model.impute(pd.DataFrame())        # the model's own NotSupportedError, with its reason
    n_draws = _check_count(n_draws, "n_draws", minimum=1)
    seed = _call_seed(seed)
    check_engine(engine, workers)
    parts = _pieces(data, _check_rows(piece_rows, "piece_rows"), engine)
    if out is not None:
        taken = [c for c in ("draw", "row") if parts.columns is not None and c in parts.columns]
        if taken:
            raise ParameterError(f"the table has a column {taken[0]!r}, which the long output of out= adds: "
                                 "rename it first")
        out = prepare_out(out, overwrite, inputs=[data])
    tasks = _piece_tasks(parts, lambda i: (n_draws, piece_seed(seed, i), None if out is None else str(out)))
    results = list(_run(_impute_piece, tasks, model, engine, workers, parts.name, "impute", progress))
    if out is not None:
        return out
    return [_join([r[k] for r in results]) for k in range(n_draws)]


def _join(pieces: list):
    if isinstance(pieces[0], pd.DataFrame):
        return pd.concat(pieces, ignore_index=True)
    return np.concatenate(pieces)


__all__ = ["PART", "PIECE_ROWS", "impute_parts", "log_prob_parts", "piece_seed", "prepare_out", "sample_to"]
