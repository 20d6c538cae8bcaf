"""The image rbm and dbn: AIS against exact enumeration, log_prob summing to one over a tiny image
space, clamped Gibbs keeping (and conditioning on) the known pixels, and the binary rendering."""
import itertools

import numpy as np
import pytest

import plausible as pl
from plausible.core.errors import ParameterError
from plausible.ladder.image_rbm import Machine, ais_log_partition, base_rates, gibbs_complete

ALL_3X3 = np.array(list(itertools.product([0, 1], repeat=9)), dtype=np.int64).reshape(-1, 3, 3)


def _exact_log_z(machine: Machine) -> float:
    states = np.array(list(itertools.product([0.0, 1.0], repeat=machine.weight.shape[0])))
    return float(np.logaddexp.reduce(machine.neg_free_energy(states)))


def test_ais_matches_the_log_partition_function_by_enumeration():
    rng = np.random.default_rng(0)
    machine = Machine(rng.normal(0, 1.0, (8, 4)), rng.normal(0, 1.0, 8), rng.normal(0, 1.0, 4))
    exact = _exact_log_z(machine)
    base = base_rates(rng.random((50, 8)) < 0.4)
    estimate, error = ais_log_partition(machine, base, steps=1000, runs=200, rng=np.random.default_rng(0))
    assert abs(estimate - exact) < 0.1, (estimate, exact)
    assert 0 < error < 0.1
    # too few temperatures give a visibly worse estimate: the test can fail
    rough, _ = ais_log_partition(machine, base, steps=10, runs=2, rng=np.random.default_rng(0))
    assert abs(rough - exact) > abs(estimate - exact)


def _two_modes(n=200, seed=0):
    """3 x 3 binary images, all off or all on, a few pixels flipped."""
    rng = np.random.default_rng(seed)
    on = rng.random(n) < 0.5
    images = np.repeat(on[:, None], 9, axis=1) ^ (rng.random((n, 9)) < 0.05)
    return images.astype(np.int64).reshape(n, 3, 3)


@pytest.mark.parametrize("name, params, exact", [("rbm", {"hidden": 6}, True), ("dbn", {"layers": (6,)}, True),
                                                 ("dbn", {"layers": (8, 4)}, False)])
def test_probabilities_of_every_3x3_binary_image_sum_to_one(name, params, exact):
    model = pl.make(name, seed=0, epochs=100, ais_steps=2000, ais_runs=100, **params).fit(_two_modes())
    total = np.exp(model.log_prob(ALL_3X3)).sum()
    if exact:      # log P exact up to the AIS estimate of log Z
        assert abs(total - 1) < 0.05, total
    else:          # a lower bound (importance-weighted) up to the AIS error
        assert 0.3 < total < 1.05, total


def test_levels_within_each_half_make_a_distribution_over_level_images():
    """Levels 0..3 on 2 x 2 images: P(bits) x q(level | bit) sums to one over all 4^4 images."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 4, (100, 2, 2))
    model = pl.make("rbm", seed=0, hidden=4, epochs=30, ais_steps=2000).fit(images)
    every = np.array(list(itertools.product(range(4), repeat=4))).reshape(-1, 2, 2)
    assert abs(np.exp(model.log_prob(every)).sum() - 1) < 0.05


def test_clamped_gibbs_keeps_the_known_bits():
    rng = np.random.default_rng(0)
    machine = Machine(*(rng.normal(0, 1, s).astype(np.float32) for s in ((9, 5), 9, 5)))
    bits = (rng.random((20, 9)) < 0.5).astype(float)
    bits[rng.random(bits.shape) < 0.5] = np.nan
    drawn = gibbs_complete(machine, np.zeros(9), bits, steps=30, rng=rng)
    known = ~np.isnan(bits)
    assert np.array_equal(drawn[known], bits[known])
    assert set(np.unique(drawn)) <= {0.0, 1.0}


@pytest.mark.parametrize("name, params", [("rbm", {"hidden": 6, "epochs": 100}),
                                          ("dbn", {"layers": (8, 8), "epochs": 300, "impute_steps": 50})])
def test_impute_conditions_on_the_known_pixels(name, params):
    """Images are all on or all off: with the top row on, the rest is mostly on, and off with it off."""
    model = pl.make(name, seed=0, batch_size=20, gibbs_steps=50, ais_steps=100, **params).fit(_two_modes())
    holes = np.full((40, 3, 3), np.nan)
    holes[:20, 0] = 1.0
    holes[20:, 0] = 0.0
    filled = model.impute(holes, n_draws=1, seed=0)[0]
    assert (filled[:20, 0] == 1).all() and (filled[20:, 0] == 0).all()
    assert filled[:20, 1:].mean() > 0.8 and filled[20:, 1:].mean() < 0.2


def test_dbn_impute_draws_from_the_exact_conditional_of_its_generative_model():
    """A 2-layer dbn on 3 x 3 bits is small enough to enumerate: P(v) = sum_h1 P(v | h1) P_top(h1).
    Given the middle row, the mean of each unknown pixel over many Gibbs draws matches the exact
    conditional."""
    model = pl.make("dbn", seed=0, layers=(4, 3), epochs=100, batch_size=20, impute_steps=60,
                    ais_steps=100).fit(_two_modes())
    bottom, top = model.machines_
    h1 = np.array(list(itertools.product([0.0, 1.0], repeat=4)))
    log_prior = top.neg_free_energy(h1)                                    # (16,) log P_top(h1) + log Z
    logits = h1 @ bottom.weight.T.astype(float) + bottom.visible           # (16, 9)
    v = ALL_3X3.reshape(-1, 9).astype(float)
    log_joint = v @ logits.T - np.logaddexp(0, logits).sum(1) + log_prior  # (512, 16)
    log_p = np.logaddexp.reduce(log_joint, axis=1)
    given = (v[:, 3:6] == [1, 0, 1]).all(1)
    weights = np.exp(log_p[given] - log_p[given].max())
    exact = (weights[:, None] * v[given]).sum(0) / weights.sum()
    holes = np.full((1500, 3, 3), np.nan)
    holes[:, 1] = [1.0, 0.0, 1.0]
    drawn = model.impute(holes, n_draws=1, seed=0)[0].reshape(-1, 9).mean(0)
    np.testing.assert_allclose(drawn, exact, atol=0.04)


def test_samples_are_levels_or_with_render_binary_the_two_extreme_levels():
    images = pl.datasets.load("digits")[:300].astype(np.int64)        # levels 0..16
    model = pl.make("rbm", seed=0, hidden=20, epochs=10, gibbs_steps=50, ais_steps=100).fit(images)
    levels = model.sample(50, seed=1)
    assert len(np.unique(levels)) > 2 and levels.max() <= images.max()
    binary = pl.make("rbm", seed=0, hidden=20, epochs=10, gibbs_steps=50, ais_steps=100, render="binary").fit(images)
    assert set(np.unique(binary.sample(50, seed=1))) == {0, int(images.max())}
    np.testing.assert_allclose(binary.log_prob(images[:5]), model.log_prob(images[:5]))


def test_hidden_makes_the_image_rbm_and_layers_are_checked():
    assert pl.make("rbm", hidden=200).data_kind == "image"
    assert pl.make("dbn", layers=[64, 32]).layers == (64, 32)
    assert pl.make("dbn", layers=50).layers == (50,)
    for bad in [(), (64, 0), "64", (64.0,)]:
        with pytest.raises(ParameterError, match="layers"):
            pl.make("dbn", layers=bad)
    spec = pl.make("dbn").params["layers"]
    assert spec.parse("layers", "64,32") == (64, 32)
    with pytest.raises(ParameterError, match="commas"):
        spec.parse("layers", "64;32")


def test_dbn_fast_middle_layer_sweep_matches_the_logaddexp_sweep():
    """The middle layers' unit-by-unit sweep by products of e^logits gives the draws of the plain
    logaddexp sweep (the fallback for huge weights), seed for seed."""
    model = pl.make("dbn", seed=0, layers=(6, 5, 4), epochs=20).fit(_two_modes())
    rng = np.random.default_rng(1)
    layers = [(rng.random((50, width)) < 0.5).astype(np.float32) for width in (9, 6, 5, 4)]
    fast, plain = [a.copy() for a in layers], [a.copy() for a in layers]
    for k in (1, 2):
        model._gibbs_layer(fast, k, np.random.default_rng(k))
        model._gibbs_layer_logaddexp(plain, k, np.random.default_rng(k))
    for a, b in zip(fast, plain):
        np.testing.assert_array_equal(a, b)
