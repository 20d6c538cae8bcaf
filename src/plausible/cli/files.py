"""Reading inputs and checking output paths before the work starts; JSON that any reader accepts.
"""
from __future__ import annotations

import json
import math
from pathlib import Path


# ---------------------------------------------------------------------- commands
def _read(source: str, na_values=None):
    from .. import datasets
    from ..data.io import read_table

    if not Path(source).exists() and source in datasets.names():
        return datasets.load(source)
    return read_table(source, na_values=na_values)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} must look like KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _check_parent(path) -> None:
    """Refuse, before any work, an output whose folder cannot exist (a file sits on its path)."""
    for folder in Path(path).absolute().parents:
        if folder.exists():
            if not folder.is_dir():
                raise ValueError(f"cannot write {path}: {folder} is a file, not a folder")
            return


def _check_table_out(path) -> None:
    """A .csv/.parquet output that can be written: checked before the fitting, not after it."""
    from ..data.io import table_format

    if Path(path).is_dir():
        raise ValueError(f"{path} is a folder: give a .csv or .parquet file to write")
    table_format(Path(path))
    _check_parent(path)


def _check_model_out(path) -> None:
    from ..core.storage import check_model_target

    check_model_target(Path(path))
    _check_parent(path)


def _check_figure_out(path) -> None:
    from ..tasks.plots import figure_format

    figure_format(path)
    _check_parent(path)


def _plain_json(value):
    """JSON for numpy scalars (and anything else as text)."""
    return value.item() if hasattr(value, "item") else str(value)


def _strict_json(value) -> str:
    """Standard JSON (what jq and other strict parsers read): NaN and infinities become null."""
    def clean(item):
        if isinstance(item, dict):
            return {key: clean(v) for key, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(v) for v in item]
        if getattr(item, "ndim", None) == 0 and hasattr(item, "item"):     # numpy scalars
            item = item.item()
        elif hasattr(item, "tolist"):                                      # numpy arrays
            return clean(item.tolist())
        if isinstance(item, float) and not math.isfinite(item):
            return None
        return item
    return json.dumps(clean(value), indent=2, default=_plain_json, allow_nan=False)
