"""`pl.fit` and `plausible fit`'s default model="auto": the fast rung a detector tells apart least."""
import numpy as np
import pandas as pd
import pytest

import plausible as pl
from plausible.cli import main
from plausible.tasks.synthesis import AUTO_CANDIDATES, choose_synthesizer


def _tied(n=400, seed=0):
    """Labels tied to labels (a one-hot health status), which a Gaussian copula cannot keep exclusive."""
    rng = np.random.default_rng(seed)
    status = rng.choice(["good", "fair", "poor"], n, p=[0.6, 0.3, 0.1])
    return pd.DataFrame({"good": (status == "good").astype(int), "fair": (status == "fair").astype(int),
                         "poor": (status == "poor").astype(int), "visits": rng.poisson(np.where(status == "poor", 6, 1))})


def test_auto_chooses_by_detection_on_held_back_rows_and_says_why():
    """On 2,000 rows the detector sees copula's and bayesnet's rows with two statuses or none."""
    name, reason, scores = choose_synthesizer(_tied(2000), seed=0)
    assert set(scores) == set(AUTO_CANDIDATES) and name in AUTO_CANDIDATES
    assert scores[name] <= min(scores.values()) + 0.02
    assert name in reason and "held-back rows" in reason
    model = pl.fit(_tied(2000), seed=0)
    assert model.name == name == "gmm" and model.choice_["model"] == name
    synthetic = model.sample(500, seed=1)
    assert (synthetic[["good", "fair", "poor"]].sum(axis=1) == 1).mean() > 0.9


def test_fit_by_name_and_too_few_rows():
    assert pl.fit(_tied(), "copula").name == "copula"
    small = _tied(n=20)
    name, reason, scores = choose_synthesizer(small)
    assert name == AUTO_CANDIDATES[0] and "too few" in reason and scores == {}
    with pytest.raises(ValueError, match="name it"):
        pl.fit(_tied(), params={"alpha": 1.0})


def test_cli_fit_defaults_to_auto(tmp_path, capsys):
    path = tmp_path / "t.csv"
    _tied().to_csv(path, index=False)
    assert main(["fit", str(path), "--out", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "auto chose" in out and pl.load(tmp_path / "m").name in AUTO_CANDIDATES
