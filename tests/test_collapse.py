"""Model collapse (`pl.experiments.collapse`, issue 27 part 4): the known answer for a Gaussian
fitted by maximum likelihood, replace against accumulate, the table's columns and the demo's files.

The known answer (derived in experiments/collapse.py's docstring). The gaussian rung with
shrinkage 0 and transform "none" is the maximum-likelihood Gaussian: its covariance divides by n
(`_gaussian.em_update` divides the second moments by the rows' count; + 1e-6 of each variance as
a ridge). With S_k the variance generation k was fitted to and n rows per generation:
- replace: E[S_k] = σ² ((n - 1)/n)^(k + 1);
- accumulate: E[S_k] = σ² (n - 1)/n ∏_{j=2}^{k+1} (1 - 1/(n j²)) ≥ σ² (n - 1)/n (1 - (π²/6 - 1)/n)
  at every k, the bound the accumulate chain is held to.
The `variance:<column>` metric is the variance of the n rows generation k draws, with n - 1 in
the denominator, so its expectation is E[S_k].

plausible never draws a number outside the range of the rows a model was fitted on (the layout
clips to it), which is no Gaussian: the known answer is checked on the gaussian rung with that
range opened (`MaximumLikelihood`), and the rung as it is shown to shrink at least as fast.
Each fit has 8 independent standard-normal columns: each column's chain is the 1-D law above
(the diagonal of a maximum-likelihood covariance is each column's own maximum-likelihood
variance); averaging them per seed cuts the Monte-Carlo noise, and the tolerance is 4 standard
errors of the mean over seeds.
"""
import numpy as np
import pandas as pd
import pytest

import plausible as pl
from plausible.experiments import collapse
from plausible.experiments.collapse import collapse_figure, collapse_table, summarize
from plausible.ladder.gaussian import Gaussian

N, COLUMNS, GENERATIONS, SEEDS = 10, 8, 5, 30


class MaximumLikelihood(Gaussian):
    """The gaussian rung, its draws free to leave the training range: a true Gaussian."""

    def _fit(self, data, rng):
        super()._fit(data, rng)
        for variable in self.layout_.continuous:
            variable.minimum, variable.maximum = -np.inf, np.inf
        for column in self.layout_.schema.columns:
            column.minimum = column.maximum = None


def _chains(model) -> pd.DataFrame:
    """Per seed and mode, the mean over the columns of `variance:<column>` by generation."""
    frames = []
    for seed in range(SEEDS):
        real = pd.DataFrame(np.random.default_rng(seed + 100).normal(size=(N, COLUMNS)),
                            columns=[f"x{c}" for c in range(COLUMNS)])
        frame = collapse(real, model, generations=GENERATIONS, mode=["replace", "accumulate"], seed=seed,
                         held_out=None)
        frame["variance"] = frame[[f"variance:x{c}" for c in range(COLUMNS)]].mean(axis=1)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _expected(mode: str) -> np.ndarray:
    k = np.arange(GENERATIONS)
    if mode == "replace":
        return ((N - 1) / N) ** (k + 1)
    return np.array([(N - 1) / N * np.prod([1 - 1 / (N * j * j) for j in range(2, g + 2)]) for g in k])


BOUND = (N - 1) / N * (1 - (np.pi ** 2 / 6 - 1) / N)


@pytest.fixture(scope="module")
def chains():
    return _chains(MaximumLikelihood(shrinkage=0.0, transform="none"))


def test_the_gaussian_is_maximum_likelihood():
    real = pd.DataFrame({"x": np.random.default_rng(0).normal(size=12)})
    model = pl.make("gaussian", shrinkage=0.0, transform="none").fit(real)
    assert model.covariance[0, 0] == pytest.approx(real["x"].var(ddof=0), rel=1e-5)


@pytest.mark.parametrize("mode", ["replace", "accumulate"])
def test_the_variance_follows_the_known_answer(chains, mode):
    by_generation = chains[chains["mode"] == mode].groupby("generation")["variance"]
    mean, error = by_generation.mean().to_numpy(), by_generation.sem().to_numpy()
    expected = _expected(mode)
    assert np.all(np.abs(mean - expected) < 4 * error), (mode, mean, expected, error)


def test_replace_collapses_and_accumulate_stays_within_the_bound(chains):
    by_mode = chains.groupby(["mode", "generation"])["variance"]
    mean, error = by_mode.mean(), by_mode.sem()
    last = GENERATIONS - 1
    # accumulate: above the bound at every generation (within Monte-Carlo tolerance)
    assert all(mean["accumulate", g] > BOUND - 4 * error["accumulate", g] for g in range(GENERATIONS))
    # replace: in expectation (9/10)^5 = 0.59 at the last generation, below the bound (0.84) and below
    # accumulate's 0.86, seed by seed as a rule (the chains share generation 0)
    assert _expected("replace")[last] < BOUND < _expected("accumulate")[last]
    paired = chains[chains["generation"] == last].pivot(index="seed", columns="mode", values="variance")
    assert mean["replace", last] < mean["accumulate", last]
    assert (paired["replace"] < paired["accumulate"]).mean() > 0.6


def test_plausible_draws_inside_the_training_range_so_replace_shrinks_at_least_as_fast():
    seeds = 12
    frames = []
    for seed in range(seeds):
        real = pd.DataFrame({"x": np.random.default_rng(seed).normal(size=N)})
        frames.append(collapse(real, "gaussian", generations=4, mode="replace", seed=seed, held_out=None,
                               shrinkage=0.0, transform="none"))
    frame = pd.concat(frames)
    expected = ((N - 1) / N) ** 4
    assert frame.loc[frame["generation"] == 3, "variance:x"].mean() < expected
    # the range never widens: no draw is beyond the real rows' 1st and 99th percentiles more often later
    tails = frame.groupby("generation")["tail:x"].mean()
    assert tails[3] <= tails[0]


def test_the_table_has_one_row_per_generation_and_mode_with_the_metrics():
    data = pl.datasets.load("fashion", n=120, seed=0)
    frame = collapse(data, "independent", generations=3, mode=["replace", "accumulate"], seed=1, truth="fashion",
                     detection=(0, 2))
    assert list(frame.columns[:5]) == ["generation", "mode", "seed", "model", "rows"]
    for column in ["kl_to_truth", "tv_to_truth", "distinct_share", "distinct_share_real", "detection_auc"]:
        assert column in frame.columns, column
    assert len(frame) == 6 and set(frame["mode"]) == {"replace", "accumulate"}
    assert frame.groupby("mode")["generation"].apply(list).to_dict() == {"replace": [0, 1, 2], "accumulate": [0, 1, 2]}
    # a quarter held out: 90 training rows; accumulate adds 90 draws a generation
    assert frame.loc[frame["mode"] == "accumulate", "rows"].tolist() == [90, 180, 270]
    assert frame.loc[frame["mode"] == "replace", "rows"].tolist() == [90, 90, 90]
    assert frame["detection_auc"].notna().tolist() == [True, False, True] * 2
    assert (frame["kl_to_truth"] > 0).all() and frame["tv_to_truth"].between(0, 1).all()
    assert frame["distinct_share"].between(0, 1).all()
    # the shared generation 0, and the accumulate chain, are what a call with that mode alone gives
    alone = collapse(data, "independent", generations=3, mode="accumulate", seed=1, truth="fashion", detection=False)
    both = frame[frame["mode"] == "accumulate"]
    assert alone["kl_to_truth"].tolist() == pytest.approx(both["kl_to_truth"].tolist())
    assert list(collapse_table(frame).columns) == ["independent replace", "independent accumulate"]
    assert {"metric", "mean", "low", "high", "seeds"} <= set(summarize(frame).columns)


def test_numbers_get_their_variance_and_tail_mass():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"size": rng.normal(size=80), "weight": rng.gamma(2.0, size=80), "kind": rng.choice(["a", "b"], 80)})
    frame = collapse(data, "gaussian", generations=2, held_out=None)
    for column in ["variance:size", "variance:weight", "tail:size", "tail:weight", "variance_ratio", "tail_mass",
                   "distinct_share"]:
        assert frame[column].notna().all(), column
    assert "kl_to_truth" not in frame and "detection_auc" not in frame
    assert frame["tail_mass"].between(0, 1).all() and (frame["variance_ratio"] > 0).all()


def test_a_model_is_cloned_and_wrong_arguments_are_named():
    data = pd.DataFrame({"x": np.random.default_rng(0).normal(size=30)})
    frame = collapse(data, pl.make("gaussian", shrinkage=0.1), generations=2, n=20)
    assert frame["rows"].tolist() == [20, 20] and frame["detection_auc"].notna().all()
    assert collapse(data, "gaussian", generations=2, held_out=None)["rows"].tolist() == [30, 30]
    with pytest.raises(ValueError, match="mode"):
        collapse(data, "gaussian", mode="recycle")
    with pytest.raises(ValueError, match="n must be"):
        collapse(data, "gaussian", n=1000, held_out=None)
    with pytest.raises(ValueError, match="held-out"):
        collapse(data, "gaussian", held_out=None, detection=True)
    with pytest.raises(ValueError, match="generations"):
        collapse(data, "gaussian", generations=2, detection=[5])


def test_the_figure_draws_each_metric_of_each_data_set(tmp_path):
    rows = [{"data": data, "generation": g, "mode": mode, "seed": seed, "model": model, "rows": 10,
             metric: 1.0 + 0.1 * g + 0.01 * seed, "detection_auc": 0.6 if g in (0, 3) else np.nan}
            for data, model, metric in [("fashion", "histogram", "kl_to_truth"), ("wine", "gmm", "variance_ratio")]
            for mode in ("replace", "accumulate") for seed in range(3) for g in range(4)]
    frame = pd.DataFrame(rows)
    figure = collapse_figure(frame)
    assert len(figure.axes) == 4      # per data set: its metric and the detection AUC
    assert "fashion" in figure.axes[0].get_title() and "wine" in figure.axes[2].get_title()
    path = collapse_figure(frame, tmp_path / "collapse.png")
    assert path.is_file() and path.stat().st_size > 10_000


def test_demo_collapse_writes_its_figure_and_tables(tmp_path):
    from plausible.demo_collapse import demo_collapse

    lines = []
    frame = demo_collapse(out=tmp_path / "out", seeds=2, generations=2, fashion_rows=150, detection=False,
                          say=lines.append)
    for name in ("collapse.png", "collapse.csv", "summary.csv", "kl_to_truth.csv"):
        assert (tmp_path / "out" / name).is_file(), name
    assert set(frame["data"]) == {"fashion", "wine"}
    assert set(frame["model"]) == {"histogram", "bayesnet", "gaussian", "gmm"}
    text = "\n".join(lines)
    assert "KL(truth || model)" in text and "Accumulate" in text and "nan" not in text
