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
    """On 1,000 rows the detector sees the copula's rows with two statuses or none."""
    model = pl.fit(_tied(1000), seed=0, time_budget=2.0)   # rbm trains 2 s at most (tiny test)
    name, reason, scores = model.choice_["model"], model.choice_["reason"], model.choice_["detection_auc"]
    assert set(scores) == set(AUTO_CANDIDATES) and model.name == name
    assert scores[name] <= min(scores.values()) + 0.02
    assert name in reason and "held-back rows" in reason
    assert scores["copula"] > min(scores["gmm"], scores["rbm"])   # the copula cannot keep statuses exclusive
    synthetic = model.sample(500, seed=1)
    assert (synthetic[["good", "fair", "poor"]].sum(axis=1) == 1).mean() > 0.9


def test_auto_candidates_include_a_trained_rung_under_a_time_budget(monkeypatch):
    """rbm keeps conditional ties the classical rungs miss; choosing and refitted, it trains for at
    most EPOCHS epochs and `time_budget` seconds (BUDGET by default); the classical rungs keep their defaults."""
    from plausible.tasks import synthesis

    assert "rbm" in AUTO_CANDIDATES and AUTO_CANDIDATES[:3] == ("bayesnet", "copula", "gmm")
    name, _, scores = choose_synthesizer(_tied(200), seed=0, candidates=("rbm",), time_budget=0.5)
    assert name == "rbm" and set(scores) == {"rbm"}
    budgets = []
    monkeypatch.setattr(synthesis, "choose_synthesizer",
                        lambda data, seed, schema, time_budget: budgets.append(time_budget) or ("rbm", "why", {}))
    assert pl.fit(_tied(200), seed=0, time_budget=0.5).get_params()["time_budget"] == 0.5 == budgets[-1]
    params = pl.fit(_tied(200), seed=0).get_params()
    assert params["time_budget"] == synthesis.BUDGET == budgets[-1] and params["epochs"] == synthesis.EPOCHS
    monkeypatch.setattr(synthesis, "choose_synthesizer", lambda data, seed, schema, time_budget: ("copula", "why", {}))
    assert pl.fit(_tied(200), seed=0).get_params() == pl.make("copula").get_params()


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
    assert main(["fit", str(path), "--out", str(tmp_path / "m"), "--time-budget", "2"]) == 0
    out = capsys.readouterr().out
    assert "auto chose" in out and pl.load(tmp_path / "m").name in AUTO_CANDIDATES
