"""Reading inputs and checking output paths before the work starts; JSON that any reader accepts.
"""
from __future__ import annotations

import json
import math
from pathlib import Path


# ---------------------------------------------------------------------- commands
def _read(source: str, args):
    """A table from a file, or a built-in dataset by name; `args` holds the CSV flags (--na-values,
    --sep, --decimal, --encoding)."""
    from .. import datasets
    from ..data.io import read_table

    if not Path(source).exists() and source in datasets.names():
        return datasets.load(source)
    return read_table(source, **_reading(args))


def _reading(args) -> dict:
    """read_table's keywords from a command's CSV flags."""
    return {"na_values": getattr(args, "na_values", None), "sep": getattr(args, "sep", None),
            "decimal": getattr(args, "decimal", None), "encoding": getattr(args, "encoding", None)}


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} must look like KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _parse_param(cls, key: str, text: str):
    """One --set value read by the model's own Param: a bad name or value is a one-line error naming it."""
    if key not in cls.params:
        raise ValueError(f"model {cls.name!r} has no parameter {key!r}; its parameters are: "
                         f"{', '.join(cls.params) or 'none'}")
    return cls.params[key].parse(key, text)


def _model_params(model: str, items: list[str]) -> dict:
    """--set KEY=VALUE for --model (fit, impute, forecast, backtest): a model name, or several joined by
    "+" (a forecast mixture: every model gets the same values, so each must have the parameter)."""
    from ..core.registry import get_class

    pairs = _pairs(items, "--set")
    if pairs and model == "auto":
        raise ValueError("--set needs a named --model (auto chooses the model from the data)")
    params = {}
    for name in model.split("+") if pairs else []:
        cls = get_class(name)
        params.update({key: _parse_param(cls, key, text) for key, text in pairs.items()})
    return params


def _compare_params(names: list[str], items: list[str]) -> dict[str, dict]:
    """compare's --set: MODEL:KEY=VALUE for one model, KEY=VALUE for every compared model that has KEY."""
    from ..core.registry import get_class

    params: dict[str, dict] = {}
    for item in items:
        target, colon, pair = item.partition(":")
        if not colon or "=" in target:
            target, pair = None, item
        if "=" not in pair:
            raise ValueError(f"--set must look like [MODEL:]KEY=VALUE, got {item!r}")
        key, text = next(iter(_pairs([pair], "--set").items()))
        if target is not None:
            if target not in names:
                raise ValueError(f"--set {item}: {target!r} is not among the compared models "
                                 f"({', '.join(names)})")
            chosen = [target]
        else:
            chosen = [name for name in names if key in get_class(name).params]
            if not chosen:
                raise ValueError(f"--set {item}: no compared model has a parameter {key!r}; give one model "
                                 "as model:key=value")
        for name in chosen:
            params.setdefault(name, {})[key] = _parse_param(get_class(name), key, text)
    return params


def _check_parent(path) -> None:
    """Refuse, before any work, an output whose folder cannot exist (a file sits on its path)."""
    for folder in Path(path).absolute().parents:
        if folder.exists():
            if not folder.is_dir():
                raise ValueError(f"cannot write {path}: {folder} is a file, not a folder")
            return


def is_folder_out(path) -> bool:
    """Whether an --out names a folder of Parquet pieces: it ends with '/' or is a folder already."""
    import os

    return str(path).endswith(("/", os.sep)) or Path(path).is_dir()


def is_parquet_folder(source) -> bool:
    """Whether DATA is a partitioned table: a folder holding .parquet files (read a piece at a time)."""
    from ..data.partitioned import is_partitioned

    return isinstance(source, str) and is_partitioned(source)


def _engine(args) -> dict:
    """engine= and workers= from --engine/--workers, refused in words before any work."""
    engine, workers = getattr(args, "engine", None), getattr(args, "workers", None)
    if workers is not None and engine is None:
        raise ValueError(f"--workers {workers} sizes a local Dask cluster: add --engine dask")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be 1 or more, got {workers}")
    if engine is not None:
        from ..core.engine import check_engine

        check_engine(engine, workers)
    return {"engine": engine, "workers": workers}


def _check_table_out(path) -> None:
    """A .csv/.parquet output that can be written: checked before the fitting, not after it."""
    from ..data.io import table_format

    if Path(path).is_dir():
        raise ValueError(f"{path} is a folder: give a .csv or .parquet file to write")
    table_format(Path(path))
    _check_parent(path)


def _check_model_out(path, force: bool = False) -> None:
    from ..core.storage import check_model_target

    check_model_target(Path(path), overwrite=force, flag="--force")
    _check_parent(path)


def _check_paths(args) -> None:
    """Refuse, before any work, an output that is one of the command's inputs (or holds one, for a
    model folder that --force replaces), and two outputs at one path."""
    inputs = [getattr(args, name, None) for name in ("data", "real", "synthetic", "train", "model_dir")]
    inputs += list(getattr(args, "inputs", None) or [])
    outputs = {flag: getattr(args, name, None) for flag, name in
               (("--out", "out"), ("--spread-out", "spread_out"), ("--report", "report"), ("--plot", "plot"))}
    if args.command == "forecast" and args.out and not args.plot:
        outputs["--plot"] = str(Path(args.out).with_suffix(".png"))     # the fan chart's default path
    outputs = {flag: path for flag, path in outputs.items() if path}
    seen: dict[Path, str] = {}
    for flag, out in outputs.items():
        target = Path(out).resolve()
        for source in filter(None, inputs):
            if _same_path(target, Path(source).resolve()):
                raise ValueError(f"{flag} {out} is the input {source}: writing it would destroy the data; choose "
                                 "another output path")
            if args.command == "fit" and target in Path(source).resolve().parents:
                raise ValueError(f"{flag} {out} holds the input {source}: saving the model there would delete it; "
                                 "choose another folder")
        if target in seen:
            raise ValueError(f"{flag} and {seen[target]} are the same file {out}: give each its own path")
        seen[target] = flag


def _same_path(first: Path, second: Path) -> bool:
    """One file, by name after links are followed, or by inode (a hard link)."""
    if first == second:
        return True
    try:
        return first.exists() and second.exists() and first.samefile(second)
    except OSError:
        return False


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
