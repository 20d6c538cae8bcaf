"""Images in and out: a folder of PNG files, a `.npy` file or a `.npz` file, written atomically.

The image kind (DESIGN.md, data kinds): arrays (N, H, W) for grey images and (N, H, W, C) with C in
{1, 3, 4}, channels last; integers are levels (uint8 read from PNGs: 0..255), floats are intensities
in [0, 1] with NaN for a hidden pixel. A folder is read in file-name order (plain sort: `10.png`
before `9.png`); files whose names start with a dot are skipped, any other file must be an image.

>>> images, names = read_images("faces/")               # (N, H, W) or (N, H, W, C) uint8
>>> write_images(images, "copies/", levels=256)         # copies/000000.png ... plus copies/grid.png

Every error is one line that names the file and says what to do (`ImageFileError`, a ValueError).
"""
from __future__ import annotations

import io
import math
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .io import make_public, write_bytes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
ARRAY_SUFFIXES = (".npy", ".npz")
GRID_NAME = "grid.png"
HOLE_COLOR = (255, 0, 255)     # magenta: a NaN pixel in a PNG
BORDER_GREY = 128              # the lines between a grid's images
# Pillow's modes, turned into the ones an image array holds: grey, RGB or RGBA (8 bits per channel)
_MODES = {"1": "L", "L": "L", "P": "RGB", "RGB": "RGB", "RGBA": "RGBA", "LA": "RGBA", "PA": "RGBA",
          "RGBa": "RGBA", "La": "RGBA", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}


class ImageFileError(ValueError):
    """An image file or folder cannot be read or written as asked; the message names it."""


class ImagesNotFoundError(ImageFileError, FileNotFoundError):
    """The path given for images does not exist."""


def read_images(path) -> tuple[np.ndarray, list[str] | None]:
    """Read images: a folder of PNG (or JPEG, BMP) files, a `.npy` file, or a `.npz` file.

    Returns `(images, names)`. From a folder: uint8 (N, H, W) for grey files, (N, H, W, 3) or
    (N, H, W, 4) for colour ones (palette files become RGB, or RGBA when they hold transparency),
    and `names`, the file names in the order read. Every file must have the same size and mode;
    `grid.png` whose size differs from the others (the overview `write_images` adds) is skipped.
    From `.npy`/`.npz`: the stored array after the checks of `check_images`, and `names` None; a
    `.npz` gives its only array, or the one named `images`."""
    path = Path(path)
    if not path.exists():
        raise ImagesNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        return _read_folder(path)
    suffix = path.suffix.lower()
    if suffix not in ARRAY_SUFFIXES:
        raise ImageFileError(f"{path}: not an image collection; give a folder of PNG files, a .npy or a .npz file")
    try:
        stored = np.load(path, allow_pickle=False)      # an ndarray, or an NpzFile to close
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:   # not NumPy's format, cut short, objects
        reason = "not NumPy's format, or Python objects" if "pickle" in str(error) else _first_line(error)
        raise ImageFileError(f"{path}: cannot read it as {suffix} ({reason})") from None
    if isinstance(stored, np.ndarray):
        array = stored
    else:
        with stored:
            array = _single_array(path, stored)
    return check_images(array, path), None


def _single_array(path: Path, stored) -> np.ndarray:
    keys = list(stored.keys())
    try:
        if len(keys) == 1:
            return stored[keys[0]]
        if "images" in keys:
            return stored["images"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:   # a damaged member, or objects
        raise ImageFileError(f"{path}: cannot read it as .npz ({_first_line(error)})") from None
    if not keys:
        raise ImageFileError(f"{path} holds no arrays; save the images in it (np.savez(path, images=...))")
    listed = ", ".join(keys)
    raise ImageFileError(f"{path} holds several arrays ({listed}) and none named 'images'; "
                         "save the images alone or as images=...")


def _read_folder(folder: Path) -> tuple[np.ndarray, list[str]]:
    from PIL import Image, UnidentifiedImageError

    names = sorted(entry.name for entry in folder.iterdir() if not entry.name.startswith("."))
    for name in names:
        if (folder / name).is_dir() or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
            raise ImageFileError(f"{folder / name}: not an image file; an image folder holds only "
                                 f"{', '.join(IMAGE_SUFFIXES)} files (names starting with '.' are skipped)")
    headers = {}
    for name in names:                  # sizes and modes from the headers first: a mismatch is found at once
        try:
            with Image.open(folder / name) as image:
                headers[name] = (image.size, _array_mode(folder / name, image))
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise ImageFileError(f"{folder / name}: cannot read it as an image ({_first_line(error)})") from None
    if GRID_NAME in headers and len(headers) > 1 and any(
            headers[GRID_NAME][0] != headers[name][0] for name in names if name != GRID_NAME):
        names.remove(GRID_NAME)
    if not names:
        raise ImageFileError(f"{folder}: the folder holds no images; put PNG files in it")
    first = names[0]
    for name in names[1:]:
        if headers[name] != headers[first]:
            raise ImageFileError(f"{folder}: images must share one size and mode, but {first} is "
                                 f"{_described(headers[first])} and {name} is {_described(headers[name])} "
                                 "(width x height)")
    images = np.empty((len(names),) + _shape(*headers[first]), dtype=np.uint8)
    for index, name in enumerate(names):
        try:
            with Image.open(folder / name) as image:
                images[index] = np.asarray(_converted(image))
        except (OSError, SyntaxError, ValueError) as error:     # a truncated or damaged file
            raise ImageFileError(f"{folder / name}: cannot read it as an image ({_first_line(error)})") from None
    return images, names


def _array_mode(path: Path, image) -> str:
    if image.mode not in _MODES:        # I;16, I, F: more than 8 bits per channel
        raise ImageFileError(f"{path}: Pillow mode {image.mode!r} ({'16' if '16' in image.mode else '32'}-bit "
                             "values) is not supported; save it with 8 bits per channel")
    if image.mode == "P" and "transparency" in image.info:
        return "RGBA"
    return _MODES[image.mode]


def _converted(image):
    mode = _array_mode(Path(image.filename or "image"), image)
    return image if image.mode == mode else image.convert(mode)


def _shape(size: tuple[int, int], mode: str) -> tuple[int, ...]:
    width, height = size
    return (height, width) if mode == "L" else (height, width, len(mode))


def _described(header) -> str:
    (width, height), mode = header
    return f"{width}x{height} {'grey' if mode == 'L' else mode}"


def _first_line(error) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def check_images(array, where="images") -> np.ndarray:
    """The checks an image array passes before it is written or returned: (N, H, W) or (N, H, W, C)
    with C in {1, 3, 4} and N >= 1; integers >= 0, or floats in [0, 1] (NaN allowed: a hidden pixel).
    `where` names the file or argument in the error."""
    array = np.asarray(array)
    if array.ndim not in (3, 4) or array.shape[0] == 0 or 0 in array.shape:
        raise ImageFileError(f"{where}: images are arrays (N, H, W) or (N, H, W, C) with N >= 1, "
                             f"got shape {array.shape}")
    if array.ndim == 4 and array.shape[3] not in (1, 3, 4):
        hint = " (channels first? use array.transpose(0, 2, 3, 1))" if array.shape[1] in (1, 3, 4) else ""
        raise ImageFileError(f"{where}: images have 1, 3 or 4 channels, last (N, H, W, C); got shape "
                             f"{array.shape}{hint}")
    if array.dtype.kind in "iu":
        if array.dtype.kind == "i" and array.min() < 0:
            raise ImageFileError(f"{where}: integer images hold levels 0, 1, 2, ...; found {array.min()}")
    elif array.dtype.kind == "f":
        if np.isinf(array).any():
            raise ImageFileError(f"{where}: float images hold intensities in [0, 1]; found an infinite value")
        if not np.isnan(array).all():
            low, high = np.nanmin(array), np.nanmax(array)
            if low < 0 or high > 1:
                raise ImageFileError(f"{where}: float images hold intensities in [0, 1], found values from {low:g} "
                                     f"to {high:g}; divide by 255 (or by the top level) first")
    else:
        raise ImageFileError(f"{where}: images are integers (levels) or floats in [0, 1], not {array.dtype}; "
                             "convert with .astype(np.uint8) or .astype(float)")
    return array


def to_display(images, levels: int | None = None, where="images") -> np.ndarray:
    """uint8 images for a screen or a PNG: floats times 255, integer levels 0..L-1 spread over
    0..255 (`levels` L; default 256 for uint8, else the largest value + 1). A pixel with a NaN in
    any channel becomes magenta, and the images become RGB(A) if they were grey."""
    images = check_images(images, where)
    if images.ndim == 4 and images.shape[3] == 1:
        images = images[..., 0]
    holes = None
    if images.dtype.kind == "f":
        holes = np.isnan(images)
        shown = np.rint(np.nan_to_num(images, nan=0.0) * 255)
    else:
        if levels is None:
            levels = 256 if images.dtype == np.uint8 else max(int(images.max()) + 1, 2)
        if not 2 <= levels <= 2 ** 16:
            raise ImageFileError(f"{where}: levels must be between 2 and 65536, got {levels}")
        if images.max() >= levels:
            raise ImageFileError(f"{where}: levels={levels} means values 0..{levels - 1}, found {images.max()}; "
                                 f"give levels={int(images.max()) + 1} or more")
        shown = images if levels == 256 else np.rint(images.astype(float) * (255 / (levels - 1)))
    shown = shown.astype(np.uint8)
    if holes is not None and holes.any():
        if shown.ndim == 3:
            shown, holes = np.repeat(shown[..., None], 3, axis=3), np.repeat(holes[..., None], 3, axis=3)
        hole = holes.any(axis=3)
        shown[hole, :3] = HOLE_COLOR
        if shown.shape[3] == 4:
            shown[hole, 3] = 255
    return shown


def image_grid(images, levels: int | None = None, columns: int | None = None, scale: int = 1) -> np.ndarray:
    """One uint8 picture of all the images on a near-square grid (what `grid.png` holds): `columns`
    per row (default ceil(sqrt(N))), each image enlarged `scale` times (nearest neighbour), with a
    grey line between images and around them (1 px, 2 px when scale > 1). Grey images give (height,
    width), colour ones (height, width, C); NaN pixels are magenta (see `to_display`)."""
    if int(scale) != scale or scale < 1:
        raise ImageFileError(f"scale must be a whole number >= 1, got {scale}")
    shown = to_display(images, levels)
    count = len(shown)
    columns = math.ceil(math.sqrt(count)) if columns is None else int(columns)
    if columns < 1:
        raise ImageFileError(f"columns must be >= 1, got {columns}")
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    shown = shown.repeat(scale, axis=1).repeat(scale, axis=2)
    height, width = shown.shape[1:3]
    border = 1 if scale == 1 else 2
    grid = np.full((rows * (height + border) + border, columns * (width + border) + border) + shown.shape[3:],
                   BORDER_GREY, dtype=np.uint8)
    if grid.ndim == 3 and grid.shape[2] == 4:
        grid[..., 3] = 255
    for index, image in enumerate(shown):
        top = border + (index // columns) * (height + border)
        left = border + (index % columns) * (width + border)
        grid[top:top + height, left:left + width] = image
    return grid


def write_images(images, path, grid: bool = True, names=None, levels: int | None = None,
                 overwrite: bool = False) -> Path:
    """Write images atomically. `path` ending in `.npy` or `.npz` (key `images`) stores the array as
    it is. Any other path is a folder of PNG files, `000000.png`, `000001.png`, ... (or `names`, one
    per image, written with the suffix .png), plus `grid.png` (`image_grid`) when `grid`. Levels,
    floats and NaN holes are drawn as `to_display` says. The folder is built under a temporary name
    beside `path` and renamed into place, so a failure leaves nothing; an existing non-empty folder
    is replaced only with `overwrite=True` (a .npy/.npz file is replaced, atomically, as tables
    are). Returns `path`."""
    path = Path(path)
    suffix = path.suffix.lower()
    images = check_images(images, path)
    if suffix in ARRAY_SUFFIXES:
        buffer = io.BytesIO()
        np.save(buffer, images) if suffix == ".npy" else np.savez_compressed(buffer, images=images)
        return write_bytes(buffer.getvalue(), path)
    if suffix in IMAGE_SUFFIXES:
        raise ImageFileError(f"{path}: images are written to a folder of PNGs, a .npy or a .npz file; "
                             f"give a folder name (for example {path.with_suffix('')})")
    files = _file_names(path, len(images), names, grid)
    if path.is_file():
        raise ImageFileError(f"{path} is a file; give a folder name, or a .npy or .npz file")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ImageFileError(f"{path}: the folder is not empty; choose another name or overwrite it (overwrite=True)")
    shown = to_display(images, levels, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        for image, name in zip(shown, files):
            _save_png(image, temp / name)
        if grid:
            _save_png(image_grid(images, levels), temp / GRID_NAME)
        make_public(temp)
        _replace_folder(temp, path)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return path


def _file_names(path: Path, count: int, names, grid: bool) -> list[str]:
    if names is None:
        return [f"{index:06d}.png" for index in range(count)]
    files = [f"{Path(str(name)).stem}.png" for name in names]
    if len(files) != count:
        raise ImageFileError(f"{path}: {len(files)} names for {count} images; give one name per image")
    bad = [str(name) for name in names if Path(str(name)).name != str(name) or str(name).startswith(".")
           or not Path(str(name)).stem]
    if bad:
        raise ImageFileError(f"{path}: image name {bad[0]!r} is not a plain file name; drop folders and leading dots")
    seen = set()
    for name, file in zip(names, files):
        if file in seen or (grid and file == GRID_NAME):
            raise ImageFileError(f"{path}: two images would both be written as {file} (from {name!r}); "
                                 "give distinct names" + (" other than 'grid'" if file == GRID_NAME else ""))
        seen.add(file)
    return files


def _save_png(image: np.ndarray, target: Path) -> None:
    from PIL import Image

    Image.fromarray(image).save(target, format="PNG")


def _replace_folder(temp: Path, path: Path) -> None:
    """Rename the finished folder into place; an existing one is moved aside first and removed
    only once the new one stands where it stood."""
    if not path.exists():
        os.replace(temp, path)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
    os.rmdir(old)
    os.replace(path, old)
    try:
        os.replace(temp, path)
    except OSError:
        os.replace(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)
