"""Data kinds as codecs: user data <-> model space, chosen by the kind a model declares.

A model declares `data_kind`; `Model.fit` asks `CODECS[data_kind]` for a codec, which learns how
to read the training data and then turns every later input into the arrays the model works on,
and the model's arrays back into what the user gave (a DataFrame, or an array if an array was
fitted). So `fit`/`sample`/`log_prob`/`impute`/`save` are the same calls for every kind:

- "table" (`TableCodec`): rows are records, columns variables of any kind. The `Schema` and the
  `TableLayout` give discrete codes and continuous values (`Encoded`).
- "series" (`SeriesCodec`): rows are series, columns time steps, all numbers. Model space is the
  (N, T) array of values standardized by the training values' mean and sd, NaN where not
  observed (series have no point masses or MISSING states: a gap is integrated out).
- "image" (`ImageCodec`, `plausible.data.images`): arrays (N, H, W) or (N, H, W, C); model space
  is `Pixels` (intensities in [0, 1] and, for integer images, each pixel's level).

What every codec offers (the protocol in `plausible.core.model` calls nothing else):

    fit(frame, overrides, input_kind, **options) -> codec   learn from the training frame (options: the
                                                  model's declared layout choices, e.g. interior_point_masses)
    check(frame, allow_missing_cells) -> frame   the fitted columns, validated (errors name the column)
    encode(frame, unknown_missing=False)          model space (`unknown_missing`: a gap is to be drawn)
    decode(encoded, rng) -> frame                 user space, dtypes as fitted
    empty()                                       model space with no rows
    unseen_rows(frame) -> (N,) bool               rows holding a value the model cannot score
    log_jacobian(frame) -> (N,)                   added to the model's log_prob for user units
    fill(data, frame, draw, rngs) -> list         one completed copy of `data` per rng
    output(frame)                                 a DataFrame, or an array when an array was fitted
    to_config() / from_config(config)             what config.json holds
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.errors import ParameterError
from .images import ImageCodec
from .layout import Encoded, TableLayout, layout_column, restore_dtypes
from .schema import Column, Schema, SchemaError, check_overrides, from_float, infer_column, warn_ids
from .summary import describe_numbers, summarize


class TableCodec:
    """Tables through the Schema and its reversible encoders (`TableLayout`)."""

    kind = "table"

    def __init__(self, schema: Schema, layout: TableLayout, input_kind: str = "dataframe"):
        self.schema, self.layout, self.input_kind = schema, layout, input_kind

    @classmethod
    def fit(cls, frame: pd.DataFrame, overrides: dict | None, input_kind: str,
            interior_point_masses: bool = True, **options) -> "TableCodec":
        schema = Schema.infer(frame, overrides=overrides)
        return cls(schema, TableLayout.fit(frame, schema, interior_point_masses=interior_point_masses), input_kind)

    @classmethod
    def fit_columns(cls, names: list[str], read, overrides: dict | None, input_kind: str = "dataframe",
                    interior_point_masses: bool = True, pieces=None, **options) -> "TableCodec":
        """What `fit` learns, from one column at a time: `read(name)` gives a whole column (a
        partitioned table's column over all its pieces, `core/by_parts.py`), so memory holds one
        column, not the table. The same per-column inference as `fit`, so the same codec.
        `pieces(name)`, if given, yields the column piece by piece: a column of plain numbers without
        an override is then described from its distinct values and their counts (`data/summary.py`),
        the same codec again, holding one piece of the column; `read` only where that cannot be."""
        overrides = check_overrides(overrides, names)
        columns, discrete, continuous, found_ids = [], [], [], []
        for name in names:
            if pieces is not None and name not in overrides:
                summary = summarize(pieces(name))
                column = summary and describe_numbers(name, summary, discrete, continuous, interior_point_masses)
                if column is not None:
                    columns.append(column)
                    continue
            series = read(name)
            column, found = infer_column(name, series, overrides.get(name))
            columns.append(column)
            if found:
                found_ids.append(name)
            if column.kind != "id":
                layout_column(column, series, discrete, continuous, interior_point_masses=interior_point_masses)
            del series
        warn_ids(found_ids, stacklevel=4)
        schema = Schema(columns)
        return cls(schema, TableLayout(schema, discrete, continuous), input_kind)

    def check(self, frame: pd.DataFrame, allow_missing_cells: bool = False) -> pd.DataFrame:
        return self.schema.check(frame, allow_missing_cells=allow_missing_cells)

    def encode(self, frame: pd.DataFrame, unknown_missing: bool = False) -> Encoded:
        return self.layout.encode(frame, unknown_missing=unknown_missing)

    def decode(self, encoded: Encoded, rng: np.random.Generator) -> pd.DataFrame:
        return self.layout.decode(encoded, rng)

    def empty(self) -> Encoded:
        return Encoded(np.zeros((0, len(self.layout.discrete)), np.int64), np.zeros((0, len(self.layout.continuous))))

    def unseen_rows(self, frame: pd.DataFrame) -> np.ndarray:
        return self.layout.unseen_rows(frame)

    def log_jacobian(self, frame: pd.DataFrame) -> np.ndarray:
        return self.layout.rare_log_correction(frame)

    def output(self, frame: pd.DataFrame):
        return frame.to_numpy(dtype=float) if self.input_kind == "array" else frame

    def fill(self, data, frame: pd.DataFrame, draw, rngs: list) -> list:
        """Each rng's completion of `frame` (checked, unknown cells NaN): `draw(encoded rows, rng)`
        fills the incomplete rows in model space; known cells are kept as given."""
        encoded = self.encode(frame, unknown_missing=True)
        incomplete = np.flatnonzero(frame.isna().any(axis=1).to_numpy())
        if self._plain_numbers(data):
            # a numeric array of continuous columns: the same draws without a DataFrame per draw
            # (the per-column dtype work cost 45 ms per draw; forecasting's window models make thousands)
            values = frame.to_numpy(dtype=float)
            gaps = np.isnan(values[incomplete])
            draws = []
            for rng in rngs:
                filled = draw(encoded.take(incomplete), rng).values.copy()
                for c, column in enumerate(self.schema.columns):     # clipped to range, rounded as decode does
                    filled[:, c] = from_float(filled[:, c], column)
                completed = values.copy()
                completed[incomplete] = np.where(gaps, filled, values[incomplete])
                draws.append(completed)
            return draws
        draws = []
        for rng in rngs:
            columns = {name: frame[name].to_numpy(dtype=object, copy=True) for name in frame.columns}
            if incomplete.size:
                filled = self.decode(draw(encoded.take(incomplete), rng), rng)
                for name, cells in columns.items():
                    gaps = incomplete[pd.isna(cells[incomplete])]
                    cells[gaps] = filled[name].to_numpy(dtype=object)[np.isin(incomplete, gaps)]
            completed = self.output(restore_dtypes(pd.DataFrame(columns, index=frame.index), self.schema))
            draws.append(_caller_columns(completed, data))
        return draws

    def _plain_numbers(self, data) -> bool:
        """Whether `data` is an array whose every column is a continuous numeric variable of the
        layout, in schema order (no states, no labels): its draws need no DataFrame round trip."""
        layout = self.layout
        return (isinstance(data, np.ndarray) and self.input_kind == "array" and not layout.discrete
                and [c.column for c in layout.continuous] == self.schema.names
                and all(column.kind in ("numeric", "integer") for column in self.schema.columns))

    def to_config(self) -> dict:
        return {"input": self.input_kind, "schema": self.schema.to_dict(), "layout": self.layout.to_dict()}

    @classmethod
    def from_config(cls, config: dict) -> "TableCodec":
        schema = Schema.from_dict(config["schema"])
        return cls(schema, TableLayout.from_dict(schema, config["layout"]), config.get("input", "dataframe"))


class SeriesCodec:
    """Series: rows are series, columns time steps, every cell a number (NaN = not observed).

    Model space is z = (y - center) / scale, with the mean and sd of every observed training
    value, so log p(y) = log p(z) - (observed cells) x log(scale)."""

    kind = "series"

    def __init__(self, schema: Schema, center: float, scale: float, input_kind: str = "dataframe"):
        self.schema, self.center, self.scale, self.input_kind = schema, float(center), float(scale), input_kind
        self.layout = TableLayout(schema, [], [])      # no encoded variables: cells are read directly

    @classmethod
    def fit(cls, frame: pd.DataFrame, overrides: dict | None, input_kind: str, **options) -> "SeriesCodec":
        if overrides:
            raise ParameterError("a series model reads every column as a number (one column per time step); "
                              "schema overrides do not apply")
        values = series_values(frame)
        if np.isnan(values).all():
            raise SchemaError("the table has no observed value at all: give series with at least one number")
        kinds = {dtype: ("integer" if pd.api.types.is_integer_dtype(dtype) else "numeric", str(dtype))
                 for dtype in set(frame.dtypes)}
        columns = [Column(str(name), kinds[dtype][0], nullable=True, dtype=kinds[dtype][1])
                   for name, dtype in frame.dtypes.items()]
        present = values[~np.isnan(values)]
        spread = float(present.std())
        return cls(Schema(columns), float(present.mean()), spread if spread > 0 else 1.0, input_kind)

    def check(self, frame: pd.DataFrame, allow_missing_cells: bool = True) -> pd.DataFrame:
        """The fitted time steps in their order; a series may always have gaps (they are integrated out)."""
        names = self.schema.names
        given = [str(c) for c in frame.columns]
        unknown, absent = sorted(set(given) - set(names)), [n for n in names if n not in set(given)]
        if unknown:
            raise SchemaError(f"columns {unknown[:5]} were not in the training data; the model knows "
                              f"{len(names)} time steps {names[:3]}...")
        if absent:
            raise SchemaError(f"columns {absent[:5]} are missing; the model was fitted on {len(names)} time steps "
                              f"{names[:3]}...: give one column per time step")
        frame = frame.set_axis(given, axis=1)
        frame = frame if given == names else frame[names]
        series_values(frame)                         # every cell a number or NaN
        return frame

    def encode(self, frame: pd.DataFrame, unknown_missing: bool = False) -> np.ndarray:
        return (series_values(frame) - self.center) / self.scale

    def decode(self, encoded: np.ndarray, rng: np.random.Generator | None = None) -> pd.DataFrame:
        return self._frame(encoded * self.scale + self.center)

    def _frame(self, values: np.ndarray) -> pd.DataFrame:
        """Values in user units as a table with the fitted dtypes (whole numbers rounded)."""
        frame = pd.DataFrame(values, columns=self.schema.names)
        casts = {c.name: c.dtype for c in self.schema.columns if c.dtype != "float64"}
        if casts:
            whole = [c.name for c in self.schema.columns if c.kind == "integer"]
            frame[whole] = np.round(frame[whole])
            frame = restore_dtypes(frame, Schema([c for c in self.schema.columns if c.name in casts])) \
                if len(casts) < len(frame.columns) else restore_dtypes(frame, self.schema)
        return frame

    def empty(self) -> np.ndarray:
        return np.zeros((0, len(self.schema)))

    def unseen_rows(self, frame: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(frame), dtype=bool)      # numbers only: nothing a series model has not seen

    def log_jacobian(self, frame: pd.DataFrame) -> np.ndarray:
        return -(~np.isnan(series_values(frame))).sum(axis=1) * np.log(self.scale)

    def output(self, frame: pd.DataFrame):
        return frame.to_numpy(dtype=float) if self.input_kind == "array" else frame

    def fill(self, data, frame: pd.DataFrame, draw, rngs: list) -> list:
        values = series_values(frame)
        encoded, gaps = (values - self.center) / self.scale, np.isnan(values)
        draws = []
        for rng in rngs:       # known cells exactly as given, not through (y - center) / scale and back
            completed = np.where(gaps, draw(encoded, rng) * self.scale + self.center, values)
            draws.append(_caller_columns(self.output(self._frame(completed)), data))
        return draws

    def to_config(self) -> dict:
        return {"input": self.input_kind, "schema": self.schema.to_dict(), "layout": self.layout.to_dict(),
                "series": {"center": self.center, "scale": self.scale}}

    @classmethod
    def from_config(cls, config: dict) -> "SeriesCodec":
        scale = config.get("series") or config["state"]     # files before the codecs kept both in the state
        return cls(Schema.from_dict(config["schema"]), scale["center"], scale["scale"],
                   config.get("input", "dataframe"))


CODECS = {codec.kind: codec for codec in (TableCodec, SeriesCodec, ImageCodec)}
DATA_KINDS = tuple(CODECS)


def series_values(frame: pd.DataFrame) -> np.ndarray:
    """The cells of a table of series as floats (N, T), NaN where not observed; SchemaError otherwise."""
    if frame.shape[0] == 0:
        raise SchemaError("the table is empty: give at least one series (one row)")
    if frame.shape[1] == 0:
        raise SchemaError("the table has no columns: give one column per time step")
    if not frame.columns.is_unique:
        raise SchemaError(f"duplicate column names {frame.columns[frame.columns.duplicated()].tolist()}: "
                          "give each time step its own column")
    numbers = {dtype: pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
               for dtype in set(frame.dtypes)}
    for name, dtype in frame.dtypes.items():
        if not numbers[dtype]:
            kind = ("boolean" if pd.api.types.is_bool_dtype(dtype) else
                    "datetime" if pd.api.types.is_datetime64_any_dtype(dtype) else "categorical")
            raise SchemaError(f"a series model reads series: every column must be a number, one column per time "
                              f"step; column {str(name)!r} is {kind}")
    values = frame.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(values).any():
        column = frame.columns[np.isinf(values).any(axis=0)][0]
        raise SchemaError(f"column {str(column)!r} has infinite values: replace them with a number or NaN")
    return values


def _caller_columns(draw, data):
    """A completed DataFrame with the caller's column labels and order (0, 1, ... stay numbers)."""
    if isinstance(draw, pd.DataFrame) and isinstance(data, pd.DataFrame):   # (an array fit gives arrays)
        if not all(isinstance(name, str) for name in data.columns):
            draw = draw.rename(columns={str(name): name for name in data.columns})
        if list(draw.columns) != list(data.columns) and set(draw.columns) == set(data.columns):
            draw = draw[list(data.columns)]          # the caller's column order, not the fit's
    return draw
