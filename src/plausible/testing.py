"""The conformance suite: the promises every registered model keeps, checked the same way.

    import plausible.testing
    plausible.testing.check_model("copula")          # raises AssertionError on the first broken promise

    plausible.testing.check_model("vae", verbose=True)  # prints each check: passed, or skipped and why

Each check builds small data, fits the model with its `test_params` (fast settings the model
declares for this suite) and asserts one promise of the protocol. What a model may refuse is read
from its declared capabilities (`log_prob_kind`, `impute_kind`, `data_kind`, `has_posterior`),
never from its name: a model without log_prob must raise `NotSupportedError`. A promise that does
not apply to a model (normalization of a log_prob that is only an estimate, categories of a
series) raises `Skip` with the reason before fitting anything; `check_model` reports it and the
test suite turns it into a pytest skip, so a check never passes without asserting anything.
The data is picked by the model's `data_kind`: a mixed table of records for "table" models, a
table of series (rows = series, columns = time steps) for "series" models.
"""
from __future__ import annotations

import contextlib
import pickle
import random
import sys
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .core.errors import ModelFileError, NotFittedError, NotSupportedError, ParameterError
from .core.registry import clone, get_class, load, make
from .data.schema import SchemaError


# ---------------------------------------------------------------------- data the checks use
def mixed_table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Every column kind, dependencies between them, point masses and missing cells."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["north", "south", "east"], size=n, p=[0.5, 0.3, 0.2])
    age = np.clip(np.round(rng.normal(40, 12, n) + (group == "south") * 10), 18, 90).astype(int)
    spend = np.where(rng.random(n) < 0.4, 0.0, np.exp(rng.normal(3, 0.5, n) + age / 100))
    member = rng.random(n) < 1 / (1 + np.exp(-(age - 40) / 10))
    joined = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    score = np.where(rng.random(n) < 0.15, np.nan, rng.normal(spend / 50, 1.0))
    tier = pd.Series(np.where(rng.random(n) < 0.1, None, np.where(member, "gold", rng.choice(["basic", "silver"], n))),
                     dtype=object)
    return pd.DataFrame({"group": group, "age": age, "spend": spend, "member": member, "joined": joined,
                         "score": score, "tier": tier})


def discrete_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Three small dependent categorical columns (2 x 3 x 2 = 12 combinations)."""
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y"], size=n, p=[0.7, 0.3])
    b = np.where(a == "x", rng.choice(["p", "q", "r"], n, p=[0.6, 0.3, 0.1]), rng.choice(["p", "q", "r"], n))
    c = np.where(b == "p", rng.choice(["u", "v"], n, p=[0.8, 0.2]), rng.choice(["u", "v"], n, p=[0.3, 0.7]))
    return pd.DataFrame({"a": a, "b": b, "c": c})


def numeric_table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """One bimodal numeric column."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"v": np.where(rng.random(n) < 0.6, rng.normal(0, 1, n), rng.normal(5, 0.5, n))})


def series_table(n: int = 40, length: int = 12, seed: int = 0) -> pd.DataFrame:
    """n series of `length` steps (columns t0, t1, ...): AR(1) around 2 plus noise, a few cells unobserved."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, length))
    x[:, 0] = rng.normal(0, 1 / np.sqrt(1 - 0.7 ** 2), n)
    for t in range(1, length):
        x[:, t] = 0.7 * x[:, t - 1] + rng.normal(0, 1, n)
    y = np.where(rng.random((n, length)) < 0.03, np.nan, 2 + x + rng.normal(0, 0.5, (n, length)))
    return pd.DataFrame(y, columns=[f"t{i}" for i in range(length)])


class Skip(Exception):
    """A check that does not apply to a model; the message says why, from the model's declared
    capabilities. `check_model` reports it; tests/test_conformance.py turns it into `pytest.skip`."""


def _skip_unless(condition: bool, reason: str) -> None:
    if not condition:
        raise Skip(reason)


def _is_series(name: str) -> bool:
    return get_class(name).data_kind == "series"


def _data(name: str) -> pd.DataFrame:
    """The table a check feeds the model, by its declared `data_kind`."""
    return series_table() if _is_series(name) else mixed_table()


def _fit(name: str, data, **params):
    cls = get_class(name)
    return make(name, seed=0, **{**cls.test_params, **params}).fit(data)


def _skip_unless_normalized(name: str) -> None:
    """Sums and integrals of P(x) are only promised by an exact log_prob or a bound."""
    kind = get_class(name).log_prob_kind
    _skip_unless(kind != "none", "log_prob_kind 'none': no probabilities to sum (check log_prob asserts the "
                                 "NotSupportedError instead)")
    _skip_unless(kind in ("exact", "bound"), f"log_prob_kind {kind!r}: an estimate of log P promises no "
                                             "normalization, only 'exact' (sums to 1) and 'bound' (at most 1) do")


def _expect(error: type, action: Callable, what: str) -> None:
    try:
        action()
    except error:
        return
    except Exception as other:  # noqa: BLE001 - the wrong exception is itself the finding
        raise AssertionError(f"{what}: expected {error.__name__}, got {type(other).__name__}: {other}") from other
    raise AssertionError(f"{what}: expected {error.__name__}, nothing was raised")


def _state_arrays(model) -> dict:
    return {k: np.array(v, copy=True) for k, v in model._get_state()[1].items()}


# ---------------------------------------------------------------------- the checks
def check_fit_returns_model(name: str) -> None:
    model = make(name, seed=0, **get_class(name).test_params)
    assert model.fit(_data(name)) is model, "fit must return the model itself"


def check_sample_schema(name: str) -> None:
    data = _data(name)
    model = _fit(name, data)
    synthetic = model.sample(300, seed=1)
    assert isinstance(synthetic, pd.DataFrame) and len(synthetic) == 300, "sample(300) must give 300 rows"
    assert list(synthetic.columns) == list(data.columns), f"columns {list(synthetic.columns)} != {list(data.columns)}"
    for column in data.columns:
        assert synthetic[column].dtype == data[column].dtype, \
            f"column {column!r}: sampled dtype {synthetic[column].dtype} != fitted dtype {data[column].dtype}"
    empty = model.sample(0, seed=1)
    assert len(empty) == 0 and list(empty.columns) == list(data.columns), "sample(0) must give an empty table"
    if _is_series(name):  # a series table has no labels, ranges or point masses: every step is drawn
        assert synthetic.notna().all().all(), "sampled series have gaps"
        assert synthetic.std().min() > 0, "sampled series do not vary"
        return
    for column in ("group", "tier"):
        unknown = set(synthetic[column].dropna()) - set(data[column].dropna())
        assert not unknown, f"column {column!r}: sampled labels never seen in training: {unknown}"
    for column in ("age", "spend"):
        assert synthetic[column].min() >= data[column].min() and synthetic[column].max() <= data[column].max(), \
            f"column {column!r} left its training range"
    assert synthetic["group"].notna().all() and synthetic["age"].notna().all(), "non-nullable columns came back with gaps"
    # a smeared model gives no exact zeros at all; the rate itself is checked on small data below
    assert (synthetic["spend"] == 0).mean() > 0.03, "the point mass at 0 of 'spend' was smeared out"


def check_missing_and_point_mass_rates(name: str) -> None:
    _skip_unless(not _is_series(name), "data_kind 'series': a NaN in a series is an unobserved step, not a "
                                       "modelled missing state, and steps have no point masses")
    # small tables (a few dozen cells), so that smoothing (histogram) does not blur the rates
    data = mixed_table(n=600)
    synthetic = _fit(name, data[["score", "tier"]]).sample(2000, seed=2)
    for column in ("score", "tier"):
        real, fake = data[column].isna().mean(), synthetic[column].isna().mean()
        assert abs(real - fake) < 0.06, f"column {column!r}: missing rate {fake:.3f} in samples vs {real:.3f} in data"
    synthetic = _fit(name, data[["spend"]]).sample(2000, seed=2)
    real, fake = (data["spend"] == 0).mean(), (synthetic["spend"] == 0).mean()
    assert abs(real - fake) < 0.06, f"point mass at 0: rate {fake:.3f} in samples vs {real:.3f} in data"


def check_seeds(name: str) -> None:
    model = _fit(name, _data(name))
    before = _state_arrays(model)
    a, b, c = model.sample(50, seed=7), model.sample(50, seed=7), model.sample(50, seed=8)
    pd.testing.assert_frame_equal(a, b, obj="samples with the same seed")
    assert not a.equals(c), "a different seed gave identical samples"
    again = clone(model).fit(_data(name)).sample(50, seed=7)   # an unfitted copy: same class, seed, settings
    pd.testing.assert_frame_equal(a, again, obj="samples of two fits with the same seed and data")
    after = _state_arrays(model)
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=f"sample() changed the fitted array {key!r}")


def check_log_prob(name: str) -> None:
    data = _data(name)
    model = _fit(name, data)
    if model.log_prob_kind == "none":
        _expect(NotSupportedError, lambda: model.log_prob(data), "log_prob of a model without likelihood")
        return
    values = model.log_prob(data)
    assert isinstance(values, np.ndarray) and values.shape == (len(data),), "log_prob must give one value per row"
    assert np.all(np.isfinite(values)), "log_prob gave non-finite values on the training rows"
    np.testing.assert_allclose(model.log_prob(data), values, err_msg="log_prob is not deterministic")


def check_normalization_discrete(name: str) -> None:
    _skip_unless(not _is_series(name), "data_kind 'series': series are numbers only, no categories to sum over "
                                       "(normalization_1d integrates instead)")
    _skip_unless_normalized(name)
    data = discrete_table()
    model = _fit(name, data)
    grid = pd.MultiIndex.from_product([sorted(data[c].unique()) for c in data.columns], names=list(data.columns))
    total = np.exp(model.log_prob(grid.to_frame(index=False))).sum()
    if model.log_prob_kind == "exact":
        assert abs(total - 1) < 5e-3, f"probabilities over all 12 combinations sum to {total:.5f}, not 1"
    else:
        assert total <= 1 + 5e-3, f"a lower bound on probabilities sums to {total:.5f} > 1"


def check_normalization_1d(name: str) -> None:
    _skip_unless_normalized(name)
    data = numeric_table()  # one numeric column: for a series model, 400 series of one step each
    model = _fit(name, data)
    low, high = data["v"].min(), data["v"].max()
    span = high - low
    grid = np.linspace(low - span, high + span, 20001)
    density = np.exp(model.log_prob(pd.DataFrame({"v": grid})))
    total = float(np.sum((density[1:] + density[:-1]) / 2 * np.diff(grid)))
    if model.log_prob_kind == "exact":
        assert abs(total - 1) < 0.02, f"the 1-D density integrates to {total:.4f}, not 1"
    else:
        assert total <= 1.02, f"a lower bound on the density integrates to {total:.4f} > 1"


def check_impute(name: str) -> None:
    data = _data(name)
    model = _fit(name, data)
    rng = np.random.default_rng(5)
    holes = data.head(60).copy()
    hide = rng.random(holes.shape) < 0.3
    hide[0, :] = True  # one row with nothing known
    for k, column in enumerate(holes.columns):
        holes[column] = holes[column].where(~hide[:, k])  # upcasts as a user's data would (int -> float)
    if model.impute_kind == "none":
        _expect(NotSupportedError, lambda: model.impute(holes, n_draws=2, seed=0), "impute of a model that cannot condition")
        return
    draws = model.impute(holes, n_draws=3, seed=0)
    assert isinstance(draws, list) and len(draws) == 3, "impute(n_draws=3) must return a list of 3 tables"
    for draw in draws:
        assert list(draw.columns) == list(data.columns) and len(draw) == len(holes)
        assert draw.notna().all().all(), f"impute left gaps: {draw.isna().sum()[draw.isna().sum() > 0].to_dict()}"
        for column in data.columns:
            assert draw[column].dtype == data[column].dtype, \
                f"column {column!r}: imputed dtype {draw[column].dtype} != fitted dtype {data[column].dtype}"
            known = holes[column].notna().to_numpy()
            assert (draw[column].to_numpy()[known] == holes[column].to_numpy()[known]).all(), \
                f"column {column!r}: impute changed observed cells"
    again = model.impute(holes, n_draws=3, seed=0)
    for a, b in zip(draws, again):
        pd.testing.assert_frame_equal(a, b, obj="imputations with the same seed")
    assert not draws[0].equals(draws[1]), "two draws of impute were identical: it is not sampling"


class PickleUsed(AssertionError):
    """Raised inside `pickle_blocked()` by any attempt to unpickle."""


_pickle_blocked = False   # read by the audit hook, which cannot be removed once added
_audit_hook_added = False


def _refuse_pickle_classes(event: str, args: tuple) -> None:
    if _pickle_blocked and event == "pickle.find_class":
        raise PickleUsed(f"unpickling looked up {args[0]}.{args[1]}: a model file must load without pickle")


@contextlib.contextmanager
def pickle_blocked():
    """Within this block every way to unpickle raises `PickleUsed`: `pickle.load`, `pickle.loads`,
    `pickle.Unpickler` (and so `numpy.load(allow_pickle=True)`), `torch.load`, and any class the C
    unpickler looks up (the "pickle.find_class" audit event). Loading a model runs no pickle."""
    global _pickle_blocked, _audit_hook_added
    if not _audit_hook_added:
        sys.addaudithook(_refuse_pickle_classes)
        _audit_hook_added = True
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency; without it there is no torch.load to block
        torch = None

    def refuse(*args, **kwargs):
        raise PickleUsed("pickle was called while loading a model: a model file must load without pickle")

    targets = [(pickle, "load"), (pickle, "loads"), (pickle, "Unpickler")] + ([(torch, "load")] if torch else [])
    saved = [(owner, attribute, getattr(owner, attribute)) for owner, attribute in targets]
    try:
        for owner, attribute, _ in saved:
            setattr(owner, attribute, refuse)
        _pickle_blocked = True
        yield
    finally:
        _pickle_blocked = False
        for owner, attribute, original in saved:
            setattr(owner, attribute, original)


def check_save_load(name: str) -> None:
    data = _data(name)
    model = _fit(name, data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.plausible"
        model.save(path)
        files = sorted(p.name for p in path.iterdir())
        assert all((path / f).is_file() for f in files) and "config.json" in files \
            and all(f == "config.json" or f.endswith(".safetensors") for f in files) \
            and any(f.endswith(".safetensors") for f in files), \
            f"a model folder holds config.json and safetensors files only, not {files}"
        with pickle_blocked():
            loaded = load(path)
        pd.testing.assert_frame_equal(model.sample(40, seed=3), loaded.sample(40, seed=3), obj="samples after load")
        if model.log_prob_kind != "none":
            np.testing.assert_allclose(model.log_prob(data), loaded.log_prob(data), err_msg="log_prob after load")
        _expect(ModelFileError, lambda: model.save(path), "saving over a model folder without overwrite=True")
        model.save(path, overwrite=True)  # overwriting a model folder works when asked
        for weights in path.glob("*.safetensors"):
            weights.unlink()
        _expect(ModelFileError, lambda: load(path), "loading a folder without weights")


def check_bad_input(name: str) -> None:
    """Bad hyperparameters, data that cannot be fitted, and bad arguments to `sample`."""
    cls = get_class(name)
    data = _data(name)
    series = _is_series(name)
    _expect(ParameterError, lambda: make(name, no_such_parameter=1), "an unknown hyperparameter")
    for key, spec in cls.params.items():   # NaN passes every range check unless refused outright
        if spec.type is float:
            _expect(ParameterError, lambda: make(name, **{key: float("nan")}), f"{key}=nan")
    _expect(NotFittedError, lambda: make(name).sample(5), "sampling an unfitted model")
    _expect(SchemaError, lambda: make(name, **cls.test_params).fit(data.iloc[:0]), "fitting an empty table")
    if series:  # every column must be a number; a time step observed in no series is fine (the filter skips it)
        unfit = [(data.assign(t3="high"), "a column of text"), (data.assign(t3=np.inf), "infinite values"),
                 (data.assign(t3=data["t3"] > 0), "a boolean column"), (data * np.nan, "no observed value")]
        make(name, **cls.test_params).fit(data.assign(t3=np.nan))
    else:
        unfit = [(data.assign(age=np.nan), "a column missing in every row")]
    for bad, what in unfit:
        _expect(SchemaError, lambda: make(name, **cls.test_params).fit(bad), f"fitting {what}")
    model = _fit(name, data)
    _expect(ValueError, lambda: model.sample(-1), "a negative n")
    _expect(ValueError, lambda: model.sample(2.5), "a non-integer n")
    _expect(ValueError, lambda: model.sample(3, seed=-1), "a negative seed")


def check_bad_input_impute(name: str) -> None:
    """`impute` refuses tables whose columns are not the fitted ones."""
    _skip_unless(get_class(name).impute_kind != "none", "impute_kind 'none': no impute to give bad input to "
                                                        "(check impute asserts the NotSupportedError instead)")
    data = _data(name)
    model = _fit(name, data)
    column = "t3" if _is_series(name) else "age"
    _expect(SchemaError, lambda: model.impute(data.drop(columns=column).head()), "impute without a known column")
    _expect(SchemaError, lambda: model.impute(data.assign(extra=1).head()), "impute with an unknown column")


def check_bad_input_log_prob(name: str) -> None:
    """`log_prob` refuses values the schema does not allow."""
    _skip_unless(get_class(name).log_prob_kind != "none", "log_prob_kind 'none': no log_prob to give bad input to "
                                                          "(check log_prob asserts the NotSupportedError instead)")
    data = _data(name)
    model = _fit(name, data)
    column, number = ("t3", "t3") if _is_series(name) else ("age", "spend")   # a column to break; a float column
    _expect(SchemaError, lambda: model.log_prob(data.assign(**{column: "old"}).head()), "text in a number column")
    _expect(SchemaError, lambda: model.log_prob(data.assign(**{number: np.inf}).head()), "infinite values")
    if not _is_series(name):  # series have no categories, and a gap in a series is integrated out, not an error
        _expect(SchemaError, lambda: model.log_prob(data.assign(group="west").head()), "a category never seen")
        _expect(SchemaError, lambda: model.log_prob(data.assign(age=np.nan).head()), "gaps in a never-missing column")


def _random_states() -> dict:
    """Every global random state a model could draw from: NumPy's legacy one (all five fields of
    `np.random.get_state()`: the key, the position in it, the cached Gaussian), Python's, and
    torch's (CPU, and every CUDA device where there is one)."""
    import torch

    names = ("algorithm", "key", "position", "has_gauss", "cached_gaussian")
    states = {f"numpy {n}": v for n, v in zip(names, np.random.get_state(legacy=True))}
    states["python random"] = random.getstate()
    states["torch"] = torch.random.get_rng_state()
    if torch.cuda.is_available():
        states.update({f"torch cuda:{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return states


def _equal(a, b) -> bool:
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if hasattr(a, "numpy"):   # a torch tensor
        a, b = a.numpy(), b.numpy()
    return bool(np.array_equal(a, b))


def check_global_state(name: str) -> None:
    import torch

    before = _random_states()
    dtype = torch.get_default_dtype()
    threads = torch.get_num_threads()
    data = _data(name)
    model = _fit(name, data)
    model.sample(20, seed=1)
    if model.impute_kind != "none":
        model.impute(data.head(5).assign(**{data.columns[1]: np.nan}), n_draws=1, seed=1)
    if model.log_prob_kind != "none":
        model.log_prob(data.head(5))
    after = _random_states()
    changed = [key for key in before if not _equal(before[key], after[key])]
    assert not changed, f"the model touched the global random state: {', '.join(changed)} changed"
    assert torch.get_default_dtype() == dtype and torch.get_num_threads() == threads, "the model changed torch defaults"


def _array_data(name: str) -> np.ndarray:
    if _is_series(name):
        return series_table().to_numpy()
    return numeric_table().assign(w=lambda f: f["v"] * 2 + 1).to_numpy()


def check_array_sample(name: str) -> None:
    data = _array_data(name)
    synthetic = _fit(name, data).sample(10, seed=0)
    assert isinstance(synthetic, np.ndarray) and synthetic.shape == (10, data.shape[1]), \
        "an array in must give an array out"


def check_array_impute(name: str) -> None:
    _skip_unless(get_class(name).impute_kind != "none", "impute_kind 'none': no impute of arrays "
                                                        "(check impute asserts the NotSupportedError instead)")
    data = _array_data(name)
    model = _fit(name, data)
    holes = np.where(np.random.default_rng(4).random((12, data.shape[1])) < 0.3, np.nan, data[:12])
    drawn = model.impute(holes, n_draws=2, seed=1)
    # an array of plain numbers takes impute's array path; the same cells as a DataFrame take the general one
    general = model.impute(pd.DataFrame(holes, columns=model.schema_.names), n_draws=2, seed=1)
    for array, frame in zip(drawn, general):
        assert isinstance(array, np.ndarray) and array.shape == holes.shape, "an array in must give arrays out"
        np.testing.assert_allclose(array, frame, rtol=1e-12, err_msg="impute of an array and of the same DataFrame")


def check_posterior_draws(name: str) -> None:
    data = _data(name)
    model = _fit(name, data)
    if not model.has_posterior:
        _expect(NotSupportedError, lambda: model.posterior_draws(data, 2, seed=0),
                "posterior_draws of a model that declares no posterior (has_posterior is False)")
        return
    before = _state_arrays(model)
    draws = model.posterior_draws(data, 2, seed=0)
    assert isinstance(draws, list) and len(draws) == 2, "posterior_draws(data, 2) must return a list of 2 models"
    samples = [draw.sample(30, seed=1) for draw in draws]
    for draw, synthetic in zip(draws, samples):
        assert type(draw) is type(model), "a posterior draw is a fitted model of the same class"
        assert list(synthetic.columns) == list(data.columns), "a posterior draw samples the fitted columns"
    assert not samples[0].equals(samples[1]), "two posterior draws sampled the same rows: their parameters are equal"
    for draw, synthetic in zip(model.posterior_draws(data, 2, seed=0), samples):
        pd.testing.assert_frame_equal(draw.sample(30, seed=1), synthetic, obj="posterior draws with the same seed")
    after = _state_arrays(model)
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=f"posterior_draws changed the fitted {key!r}")


CHECKS: dict[str, Callable[[str], None]] = {
    f.__name__.removeprefix("check_"): f for f in [
        check_fit_returns_model, check_sample_schema, check_missing_and_point_mass_rates, check_seeds, check_log_prob,
        check_normalization_discrete, check_normalization_1d, check_impute, check_save_load, check_bad_input,
        check_bad_input_impute, check_bad_input_log_prob, check_global_state, check_array_sample, check_array_impute,
        check_posterior_draws,
    ]
}


def check_model(name: str, checks: list[str] | None = None, verbose: bool = False) -> dict[str, str]:
    """Run the conformance checks (all, or the named ones) on a registered model.

    Returns {check: "passed" or "skipped: <why>"}: a check that does not apply to the model's
    declared capabilities is skipped with the reason, never passed. Raises AssertionError at the
    first broken promise. `verbose=True` prints each outcome to stderr as it comes."""
    get_class(name)
    return run_checks(CHECKS, name, checks, verbose, "conformance check")


def run_checks(suite: dict, name: str, checks: list[str] | None, verbose: bool, what: str) -> dict[str, str]:
    """Run `suite`'s checks (all, or the named ones) on `name`: {check: "passed" or "skipped: <why>"}."""
    unknown = sorted(set(checks or ()) - set(suite))
    if unknown:
        raise ValueError(f"no {what} {unknown[0]!r}; the checks are: {', '.join(suite)}")
    outcomes = {}
    for key in checks or suite:
        try:
            suite[key](name)
            outcomes[key] = "passed"
        except Skip as why:
            outcomes[key] = f"skipped: {why}"
        if verbose:
            print(f"{name}: {key}: {outcomes[key]}", file=sys.stderr)
    return outcomes
