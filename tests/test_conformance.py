"""Every registered model keeps every promise of the protocol (plausible.testing).

One test per (model, check). A check that does not apply to a model's declared capabilities
raises `plausible.testing.Skip`, reported here as a pytest skip with its reason (`-rs` prints them).
"""
import random

import numpy as np
import pytest
import torch

import plausible as pl
import plausible.testing
from plausible.core.model import Model

MODELS = sorted(name for name, entry in pl.models().items() if entry["data_kind"] != "image")  # image-only rungs
# (dbn) keep the image suite's promises instead: tests/test_conformance_images.py


@pytest.mark.parametrize("check", list(plausible.testing.CHECKS))
@pytest.mark.parametrize("name", MODELS)
def test_conformance(name, check):
    try:
        plausible.testing.CHECKS[check](name)
    except plausible.testing.Skip as why:
        pytest.skip(f"{name}: {why}")


def test_every_family_of_the_core_is_registered():
    assert {"independent", "histogram"} <= set(MODELS)


def test_check_model_reports_what_passed_and_what_was_skipped_and_why(capsys):
    """For users without pytest: the outcome of every check, skips with their reasons."""
    estimated = [n for n in MODELS if pl.models()[n]["log_prob"] not in ("exact", "bound")]
    exact = [n for n in MODELS if pl.models()[n]["log_prob"] == "exact"]
    for name in estimated[:1] + exact[:1]:
        outcomes = plausible.testing.check_model(name, ["fit_returns_model", "normalization_1d"], verbose=True)
        assert outcomes["fit_returns_model"] == "passed"
        kind = pl.models()[name]["log_prob"]
        if kind == "exact":
            assert outcomes["normalization_1d"] == "passed"
        else:
            assert outcomes["normalization_1d"].startswith(f"skipped: log_prob_kind {kind!r}")
        assert f"{name}: normalization_1d: {outcomes['normalization_1d']}" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no conformance check 'no_such_check'"):
        plausible.testing.check_model(MODELS[0], ["no_such_check"])


@pytest.mark.parametrize("touch", [
    lambda: np.random.random(),             # moves the position in the key only (the key changes every 624 draws)
    lambda: np.random.normal(),             # leaves a cached Gaussian behind
    lambda: random.random(),
    lambda: torch.rand(1),
], ids=["numpy position", "numpy cached gaussian", "python random", "torch"])
def test_the_global_state_check_sees_any_draw_from_a_global_generator(monkeypatch, touch):
    sample = Model.sample
    monkeypatch.setattr(Model, "sample", lambda self, *args, **kwargs: (touch(), sample(self, *args, **kwargs))[1])
    with pytest.raises(AssertionError, match="touched the global random state"):
        plausible.testing.check_model("independent", ["global_state"])
