"""`plausible restore`: posterior draws of images from measurements y = A x + noise, under a fitted
image model as the prior (`pl.restore`).

    plausible restore faces.plausible blurred.npy --operator blur:sigma=1.5 --noise-sd 0.02 --out restored/

The operator is written as KIND[:ARGUMENTS] (`parse_operator`): blur:sigma=1.5, blur:kernel=k.npy,
downsample:4, identity, mask:known.npy (or a PNG, white = measured), matrix:A.npy. The
measurements are a .npy/.npz array (floats on the 0..1 intensity scale, NaN where a mask measured
nothing) or a folder of PNGs (read as intensities, value / 255). The folder --out receives
draws.npy, mean.npy, spread.npy, mean.png, spread.png and figure.png, all at once (built beside it
under a temporary name, then renamed into place).
"""
from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import numpy as np

OPERATORS_HELP = ("blur:sigma=1.5, blur:kernel=K.npy, downsample:4, identity, mask:KNOWN.npy (or a PNG, white = "
                  "measured), matrix:A.npy")
FIGURE_ROWS = 8          # images shown in figure.png (the first ones)


def parse_operator(spec: str):
    """An operator from its command-line spelling (OPERATORS_HELP); a one-line error that shows the
    spellings for anything else. Files named in the spec are read here."""
    from ..core.errors import ParameterError
    from ..data import operators

    kind, _, rest = spec.strip().partition(":")
    kind, rest = kind.strip().lower(), rest.strip()
    key, equals, value = rest.partition("=")
    key, value = (key.strip().lower(), value.strip()) if equals else ("", rest)

    def refuse(why: str) -> ValueError:
        return ValueError(f"--operator {spec!r}: {why}; write one of {OPERATORS_HELP}")

    try:
        if kind == "identity":
            if rest:
                raise refuse("identity takes no arguments")
            return operators.identity()
        if kind == "blur":
            if key == "sigma" or (not key and _is_number(value)):
                if not _is_number(value):
                    raise refuse(f"sigma must be a number of pixels, got {value!r}")
                return operators.blur(sigma=float(value))
            if key == "kernel":
                return operators.blur(kernel=_read_array(value, "the blur kernel"))
            raise refuse("blur needs sigma=PIXELS or kernel=FILE.npy")
        if kind == "downsample":
            if key not in ("", "k") or not value.isdigit() or int(value) < 1:
                raise refuse("downsample needs a whole factor, e.g. downsample:4")
            return operators.downsample(int(value))
        if kind == "mask":
            if key not in ("", "known") or not value:
                raise refuse("mask needs the file of known pixels, e.g. mask:known.npy")
            return operators.mask(_read_mask(value))
        if kind == "matrix":
            if key not in ("", "a") or not value:
                raise refuse("matrix needs the file of the (M, D) matrix, e.g. matrix:A.npy")
            return operators.matrix(_read_array(value, "the matrix"))
    except ParameterError as error:
        raise refuse(str(error)) from None
    raise refuse(f"unknown operator {kind!r}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_array(path: str, what: str) -> np.ndarray:
    """A numeric array from a .npy file (or a .npz holding one array)."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{path}: no such file ({what}); give a .npy file")
    try:
        stored = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f"{path}: cannot read {what} from it ({str(error).splitlines()[0]}); save it with "
                         "np.save") from None
    if not isinstance(stored, np.ndarray):
        with stored:
            keys = list(stored.keys())
            if len(keys) != 1:
                raise ValueError(f"{path} holds {len(keys)} arrays; save {what} alone (np.save)")
            stored = stored[keys[0]]
    if stored.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {what} must hold numbers, got {stored.dtype}")
    return stored


def _read_mask(path: str) -> np.ndarray:
    """The known pixels: a boolean (or 0/1) .npy array, or a PNG whose white pixels are measured."""
    if Path(path).suffix.lower() in (".png", ".bmp"):
        from PIL import Image, UnidentifiedImageError

        if not Path(path).is_file():
            raise ValueError(f"{path}: no such file (the mask); give a .npy (True = measured) or a PNG (white = "
                             "measured)")
        try:
            with Image.open(path) as image:
                grey = np.asarray(image.convert("L"), dtype=float)
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(f"{path}: cannot read the mask as an image ({str(error).splitlines()[0]})") from None
        return grey >= 128
    known = _read_array(path, "the mask")
    if known.dtype != bool:
        if not np.isin(known, (0, 1)).all():
            raise ValueError(f"{path}: a mask is True/False (or 1/0) per pixel, True = measured; found other values")
        known = known.astype(bool)
    return known


# ---------------------------------------------------------------------- inputs
def read_measurements(source: str, bound) -> np.ndarray:
    """(N, *out_shape) float measurements from a .npy/.npz file or a folder of PNGs, NaN where the
    operator measures nothing; a one-line error that names the file for a wrong shape or value."""
    from ..core.errors import ParameterError
    from ..data.image_files import read_images

    path = Path(source)
    if not path.exists():
        raise ValueError(f"{source}: no such file or folder (the measurements); give a .npy/.npz file or a folder "
                         "of PNGs")
    if path.is_dir():
        y = read_images(path)[0].astype(float) / 255.0
    elif path.suffix.lower() in (".npy", ".npz"):
        y = _read_array(source, "the measurements")
        if y.dtype.kind in "iu":
            y = y / 255.0
        y = np.asarray(y, dtype=float)
    else:
        raise ValueError(f"{source}: give the measurements as a .npy/.npz array or a folder of PNGs")
    if np.isinf(y).any():
        raise ValueError(f"{source}: the measurements hold an infinite value; give finite numbers (NaN where "
                         "nothing was measured)")
    if not np.isnan(y).all() and (np.nanmax(y) > 2 or np.nanmin(y) < -1):
        raise ValueError(f"{source}: the measurements range from {np.nanmin(y):g} to {np.nanmax(y):g}; they are on "
                         "the 0..1 intensity scale (noise may cross it a little): divide by 255 (or the top level)")
    out = bound.out_shape
    if y.shape == out or (out[-1:] == (1,) and y.shape == out[:-1]):
        y = y[None]                                                  # one measurement
    if y.shape[1:] != out and not (out[-1:] == (1,) and y.shape[1:] == out[:-1]):
        shown = "x".join(map(str, out[:-1] if out[-1:] == (1,) and len(out) == 3 else out))
        raise ValueError(f"{source}: each measurement is {'x'.join(map(str, y.shape[1:])) or 'a number'}, but "
                         f"{bound.operator!r} on this model's {'x'.join(map(str, bound.shape))} images measures "
                         f"{shown}: give measurements of that shape (or the operator they were taken with)")
    y = y.reshape((len(y),) + out)
    measured = bound.operator.measured_like(y)
    if measured is not None:
        y = np.where(measured, y, np.nan)     # what a mask did not measure is NaN, whatever the file held there
    try:
        bound.read(y)
    except ParameterError as error:
        raise ValueError(f"{source}: {error}") from None
    return y


def read_truth(source: str, model, count: int) -> np.ndarray:
    """The true images as intensities in [0, 1] (PNGs / 255, levels / the model's top level)."""
    from ..data.images import LevelImages
    from .images import read_images

    images = read_images(source)
    codec = model.codec_
    shape = tuple(codec.image_shape)
    if images.shape[1:] != shape and images.shape[1:] != shape + (1,):
        raise ValueError(f"{source}: the true images are {'x'.join(map(str, images.shape[1:]))}, the model's are "
                         f"{'x'.join(map(str, shape))}: give the images the measurements were taken of")
    if len(images) != count:
        raise ValueError(f"{source}: {len(images):,} true images for {count:,} measurements: give one per "
                         "measurement, in the same order")
    if images.dtype.kind in "iu":
        if isinstance(images, LevelImages):                    # a built-in set that says its levels
            top = images.levels - 1
        elif Path(source).is_dir() or codec.n_levels in (None, 256):
            top = 255                                          # PNGs: 0..255, whatever the model's levels
        else:
            top = codec.n_levels - 1                           # a saved array of the model's levels
        if images.max() > top:
            raise ValueError(f"{source}: found level {images.max()} in the true images; the model has levels "
                             f"0..{top}")
        images = images / top
    images = np.asarray(images, dtype=float).reshape((count,) + shape)
    if np.isnan(images).any():
        raise ValueError(f"{source}: the true images hold NaN; give complete images")
    return images


# ---------------------------------------------------------------------- the command
def restore_command(args) -> str:
    from ..core.registry import load
    from ..tasks.restore import restore

    operator = parse_operator(args.operator)                 # a typo costs nothing
    out = Path(args.out)
    _check_folder_out(out, args.force)
    if args.draws < 1:
        raise ValueError(f"--draws {args.draws}: give 1 or more (20 gives usable intervals)")
    model = load(args.model_dir)
    if model.data_kind != "image":
        raise ValueError(f"{args.model_dir} holds a model of {model.data_kind}s; plausible restore works on "
                         "images (for tables: pl.restore in Python with pl.operators.matrix)")
    bound = _bind(operator, model, args.operator)
    y = read_measurements(args.data, bound)
    truth = read_truth(args.truth, model, len(y)) if args.truth else None
    draws = restore(model, y, operator, noise_sd=args.noise_sd, n_draws=args.draws, seed=args.seed,
                    method=args.method)
    mean, spread = draws.mean(axis=0), draws.std(axis=0)
    _write_outputs(out, np.asarray(draws), mean, spread, y, truth, args.force)
    how = "chosen by auto" if args.method == "auto" else "as asked"
    lines = [f"method: {draws.method} ({how}; {model.name} prior, {operator!r}, noise sd {args.noise_sd:g})",
             (f"restored {len(y):,} images, {args.draws} draws each; wrote {out}/: draws.npy "
              f"{tuple(draws.shape)}, mean.npy, spread.npy, mean.png, spread.png, figure.png")]
    if truth is not None:
        lines += ["", summary(truth, draws)]
    return "\n".join(lines)


def summary(truth: np.ndarray, draws) -> str:
    """pl.evaluate_restoration's lines: PSNR/SSIM of the mean, 90% coverage, Fréchet distances."""
    from ..evaluation.restoration import evaluate_restoration

    try:
        return str(evaluate_restoration(truth=truth, draws=draws))
    except ImportError as error:          # scikit-image missing: one line, not a traceback
        raise RuntimeError(f"--truth: {error}") from None


def _bind(operator, model, spec: str):
    from ..core.errors import ParameterError

    try:
        return operator.bind(model.codec_.shape)
    except ParameterError as error:
        raise ValueError(f"--operator {spec}: {error}") from None


def _check_folder_out(out: Path, force: bool) -> None:
    from .files import _check_parent

    if out.suffix.lower() in (".npy", ".npz", ".png"):
        raise ValueError(f"--out {out}: restore writes a folder (draws.npy, mean.npy, spread.npy, PNGs, figure.png); "
                         f"give a folder name, e.g. {out.with_suffix('')}")
    if out.is_file():
        raise ValueError(f"--out {out} is a file; give a folder name")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ValueError(f"--out {out}: the folder is not empty; choose another or replace it with --force")
    _check_parent(out)


def _write_outputs(out: Path, draws, mean, spread, y, truth, force: bool) -> None:
    """Every file into a temporary folder beside `out`, then renamed into place: all or nothing."""
    from ..data.image_files import _replace_folder, image_grid
    from ..data.io import make_public
    from ..demo_restore import restoration_figure, spread_picture

    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name, array in (("draws", draws), ("mean", mean), ("spread", spread)):
            buffer = io.BytesIO()
            np.save(buffer, array.astype(np.float32), allow_pickle=False)
            (temp / f"{name}.npy").write_bytes(buffer.getvalue())
        _save_png(image_grid(mean), temp / "mean.png")
        _save_png(image_grid(spread_picture(spread)), temp / "spread.png")
        shown = slice(0, FIGURE_ROWS)
        rows = []
        for i in range(min(len(mean), FIGURE_ROWS)):
            panels = ([("truth", truth[i])] if truth is not None else []) + [("measurement", y[i]),
                                                                             ("mean", mean[i])]
            panels += [(f"draw {k + 1}", draws[k, i]) for k in range(min(4, len(draws)))]
            rows.append((f"image {i}", panels + [("spread", spread[i])]))
        restoration_figure(rows, temp / "figure.png", spread_max=float(spread[shown].max()))
        for file in temp.iterdir():
            make_public(file)
        make_public(temp)
        if out.exists() and not force and any(out.iterdir()):
            raise ValueError(f"--out {out}: the folder is not empty; choose another or replace it with --force")
        _replace_folder(temp, out)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _save_png(picture: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(picture).save(path, format="PNG")


def demo_command(args) -> str:
    """`plausible demo restore`: the figure to --out (default plausible-restore.png), the table printed."""
    from ..core.registry import get_class, variant
    from ..demo_restore import FIGURE, PRIOR, demo_restore
    from .files import _check_parent

    out = Path(args.out or FIGURE)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out for the restore demo is the figure: give a .png file, got {str(out)!r}")
    _check_parent(out)
    prior = args.model or PRIOR
    takes = (variant(prior, "image") or get_class(prior)).params
    params = {"time_budget": args.time_budget} if args.time_budget is not None and "time_budget" in takes else {}
    demo_restore(out=out, prior=prior, params=params, seed=args.seed)
    return ""
