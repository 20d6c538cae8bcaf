"""pl.evaluate_restoration: PSNR/SSIM of the posterior mean, interval coverage, typicality (tiny 8x8 images)."""
import numpy as np
import pytest

import plausible as pl
from plausible.core.errors import ParameterError

pytest.importorskip("skimage")


def test_perfect_draws_score_a_high_psnr_full_coverage_and_the_floor_for_typicality():
    truth = np.random.default_rng(0).uniform(size=(8, 8, 8))
    scores = pl.evaluate_restoration(truth, np.repeat(truth[None], 20, axis=0))
    assert scores["psnr"] > 100 and scores["ssim"] == pytest.approx(1.0)
    assert scores["coverage"] == 1.0 and scores["interval_width"] == pytest.approx(0.0, abs=1e-12)
    # draw 0 and the mean of B's images are B's images themselves: exactly the clean-vs-clean floor
    assert scores["frechet_draws"] == pytest.approx(scores["frechet_floor"])
    assert scores["frechet_mean"] == pytest.approx(scores["frechet_floor"])
    assert list(scores.per_image.columns) == ["psnr", "ssim", "coverage", "interval_width"]
    assert len(scores.per_image) == 8
    assert "two halves" in repr(scores) and "PSNR" in str(scores)


def test_draws_from_the_right_gaussian_cover_about_the_level():
    rng = np.random.default_rng(1)
    truth = 0.5 + 0.1 * rng.standard_normal((8, 8, 8))
    draws = 0.5 + 0.1 * rng.standard_normal((39, 8, 8, 8))
    scores = pl.evaluate_restoration(truth, draws, typicality=False)
    assert 0.86 <= scores["coverage"] <= 0.94
    assert scores["interval_width"] == pytest.approx(2 * 1.645 * 0.1, rel=0.1)
    assert scores["frechet_draws"] is None and "Fréchet" not in str(scores)
    narrow = pl.evaluate_restoration(truth, 0.5 + 0.05 * (draws - 0.5) / 0.1, typicality=False)
    assert narrow["coverage"] < 0.7                                      # overconfident draws are caught
    assert pl.evaluate_restoration(truth, draws, level=0.5, typicality=False)["coverage"] < 0.6


def test_colour_and_uint8_truth_are_read_as_intensities():
    rng = np.random.default_rng(2)
    colour = rng.integers(0, 256, size=(3, 8, 8, 3), dtype=np.uint8)
    draws = np.repeat(colour[None] / 255.0, 4, axis=0) + 0.01 * rng.standard_normal((4, 3, 8, 8, 3))
    scores = pl.evaluate_restoration(colour, draws, typicality=False)
    assert 35 < scores["psnr"] < 60 and scores["ssim"] > 0.95
    assert "4 draws" in scores.details["short_interval"]                # too few draws for a 90% interval: said


@pytest.mark.parametrize("truth_shape, draws_shape, message", [
    ((4, 8, 8), (5, 4, 8, 7), "give draws \\(n_draws, 4, 8, 8\\)"),
    ((4, 8, 8), (4, 8, 8), "for one draw, draws\\[None\\]"),
    ((8, 8), (5, 8, 8), "for one image give truth\\[None\\]"),
])
def test_mismatched_shapes_fail_in_one_line(truth_shape, draws_shape, message):
    with pytest.raises(ParameterError, match=message) as info:
        pl.evaluate_restoration(np.zeros(truth_shape), np.zeros(draws_shape))
    assert "\n" not in str(info.value)


def test_reference_of_another_size_and_a_bad_level_fail_in_one_line():
    truth = np.zeros((4, 8, 8))
    with pytest.raises(ParameterError, match="same size"):
        pl.evaluate_restoration(truth, truth[None], reference=np.zeros((4, 6, 6)))
    with pytest.raises(ParameterError, match="between 0 and 1"):
        pl.evaluate_restoration(truth, truth[None], level=90)
