"""The model folder: config.json + weights.safetensors, written atomically, read without running code.

config.json records the SHA-256 of the weights file (`weights_sha256`); a folder whose weights do not
match it is refused at load (flipped bytes, a file copied in from another model). Folders saved
before the checksum was recorded load without it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .. import __version__
from ..data.io import make_public
from .errors import ModelFileError

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"


def write_folder(path, config: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write `config` (with the format header added) and `arrays` as a model folder at `path`.

    The folder is written next to its final place and renamed into it, so a crash never leaves a
    half-written model."""
    from safetensors.numpy import save_file

    path = Path(path)
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    config = {"format": "plausible-model", "format_version": FORMAT_VERSION, "library_version": __version__,
              **config, "arrays": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        save_file(arrays, str(temp / WEIGHTS_FILE), metadata={"format": "plausible-model"})
        config["weights_sha256"] = _sha256(temp / WEIGHTS_FILE)
        (temp / CONFIG_FILE).write_text(json.dumps(config, indent=2, default=_json_default))
        for item in (temp, temp / CONFIG_FILE, temp / WEIGHTS_FILE):   # mkdtemp made the folder private
            make_public(item)
        _replace_folder(temp, path)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return path


def read_folder(path) -> tuple[dict, dict[str, np.ndarray]]:
    """The config and the arrays of a model folder, checked against each other. Runs no code from
    the folder: JSON and safetensors only."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    if not path.is_dir():
        raise ModelFileError(f"{path} is not a model folder (expected a folder with {CONFIG_FILE} and {WEIGHTS_FILE})")
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (path / name).is_file():
            raise ModelFileError(f"{path} is missing {name}: the model folder is incomplete; save the model again")
    try:
        config = json.loads((path / CONFIG_FILE).read_text())
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path / CONFIG_FILE} is not valid JSON: {error}") from None
    if not isinstance(config, dict) or config.get("format") != "plausible-model":
        raise ModelFileError(f"{path} is not a plausible model folder")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(f"{path / CONFIG_FILE}: format_version {version!r} is not a whole number; the file "
                             "was edited or damaged: save the model again")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path} was written in model format {version} by plausible "
                             f"{config.get('library_version')}; this plausible ({__version__}) reads format "
                             f"{FORMAT_VERSION} and older: upgrade plausible to load it")
    recorded = config.get("weights_sha256")     # absent in folders saved before it was recorded
    if recorded is not None and recorded != _sha256(path / WEIGHTS_FILE):
        raise ModelFileError(f"{path}: {WEIGHTS_FILE} does not match the checksum recorded when it was saved; the "
                             "file is damaged or was edited: save the model again, or restore the folder from a copy")
    try:
        arrays = load_file(str(path / WEIGHTS_FILE))
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelFileError(f"{path / WEIGHTS_FILE} could not be read: {error}") from None
    expected = config.get("arrays", {})
    if set(expected) != set(arrays):
        raise ModelFileError(f"{path}: weights file has arrays {sorted(arrays)} but config expects {sorted(expected)}")
    for key, spec in expected.items():
        if list(arrays[key].shape) != list(spec["shape"]):
            raise ModelFileError(f"{path}: array {key!r} has shape {list(arrays[key].shape)}, "
                                 f"config expects {spec['shape']}; the files do not belong together")
    return config, arrays


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in config.json")


def check_model_target(target: Path, overwrite: bool = True, flag: str = "overwrite=True") -> None:
    """Refuse a save path that holds something other than a model folder (or an empty folder), and,
    unless `overwrite`, one that holds a model already (`flag` says how to allow it)."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not (target / CONFIG_FILE).exists())):
        raise ModelFileError(f"{target} exists and is not a plausible model folder; choose another path")
    if not overwrite and (target / CONFIG_FILE).exists():
        raise ModelFileError(f"{target} already holds a model: give {flag} to replace it, or choose another folder")


def _replace_folder(source: Path, target: Path) -> None:
    """Move a finished folder into place; an existing one is swapped out, then removed."""
    check_model_target(target)
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(source, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(source, target)
