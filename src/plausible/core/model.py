"""The model protocol every rung of the ladder follows, and its safe file format.

A concrete model subclasses `Model` once (no deeper inheritance), declares its hyperparameters as
`Param`s and its capabilities, and implements these methods on model-space arrays
(`plausible.layout.Encoded`):

    _fit(data, rng)               learn from complete-or-missing-state data; set attributes ending in _
    _sample(n, rng) -> Encoded    n complete rows
    _log_prob(data) -> (N,)       log mass x density, nats (omit if `log_prob_kind == "none"`)
    _impute(data, rng) -> Encoded fill codes == -1 and unknown values, keep the rest
    _get_state() / _set_state()   JSON-able config plus named numpy arrays (the weights)

or, instead of _sample and _impute, one `_complete(data, allowed, rng)` that does both.

Everything the user touches (DataFrames, validation, seeds, the schema, save/load) lives here,
once. Public calls never mutate a fitted model and take their random seed per call.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..data.codecs import CODECS
from ..data.images import ImageCodec, is_image_batch
from ..data.layout import Encoded
from ..data.partitioned import is_partitioned
from ..data.schema import NUMERIC_KINDS, SchemaError, text_names
from .errors import ModelFileError, NotFittedError, NotSupportedError, ParameterError
from .params import Param, _check_count, _check_seed
from .storage import CONFIG_FILE, check_model_target, write_folder

#: Every registered class by (name, data kind): a rung may have one class for tables (or series) and
#: one for images under the same name (`pl.make("vae").fit(images)` fits the image version).
#: Filled by `plausible.core.registry.register`.
VARIANTS: dict[tuple[str, str], type] = {}


class Model:
    """Base class: see the module docstring for what a concrete model implements.

    The seed rule, the same for `pl.*` functions, commands and these methods: every call that
    draws takes `seed`, default 0, so the same call on the same data gives the same result; pass
    another seed for another draw, or `seed=None` for fresh randomness each time. `pl.make(name,
    seed=...)` seeds `fit`; `sample`, `impute` and `posterior_draws` take their own seed per call.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    description: ClassVar[str] = ""
    log_prob_kind: ClassVar[str] = "exact"   # "exact" | "bound" | "estimate" | "none"
    impute_kind: ClassVar[str] = "exact"     # "exact" | "approximate" | "none"
    # why a capability is "none", in the model's own words: {"log_prob": "...", "impute": "..."}
    unsupported_reasons: ClassVar[dict[str, str]] = {}
    params: ClassVar[dict[str, Param]] = {}
    #: Position on the ladder (fewer assumptions and less machinery = lower); `compare` recommends
    #: the lowest adequate one.
    complexity: ClassVar[int] = 50
    #: Fast settings the conformance suite fits with (e.g. few epochs); never used otherwise.
    test_params: ClassVar[dict[str, Any]] = {}
    #: What a row is: "table" (a record; columns are variables of any kind) or "series" (a series;
    #: columns are time steps, all numbers). The conformance suite picks its data by this tag.
    data_kind: ClassVar[str] = "table"
    #: Images only (`plausible.data.images`): "levels" = the model gives each pixel's levels a
    #: probability (exact log P of level images); "intensities" = a density on [0, 1]^D (on level
    #: images its log_prob is the dequantization bound).
    pixel_space: ClassVar[str] = "intensities"
    #: The imputation task's parameter uncertainty (uncertainty="auto") for a model without a
    #: posterior: True = one bootstrap refit per draw (a model whose fitted parameters vary much
    #: from sample to sample, and whose fit is cheap enough to repeat).
    refit_per_draw: ClassVar[bool] = False
    #: The forecast task: True when the shape of the model's conditional errors is assumed (a
    #: Gaussian), not learned; errors="auto" then resamples its in-sample errors instead.
    assumed_error_shape: ClassVar[bool] = False
    #: Tables: True lets a spike inside a column of fractions (16% of rows at 6.907755) be a point
    #: mass of its own (`TableLayout.fit`); False keeps it on the continuous part, for a model that
    #: ties states to the other columns only coarsely (gmm: one categorical per cluster).
    interior_point_masses: ClassVar[bool] = True
    #: The fewest rows `fit` accepts for a table (one row says nothing about spread or dependence);
    #: a DataFrame of fewer than FEW_ROWS rows is fitted with a warning.
    min_rows: ClassVar[int] = 2
    #: fit of a partitioned table merges per-piece sufficient statistics (`_fit_pieces`); else a sample of rows
    merged_fit: ClassVar[bool] = False
    #: `pl.restore` (tasks/restore.py): the posterior samplers this rung offers for measurements
    #: y = A x + noise, the one `method="auto"` takes first unless `_restore_choice` says otherwise
    #: ("exact", "ddrm", "dps", "repaint", "latent", ...); () = it cannot restore.
    restore_methods: ClassVar[tuple[str, ...]] = ()

    def __init__(self, seed: int | None = 0, **params: Any):
        self._check_names(params)
        self.seed = _check_seed(seed, error=ParameterError)
        for key, spec in self.params.items():
            setattr(self, key, spec.validate(key, params.get(key, spec.default)))

    def get_params(self, deep: bool = True) -> dict:
        """The hyperparameters, name -> value (the seed is `model.seed`). `deep` is accepted for
        scikit-learn's signature; a model holds no nested estimators."""
        return {key: getattr(self, key) for key in self.params}

    def set_params(self, **params: Any) -> "Model":
        """Change hyperparameters (and `seed`), each validated like at construction; returns the model.

        A fitted model keeps what it learned until the next `fit`: call `pl.clone(model)` for an
        unfitted copy with the same settings."""
        seed = params.pop("seed", self.seed)
        self._check_names(params)
        checked = {key: self.params[key].validate(key, value) for key, value in params.items()}
        self.seed = _check_seed(seed, error=ParameterError)
        for key, value in checked.items():
            setattr(self, key, value)
        return self

    def _check_names(self, params: dict) -> None:
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            valid = ", ".join(sorted(self.params)) or "none"
            raise ParameterError(f"model {self.name!r} has no parameter {unknown[0]!r}; its parameters are: {valid}")

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != self.params[k].default}
        args = ", ".join(f"{k}={v!r}" for k, v in {"seed": self.seed, **changed}.items() if v is not None)
        return f"plausible.make({self.name!r}{', ' if args else ''}{args})"

    # ------------------------------------------------------------------ the protocol
    def fit(self, data, schema: dict | None = None, *, engine=None, workers: int | None = None,
            **options) -> "Model":
        """Learn the distribution of `data`: a DataFrame or 2-D array (a table, or series for a series
        model), or images, an array (N, H, W) or (N, H, W, C) (`plausible.data.images`). `schema`
        overrides column kinds.

        The data go through the codec of the model's `data_kind` (`plausible.data.codecs`). Images
        given to a table rung that has an image version (same name) make this model that version,
        with the hyperparameters set so far. Column names are text: a DataFrame labelled 0, 1, ...
        (as `pd.DataFrame(array)` makes it) is read with the names "0", "1", ..., which `sample`
        returns; `impute` gives back the labels of the table it is given. `options` are what a rung's
        own `fit` adds (the image diffusion's `labels=`), passed on when images make this model that
        rung's image version.

        A partitioned table (a directory of Parquet files, or a Dask DataFrame) is fitted one piece
        at a time, on the workers of `engine` (None, "dask" with `workers`, or a
        `distributed.Client`; see `core/engine.py` and `core/by_parts.py`)."""
        if engine is not None or workers is not None or is_partitioned(data):
            from .by_parts import fit_parts

            return fit_parts(self, data, schema, engine=engine, workers=workers, **options)
        before = type(self)
        self._take_kind_of(data)
        if type(self) is not before and type(self).fit is not Model.fit:
            return type(self).fit(self, data, schema=schema, **options)
        if options:
            raise ParameterError(f"fit of model {self.name!r} takes no {sorted(options)[0]!r}; it takes the data and "
                                 "schema=")
        frame, input_kind = self._read(data, fitting=True)
        if self.data_kind != "series":
            _check_rows(self, frame, input_kind)
        codec = CODECS[self.data_kind].fit(frame, schema, input_kind, interior_point_masses=self.interior_point_masses,
                                           pixel_space=self.pixel_space)
        self._set_codec(codec)
        self._fit(codec.encode(codec.check(frame)), np.random.default_rng(self.seed))
        self.n_training_rows_ = len(frame)
        return self

    def sample(self, n: int, seed: int | None = 0, out=None, engine=None, workers: int | None = None, **options):
        """`n` new rows, the same kind of object as fitted (DataFrame or array).

        With `out` (a directory): the rows are written there as a partitioned Parquet table instead,
        in shards drawn with seeds derived from `seed` (the same rows for any number of workers), on
        the workers of `engine` (see `core/shards.py`); returns the directory's path. `options`:
        `shard_rows` (default 1,000,000), `overwrite` (replace the part files of a non-empty `out`),
        `progress`."""
        if out is not None or engine is not None or workers is not None:
            from .shards import sample_to

            return sample_to(self, n, seed, out, engine=engine, workers=workers, **options)
        _no_options(options)
        self._check_fitted()
        n = _check_count(n, "n")
        rng = np.random.default_rng(_check_seed(seed))
        encoded = self._sample(n, rng) if n else self.codec_.empty()
        return self.codec_.output(self.codec_.decode(encoded, rng))

    def log_prob(self, data, unseen: str = "raise", out=None, engine=None, workers: int | None = None, **options):
        """log P(row) in nats for each row: mass for discrete cells times density for continuous ones.

        A row with a value never seen in training (a new category; a number outside the values of a
        column modelled as fully discrete; a missing cell in a column that was never missing) raises
        SchemaError naming the column, or, with `unseen="impossible"`, gets log P = −inf (what
        held-out evaluation wants).

        A partitioned table (a Parquet directory or a Dask DataFrame) is scored one piece at a time on
        the workers of `engine`; with `out` the scores are written there as Parquet pieces (see
        `core/shards.py`; `options`: `column`, `piece_rows`, `overwrite`, `progress`)."""
        if out is not None or engine is not None or workers is not None or is_partitioned(data):
            from .shards import log_prob_parts

            return log_prob_parts(self, data, unseen, out, engine=engine, workers=workers, **options)
        _no_options(options)
        self._check_fitted()
        if unseen not in ("raise", "impossible"):
            raise ValueError(f"unseen must be 'raise' or 'impossible', got {unseen!r}")
        if self.log_prob_kind == "none":
            reason = self.unsupported_reasons.get("log_prob", "it has no tractable likelihood")
            raise NotSupportedError(f"model {self.name!r} does not offer log_prob: {reason}; "
                                    "use a model whose log_prob is exact (see plausible.models())")
        if unseen == "impossible":
            frame, _ = self._read(data)
            try:
                impossible = self.codec_.unseen_rows(frame)
            except (TypeError, ValueError):   # malformed input: the checks below say what is wrong
                impossible = np.zeros(0, dtype=bool)
            if len(frame):
                if impossible.any():
                    result = np.full(len(frame), -np.inf)
                    if not impossible.all():
                        kept = frame[~impossible]
                        result[~impossible] = self.log_prob(kept if self.data_kind == "image"
                                                            else kept.reset_index(drop=True))
                    return result
        frame = self._input(data, allow_missing_cells=False)
        encoded = self.codec_.encode(frame)
        return np.asarray(self._log_prob(encoded), dtype=float) + self.codec_.log_jacobian(frame)

    def impute(self, data, n_draws: int = 5, seed: int | None = 0, mask=None, out=None, engine=None,
               workers: int | None = None, **options):
        """`n_draws` completions of `data`: every missing cell drawn from P(missing | observed).

        Observed cells are returned unchanged. Returns a list of DataFrames (or arrays). Images:
        unknown pixels are NaN in float images (intensities in [0, 1]), or `mask` (a boolean array,
        True = pixel to fill, as scikit-image's inpainting takes it) marks them in any images; the
        draws are arrays like `data` (of its dtype, also with a mask).

        A partitioned table (a Parquet directory or a Dask DataFrame) is imputed one piece at a time on
        the workers of `engine`; with `out` the draws are written there as Parquet pieces (see
        `core/shards.py`; `options`: `piece_rows`, `overwrite`, `progress`)."""
        if out is not None or engine is not None or workers is not None or is_partitioned(data):
            from .shards import impute_parts

            return impute_parts(self, data, n_draws, seed, mask, out, engine=engine, workers=workers, **options)
        _no_options(options)
        self._check_fitted()
        if self.impute_kind == "none":
            reason = self.unsupported_reasons.get("impute", "it cannot condition on observed cells")
            raise NotSupportedError(f"model {self.name!r} does not offer impute: {reason}; "
                                    "use a model whose impute is exact or approximate (see plausible.models())")
        n_draws = _check_count(n_draws, "n_draws", minimum=1)
        given = None
        if mask is not None:
            if self.data_kind != "image":
                raise ParameterError("mask= marks pixels of images; in a table or series mark unknown cells with NaN")
            given = self._read(data)[0]
            data = self.codec_.with_mask(given, mask)
        frame = self._input(data, allow_missing_cells=True)
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(_check_seed(seed)).spawn(n_draws)]
        draws = self.codec_.fill(data, frame, self._impute, rngs)
        return draws if given is None else [self.codec_.like(draw, given) for draw in draws]

    @property
    def is_fitted(self) -> bool:
        """Whether `fit` (or `plausible.load`) has given the model what it learned."""
        return hasattr(self, "codec_")

    @property
    def has_posterior(self) -> bool:
        """Whether `posterior_draws` is offered (the model implements `_posterior_draws`)."""
        return type(self)._posterior_draws is not Model._posterior_draws

    def posterior_draws(self, data, n: int, seed: int | None = 0) -> list["Model"]:
        """`n` copies of this fitted model, each with its parameters drawn from their posterior given
        `data`, the table it was fitted on, gaps included (so `impute` with one copy per draw is proper
        multiple imputation: the draws carry the parameters' uncertainty too).

        Raises NotSupportedError for models without one (see `has_posterior`); `pl.impute(...,
        refits=K)` is the model-free alternative (bootstrap refits).
        """
        self._check_fitted()
        n = _check_count(n, "n", minimum=1)
        if not self.has_posterior:
            raise NotSupportedError(f"model {self.name!r} does not draw its parameters from a posterior; "
                                    "use plausible.impute(..., refits=K) for bootstrap refits instead")
        frame = self._input(data, allow_missing_cells=True)
        return self._posterior_draws(self.layout_.encode(frame), n, np.random.default_rng(_check_seed(seed)))

    # ------------------------------------------------------------------ series models (data_kind "series")
    def forecast(self, history, horizon: int, n_paths: int = 100, seed: int | None = 0) -> np.ndarray:
        """(n_paths, horizon) paths drawn from P(future | history) for a 1-D history of any length.

        Offered by models of whole series; a table model forecasts through the forecast task, which
        fits it on windows of the series (`plausible.forecast`)."""
        raise NotSupportedError(self._not_a_series_model("forecast"))

    def forecast_moments(self, history, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean (horizon,) and covariance (horizon, horizon) of the future given the history."""
        raise NotSupportedError(self._not_a_series_model("forecast_moments"))

    def prediction_errors(self, history, horizon: int) -> np.ndarray:
        """(M, horizon) in-sample errors of the mean forecasts along `history` (what a residual
        bootstrap resamples)."""
        raise NotSupportedError(self._not_a_series_model("prediction_errors"))

    def _not_a_series_model(self, method: str) -> str:
        return (f"model {self.name!r} models tables (data_kind {self.data_kind!r}), not whole series: it has no "
                f"{method}; use plausible.forecast(series, model={self.name!r}), which fits it on windows")

    # ------------------------------------------------------------------ what subclasses write
    def _posterior_draws(self, data: Encoded, n: int, rng: np.random.Generator) -> list["Model"]:
        """Optional: n copies with parameters drawn given the encoded training table (gaps = MISSING)."""
        raise NotImplementedError

    def _fit(self, data: Encoded, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _sample(self, n: int, rng: np.random.Generator) -> Encoded:
        """Default: complete `n` all-unknown rows, where a fresh row may be missing anywhere."""
        unknown = self.layout_.unknown(n)
        return self._complete(unknown, self.layout_.evidence(unknown, allow_missing=True), rng)

    def _log_prob(self, data: Encoded) -> np.ndarray:
        raise NotImplementedError

    def _impute(self, data: Encoded, rng: np.random.Generator) -> Encoded:
        """Default: complete the unknown cells, never with the MISSING code."""
        return self._complete(data, self.layout_.evidence(data), rng)

    def _complete(self, data: Encoded, allowed: list[np.ndarray], rng: np.random.Generator) -> Encoded:
        """Fill every unknown cell of `data` from P(unknown | known), each unknown code drawn only
        among the `allowed` ones (per discrete variable, an (N, K) mask). Models whose sampling
        and imputation are one conditional draw implement this instead of _sample and _impute."""
        raise NotImplementedError

    def _restore(self, y: np.ndarray, operator, noise_sd: float, n_draws: int, rng: np.random.Generator,
                 method: str) -> np.ndarray:
        """Posterior draws (n_draws, N, D) of x given flat measurements y (N, M) = A x + noise:
        `operator` is a `plausible.data.operators.Bound` on x's D model-space values (images: the
        `Pixels` values; tables: the numbers in the columns' own units), `noise_sd` in those units,
        `method` one of `restore_methods`. Where y is not measured (`operator.measured` False) it is 0."""
        raise NotImplementedError

    def _restore_choice(self, operator, noise_sd: float = 0.0) -> str:
        """The sampler `method="auto"` uses for this operator and noise sd (in the model's units; the
        best measured); default: the first."""
        return self.restore_methods[0]

    def _get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        raise NotImplementedError

    def _set_state(self, state: dict, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ saving
    def save(self, path, overwrite: bool = False) -> Path:
        """Write the model to a folder: config.json (all settings, the schema, a checksum of the
        weights) + weights.safetensors.

        A folder that already holds a model is replaced only with `overwrite=True`; a path holding
        anything else is always refused. The folder is written next to its final place and renamed
        into it, so a crash never leaves a half-written model. Loading it runs no code (no pickle).
        """
        self._check_fitted()
        check_model_target(Path(path), overwrite=overwrite)
        state, arrays = self._get_state()
        config = {"model": self.name, "params": self.get_params(), "seed": self.seed,
                  "n_training_rows": self.n_training_rows_, **self.codec_.to_config(), "state": state}
        return write_folder(path, config, arrays)

    @classmethod
    def _from_folder(cls, config: dict, arrays: dict[str, np.ndarray], path) -> "Model":
        """The fitted model a folder's checked `config` and `arrays` describe (`plausible.load`)."""
        try:
            model = cls(seed=config.get("seed"), **config.get("params", {}))
            model._set_codec(CODECS[cls.data_kind].from_config(config))
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as error:
            raise ModelFileError(f"{path}: {CONFIG_FILE} does not describe a {cls.name!r} model "
                                 f"({type(error).__name__}: {error}); was it edited by hand? Save the model "
                                 "again") from None
        model.n_training_rows_ = config.get("n_training_rows", 0)
        numeric = cls.data_kind == "image" or all(column.kind in NUMERIC_KINDS for column in model.schema_.columns)
        allowed = ("levels", "intensities") if cls.data_kind == "image" else ("array", "dataframe")
        if model.input_kind_ not in allowed or (model.input_kind_ == "array" and not numeric):
            raise ModelFileError(f"{path}: {CONFIG_FILE} says input {model.input_kind_!r}, which does not fit its "
                                 "schema (an array model has numeric columns only); was it edited by hand? Save the "
                                 "model again")
        if isinstance(model.n_training_rows_, bool) or not isinstance(model.n_training_rows_, int) \
                or model.n_training_rows_ < 0:
            raise ModelFileError(f"{path}: {CONFIG_FILE} has n_training_rows {model.n_training_rows_!r}, not a "
                                 "count; was it edited by hand? Save the model again")
        try:
            model._set_state(config["state"], arrays)
        except (KeyError, ValueError, IndexError, TypeError, AttributeError) as error:
            raise ModelFileError(f"{path}: the saved state does not fit a {cls.name!r} model ({error}); the folder "
                                 "was edited or its files do not belong together: save the model again") from None
        return model

    # ------------------------------------------------------------------ helpers
    def _set_codec(self, codec) -> None:
        self.codec_ = codec

    def _read(self, data, fitting: bool = False) -> tuple:
        """(frame or image array, input kind) as this model's kind reads `data` (an array table gets
        the fitted column names unless `fitting`)."""
        if self.data_kind == "image":
            return ImageCodec.read(data)
        if is_image_batch(data):
            raise SchemaError(f"model {self.name!r} was fitted on a {self.data_kind}; got images of shape {data.shape}")
        named = not fitting and self.input_kind_ == "array"
        return _as_frame(data, names=self.schema_.names if named else None)

    def _take_kind_of(self, data) -> None:
        """Become this rung's class for the kind of `data` (images or not), keeping the
        hyperparameters set so far; forget what an earlier fit of another kind learned."""
        wanted = "image" if is_image_batch(data) else None
        if wanted == self.data_kind or (wanted is None and self.data_kind != "image"):
            return
        if wanted == "image":
            target = VARIANTS.get((self.name, "image"))
        else:
            target = next((cls for (name, kind), cls in VARIANTS.items() if name == self.name and kind != "image"), None)
        if target is None:
            if wanted == "image":
                able = sorted({name for name, kind in VARIANTS if kind == "image"})
                raise SchemaError(f"model {self.name!r} does not model images; models that do: {', '.join(able)}")
            raise SchemaError(f"model {self.name!r} models images: give an array (N, H, W) or (N, H, W, C)")
        changed = {k: v for k, v in self.get_params().items() if v != self.params[k].default}
        foreign = sorted(set(changed) - set(target.params))
        if foreign:
            raise ParameterError(f"parameter {foreign[0]!r} of model {self.name!r} does not apply to "
                                 f"{'images' if wanted else target.data_kind + 's'}; its parameters there are: "
                                 f"{', '.join(sorted(target.params)) or 'none'}")
        for attribute in [a for a in vars(self) if a.endswith("_")]:
            delattr(self, attribute)
        self.__class__ = target
        for key, spec in target.params.items():
            setattr(self, key, spec.validate(key, changed.get(key, spec.default)))

    # the codec's parts, by the names models read them (read-only: the codec holds them)
    schema_ = property(lambda self: self.codec_.schema)
    layout_ = property(lambda self: self.codec_.layout)
    input_kind_ = property(lambda self: self.codec_.input_kind)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"this {self.name!r} model is not fitted yet: call .fit(data) first")

    def _input(self, data, allow_missing_cells: bool) -> pd.DataFrame:
        frame, kind = self._read(data)
        if len(frame) == 0:
            raise SchemaError("no images were given: give at least one" if self.data_kind == "image"
                              else "the table is empty: give at least one row")
        return self.codec_.check(frame, allow_missing_cells=allow_missing_cells)


# ---------------------------------------------------------------------- small helpers
FEW_ROWS = 10


def _no_options(options: dict) -> None:
    """The options of out=/engine= (core/shards.py) refused on an in-memory call, by name."""
    if options:
        raise ParameterError(f"{sorted(options)[0]}= applies when writing to out= or running on engine=; "
                             "give out=DIR (or engine=), or drop it")


def _check_rows(model: Model, frame: pd.DataFrame, input_kind: str) -> None:
    """Refuse a table too short for `model` to learn from; warn about a short DataFrame (arrays come
    from code, e.g. the forecast task's windows, which says itself how short a history is)."""
    if model.data_kind == "image":
        if len(frame) < max(2, model.min_rows):
            raise SchemaError(f"{len(frame)} image{'s' if len(frame) != 1 else ''} given: model {model.name!r} needs at "
                              f"least {max(2, model.min_rows)} images to learn from")
        return
    if len(frame) == 0:
        raise SchemaError("the table is empty: a model needs at least one row to learn from")
    if len(frame) < model.min_rows:
        raise SchemaError(f"the table has {len(frame)} row{'s' if len(frame) > 1 else ''}: model {model.name!r} needs "
                          f"at least {model.min_rows} rows to learn from")
    if input_kind == "dataframe" and len(frame) < FEW_ROWS:
        warnings.warn(f"the table has only {len(frame)} rows: a model learns little from fewer than {FEW_ROWS} and "
                      "its samples mostly repeat them", stacklevel=3)


def _as_frame(data, names: list[str] | None = None) -> tuple[pd.DataFrame, str]:
    if isinstance(data, pd.DataFrame):
        return text_names(data), "dataframe"       # pd.DataFrame(array): 0, 1, 2, ... -> "0", "1", "2", ...
    if isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise SchemaError(f"expected a 2-D array (rows x columns), got shape {data.shape}")
        if not np.issubdtype(data.dtype, np.number):
            raise SchemaError(f"expected a numeric array, got dtype {data.dtype}")
        columns = names or [f"x{i}" for i in range(data.shape[1])]
        if len(columns) != data.shape[1]:
            raise SchemaError(f"the array has {data.shape[1]} columns; the model was fitted on {len(columns)}")
        return pd.DataFrame(data.astype(float), columns=columns), "array"
    raise TypeError(f"expected a pandas DataFrame or a 2-D numpy array, got {type(data).__name__}")
