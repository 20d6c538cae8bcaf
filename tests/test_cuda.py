"""The deep models on a CUDA GPU: run where PyTorch sees one (skipped elsewhere, CI included).

On a GPU machine: `PYTHONPATH=src python3 -m pytest -q tests/test_cuda.py`. Each model trains on
the GPU with `device="cuda"`, then must behave as one trained on the CPU: its weights are back on
the CPU (a model trained on a GPU samples, scores, imputes, saves and loads on a laptop), its
draws are finite and follow the table, and it learns about as well as the same training on the CPU.
"""
import numpy as np
import pandas as pd
import pytest
import torch

import plausible as pl
from plausible.core.registry import get_class
from plausible.evaluation.samples import metrics

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible to PyTorch")

DEEP = ["vae", "gan", "autoregressive", "flow", "diffusion", "rbm"]


def table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = np.where(x + rng.normal(0, 0.5, n) > 0, "red", "blue")
    spend = np.where(rng.random(n) < 0.4, 0.0, np.exp(1 + 0.5 * x + rng.normal(0, 0.3, n)))
    frame = pd.DataFrame({"x": x, "colour": colour, "spend": spend, "visits": rng.poisson(2 + (x > 0), n)})
    frame.loc[rng.random(n) < 0.05, "spend"] = np.nan
    return frame


def weights_device(model) -> set:
    found = set()
    for value in vars(model).values():
        if isinstance(value, torch.nn.Module):
            found |= {p.device.type for p in value.parameters()}
    return found


@pytest.mark.parametrize("name", DEEP)
def test_a_model_trained_on_the_gpu_is_used_and_saved_like_any_other(name, tmp_path):
    frame = table(1500, 0)
    settings = {**get_class(name).test_params, "device": "cuda"}
    model = pl.make(name, seed=0, **settings).fit(frame)
    assert weights_device(model) <= {"cpu"}
    synthetic = model.sample(500, seed=1)
    assert list(synthetic.columns) == list(frame.columns) and len(synthetic) == 500
    assert set(synthetic["colour"].dropna()) <= {"red", "blue"}
    if get_class(name).log_prob_kind != "none":
        assert np.isfinite(model.log_prob(frame.dropna().head(200))).all()
    if get_class(name).impute_kind != "none":
        holes = frame.head(100).copy()
        holes.loc[::2, "x"] = np.nan
        completed = model.impute(holes, n_draws=2, seed=2)[0]
        assert completed["x"].notna().all()
        assert completed.loc[1::2, "x"].equals(holes.loc[1::2, "x"])
    model.save(tmp_path / "model.plausible")
    again = pl.load(tmp_path / "model.plausible")
    pd.testing.assert_frame_equal(again.sample(50, seed=3), model.sample(50, seed=3))


@pytest.mark.parametrize("name", DEEP)
def test_gpu_training_learns_as_well_as_cpu_training(name):
    train, holdout = table(3000, 1), table(1000, 2)
    scores = {}
    for device in ("cpu", "cuda"):
        model = pl.make(name, seed=0, device=device, time_budget=20.0).fit(train)
        scores[device] = metrics.marginal_fidelity(holdout, model.sample(len(holdout), seed=1))
    assert scores["cuda"] > scores["cpu"] - 0.05, scores
