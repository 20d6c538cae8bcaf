"""The distributed engine's seam (core/engine.py): argument checks, a local Dask cluster computing
tasks in order, a dying worker reported by name, and nothing of Dask loaded by `import plausible`."""
import os
import subprocess
import sys

import pytest

from plausible.core.engine import available, check_engine, engine_client
from plausible.core.errors import ParameterError
from plausible.core.parallel import side_by_side

needs_dask = pytest.mark.skipif(not available(), reason="the distributed extra (dask.distributed) is not "
                                "installed: pip install 'plausible[distributed]'")


def test_import_plausible_loads_no_engine():
    code = "import sys, plausible as pl; pl.make('gaussian'); print('distributed' in sys.modules, 'dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("engine, workers, says", [
    ("spark", None, "engine must be None, 'dask'"),
    (None, 2, "pass engine='dask'"),
    ("dask", 0, "workers must be a whole number"),
    (3, None, "type int"),
])
def test_bad_engine_is_one_line(engine, workers, says):
    if engine == "dask" and not available():
        pytest.skip("the distributed extra is not installed")
    with pytest.raises(ParameterError, match=says) as caught:
        check_engine(engine, workers)
    assert "\n" not in str(caught.value)


def _square(x):
    return x * x


def _die(x):
    os._exit(3)


@needs_dask
def test_local_cluster_keeps_task_order_and_reports_dead_workers():
    import dask

    with engine_client("dask", 2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        with side_by_side(_square, list(range(20)), 1, client=client) as results:
            assert list(results) == [x * x for x in range(20)]
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            with pytest.raises(RuntimeError, match="series 'b': the workers running it died"):
                with side_by_side(_die, [1], 1, client=client, describe=lambda i: "series 'b'") as results:
                    list(results)
