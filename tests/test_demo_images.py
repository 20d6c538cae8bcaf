"""`plausible demo pixels` and `plausible demo latent`: the pixels demo runs end to end on a few
hundred avatars (naive Bayes on pixels draws unreadable noise where real avatars read back), writes
its grids, and the command line passes its flags through and refuses a wrong --out on one line."""
import functools

import numpy as np
import pytest
from PIL import Image
from test_cli_surface import fails_in_one_line

from plausible.cli import main

TINY_VAE = {"epochs": 1, "channels": 4, "hidden": 16, "latent": 4, "batch_size": 64}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The demo on 200 avatars, a 1-epoch vae; pl.evaluate's feature network (for the Fréchet
    distance, which the demo does not show) trained for 5 steps instead of 300."""
    from plausible.demo_images import demo_pixels
    from plausible.evaluation import image_metrics

    lines = []
    out = tmp_path_factory.mktemp("pixels") / "grids"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(image_metrics, "FeatureNet", functools.partial(image_metrics.FeatureNet, steps=5))
        result = demo_pixels(out=out, n=200, test=100, samples=50, deep="vae", params=TINY_VAE, say=lines.append)
    return result, out, "\n".join(str(line) for line in lines)


def test_the_pixels_demo_prints_the_recovery_table_beside_the_real_floor(tiny):
    result, _, printed = tiny
    table = result["table"]
    assert list(table.columns) == ["real images", "independent", "vae"]
    assert "TV all five (4,032 combinations)" in table.index and "unreadable share" in table.index
    assert len(table) == 7 and table["real images"].notna().all() and table.iloc[5:].notna().all().all()
    values = table.to_numpy()
    assert ((values[~np.isnan(values)] >= 0) & (values[~np.isnan(values)] <= 1)).all()   # NaN: nothing read
    # one categorical per pixel value: every sample a blur of pixel histograms, which the reader cannot read
    assert table.loc["unreadable share", "independent"] > 0.9
    assert table.loc["unreadable share", "real images"] < 0.1
    assert table.loc["TV all five (4,032 combinations)", "independent"] > \
        table.loc["TV all five (4,032 combinations)", "real images"]
    assert "real images" in printed and "naive Bayes" in printed and "1 epochs" in printed
    assert result["runs"]["vae"]["model"].epochs_trained_ == 1


def test_the_pixels_demo_writes_a_grid_per_model_and_one_of_real_avatars(tiny):
    _, out, _ = tiny
    for name in ("real", "independent", "vae"):
        picture = np.asarray(Image.open(out / f"{name}.png"))
        assert picture.ndim == 3 and picture.shape[2] == 3 and picture.shape[1] > 8 * 64   # 8 columns, scale 2
    side_by_side = np.asarray(Image.open(out / "all.png"))
    assert side_by_side.shape[0] == picture.shape[0] and side_by_side.shape[1] > 3 * picture.shape[1]


def test_the_pixels_demo_refuses_naive_bayes_as_its_deep_rung_and_too_few_held_out_images():
    from plausible.demo_images import demo_pixels

    with pytest.raises(ValueError, match="deep rung"):
        demo_pixels(out=None, deep="independent")
    with pytest.raises(ValueError, match="2 x samples"):
        demo_pixels(out=None, test=100, samples=100)


def test_demo_pixels_on_the_command_line_passes_model_seed_budget_and_out(tmp_path, monkeypatch):
    from plausible import demo_images

    calls = []
    monkeypatch.setattr(demo_images, "demo_pixels", lambda **kwargs: calls.append(kwargs) or {})
    assert main(["demo", "pixels", "--out", str(tmp_path / "grids"), "--model", "gaussian", "--seed", "3",
                 "--time-budget", "30"]) == 0
    assert calls == [{"out": str(tmp_path / "grids"), "deep": "gaussian", "seed": 3, "time_budget": 30.0}]
    assert main(["demo", "pixels"]) == 0 and calls[-1]["out"] == "plausible-pixels"
    assert calls[-1]["deep"] == demo_images.DEEP == "diffusion"


def test_demo_latent_on_the_command_line_writes_the_map_and_strip_where_asked(tmp_path, monkeypatch):
    from plausible.tasks import latent

    calls = []
    monkeypatch.setattr(latent, "demo_latent", lambda **kwargs: calls.append(kwargs) or {})
    assert main(["demo", "latent", "--out", str(tmp_path / "map.png"), "--time-budget", "60"]) == 0
    assert calls == [{"out": tmp_path / "map.png", "strip": tmp_path / "map_strip.png", "seed": 0,
                      "time_budget": 60.0}]


@pytest.mark.parametrize("argv, says", [
    (["demo", "pixels", "--out", "grid.png"], "folder"),
    (["demo", "latent", "--out", "map.md"], ".png"),
    (["demo", "latent", "--model", "gan"], "--model is for the pixels demo"),
    (["demo", "pictures"], "invalid choice"),
])
def test_a_wrong_demo_flag_is_refused_in_one_line(argv, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert says in fails_in_one_line(argv)


@pytest.mark.slow
def test_the_pixels_demo_at_its_defaults_reads_features_back_from_the_joint_model_not_from_naive_bayes(tmp_path):
    """Minutes on 2 cores. Measured 2026-12-06: independent 100% unreadable, gaussian 96%; the issue's
    target for a deep rung (within 1.5 x the floor, under 5% unreadable) is not met at these defaults."""
    from plausible.demo_images import DEEP, demo_pixels

    table = demo_pixels(out=tmp_path, say=lambda line: None)["table"]
    unreadable = table.loc["unreadable share"]
    assert unreadable["independent"] > 0.99 and unreadable["real images"] < 0.01
    assert unreadable[DEEP] < unreadable["independent"]
    assert table[DEEP].iloc[:5].max() < 0.4          # each feature (gaussian: 0.12-0.24)
