"""Images on the command line and in pl.evaluate (issue 25 parts 1 and 5), with tiny data."""
import numpy as np
import pytest

import plausible as pl
from plausible.cli import main
from plausible.evaluation.image_metrics import frechet_distance, precision_recall
from test_cli_surface import fails_in_one_line


@pytest.fixture(scope="module")
def digits():
    images = pl.datasets.load("digits")
    return images[:300], images[300:420]


def test_frechet_distance_is_zero_for_identical_features_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 5))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + 2.0) == pytest.approx(5 * 4.0, rel=0.05)   # |mean difference|^2


def test_precision_and_recall_see_fidelity_and_diversity_apart():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 2))
    corner = real[np.argsort(((real - 1.0) ** 2).sum(1))[:30]]         # faithful but not diverse: one corner
    collapsed = corner + rng.normal(scale=0.01, size=(30, 2))
    precision, recall = precision_recall(real, collapsed)
    assert precision > 0.9 and recall < 0.5
    far = real + 10.0
    assert precision_recall(real, far) == (0.0, 0.0)


def test_evaluate_scores_images_beside_their_floor(digits):
    train, test = digits
    model = pl.make("independent").fit(train)
    result = pl.evaluate(real=test, synthetic=model.sample(120, seed=1), train=train, model=model)
    assert {"frechet_distance", "precision", "recall", "dcr_ratio", "exact_copy_rate", "bits_per_dim"} <= set(result)
    assert result["frechet_distance"] > result.floor["frechet_distance"]       # naive Bayes on pixels: noise
    assert 2.0 < result["bits_per_dim"] < 3.5
    copies = pl.evaluate(real=test, synthetic=train[:60], train=train)
    assert copies["exact_copy_rate"] == 1.0 and copies["dcr_ratio"] == 0.0     # memorization is seen


def test_evaluate_refuses_mismatched_images_in_one_line(digits):
    train, test = digits
    with pytest.raises(ValueError, match="shape"):
        pl.evaluate(real=test, synthetic=np.zeros((20, 6, 6), np.uint8))
    with pytest.raises(ValueError, match="target"):
        pl.evaluate(real=test, synthetic=train, target="x")


def test_fit_sample_impute_score_evaluate_images_from_the_command_line(tmp_path, digits, capsys):
    train, test = digits
    np.save(tmp_path / "train.npy", train)
    holes = test[:4] / 16.0
    holes[:, 4:] = np.nan
    np.save(tmp_path / "holes.npy", holes)
    model = tmp_path / "m.plausible"
    assert main(["fit", str(tmp_path / "train.npy"), "--model", "independent", "--out", str(model)]) == 0
    assert main(["sample", str(model), "--n", "9", "--out", str(tmp_path / "samples")]) == 0
    pngs = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert len(pngs) == 10 and "grid.png" in pngs
    assert main(["sample", str(model), "--n", "30", "--out", str(tmp_path / "samples.npy")]) == 0
    assert np.load(tmp_path / "samples.npy").shape == (30, 8, 8)
    assert main(["impute", str(model), str(tmp_path / "holes.npy"), "--draws", "3",
                 "--out", str(tmp_path / "fills.npy")]) == 0
    fills = np.load(tmp_path / "fills.npy")
    assert fills.shape == (3, 4, 8, 8) and np.array_equal(fills[:, :, :4], np.broadcast_to(holes[:, :4], (3, 4, 4, 8)))
    assert main(["score", str(model), str(tmp_path / "train.npy"), "--out", str(tmp_path / "scores.csv")]) == 0
    assert "bits/dim" in capsys.readouterr().out
    np.save(tmp_path / "test.npy", test)
    assert main(["evaluate", "--real", str(tmp_path / "test.npy"), "--synthetic", str(tmp_path / "samples.npy"),
                 "--train", str(tmp_path / "train.npy"), "--model-dir", str(model)]) == 0
    assert "frechet_distance" in capsys.readouterr().out


def test_image_commands_fail_in_one_line(tmp_path, digits):
    train, _ = digits
    np.save(tmp_path / "train.npy", train)
    assert "does not model images" in fails_in_one_line(["fit", str(tmp_path / "train.npy"), "--model", "copula", "--out", str(tmp_path / "m")])
    model = tmp_path / "m.plausible"
    assert main(["fit", str(tmp_path / "train.npy"), "--model", "independent", "--out", str(model)]) == 0
    assert "--mask" in fails_in_one_line(["impute", str(model), str(tmp_path / "train.npy"), "--out", str(tmp_path / "f.npy")])
    assert "folder" in fails_in_one_line(["sample", str(model), "--n", "3", "--out", str(tmp_path / "s.csv")])
