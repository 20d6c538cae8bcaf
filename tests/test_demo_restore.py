"""`plausible demo restore` at tiny sizes: three tasks, scikit-image's tuned guess beside the
posterior, the table and the figure."""
import importlib.util

import numpy as np
import pytest
from test_cli_surface import fails_in_one_line

from plausible.demo_restore import demo_restore, spread_picture, tasks

needs_skimage = pytest.mark.skipif(importlib.util.find_spec("skimage") is None,
                                   reason="the demo's baselines and scores are scikit-image's")


@needs_skimage
def test_the_demo_restores_three_tasks_and_draws_the_figure(tmp_path):
    said = []
    result = demo_restore(out=tmp_path / "restore.png", data="digits", n_train=120, n_validation=4, n_test=4,
                          n_draws=4, prior="gmm", params={"n_components": 2}, say=said.append)
    table = result["table"]
    assert len(table) == 3 and (tmp_path / "restore.png").stat().st_size > 0
    assert {"wiener", "richardson_lucy"} & set(table.iloc[0]["scikit-image"].split())
    assert list(table["scikit-image"].iloc[1:]) == ["inpaint_biharmonic", "bicubic resize"]
    assert np.isfinite(table.filter(like="PSNR").to_numpy(float)).all()
    assert ((table["90% coverage"] >= 0) & (table["90% coverage"] <= 1)).all()
    assert any("PSNR" in line for line in said)
    for run in result["results"].values():
        assert run["draws"].shape == (4, 4, 8, 8) and run["baseline"].shape == (4, 8, 8)


def test_the_box_hides_a_quarter_and_is_measured_without_noise():
    _, mask, noise_sd, box = tasks((32, 32))[1]
    assert (~mask.known).sum() == 32 * 32 // 4 and noise_sd == 0 and (~mask.known[box]).all()


def test_spread_picture_is_grey_with_white_at_the_largest_spread():
    picture = spread_picture(np.random.default_rng(0).random((2, 4, 4, 3)))
    assert picture.shape == (2, 4, 4) and picture.max() == pytest.approx(1.0)


def test_the_demo_figure_must_be_a_png(tmp_path):
    assert ".png" in fails_in_one_line(["demo", "restore", "--out", str(tmp_path / "table.md")])
