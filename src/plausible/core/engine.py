"""The distributed engine: Dask's distributed scheduler, an optional extra
(`pip install 'plausible[distributed]'`).

Why Dask rather than Ray: Dask's `distributed` is pure Python (no native daemon to install), starts
a local cluster in about a second, reads and writes partitioned Parquet through pyarrow, which
plausible already uses, and is the engine statsforecast and scikit-learn's users already meet.
Nothing here is imported by `import plausible`: the engine loads only when a call asks for it.

`engine` is, wherever a call takes it:
- None: this process (and `n_jobs` process pools where a call offers them), as before;
- "dask": a local cluster of `workers` processes (default: one per CPU), one thread each, started
  for the call and closed when it ends;
- a `distributed.Client`: an existing cluster, on this machine or many, used as is and left open.

Work sent to the engine is a list of independent tasks whose results come back in task order, so
a result never depends on the number of workers (each task carries its own seed). A worker that
dies mid-task has its task rerun on another (Dask's scheduler does this up to
`distributed.scheduler.allowed-failures` times, 3 by default); past that, the call fails with an
error that names the task, never a silent gap.
"""
from __future__ import annotations

import contextlib
import logging
import os

from .errors import ParameterError
from .parallel import one_thread

NAMES = ("dask",)
EXTRA = "pip install 'plausible[distributed]'"


def available() -> bool:
    """Whether the distributed extra (dask.distributed) is installed."""
    import importlib.util

    return importlib.util.find_spec("distributed") is not None


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ParameterError(f"engine='dask' needs the distributed extra, which is not installed: {EXTRA}") \
            from None
    return distributed


def check_engine(engine, workers: int | None = None, n_jobs: int = 1) -> None:
    """Refuse a bad `engine`/`workers` before any work starts (one line that says what to pass), and
    an engine beside `n_jobs` process pools (both would spread the same work)."""
    if engine is not None and n_jobs != 1:
        raise ParameterError(f"engine and n_jobs={n_jobs} both spread the work over processes; pass one of them")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"workers must be a whole number >= 1, got {workers!r}")
    if engine is None:
        if workers is not None:
            raise ParameterError(f"workers={workers} sizes a local cluster; pass engine='dask' with it")
        return
    if isinstance(engine, str):
        if engine not in NAMES:
            raise ParameterError(f"engine must be None, {', '.join(map(repr, NAMES))} or a distributed.Client, "
                                 f"got {engine!r}")
        _distributed()
        return
    if not available() or not isinstance(engine, _distributed().Client):
        raise ParameterError(f"engine must be None, {', '.join(map(repr, NAMES))} or a distributed.Client, got "
                             f"an object of type {type(engine).__name__}")
    if workers is not None:
        raise ParameterError("workers= sizes a cluster plausible starts; a distributed.Client brings its own workers")


@contextlib.contextmanager
def engine_client(engine, workers: int | None = None):
    """The `distributed.Client` for `engine` inside the block (None for engine=None). A cluster
    started here ("dask") is closed when the block ends, normally or by an error."""
    check_engine(engine, workers)
    if engine is None:
        yield None
        return
    distributed = _distributed()
    if not isinstance(engine, str):
        engine.run(one_thread)
        yield engine
        return
    cluster = distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                       processes=True, dashboard_address=":0", silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    try:
        client.run(one_thread)
        yield client
    finally:
        client.close()
        cluster.close()
