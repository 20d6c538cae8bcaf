"""Built-in image data: digits, avatars (and the classifier that reads their features back), jars."""
import numpy as np
import pandas as pd
import pytest

import plausible as pl
from plausible.datasets import avatars, fashion, images


def test_image_sets_are_listed_beside_tables_and_series():
    assert pl.datasets.names(kind="image") == ["digits", "avatars", "jars"]
    assert all(pl.datasets.info(name).kind == "image" for name in pl.datasets.names(kind="image"))
    assert "fashion" in pl.datasets.names(kind="table") and "nile" in pl.datasets.names(kind="series")
    assert set(pl.datasets.names()) >= {"fashion", "nile", "digits", "avatars", "jars"}
    with pytest.raises(ValueError, match="kind must be one of"):
        pl.datasets.names(kind="pictures")
    assert isinstance(pl.datasets.load("fashion", n=5), pd.DataFrame)
    with pytest.raises(ValueError, match="return_labels is for image datasets"):
        pl.datasets.load("fashion", n=5, return_labels=True)


def test_digits_are_sklearns_with_their_labels():
    x, y = pl.datasets.load("digits", return_labels=True)
    assert x.shape == (1797, 8, 8) and x.dtype == np.uint8 and x.min() == 0 and x.max() == 16
    assert y.dtype.kind == "i" and set(y) == set(range(10))
    import sklearn.datasets
    np.testing.assert_array_equal(x, sklearn.datasets.load_digits().images)
    few, labels = pl.datasets.load("digits", n=20, seed=3, return_labels=True)
    assert few.shape == (20, 8, 8) and len(labels) == 20
    np.testing.assert_array_equal(few, pl.datasets.load("digits", n=20, seed=3))
    assert pl.datasets.info("digits").levels == 17


def test_avatars_are_the_fashion_draw_rendered():
    x, features = pl.datasets.load("avatars", n=40, seed=7, return_labels=True)
    assert x.shape == (40, 32, 32, 3) and x.dtype == np.uint8
    pd.testing.assert_frame_equal(features, pl.datasets.load("fashion", n=40, seed=7))
    np.testing.assert_array_equal(x, pl.datasets.load("avatars", n=40, seed=7))       # same seed, same pictures
    grey = pl.datasets.load("avatars", n=40, seed=7, color=False)
    assert grey.shape == (40, 32, 32) and grey.dtype == np.uint8
    np.testing.assert_allclose(grey, x @ avatars.GREY_WEIGHTS, atol=1.01)            # luminance of the colour one
    assert len(pl.datasets.truth("avatars")) == 4032


def test_every_combination_is_its_own_picture_in_colour_and_in_grey():
    every = fashion.truth()
    for color in (True, False):
        pictures = avatars.render(every, color=color).reshape(len(every), -1)
        assert len(np.unique(pictures, axis=0)) == 4032


def test_every_feature_changes_the_picture_in_many_pixels():
    base = fashion.truth().iloc[[0]].reset_index(drop=True)   # Blank, Black, Hoodie, Black, NoHair
    for name, labels in fashion.COLUMNS.items():
        variants = pd.concat([base.assign(**{name: label}) for label in labels], ignore_index=True)
        pictures = avatars.render(variants).astype(int)
        for i in range(len(labels)):
            for j in range(i):
                changed = np.abs(pictures[i] - pictures[j]).max(axis=-1) > 30
                assert changed.sum() >= 4, (name, labels[i], labels[j])


def test_colours_of_one_feature_differ_in_grey():
    for palette in (avatars.HAIR_RGB, avatars.CLOTHING_RGB):
        greys = np.sort([np.dot(rgb, avatars.GREY_WEIGHTS) for rgb in palette.values()])
        assert np.diff(greys).min() >= 15
        for fixed in (avatars.SKIN, avatars.BACKGROUND):   # every silhouette and neckline stays visible
            assert np.abs(greys - np.dot(fixed, avatars.GREY_WEIGHTS)).min() >= 15


def test_the_reader_reads_fresh_avatars_and_not_noise():
    x, features = pl.datasets.load("avatars", n=2000, seed=123, return_labels=True)   # the reader trains on seed 0
    read, readable = avatars.read_features(x)
    for name in avatars.FEATURES:
        assert (read[name].to_numpy() == features[name].to_numpy()).mean() >= 0.99, name
    assert readable.mean() >= 0.99
    noisy = np.clip(x[:500] / 255 + np.random.default_rng(1).normal(0, 0.05, x[:500].shape), 0, 1)
    read_noisy, _ = avatars.read_features(noisy)
    assert all((read_noisy[name].to_numpy() == features[name][:500].to_numpy()).mean() >= 0.99
               for name in avatars.FEATURES)
    noise = np.random.default_rng(2).integers(0, 256, size=(300, 32, 32, 3)).astype(np.uint8)
    assert avatars.read_features(noise)[1].mean() <= 0.05
    with pytest.raises(ValueError, match=r"\(n, 32, 32, 3\)"):
        avatars.read_features(np.zeros((2, 8, 8)))


def test_jars_vary_only_in_height_and_width_and_smoothly():
    x, sizes = pl.datasets.load("jars", n=400, seed=0, return_labels=True)
    assert x.shape == (400, 32, 32) and x.dtype == np.uint8 and list(sizes.columns) == ["height", "width"]
    assert sizes["height"].between(*images.HEIGHT_RANGE).all() and sizes["width"].between(*images.WIDTH_RANGE).all()
    np.testing.assert_array_equal(x, images.draw_jars(sizes["height"], sizes["width"]))
    # anti-aliased: a tenth of a pixel more width moves the picture a little, never by a whole edge
    step = images.draw_jars([20.0, 20.0], [15.0, 15.1]).astype(int)
    assert 0 < np.abs(step[1] - step[0]).max() <= 0.1 * images.BODY_LEVEL + 1
    # the sizes are a (linear) function of the pixels: held-out R^2 near 1
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    test, test_sizes = pl.datasets.load("jars", n=200, seed=1, return_labels=True)
    fitted = Ridge(alpha=1e-3).fit(x.reshape(400, -1) / 255, sizes)
    assert r2_score(test_sizes, fitted.predict(test.reshape(200, -1) / 255)) >= 0.99
