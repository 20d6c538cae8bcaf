"""Linear measurement operators for `pl.restore`: what was measured of an image (or a table row) x,
y = A x + noise, with A one of

- `mask(known)`: inpainting, the pixels where `known` is True are measured as they are;
- `blur(sigma=..., kernel=...)`: a convolution with a Gaussian (or any) kernel, the image extended
  beyond its edges by mirroring (scipy.ndimage's "reflect": d c b a | a b c d | d c b a), so the
  measurement has the image's size;
- `downsample(k)`: the mean of each k x k block (super-resolution);
- `identity()`: every pixel, with noise (denoising);
- `matrix(A)`: any (M, D) matrix on flattened images or on a table row's D numbers;
- `linear(forward, adjoint)`: your own pair of functions (batch in, batch out).

An operator acts on intensities in [0, 1] (uint8 images are divided by 255, other level images by
their top level: `intensities`). Spatial operators (blur, downsample, identity, a 2-D mask) act on
each channel of a colour image alike, so `blur(sigma=1.5)` serves grey and colour images of any
size. Every operator has `forward` and `adjoint` (<A x, y> = <x, A^T y>, tested), simulates
measurements with seeded Gaussian noise (calling it), and, bound to one image shape
(`bind(shape)`), gives what a posterior sampler needs on flattened vectors: `forward`, `adjoint`,
`matrix()` and the singular value decomposition `svd()`.

A masked measurement holds NaN where nothing was measured (as `impute` takes holes); restore reads
those NaNs as "not measured" and refuses NaN anywhere else.
"""
from __future__ import annotations

from functools import cached_property
from typing import Callable

import numpy as np

from ..core.errors import ParameterError

CHUNK = 512         # basis vectors pushed through the operator at once when a dense matrix is built


def intensities(images) -> np.ndarray:
    """Images as float intensities in [0, 1]: uint8 / 255, level images (a `LevelImages` view, or any
    other integer array) / their top level, floats as given (NaN kept)."""
    images = np.asarray(images) if not isinstance(images, np.ndarray) else images
    if images.dtype == bool:
        return images.astype(float)
    if np.issubdtype(images.dtype, np.integer):
        levels = getattr(images, "levels", None)
        top = 255 if images.dtype == np.uint8 and levels is None else (levels - 1 if levels else images.max())
        return np.asarray(images, dtype=float) / max(float(top), 1.0)
    return np.asarray(images, dtype=float)


class Operator:
    """A linear map A on arrays of shape `shape` (or on any image size when `shape` is None), applied
    alike to each channel when an image has one more (trailing) axis than `shape`."""

    name = "operator"
    spatial = True      # acts on (H, W) planes; a trailing channel axis is carried through

    def __init__(self, shape: tuple | None = None):
        self.shape = None if shape is None else tuple(int(s) for s in shape)

    # -- on the user's arrays -------------------------------------------------------------------
    def forward(self, x) -> np.ndarray:
        """A x for one array of the operator's shape or a batch (N, ...) of them."""
        return self._batched(x, self._forward, "forward")

    def adjoint(self, y) -> np.ndarray:
        """A^T y, the adjoint: for measurements of the operator's output shape (or a batch)."""
        return self._batched(y, self._adjoint, "adjoint")

    def __call__(self, images, noise_sd: float = 0.0, seed: int | None = 0) -> np.ndarray:
        """Simulated measurements y = A x + noise_sd * e of `images` (a batch, read as intensities),
        e standard normal from `seed`; NaN where the operator measures nothing (masks)."""
        x = intensities(images)
        if np.isnan(x).any():
            raise ParameterError("the images to measure hold NaN: give complete images (the truth) to simulate "
                                 "measurements from")
        noise_sd = _noise_sd(noise_sd)
        y = self.forward(x)
        if noise_sd > 0:
            y = y + noise_sd * np.random.default_rng(seed).standard_normal(y.shape)
        measured = self.measured_like(y)
        return np.where(measured, y, np.nan) if measured is not None else y

    def measured_like(self, y: np.ndarray) -> np.ndarray | None:
        """Boolean array like y: where something is measured (None: everywhere)."""
        return None

    # -- bound to one image shape: flat vectors, for the samplers ---------------------------------
    def bind(self, shape: tuple) -> "Bound":
        """This operator on flattened arrays of `shape` (one image's shape, or (D,) for table rows)."""
        shape = tuple(int(s) for s in shape)
        bounds = self.__dict__.setdefault("_bounds", {})    # one per shape: its matrix and SVD are kept
        if shape not in bounds:
            self._check_shape(shape)
            bounds[shape] = Bound(self, shape)
        return bounds[shape]

    def output_shape(self, shape: tuple) -> tuple:
        """The shape of A x for one x of `shape`."""
        return tuple(self.forward(np.zeros((1,) + tuple(shape))).shape[1:])

    # -- to implement: one plane (or vector) batch at a time ------------------------------------
    def _forward(self, x: np.ndarray) -> np.ndarray:          # (N, *core) -> (N, *out)
        raise NotImplementedError

    def _adjoint(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _core_ndim(self) -> int:
        return 2 if self.spatial else 1

    def _check_shape(self, shape: tuple) -> None:
        core = self._core_ndim()
        if self.shape is not None:
            if shape[:len(self.shape)] != self.shape or len(shape) > len(self.shape) + int(self.spatial):
                raise ParameterError(f"{self.name} was made for arrays of shape {self.shape}, got {shape}: make the "
                                     f"operator with shape={shape[:core]}")
        elif len(shape) not in (core, core + 1):
            raise ParameterError(f"{self.name} acts on images (H, W) or (H, W, C), got an array of shape {shape}")

    def _batched(self, x, apply, what: str) -> np.ndarray:
        """A batch (N, *core) or (N, *core, C) (each channel alike), or one array of the core's shape."""
        x = np.asarray(x, dtype=float)
        core = self._core_ndim()
        single = x.ndim == core
        batch = x[None] if single else x
        if batch.ndim == core + 1:
            out = apply(batch)
        elif batch.ndim == core + 2 and self.spatial:     # (N, H, W, C) -> (N * C, H, W)
            n, c = batch.shape[0], batch.shape[-1]
            planes = np.moveaxis(batch, -1, 1).reshape((n * c,) + batch.shape[1:-1])
            out = apply(planes)
            out = np.moveaxis(out.reshape((n, c) + out.shape[1:]), 1, -1)
        else:
            raise ParameterError(f"{self.name}.{what} takes a batch (N, ...) of {core}-D arrays"
                                 f"{' (with or without a trailing channel axis)' if self.spatial else ''}, got "
                                 f"shape {x.shape}")
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"{self.name}({self._describe()})"

    def _describe(self) -> str:
        return "" if self.shape is None else f"shape={self.shape}"


class Bound:
    """An operator on flattened vectors of one shape: forward (N, D) -> (N, M), adjoint, the dense
    (M, D) matrix and its SVD (both computed once)."""

    def __init__(self, operator: Operator, shape: tuple):
        self.operator, self.shape = operator, shape
        self.in_size = int(np.prod(shape))
        self.out_shape = operator.output_shape(shape)
        self.out_size = int(np.prod(self.out_shape))

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return self.operator.forward(x.reshape((-1,) + self.shape)).reshape(len(x), self.out_size)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        return self.operator.adjoint(y.reshape((-1,) + self.out_shape)).reshape(len(y), self.in_size)

    @cached_property
    def measured(self) -> np.ndarray:
        """(M,) bool: the entries of y that measure something (False: a masked-out pixel, y is NaN there)."""
        flag = self.operator.measured_like(np.zeros((1,) + self.out_shape))
        return np.ones(self.out_size, bool) if flag is None else flag.reshape(-1)

    @cached_property
    def _plane(self) -> "Bound | None":
        """For a spatial operator on colour images: the same operator on one (H, W) plane, whose
        matrix and SVD give the whole one's (each channel alike: A = A_plane kron I_C)."""
        if self.operator.spatial and len(self.shape) == 3:
            return Bound(self.operator, self.shape[:2])
        return None

    @cached_property
    def matrix(self) -> np.ndarray:
        """The dense (M, D) matrix A (columns: A applied to each basis vector, CHUNK at a time)."""
        if self._plane is not None:
            return np.kron(self._plane.matrix, np.eye(self.shape[2]))
        columns = [self.forward(np.eye(self.in_size)[start:start + CHUNK]).T
                   for start in range(0, self.in_size, CHUNK)]
        return np.concatenate(columns, axis=1)

    @cached_property
    def svd(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A = U diag(s) V^T, thin: U (M, r), s (r,), Vt (r, D), r = min(M, D), s non-increasing (per
        plane for a spatial operator on colour images: 1,024 x 1,024 instead of 3,072 x 3,072)."""
        if self._plane is not None:
            u, s, vt = self._plane.svd
            eye = np.eye(self.shape[2])
            return np.kron(u, eye), np.repeat(s, self.shape[2]), np.kron(vt, eye)
        return np.linalg.svd(self.matrix, full_matrices=False)

    def read(self, y, rows: int | None = None) -> np.ndarray:
        """Measurements as flat (N, M) floats, 0 where nothing is measured; a one-line error for a
        wrong shape or a NaN where something is measured."""
        y = np.asarray(y, dtype=float)
        if y.shape == self.out_shape:
            y = y[None]
        if y.shape[1:] != self.out_shape:
            raise ParameterError(f"the measurements have shape {y.shape[1:]} per item; {self.operator!r} on arrays of "
                                 f"shape {self.shape} measures {self.out_shape}: give an array (N, "
                                 f"{', '.join(map(str, self.out_shape))})")
        flat = y.reshape(len(y), self.out_size)
        holes = np.isnan(flat)
        if (holes & self.measured).any():
            row, column = np.argwhere(holes & self.measured)[0]
            raise ParameterError(f"measurement {row} is NaN at entry {column}, which {self.operator.name} measures: "
                                 "give every measured value (NaN only where the operator measures nothing)")
        return np.where(holes, 0.0, flat)


class Identity(Operator):
    name = "identity"

    def _forward(self, x):
        return x.copy()

    def _adjoint(self, y):
        return y.copy()


class Mask(Operator):
    name = "mask"

    def __init__(self, known):
        known = np.asarray(known)
        if known.dtype != bool:
            raise ParameterError(f"mask(known) takes a boolean array (True where the pixel is measured), got "
                                 f"{known.dtype}")
        if known.ndim not in (1, 2, 3):
            raise ParameterError(f"mask(known): known must be an image's shape (H, W) or (H, W, C), got {known.shape}")
        super().__init__(known.shape)
        self.known = known
        self.spatial = known.ndim == 2

    def _core_ndim(self):
        return self.known.ndim

    def _forward(self, x):
        self._check_plane(x.shape[1:])
        return np.where(self.known, x, 0.0)

    def _adjoint(self, y):
        self._check_plane(y.shape[1:])
        return np.where(self.known, y, 0.0)

    def _check_plane(self, shape):
        if shape != self.known.shape:
            raise ParameterError(f"mask(known) has shape {self.known.shape}; the images are {shape}: give a mask "
                                 "of the images' shape")

    def measured_like(self, y):
        y = np.asarray(y)
        known = self.known if y.ndim - 1 == self.known.ndim else self.known[..., None]
        return np.broadcast_to(known, y.shape)

    def _describe(self):
        return f"{int(self.known.sum()):,} of {self.known.size:,} measured"


class Blur(Operator):
    name = "blur"

    def __init__(self, kernel: np.ndarray, shape=None, sigma=None):
        super().__init__(None if shape is None else tuple(shape)[:2])
        self.kernel, self.sigma = kernel, sigma
        kh, kw = kernel.shape
        self._pads = ((kh - 1) // 2, kh - 1 - (kh - 1) // 2), ((kw - 1) // 2, kw - 1 - (kw - 1) // 2)

    def _indices(self, n: int, pad: tuple) -> np.ndarray:
        """Source index of each padded position along one axis (mirror at the edges: d c b a | a b c d)."""
        idx = np.arange(-pad[0], n + pad[1])
        period = 2 * n
        idx = np.mod(idx, period)
        return np.where(idx >= n, period - 1 - idx, idx)

    def _forward(self, x):
        from scipy.signal import fftconvolve

        rows = self._indices(x.shape[1], self._pads[0])
        cols = self._indices(x.shape[2], self._pads[1])
        padded = x[:, rows][:, :, cols]
        return fftconvolve(padded, self.kernel[None], mode="valid", axes=(1, 2))

    def _adjoint(self, y):
        from scipy.signal import fftconvolve

        full = fftconvolve(y, self.kernel[None, ::-1, ::-1], mode="full", axes=(1, 2))
        rows = self._indices(y.shape[1], self._pads[0])
        cols = self._indices(y.shape[2], self._pads[1])
        folded = np.zeros((len(y), y.shape[1], full.shape[2]))
        np.add.at(folded, (slice(None), rows), full)       # mirror padding's adjoint: fold the border back
        out = np.zeros(y.shape)
        np.add.at(out, (slice(None), slice(None), cols), folded)
        return out

    def _describe(self):
        what = f"sigma={self.sigma:g}" if self.sigma is not None else f"kernel {self.kernel.shape}"
        return what + ("" if self.shape is None else f", shape={self.shape}")


class Downsample(Operator):
    name = "downsample"

    def __init__(self, factor: int, shape=None):
        super().__init__(None if shape is None else tuple(shape)[:2])
        self.factor = factor

    def _split(self, x):
        n, h, w = x.shape
        k = self.factor
        if h % k or w % k:
            raise ParameterError(f"downsample({k}) needs images whose height and width are multiples of {k}, got "
                                 f"{h} x {w}: crop or pad them first")
        return x.reshape(n, h // k, k, w // k, k)

    def _forward(self, x):
        return self._split(x).mean(axis=(2, 4))

    def _adjoint(self, y):
        k = self.factor
        return np.repeat(np.repeat(y, k, axis=1), k, axis=2) / (k * k)

    def _describe(self):
        return f"{self.factor}" + ("" if self.shape is None else f", shape={self.shape}")


class Matrix(Operator):
    name = "matrix"
    spatial = False

    def __init__(self, a: np.ndarray):
        super().__init__((a.shape[1],))
        self.a = a

    def _core_ndim(self):
        return 1

    def _check_shape(self, shape):
        if int(np.prod(shape)) != self.a.shape[1]:
            raise ParameterError(f"matrix(A) has {self.a.shape[1]:,} columns; an item of shape {shape} has "
                                 f"{int(np.prod(shape)):,} values: give A with one column per value (pixel or "
                                 "number)")

    def _batched(self, x, apply, what):
        x = np.asarray(x, dtype=float)
        width = self.a.shape[1] if what == "forward" else self.a.shape[0]
        if x.ndim == 1:
            return self._batched(x[None], apply, what)[0]
        flat = x.reshape(len(x), -1)
        if flat.shape[1] != width:
            raise ParameterError(f"matrix(A).{what} takes items of {width:,} values (A is {self.a.shape[0]:,} x "
                                 f"{self.a.shape[1]:,}), got {flat.shape[1]:,} per item")
        return apply(flat)

    def _forward(self, x):
        return x @ self.a.T

    def _adjoint(self, y):
        return y @ self.a

    def output_shape(self, shape):
        return (self.a.shape[0],)

    def _describe(self):
        return f"{self.a.shape[0]} x {self.a.shape[1]}"


class Linear(Operator):
    name = "linear"
    spatial = False

    def __init__(self, forward: Callable, adjoint: Callable, shape: tuple | None = None):
        super().__init__(shape)
        self._f, self._a = forward, adjoint

    def _check_shape(self, shape):
        if self.shape is not None and tuple(shape) != self.shape:
            raise ParameterError(f"linear(...) was made for items of shape {self.shape}, got {shape}")

    def _batched(self, x, apply, what):
        """Your functions take and give a batch (N, ...); one item of `shape` is passed as a batch of one."""
        x = np.asarray(x, dtype=float)
        single = what == "forward" and self.shape is not None and x.shape == self.shape
        batch = x[None] if single else x
        out = np.asarray(apply(batch), dtype=float)
        if len(out) != len(batch):
            raise ParameterError(f"your {what} function returned {len(out)} items for {len(batch)}: it must map a "
                                 "batch (N, ...) to a batch of N")
        return out[0] if single else out

    def _forward(self, x):
        return self._f(x)

    def _adjoint(self, y):
        return self._a(y)


# -- the public constructors (pl.operators.<name>) ----------------------------------------------

def identity(shape=None) -> Operator:
    """Every pixel measured (with noise: denoising)."""
    return Identity(None if shape is None else tuple(shape)[:2])


def mask(known) -> Operator:
    """Inpainting: `known` (bool, the image's shape (H, W) or (H, W, C)) is True where a pixel is measured."""
    return Mask(known)


def blur(sigma: float | None = None, kernel=None, shape=None, truncate: float = 3.0) -> Operator:
    """Convolution with a Gaussian of standard deviation `sigma` pixels (cut at `truncate` sigmas,
    normalized to sum to one) or with your own 2-D `kernel`; the image is mirrored beyond its edges."""
    if (sigma is None) == (kernel is None):
        raise ParameterError("blur takes either sigma= (a Gaussian, in pixels) or kernel= (a 2-D array), one of them")
    if kernel is None:
        if not np.isfinite(sigma) or sigma <= 0:
            raise ParameterError(f"blur(sigma={sigma}): sigma must be a positive number of pixels")
        radius = max(1, int(np.ceil(truncate * sigma)))
        grid = np.arange(-radius, radius + 1)
        line = np.exp(-0.5 * (grid / sigma) ** 2)
        kernel = np.outer(line, line)
    kernel = np.asarray(kernel, dtype=float)
    if kernel.ndim != 2 or not np.isfinite(kernel).all() or kernel.size == 0:
        raise ParameterError(f"blur(kernel=...) needs a finite 2-D array, got shape {kernel.shape}")
    total = kernel.sum()
    if sigma is not None:
        kernel = kernel / total
    return Blur(kernel, shape, sigma)


def downsample(k: int, shape=None) -> Operator:
    """Super-resolution: the mean of each k x k block is measured (height and width multiples of k)."""
    if int(k) != k or k < 1:
        raise ParameterError(f"downsample({k}): k must be a whole number of pixels, at least 1")
    return Downsample(int(k), shape)


def matrix(a) -> Operator:
    """Any linear map: an (M, D) matrix on flattened images (D pixel values) or on a table row's D numbers."""
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or not np.isfinite(a).all():
        raise ParameterError(f"matrix(A) needs a finite 2-D array (M measurements x D values), got shape {a.shape}")
    return Matrix(a)


def linear(forward: Callable, adjoint: Callable, shape=None) -> Operator:
    """Your own linear map: forward(batch (N, ...)) -> (N, ...) and its adjoint, on items of `shape`
    (None: whatever shape it is given; restore binds it to the model's image shape or row)."""
    if not callable(forward) or not callable(adjoint):
        raise ParameterError("linear(forward, adjoint) takes two functions (batch in, batch out)")
    return Linear(forward, adjoint, None if shape is None else tuple(int(s) for s in np.atleast_1d(shape)))


def _noise_sd(noise_sd) -> float:
    value = float(noise_sd)
    if not np.isfinite(value) or value < 0:
        raise ParameterError(f"noise_sd={noise_sd}: give the measurement noise's standard deviation, 0 or more "
                             "(on the 0..1 intensity scale)")
    return value
