"""`plausible restore`: operator specs, measurements from .npy and PNG folders, the files it writes,
and one-line errors that name the file or the spec."""
import numpy as np
import pytest
from test_cli_surface import fails_in_one_line, stderr_of

import plausible as pl
from plausible.cli.restore import parse_operator
from plausible.data import operators
from plausible.data.image_files import write_images

OUTPUTS = {"draws.npy", "mean.npy", "spread.npy", "mean.png", "spread.png", "figure.png"}


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """A gmm (2 components) fitted on 80 digits, and 3 held-out digits as intensities."""
    folder = tmp_path_factory.mktemp("restore")
    digits = pl.datasets.load("digits")
    pl.make("gmm", seed=0, n_components=2).fit(digits[:80]).save(folder / "m")
    return folder, operators.intensities(digits[80:83])


def run(argv, capsys) -> str:
    stderr_of(argv)
    return capsys.readouterr().out


def test_blur_writes_draws_mean_spread_and_the_figure(case, tmp_path, capsys):
    pytest.importorskip("skimage")          # --truth scores with scikit-image's PSNR and SSIM
    folder, truth = case
    np.save(tmp_path / "y.npy", operators.blur(sigma=1.0)(truth, noise_sd=0.02, seed=1))
    np.save(tmp_path / "truth.npy", truth)
    shown = run(["restore", str(folder / "m"), str(tmp_path / "y.npy"), "--operator", "blur:sigma=1",
                 "--noise-sd", "0.02", "--draws", "5", "--truth", str(tmp_path / "truth.npy"),
                 "--out", str(tmp_path / "r")], capsys)
    assert {p.name for p in (tmp_path / "r").iterdir()} == OUTPUTS
    draws = np.load(tmp_path / "r" / "draws.npy")
    assert draws.shape == (5, 3, 8, 8) and 0 <= draws.min() and draws.max() <= 1
    np.testing.assert_allclose(np.load(tmp_path / "r" / "mean.npy"), draws.mean(0), atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "r" / "spread.npy"), draws.std(0), atol=1e-5)
    assert "method: exact" in shown and "PSNR" in shown and "cover" in shown


def test_a_png_mask_and_png_measurements(case, tmp_path, capsys):
    from PIL import Image

    folder, truth = case
    known = np.ones((8, 8), bool)
    known[2:6, 2:6] = False
    Image.fromarray((known * 255).astype(np.uint8)).save(tmp_path / "known.png")
    write_images(np.nan_to_num(operators.mask(known)(truth)), tmp_path / "pngs", grid=False)
    run(["restore", str(folder / "m"), str(tmp_path / "pngs"), "--operator", f"mask:{tmp_path / 'known.png'}",
         "--noise-sd", "0.01", "--draws", "3", "--out", str(tmp_path / "r")], capsys)
    draws = np.load(tmp_path / "r" / "draws.npy")
    assert draws.shape == (3, 3, 8, 8)
    measured = np.broadcast_to(known, draws.shape)      # what was measured comes back, up to the noise and levels
    assert np.abs(draws[measured] - np.broadcast_to(truth, draws.shape)[measured]).max() < 0.1


@pytest.mark.parametrize("spec, kind", [("blur:sigma=1.5", "blur"), ("blur:2", "blur"), ("downsample:4", "downsample"),
                                        ("downsample:k=2", "downsample"), ("identity", "identity")])
def test_operator_specs(spec, kind):
    assert parse_operator(spec).name == kind


@pytest.mark.parametrize("spec, words", [
    ("warp:3", "unknown operator 'warp'"),
    ("blur:sigma=wide", "sigma must be a number"),
    ("blur:sigma=-1", "positive number"),
    ("blur", "blur needs sigma"),
    ("downsample:x", "whole factor"),
    ("identity:2", "no arguments"),
    ("mask:nowhere.npy", "nowhere.npy: no such file"),
])
def test_a_bad_operator_spec_is_one_line_before_any_work(spec, words, tmp_path):
    line = fails_in_one_line(["restore", str(tmp_path / "m"), str(tmp_path / "y.npy"), "--operator", spec,
                              "--noise-sd", "0.1", "--out", str(tmp_path / "r")])
    assert words in line
    assert "no such file" in words or "blur:sigma=1.5, blur:kernel=K.npy, downsample:4" in line   # the spellings
    assert not (tmp_path / "r").exists()


def test_missing_files_and_wrong_shapes_are_one_line_naming_the_file(case, tmp_path):
    folder, truth = case
    base = ["restore", str(folder / "m"), "--noise-sd", "0.02", "--out", str(tmp_path / "r")]
    assert "missing.npy: no such file" in fails_in_one_line(base + [str(tmp_path / "missing.npy"),
                                                                   "--operator", "identity"])
    np.save(tmp_path / "small.npy", operators.downsample(2)(truth))
    line = fails_in_one_line(base + [str(tmp_path / "small.npy"), "--operator", "blur:sigma=1"])
    assert "small.npy" in line and "4x4" in line and "8x8" in line
    np.save(tmp_path / "wide.npy", np.ones((2, 5)))
    np.save(tmp_path / "a.npy", np.ones((5, 10)))
    line = fails_in_one_line(base + [str(tmp_path / "wide.npy"), "--operator", f"matrix:{tmp_path / 'a.npy'}"])
    assert "10 columns" in line
    np.save(tmp_path / "y.npy", operators.blur(sigma=1.0)(truth))
    np.save(tmp_path / "truth.npy", truth[:2])
    line = fails_in_one_line(base + [str(tmp_path / "y.npy"), "--operator", "blur:sigma=1", "--truth",
                                     str(tmp_path / "truth.npy")])
    assert "truth.npy" in line and "2 true images for 3" in line
    pl.make("independent", seed=0).fit(pl.datasets.load("digits")[:20]).save(tmp_path / "naive")
    line = fails_in_one_line(["restore", str(tmp_path / "naive"), *base[2:], str(tmp_path / "y.npy"),
                              "--operator", "blur:sigma=1"])
    assert "cannot restore" in line and "gmm" in line
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "keep.txt").write_text("mine")
    assert "--force" in fails_in_one_line(base + [str(tmp_path / "y.npy"), "--operator", "blur:sigma=1"])
    assert (tmp_path / "r" / "keep.txt").read_text() == "mine"
