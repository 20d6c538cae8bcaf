"""Images as a data kind: arrays (N, H, W) for grey images, (N, H, W, C) with C in {1, 3, 4} for colour.

Channels last, as PIL, matplotlib and scikit-image use. What the pixels are is read from the dtype:

- uint8: 256 levels, 0..255;
- any other integer dtype: levels 0..L-1, with L - 1 the largest value in the training images
  (scikit-learn's digits: 0..16, L = 17), stored in the model file;
- floats: intensities in [0, 1] (no levels), NaN where a pixel is unknown.

An array may say its level count itself: `with_levels(images, 17)` gives a `LevelImages` view (what
`pl.datasets.load("digits")` returns: uint8 values 0..16 that are 17 levels, not 256), and
`fit(images, schema={"levels": 17})` (CLI: `--schema levels=17`) says it for any integer array.

A model fitted on levels also takes intensities (a level image divided by L - 1, e.g. uint8 / 255,
with NaN holes) in `impute`, `log_prob` and friends, and answers in the kind it was given.

Model space is `Pixels`: every image flattened to D = H * W * C values in raster order, channels
last. `values` holds intensities in [0, 1] (for level images the centre of each level's cell,
(level + 0.5) / L); `levels` the level of each pixel (level images only, -1 where unknown). A model
declares `pixel_space`: "levels" (it models the L levels of each pixel as categories: its log_prob is
the exact probability of the levels) or "intensities" (a density on [0, 1]^D). For a continuous
model on level images, log P(levels) is the dequantization bound: E_u log p((level + u) / L) -
D log L with u uniform in each level's cell; the codec adds the -D log L and the model scores
`pixels.dequantized(rng)` (one fixed draw of u), which is why such models declare "bound".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import ParameterError
from .schema import SchemaError

CHANNELS = (1, 3, 4)


class LevelImages(np.ndarray):
    """An integer image array that knows its number of levels (`levels`): uint8 digits with values
    0..16 are 17 levels. Slices and copies keep it."""

    levels: int | None = None

    def __array_finalize__(self, source) -> None:
        self.levels = getattr(source, "levels", None)


def with_levels(images: np.ndarray, levels: int) -> LevelImages:
    """`images` (integers 0..levels-1) as a `LevelImages` view that says its level count."""
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.integer) or images.size and (images.min() < 0 or images.max() >= levels):
        raise ValueError(f"with_levels needs integers 0..{levels - 1}, got {images.dtype} from {images.min()} "
                         f"to {images.max()}")
    view = images.view(LevelImages)
    view.levels = int(levels)
    return view


def declared_levels(images: np.ndarray, overrides: dict | None) -> int | None:
    """The level count `images` declare (`schema={"levels": L}`, else a `LevelImages` attribute)."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - {"levels"})
    if unknown:
        raise ParameterError(f"images take one schema setting, levels (e.g. schema={{'levels': 17}}); got "
                             f"{unknown[0]!r} (the pixels' kind comes from the array's dtype: uint8, other integers, "
                             "or floats in [0, 1])")
    levels = overrides.get("levels", getattr(images, "levels", None))
    if levels is None or np.issubdtype(images.dtype, np.floating) and "levels" not in overrides:
        return None
    try:
        levels = int(levels)
    except (TypeError, ValueError):
        raise ParameterError(f"levels must be a whole number of at least 2, got {levels!r}") from None
    if levels < 2:
        raise ParameterError(f"levels must be a whole number of at least 2, got {levels}")
    if np.issubdtype(images.dtype, np.floating):
        raise ParameterError("levels= is for integer images; float images are intensities in [0, 1]")
    if images.size and int(images.max()) >= levels:
        raise SchemaError(f"the images hold level {int(images.max())}, more than levels={levels} allow "
                          f"(0..{levels - 1})")
    return levels


@dataclass
class Pixels:
    """A batch of images in model space (module doc). `shape` is one image's (H, W, C)."""

    values: np.ndarray              # (N, D) float64 in [0, 1], NaN where unknown
    levels: np.ndarray | None       # (N, D) int64, -1 where unknown; None for float images
    shape: tuple
    n_levels: int | None

    def __len__(self) -> int:
        return len(self.values)

    @property
    def known(self) -> np.ndarray:
        """(N, D) True where the pixel is given."""
        return ~np.isnan(self.values)

    def take(self, rows) -> "Pixels":
        return Pixels(self.values[rows], None if self.levels is None else self.levels[rows], self.shape,
                      self.n_levels)

    def cells(self, n_cells: int) -> np.ndarray:
        """(N, D) each pixel's level, or for float images its cell of `n_cells` equal cells on [0, 1];
        -1 where unknown (what the counting rungs index their tables with)."""
        if self.levels is not None:
            return self.levels
        known = ~np.isnan(self.values)
        cells = np.full(self.values.shape, -1, dtype=np.int64)
        cells[known] = np.minimum((self.values[known] * n_cells).astype(np.int64), n_cells - 1)
        return cells

    def completed_by(self, drawn: "Pixels") -> "Pixels":
        """These pixels with the unknown ones taken from `drawn` (complete, same shape)."""
        known = self.known
        levels = None if self.levels is None else np.where(known, self.levels, drawn.levels)
        return Pixels(np.where(known, self.values, drawn.values), levels, self.shape, self.n_levels)

    def dequantized(self, rng: np.random.Generator) -> np.ndarray:
        """Values moved uniformly inside each level's cell (level + u) / L (floats: unchanged)."""
        if self.n_levels is None:
            return self.values
        return self.values + (rng.random(self.values.shape) - 0.5) / self.n_levels

    def nchw(self, values: np.ndarray | None = None) -> np.ndarray:
        """`values` (default: self.values) as (N, C, H, W), what convolutions take."""
        height, width, channels = self.shape
        values = self.values if values is None else values
        return values.reshape(len(values), height, width, channels).transpose(0, 3, 1, 2)

    @classmethod
    def from_values(cls, values: np.ndarray, like: "Pixels | ImageCodec") -> "Pixels":
        """Complete intensities (N, D) or (N, C, H, W) in a batch's or codec's format (levels from the
        values' cells where the images have levels)."""
        values = np.asarray(values, dtype=float)
        if values.ndim == 4:
            values = values.transpose(0, 2, 3, 1).reshape(len(values), -1)
        values = np.clip(values, 0.0, 1.0)
        levels = None
        if like.n_levels is not None:
            levels = np.minimum((values * like.n_levels).astype(np.int64), like.n_levels - 1)
        return cls(values, levels, tuple(like.shape), like.n_levels)

    @classmethod
    def from_cells(cls, cells: np.ndarray, like: "Pixels | ImageCodec", n_cells: int, rng) -> "Pixels":
        """Complete `Pixels` for drawn cells: levels where the images have levels, else a value drawn
        uniformly inside each of `n_cells` equal cells on [0, 1]."""
        if like.n_levels is not None:
            return cls.from_levels(cells, like)
        return cls.from_values((cells + rng.random(cells.shape)) / n_cells, like)

    @classmethod
    def from_levels(cls, levels: np.ndarray, like: "Pixels | ImageCodec") -> "Pixels":
        """Complete levels (N, D) in a batch's or codec's format (values at the cells' centres)."""
        levels = np.asarray(levels, dtype=np.int64)
        return cls((levels + 0.5) / like.n_levels, levels, tuple(like.shape), like.n_levels)


def count_cells(cells: np.ndarray, n_cells: int) -> np.ndarray:
    """(D, n_cells): how often each pixel (column of `cells`, values 0..n_cells-1) is in each cell."""
    counts = np.zeros((cells.shape[1], n_cells))
    np.add.at(counts, (np.broadcast_to(np.arange(cells.shape[1]), cells.shape), cells), 1.0)
    return counts


def is_image_batch(data) -> bool:
    """Whether `data` is what the image kind takes: a numpy array of 3 or 4 dimensions."""
    return isinstance(data, np.ndarray) and data.ndim in (3, 4)


class ImageCodec:
    """Image arrays <-> `Pixels` (module doc)."""

    kind = "image"

    def __init__(self, shape: tuple, dtype: str, n_levels: int | None, pixel_space: str = "intensities",
                 input_kind: str = "levels", grey: bool = False):
        self.shape, self.dtype, self.n_levels = tuple(int(s) for s in shape), str(dtype), n_levels
        self.pixel_space, self.input_kind = pixel_space, input_kind
        self._grey = grey                      # fitted on (N, H, W): answers in that shape
        self.schema = self.layout = None       # tables only

    @property
    def size(self) -> int:
        """D, the number of values in one image."""
        return int(np.prod(self.shape))

    @property
    def image_shape(self) -> tuple:
        """One image's shape as the user gives it: (H, W) for grey images, (H, W, C) for colour."""
        return self.shape[:2] if self._grey else self.shape

    # ------------------------------------------------------------------ fitting
    @classmethod
    def read(cls, data, names=None) -> tuple[np.ndarray, str]:
        images = _as_images(data)
        kind = "intensities" if np.issubdtype(images.dtype, np.floating) else "levels"
        return images, kind

    @classmethod
    def fit(cls, images: np.ndarray, overrides, input_kind: str, pixel_space: str = "intensities",
            **options) -> "ImageCodec":
        declared = declared_levels(images, overrides)
        _check_values(images, None, None)
        if np.issubdtype(images.dtype, np.floating):
            if np.isnan(images).any():
                index = int(np.flatnonzero(np.isnan(images).reshape(len(images), -1).any(axis=1))[0])
                raise SchemaError(f"image {index} has missing pixels (NaN): fit needs complete images; fill or "
                                  "drop them first (model.impute fills gaps once a model is fitted)")
            n_levels = None
        elif declared is not None:
            n_levels = declared
        elif images.dtype == np.uint8:
            n_levels = 256
        else:
            n_levels = int(images.max()) + 1
            if n_levels < 2:
                raise SchemaError("every pixel of every image is 0: there is nothing to learn; give images "
                                  "with at least two levels")
        return cls(_model_shape(images), str(images.dtype), n_levels, pixel_space, input_kind, grey=images.ndim == 3)

    # ------------------------------------------------------------------ the codec protocol
    def check(self, images: np.ndarray, allow_missing_cells: bool = False) -> np.ndarray:
        """`images` validated against the fitted shape and levels (errors name the image)."""
        if images.shape[1:] != self.image_shape and not (
                images.ndim == 4 and self._grey and images.shape[1:] == (*self.image_shape, 1)):
            raise SchemaError(f"the images have shape {images.shape[1:]}; the model was fitted on images of shape "
                              f"{self.image_shape}: give images of that shape")
        if len(images) == 0:
            raise SchemaError("no images were given: give at least one")
        _check_values(images, self.n_levels, self.dtype)
        if not allow_missing_cells and np.issubdtype(images.dtype, np.floating) and np.isnan(images).any():
            index = int(np.flatnonzero(np.isnan(images).reshape(len(images), -1).any(axis=1))[0])
            raise SchemaError(f"image {index} has missing pixels (NaN): log_prob scores complete images; use "
                              "impute to fill them")
        if allow_missing_cells and np.issubdtype(images.dtype, np.floating):
            flat = images.reshape(len(images), -1)
            empty = np.flatnonzero(np.isnan(flat).all(axis=1))
            if empty.size:
                raise SchemaError(f"image {int(empty[0])} has no known pixel at all: there is nothing to "
                                  "condition on; use sample() for new images")
        return images

    def encode(self, images: np.ndarray, unknown_missing: bool = False) -> Pixels:
        flat = images.reshape(len(images), -1)
        if np.issubdtype(images.dtype, np.floating):
            if self.n_levels is None:
                return Pixels(flat.astype(float), None, self.shape, None)
            known = ~np.isnan(flat)
            levels = np.full(flat.shape, -1, dtype=np.int64)
            levels[known] = np.rint(flat[known] * (self.n_levels - 1)).astype(np.int64)
        else:
            levels = flat.astype(np.int64)
            known = np.ones(flat.shape, dtype=bool)
        values = np.where(known, (levels + 0.5) / self.n_levels, np.nan)
        return Pixels(values, levels, self.shape, self.n_levels)

    def decode(self, pixels: Pixels, rng=None) -> np.ndarray:
        """Complete `Pixels` as images of the fitted dtype and shape."""
        if self.n_levels is None:
            images = np.clip(np.nan_to_num(pixels.values, nan=0.5), 0.0, 1.0).astype(self.dtype)
        else:
            levels = pixels.levels
            if levels is None:
                levels = Pixels.from_values(pixels.values, self).levels
            images = np.clip(levels, 0, self.n_levels - 1).astype(self.dtype)
            if not (images.dtype == np.uint8 and self.n_levels == 256):     # say the levels the dtype does not
                images = with_levels(images, self.n_levels)
        return images.reshape(len(images), *self.image_shape)

    def empty(self) -> Pixels:
        return Pixels(np.zeros((0, self.size)), None if self.n_levels is None else np.zeros((0, self.size), np.int64),
                      self.shape, self.n_levels)

    def unseen_rows(self, images: np.ndarray) -> np.ndarray:
        """Images holding a value outside the fitted levels or [0, 1] (log P = -inf there)."""
        flat = np.asarray(images).reshape(len(images), -1)
        if np.issubdtype(flat.dtype, np.floating):
            with np.errstate(invalid="ignore"):
                return ((flat < 0) | (flat > 1)).any(axis=1)
        top = 255 if self.n_levels is None else self.n_levels - 1
        return ((flat < 0) | (flat > top)).any(axis=1)

    def log_jacobian(self, images: np.ndarray) -> np.ndarray:
        """-D log L for a density model on level images (each level a cell of width 1/L); 0 otherwise."""
        if self.n_levels is None or self.pixel_space == "levels":
            return np.zeros(len(images))
        return np.full(len(images), -self.size * np.log(self.n_levels))

    def output(self, images: np.ndarray) -> np.ndarray:
        return images

    def fill(self, data, images: np.ndarray, draw, rngs: list) -> list:
        """Each rng's completion of `images` (checked; unknown pixels NaN): `draw(pixels, rng)` fills
        the images with an unknown pixel; known pixels come back exactly as given, in the kind given
        (intensities for floats, levels for integer arrays)."""
        encoded = self.encode(images, unknown_missing=True)
        incomplete = np.flatnonzero((~encoded.known).any(axis=1))
        floats = np.issubdtype(images.dtype, np.floating)
        draws = []
        for rng in rngs:
            completed = images.copy()
            if incomplete.size:
                filled = draw(encoded.take(incomplete), rng)
                if floats and self.n_levels is None:
                    answer = np.clip(filled.values, 0.0, 1.0)
                elif floats:
                    answer = _levels_of(filled, self) / (self.n_levels - 1)
                else:
                    answer = _levels_of(filled, self)
                flat = completed.reshape(len(completed), -1)
                part = flat[incomplete]
                gaps = ~encoded.known[incomplete]
                part[gaps] = answer[gaps]
                flat[incomplete] = part
                completed = flat.reshape(images.shape)
            draws.append(completed)
        return draws

    def with_mask(self, images: np.ndarray, mask) -> np.ndarray:
        """`images` as intensities with NaN where `mask` is True (True = pixel to fill, as scikit-image's
        inpainting functions take it)."""
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise SchemaError(f"mask must be a boolean array (True = pixel to fill), got dtype {mask.dtype}")
        if mask.shape == images.shape[:3] and images.ndim == 4:
            mask = np.broadcast_to(mask[..., None], images.shape)
        if mask.shape != images.shape:
            raise SchemaError(f"mask has shape {mask.shape}; the images have shape {images.shape}: give one value "
                              "per pixel (or per pixel and channel)")
        floats = images.astype(float) / (1 if np.issubdtype(images.dtype, np.floating) else
                                         (self.n_levels or 256) - 1)
        return np.where(mask, np.nan, floats)

    def like(self, intensities: np.ndarray, given: np.ndarray) -> np.ndarray:
        """Completed intensities back in the dtype of the images `given` (levels for integer arrays)."""
        if np.issubdtype(given.dtype, np.floating):
            return intensities.astype(given.dtype)
        return np.rint(intensities * ((self.n_levels or 256) - 1)).astype(given.dtype)

    def to_config(self) -> dict:
        return {"data_kind": "image", "input": self.input_kind,
                "images": {"shape": list(self.image_shape), "dtype": self.dtype, "levels": self.n_levels,
                           "pixel_space": self.pixel_space}}

    @classmethod
    def from_config(cls, config: dict) -> "ImageCodec":
        spec = config["images"]
        image_shape = tuple(spec["shape"])
        if len(image_shape) not in (2, 3) or not all(isinstance(s, int) and s > 0 for s in image_shape):
            raise ValueError(f"image shape {image_shape} is not (H, W) or (H, W, C)")
        levels = spec.get("levels")
        if levels is not None and (not isinstance(levels, int) or levels < 2):
            raise ValueError(f"levels {levels!r} is not a count of at least 2")
        shape = (*image_shape, 1) if len(image_shape) == 2 else image_shape
        return cls(shape, spec["dtype"], levels, spec.get("pixel_space", "intensities"), config.get("input", "levels"),
                   grey=len(image_shape) == 2)


def _levels_of(pixels: Pixels, codec: ImageCodec) -> np.ndarray:
    return pixels.levels if pixels.levels is not None else Pixels.from_values(pixels.values, codec).levels


def _model_shape(images: np.ndarray) -> tuple:
    return (*images.shape[1:], 1) if images.ndim == 3 else images.shape[1:]


def _as_images(data) -> np.ndarray:
    if not is_image_batch(data):
        shape = getattr(data, "shape", None)
        raise SchemaError(f"expected images as an array (N, H, W) or (N, H, W, C), got "
                          f"{type(data).__name__}{'' if shape is None else f' of shape {shape}'}")
    if data.ndim == 4 and data.shape[3] not in CHANNELS:
        raise SchemaError(f"the images have {data.shape[3]} channels (last axis); give 1, 3 or 4 channels, channels "
                          "last as PIL and matplotlib use (an (N, C, H, W) array: use array.transpose(0, 2, 3, 1))")
    if data.dtype == bool:
        return data.astype(np.uint8)
    if not (np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)):
        raise SchemaError(f"the images have dtype {data.dtype}; give uint8, another integer type (levels 0..max) or "
                          "floats in [0, 1]")
    if min(data.shape[1:3]) < 1:
        raise SchemaError(f"the images have shape {data.shape[1:]}: each needs at least one pixel")
    return data


def _check_values(images: np.ndarray, n_levels: int | None, fitted_dtype: str | None) -> None:
    """Values inside what the kind allows (fitted: the model's levels); errors name the first bad image."""
    flat = images.reshape(len(images), -1)
    if np.issubdtype(images.dtype, np.floating):
        with np.errstate(invalid="ignore"):
            bad = np.isinf(flat).any(axis=1) | (flat < 0).any(axis=1) | (flat > 1).any(axis=1)
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise SchemaError(f"image {index} has values outside [0, 1] (min {np.nanmin(flat[index]):g}, max "
                              f"{np.nanmax(flat[index]):g}): float images are intensities in [0, 1]; divide by 255 "
                              "for 8-bit images, or give the integer array itself")
        return
    if n_levels is None and fitted_dtype is not None:
        raise SchemaError("the model was fitted on float images (intensities in [0, 1]); give floats in [0, 1], "
                          f"not {images.dtype} levels")
    negative = (flat < 0).any(axis=1)
    top = 255 if n_levels is None else n_levels - 1
    high = (flat > top).any(axis=1) if n_levels is not None else np.zeros(len(flat), bool)
    bad = negative | high
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise SchemaError(f"image {index} has levels from {int(flat[index].min())} to {int(flat[index].max())}; "
                          f"the model's levels are 0..{top}: give images with the levels the model was fitted on")
