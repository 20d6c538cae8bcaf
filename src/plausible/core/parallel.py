"""Process pools for `n_jobs`: one thread per worker, results in task order.
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
def side_by_side(function, tasks: list, jobs: int, initializer=one_thread, initargs: tuple = (), here=None):
    """Iterate, inside the block, over `function(task)` for each of `tasks`, in order: from `jobs`
    worker processes (each started by `initializer(*initargs)`: one thread each by default) when
    jobs > 1, else computed here one by one, by `here` (default `function`). Leaving the block,
    normally or by an error, stops the workers and cancels the tasks they have not started."""
    if jobs <= 1:
        yield map(here or function, tasks)
        return
    from concurrent.futures import ProcessPoolExecutor

    executor = ProcessPoolExecutor(jobs, initializer=initializer, initargs=initargs)
    try:
        yield executor.map(function, tasks)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
