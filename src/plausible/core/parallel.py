"""Process pools for `n_jobs`, or the workers of a distributed engine: one thread per worker, results in
task order.
"""
from __future__ import annotations

import contextlib
import os


def one_thread() -> None:
    """A worker process's start (n_jobs of them run side by side): one BLAS / OpenMP / PyTorch
    thread each, for the libraries loaded already and, through the environment, for those a deep
    model loads later."""
    import sys

    from threadpoolctl import threadpool_limits

    os.environ["OMP_NUM_THREADS"] = "1"
    threadpool_limits(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


@contextlib.contextmanager
def side_by_side(function, tasks: list, jobs: int, initializer=one_thread, initargs: tuple = (), here=None,
                 client=None, describe=None):
    """Iterate, inside the block, over `function(task)` for each of `tasks`, in order: from `jobs`
    worker processes (each started by `initializer(*initargs)`: one thread each by default) when
    jobs > 1, else computed here one by one, by `here` (default `function`). Leaving the block,
    normally or by an error, stops the workers and cancels the tasks they have not started.
    With `client` (a `distributed.Client` from `core/engine.py`), the engine's workers compute the
    tasks instead, still in order (`describe(index)` names a task in an error)."""
    if client is not None:
        results = engine_map(client, function, tasks, describe)
        try:
            yield results
        finally:
            results.close()
        return
    if jobs <= 1:
        yield map(here or function, tasks)
        return
    from concurrent.futures import ProcessPoolExecutor

    executor = ProcessPoolExecutor(jobs, initializer=initializer, initargs=initargs)
    try:
        yield executor.map(function, tasks)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def engine_map(client, function, tasks: list, describe=None):
    """Iterate over `function(task)` for each of `tasks`, in task order, computed by `client`'s
    workers (all tasks submitted at once; results come back as they are consumed). A task whose
    workers keep dying raises RuntimeError naming it (`describe(index)`, default "task <index>");
    leaving the loop early cancels the tasks not yet done."""
    import distributed

    futures = client.map(function, tasks, pure=False)
    try:
        for index, future in enumerate(futures):
            try:
                yield future.result()
            except distributed.KilledWorker:
                what = describe(index) if describe is not None else f"task {index}"
                raise RuntimeError(f"{what}: the workers running it died repeatedly (out of memory or "
                                   "killed); give the workers more memory or send smaller pieces") from None
    finally:
        client.cancel([f for f in futures if not f.done()])
