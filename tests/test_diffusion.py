"""diffusion: samples a known mixture, imputes by masked conditioning, samples in ≤ 50 network calls.

The fast tests use a small network (about 20 s in all); the two tests marked slow run the default
settings against the tolerances the issue asks for (`pytest -m slow tests/test_diffusion.py`).
"""
import numpy as np
import pandas as pd
import pytest
from _tables import conditional, energy_distance, gaussian, mixture

import plausible as pl

SMALL = {"updates": 1500, "hidden": 128, "batch_size": 256}


@pytest.fixture(scope="module")
def small_gaussian():
    return pl.make("diffusion", seed=0, **SMALL).fit(gaussian(5000, seed=1))


def test_imputation_follows_the_known_cells(small_gaussian):
    draws = {a: small_gaussian.impute(pd.DataFrame({"a": np.full(1000, a), "b": np.nan, "c": np.nan}),
                                      n_draws=1, seed=2)[0] for a in (-1.5, 1.5)}
    assert (draws[1.5]["a"] == 1.5).all() and draws[1.5][["b", "c"]].notna().all().all()
    # E[b | a] = 0.8 a: the two conditionals sit about 2.4 apart; the marginal of b would give 0
    gap = draws[1.5]["b"].mean() - draws[-1.5]["b"].mean()
    assert 1.9 < gap < 2.9, f"E[b | a=1.5] − E[b | a=−1.5] = {gap:.2f}, expected 2.4"
    # conditioning narrows b (sd 1 -> 0.6) and hardly c (1 -> 0.95)
    assert draws[1.5]["b"].std() < 0.8 < draws[1.5]["c"].std()


def test_sampling_takes_at_most_sampling_steps_network_calls(small_gaussian, monkeypatch):
    calls = []
    forward = type(small_gaussian.net_).forward
    monkeypatch.setattr(type(small_gaussian.net_), "forward",
                        lambda self, *args: calls.append(1) or forward(self, *args))
    small_gaussian.sample(100, seed=0)
    assert len(calls) == small_gaussian.sampling_steps == 10
    with pytest.raises(pl.ParameterError, match="sampling_steps"):
        pl.make("diffusion", sampling_steps=51)


def test_a_small_network_already_finds_every_cluster():
    model = pl.make("diffusion", seed=0, **SMALL).fit(mixture(5000, seed=0))
    samples = model.sample(3000, seed=0).to_numpy()
    centres = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    nearest = np.linalg.norm(samples[:, None] - centres[None], axis=2).argmin(1)
    shares = np.bincount(nearest, minlength=3) / len(samples)
    np.testing.assert_allclose(shares, [0.4, 0.35, 0.25], atol=0.05)


@pytest.mark.slow
def test_default_samples_are_as_close_to_a_mixture_as_a_second_sample_of_it():
    reference, second = mixture(2000, seed=1).to_numpy(), mixture(2000, seed=2).to_numpy()
    floor = energy_distance(second, reference)
    model = pl.make("diffusion", seed=0).fit(mixture(5000, seed=0))
    distance = energy_distance(model.sample(2000, seed=0).to_numpy(), reference)
    # stated tolerance: at most 3x the distance between two real samples of the same size
    # (measured: 0.0037 against a floor of 0.0023)
    assert distance < 3 * floor, f"energy distance {distance:.4f}, noise floor {floor:.4f}"


@pytest.mark.slow
def test_default_imputation_has_the_gaussian_conditional_mean_and_spread():
    model = pl.make("diffusion", seed=0).fit(gaussian(5000, seed=1))
    draws = model.impute(pd.DataFrame({"a": np.full(2000, 1.5), "b": np.nan, "c": np.nan}), n_draws=1, seed=2)[0]
    mean, sd = conditional(1.5)
    # stated tolerance: means within 0.15 (a quarter of b's conditional sd), spreads within 20%
    np.testing.assert_allclose(draws[["b", "c"]].mean(), mean, atol=0.15)
    np.testing.assert_allclose(draws[["b", "c"]].std(), sd, rtol=0.2)


def test_the_second_order_solver_needs_fewer_steps_than_ddim():
    """DPM-Solver++(2M) integrates the same ODE to second order: at 4 network evaluations its
    samples are closer to the mixture than DDIM's; with eta > 0 it falls back to DDIM."""
    reference = mixture(2000, seed=1).to_numpy()
    model = pl.make("diffusion", seed=0, updates=600, hidden=64, sampling_steps=4).fit(mixture(3000, seed=0))
    distances = {}
    for solver in ("ddim", "dpm++2m"):
        model.set_params(solver=solver)
        distances[solver] = np.mean([energy_distance(model.sample(1500, seed=s).to_numpy(), reference)
                                     for s in range(2)])
    assert distances["dpm++2m"] < 0.8 * distances["ddim"], distances      # measured 0.038 vs 0.059
    model.set_params(eta=0.5)
    np.testing.assert_array_equal(model.sample(50, seed=3).to_numpy(),
                                  pl.make("diffusion", seed=0, updates=600, hidden=64, sampling_steps=4, eta=0.5)
                                  .fit(mixture(3000, seed=0)).sample(50, seed=3).to_numpy())
