"""pl.operators: every operator's adjoint, its dense matrix and SVD, simulated measurements, errors."""
import numpy as np
import pytest

import plausible as pl
from plausible.core.errors import ParameterError

RNG = np.random.default_rng(0)


def _operators(shape):
    ops = [pl.operators.identity(), pl.operators.blur(sigma=1.2), pl.operators.blur(kernel=RNG.random((3, 4))),
           pl.operators.mask(RNG.random(shape[:2]) > 0.5),
           pl.operators.matrix(RNG.standard_normal((5, int(np.prod(shape))))),
           pl.operators.linear(lambda x: 2 * x[..., ::-1], lambda y: 2 * y[..., ::-1], shape),
           pl.operators.linear(lambda x: -x, lambda y: -y)]
    if shape[0] % 2 == 0 and shape[1] % 2 == 0:
        ops.append(pl.operators.downsample(2))
    if len(shape) == 3:
        ops.append(pl.operators.mask(RNG.random(shape) > 0.5))
    return ops


@pytest.mark.parametrize("shape", [(6, 8), (7, 5), (6, 4, 3)])
def test_adjoint_matrix_and_svd(shape):
    for op in _operators(shape):
        x = RNG.standard_normal((3,) + shape)
        ax = op.forward(x)
        y = RNG.standard_normal(ax.shape)
        aty = op.adjoint(y).reshape(x.shape)
        assert np.isclose((ax * y).sum(), (x * aty).sum(), rtol=1e-10, atol=1e-10), op
        bound = op.bind(shape)
        flat = x.reshape(3, -1)
        assert np.allclose(bound.forward(flat), flat @ bound.matrix.T), op
        assert np.allclose(bound.adjoint(y.reshape(3, -1)), y.reshape(3, -1) @ bound.matrix), op
        u, s, vt = bound.svd
        assert np.allclose((u * s) @ vt, bound.matrix), op
        assert np.all(np.diff(s) <= 1e-12), op


def test_blur_keeps_constants_and_mirrors_edges():
    image = np.full((1, 9, 9), 0.3)
    assert np.allclose(pl.operators.blur(sigma=2.0).forward(image), 0.3)    # mirrored edges: no dark border
    impulse = np.zeros((1, 9, 9))
    impulse[0, 4, 4] = 1
    out = pl.operators.blur(sigma=1.0).forward(impulse)[0]
    assert np.isclose(out.sum(), 1) and out[4, 4] == out.max() and np.allclose(out, out.T)


def test_downsample_is_the_block_mean():
    x = np.arange(16.0).reshape(1, 4, 4)
    assert np.allclose(pl.operators.downsample(2).forward(x)[0], [[2.5, 4.5], [10.5, 12.5]])


def test_simulated_measurements_are_seeded_and_masked():
    images = RNG.integers(0, 256, (4, 6, 6, 3)).astype(np.uint8)
    known = np.zeros((6, 6), bool)
    known[:3] = True
    op = pl.operators.mask(known)
    y = op(images, noise_sd=0.05, seed=3)
    assert y.shape == images.shape and np.isnan(y[:, 3:]).all() and not np.isnan(y[:, :3]).any()
    assert np.array_equal(y, op(images, noise_sd=0.05, seed=3), equal_nan=True)
    assert np.abs(y[:, :3] - images[:, :3] / 255).max() < 0.3          # measured on the 0..1 scale
    clean = pl.operators.identity()(images, noise_sd=0)
    assert np.allclose(clean, images / 255)
    digits = pl.datasets.load("digits")[:3]                               # 17 levels: divided by 16
    assert np.isclose(pl.operators.identity()(digits).max(), digits.max() / 16)


def test_measurements_read_back_refuse_nan_where_measured():
    op = pl.operators.mask(np.eye(4, dtype=bool))
    bound = op.bind((4, 4, 1))
    y = op(np.ones((2, 4, 4, 1)) * 0.5)
    assert bound.measured.sum() == 4 and np.allclose(bound.read(y)[:, ~bound.measured], 0)
    bad = y.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ParameterError, match="measurement 0 is NaN"):
        bound.read(bad)


@pytest.mark.parametrize("make, message", [
    (lambda: pl.operators.blur(), "either sigma= .* or kernel="),
    (lambda: pl.operators.blur(sigma=-1), "positive"),
    (lambda: pl.operators.downsample(1.5), "whole number"),
    (lambda: pl.operators.mask(np.ones((4, 4))), "boolean"),
    (lambda: pl.operators.matrix(np.ones(3)), "2-D"),
    (lambda: pl.operators.downsample(3).forward(np.ones((1, 4, 4))), "multiples of 3"),
    (lambda: pl.operators.mask(np.ones((4, 4), bool)).forward(np.ones((1, 5, 5))), "shape"),
    (lambda: pl.operators.matrix(np.ones((2, 5))).bind((2, 3)), "5 columns"),
    (lambda: pl.operators.identity()(np.ones((1, 4, 4)), noise_sd=-0.1), "noise_sd"),
])
def test_errors_are_one_line(make, message):
    with pytest.raises(ParameterError, match=message) as info:
        make()
    assert "\n" not in str(info.value)
