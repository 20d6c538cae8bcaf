"""The commands on images: fit, sample, impute, score and evaluate take a folder of PNGs, a .npy or
.npz file, or a built-in image set (digits, avatars, jars) wherever they take a table.

    plausible fit images/ --model vae --out m.plausible
    plausible sample m.plausible --n 64 --out samples/        # PNGs plus grid.png (or .npy/.npz)
    plausible impute m.plausible holes.npy --draws 8 --out fills.npy
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .files import _check_model_out, _check_parent, _pairs

IMAGE_FILES = (".npy", ".npz")
#: what `--model auto` fits on images: exact, fast, with exact conditionals (a deep rung is named)
AUTO_IMAGE_MODEL = "gaussian"


def is_image_source(source: str) -> bool:
    """Whether a command's DATA names images: a folder that is not a model folder, a .npy/.npz file,
    or a built-in image set."""
    from .. import datasets

    path = Path(source)
    if path.suffix.lower() in IMAGE_FILES:
        return True
    if path.is_dir():
        return not (path / "config.json").exists()
    return not path.exists() and source in datasets.names(kind="image")


def is_image_output(path: str) -> bool:
    """An output path for images: .npy/.npz, or anything without a table's suffix (a folder)."""
    return Path(path).suffix.lower() in IMAGE_FILES or Path(path).suffix == ""


def read_images(source: str) -> np.ndarray:
    """Images from a folder, a .npy/.npz file, or a built-in image set by name."""
    from .. import datasets
    from ..data.image_files import read_images as read

    if not Path(source).exists() and source in datasets.names(kind="image"):
        return datasets.load(source)
    return read(source)[0]


def _levels(model) -> int | None:
    return model.codec_.n_levels if model.codec_.n_levels not in (None, 256) else None


def _params(name: str, items: list[str]) -> dict:
    """--set KEY=VALUE read by the image version of `name`."""
    from ..core.registry import get_class, variant
    from .files import _parse_param

    cls = variant(name, "image") or get_class(name)
    return {key: _parse_param(cls, key, text) for key, text in _pairs(items, "--set").items()}


def fit_images(args) -> str:
    from ..core.registry import make_for_task, variant
    from ..data.schema import SchemaError

    name = AUTO_IMAGE_MODEL if args.model == "auto" else args.model
    if variant(name, "image") is None:
        from ..testing_images import image_models

        raise ValueError(f"model {name!r} does not model images; models that do: {', '.join(image_models())}")
    params = _params(name, args.set)
    _check_model_out(args.out, args.force)
    images = read_images(args.data)
    model = make_for_task(name, args.seed, params, args.time_budget)
    try:
        model.fit(images, schema=_pairs(args.schema, "--schema") or None)
    except SchemaError as error:
        raise SchemaError(f"{args.data}: {error}") from None
    model.save(args.out, overwrite=args.force)
    chosen = f"auto fits {name} on images (exact and fast; name a deep rung with --model)\n" \
        if args.model == "auto" else ""
    return (f"{chosen}fitted {name} on {len(images):,} images of {images.shape[1]}x{images.shape[2]}"
            f"{'' if images.ndim == 3 else f'x{images.shape[3]}'}; saved to {args.out}")


def _check_image_out(path: str) -> None:
    if not is_image_output(path):
        raise ValueError(f"{path}: images are written to a folder (PNGs plus grid.png) or a .npy/.npz file")
    _check_parent(path)


def sample_images(model, args) -> str:
    from ..data.image_files import write_images

    _check_image_out(args.out)
    images = model.sample(args.n, seed=args.seed)
    write_images(images, args.out, levels=_levels(model))
    where = "" if Path(args.out).suffix else " (PNGs and grid.png)"
    return f"wrote {len(images):,} images to {args.out}{where}"


def impute_images(model, source: str, args) -> str:
    from ..data.image_files import write_images
    from ..data.schema import SchemaError

    _check_image_out(args.out)
    images = read_images(source)
    mask = None
    if getattr(args, "mask", None):
        mask = np.load(args.mask, allow_pickle=False)
    elif not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"{source} holds whole images (integer levels, no NaN): mark the pixels to fill with "
                         "--mask MASK.npy (True = fill), or give float images with NaN holes")
    try:
        draws = model.impute(images, n_draws=args.draws, seed=args.seed, mask=mask)
    except SchemaError as error:
        raise SchemaError(f"{source}: {error}") from None
    stacked = np.stack(draws)
    if Path(args.out).suffix:
        _write_stack(stacked, args.out)
    else:
        flat = stacked.reshape(-1, *stacked.shape[2:])
        names = [f"draw{k}-{i:05d}.png" for k in range(len(draws)) for i in range(len(images))]
        write_images(flat, args.out, names=names, levels=_levels(model) if not np.issubdtype(flat.dtype, np.floating)
                     else None)
    holes = int(np.isnan(images).sum()) if mask is None else int(np.asarray(mask).sum())
    return f"filled {holes:,} pixels of {len(images):,} images {args.draws} times; wrote {args.out}"


def _write_stack(stacked: np.ndarray, path: str) -> None:
    """(draws, N, H, W[, C]) to a .npy or .npz (key `draws`) file, atomically."""
    import io

    from ..data.io import write_bytes

    buffer = io.BytesIO()
    if Path(path).suffix.lower() == ".npz":
        np.savez_compressed(buffer, draws=stacked)
    else:
        np.save(buffer, stacked, allow_pickle=False)
    write_bytes(buffer.getvalue(), Path(path))


def score_images(model, args) -> str:
    import pandas as pd

    from ..data.io import write_table
    from ..data.schema import SchemaError

    images = read_images(args.data)
    try:
        scores = model.log_prob(images, unseen=args.unseen)
    except SchemaError as error:
        raise SchemaError(f"{args.data}: {error}") from None
    bits = -scores / (model.codec_.size * np.log(2))
    write_table(pd.DataFrame({"image": range(len(images)), args.column: scores, "bits_per_dim": bits}), args.out)
    return f"scored {len(images):,} images (mean {np.mean(bits[np.isfinite(bits)]):.3f} bits/dim); wrote {args.out}"


def evaluate_images_command(args) -> str:
    from ..core.registry import load
    from ..evaluation.samples import METRICS, evaluate
    from .files import _strict_json

    if args.target:
        raise ValueError("--target names a table column; images have none")
    real, synthetic = read_images(args.real), read_images(args.synthetic)
    train = read_images(args.train) if args.train else None
    model = load(args.model_dir) if args.model_dir else None
    result = evaluate(real, synthetic, train=train, model=model, truth=args.truth, seed=args.seed)
    if args.json:
        return _strict_json(result.to_json())
    lines = [result.table().to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")]
    lines += ["", "What each metric means:"] + [f"  {k}: {METRICS[k].meaning}" for k in result]
    lines += ["", f"Features: {result.details['feature_net']}"]
    if "tv_per_feature" in result.details:
        lines += ["", "Avatar features read back (total variation to the truth; floor = real images):"]
        lines += [f"  {k}: {v:.3f} (floor {result.details['tv_per_feature_floor'][k]:.3f})"
                  for k, v in result.details["tv_per_feature"].items()]
    return "\n".join(lines)
