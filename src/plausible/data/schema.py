"""The user-facing description of a table: one `Column` per column, inferred, overridable, saved.

A `Schema` is what a model promises to give back. It is inferred from the training DataFrame
(`Schema.infer`), can be overridden per column (`overrides={"age": "integer"}` or a dict of
fields), is saved inside every model folder, and is checked again whenever new data reaches a
fitted model (`Schema.check`), so that a renamed column or a new category fails loudly with the
column's name instead of producing silent nonsense.

Kinds:
    numeric      real numbers (float); may have point masses (a spike at 0, a capped maximum);
                 durations (timedelta64) are numeric, modelled in seconds, given back as durations
    integer      whole numbers (ages, counts, Likert scores); always given back as integers
    categorical  a finite set of labels; rare labels beyond `max_categories` are pooled
    boolean      True / False
    datetime     timestamps; modelled as seconds since 1970 (UTC for zone-aware ones) and given
                 back as datetimes in the column's own unit and zone
    id           a key that names each row (a customer number, an order code, a row counter): not
                 modelled; `sample` and `impute` make new unique values in the same format, and no
                 training value is stored (see `data/identifiers.py`)

Discrete numbers. Numbers often take only a few values (an age recorded as 17.5, 22, 27, ...; a
rating of 1-5; a share of 0, 0.5 or 1) or lie on a grid (prices in whole dollars and 99 cents,
counts in fives). Such a column is `discrete`: its `support` lists the values it takes, and every
sampled or imputed value is one of them. The rule (`_discrete_support`): a numeric or integer
column is discrete when it takes at most MAX_DISCRETE_LEVELS distinct values with at least
MIN_ROWS_PER_VALUE rows each on average (the layout then models every value as a point mass), or
at most MAX_SUPPORT values with at least MIN_ROWS_PER_SUPPORT rows each (a continuous part whose
draws are moved to the nearest value of the support). Otherwise, when its values lie on a grid
coarser than their decimals (`step`), draws are moved to the grid. Override with
`overrides={"age": "discrete"}` (CLI `--schema age=discrete`: every value the column took is its
support) or `"continuous"` (no support, grid or point masses: any value in the range is possible).

Rare labels. In a column with more than `max_categories` labels, a label held by fewer than
`min_count` rows (default DEFAULT_MIN_COUNT) is pooled into the shared rare bucket and never
written to the model file; sampling the bucket gives one of the remembered rare labels (those
held by at least `min_count` rows), or RARE_LABEL when there are none.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .identifiers import id_format, looks_like_id

KINDS = ("numeric", "integer", "categorical", "boolean", "datetime", "id")
NUMERIC_KINDS = ("numeric", "integer", "datetime")
#: Override words that are not kinds: "discrete" / "continuous" set how a number column is modelled.
NUMBER_MODES = ("discrete", "continuous")

#: Labels beyond this many distinct values are pooled into one "rare" bucket (see `Column.rare`).
DEFAULT_MAX_CATEGORIES = 50
#: How many pooled rare labels are remembered to draw from when the rare bucket is sampled.
MAX_RARE_REMEMBERED = 1000
MAX_DECIMALS = 6   # a numeric column recorded to more decimal places than this is not rounded
MAX_DISCRETE_LEVELS, MIN_ROWS_PER_VALUE = 20, 3   # few values, each repeated: every value a point mass
MAX_SUPPORT, MIN_ROWS_PER_SUPPORT = 200, 10        # more values, each repeated often: draws snap to them
#: In a high-cardinality column, labels held by fewer rows than this are pooled and never stored.
DEFAULT_MIN_COUNT = 5
#: What a sampled row of the rare bucket holds when no pooled label was common enough to be stored.
RARE_LABEL = "(rare)"


class SchemaError(ValueError):
    """Data does not match what a model was fitted on, or cannot be modelled as given."""


@dataclass
class Column:
    """One column: its kind, whether it may be missing, and its categories or range.

    `categories` lists the labels a categorical column models one by one (most frequent first, or
    in a pandas category column's declared order);
    `rare` lists labels pooled into one shared bucket (with `rare_counts`), so a column of 100,000
    distinct IDs costs `max_categories` parameters, not 100,000. `minimum`/`maximum` bound numeric
    columns (samples never leave them). `dtype` is the pandas dtype handed back by `sample`.
    `decimals` (numeric columns): the data's recorded precision, the fewest decimal places (at most
    MAX_DECIMALS) that hold every value; sampled and imputed values are rounded to it, so a column
    of values like 16.5 or 0.26 never comes back as 16.4817 (a giveaway to anyone telling real rows
    from synthetic ones). None when the values need more places.
    `discrete`, `support`, `step`: see "Discrete numbers" in the module doc; `id_format`: how an
    `id` column's new values are made (no training value is kept).
    `atoms` (numeric kinds): True lets the layout give spikes (a share of zeros, a cap, a few
    repeated levels) point masses of their own; False keeps every value on the continuous part, so
    a value never seen in training is still possible (what forecasting's window tables need).
    """

    name: str
    kind: str
    nullable: bool = False
    categories: list | None = None
    rare: list | None = None
    rare_counts: list | None = None
    rare_rows: int | None = None     # rows whose label was pooled (the remembered ones and the rest)
    rare_labels: int | None = None   # distinct pooled labels (remembered or not)
    minimum: float | None = None
    maximum: float | None = None
    dtype: str | None = None
    resolution: str | None = None  # datetime only: "D" when every value is a whole day, else "s"
    decimals: int | None = None    # numeric only: decimal places of the data (see above)
    atoms: bool = True             # numeric kinds: False = no point masses, every value continuous (see below)
    ordered: bool = False          # a `category` dtype declared ordered: given back ordered
    discrete: bool | None = None   # numbers: True = takes only the values in `support` (see the module doc)
    support: list | None = None    # discrete numbers: the values the column takes, ascending
    step: float | None = None      # numbers on a grid: values are minimum + k * step
    id_format: dict | None = None  # id columns: how new values are made (data/identifiers.py)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise SchemaError(f"column {self.name!r}: unknown kind {self.kind!r}; use one of {', '.join(KINDS)}")

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        for key in ("categories", "rare"):
            if out[key] is not None:
                out[key] = [_json_label(v) for v in out[key]]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Column":
        """A column from a saved schema, each field checked for its type (a hand-edited model file
        must fail when it is loaded, not with a numpy error at the first sample)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SchemaError(f"column {data.get('name')!r}: unknown schema fields {sorted(unknown)}")
        number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)  # noqa: E731
        whole = lambda v: isinstance(v, int) and not isinstance(v, bool)                                # noqa: E731
        rules = {"name": lambda v: isinstance(v, str), "kind": lambda v: v in KINDS,
                 "nullable": lambda v: isinstance(v, bool), "atoms": lambda v: isinstance(v, bool),
                 "ordered": lambda v: isinstance(v, bool),
                 "categories": lambda v: v is None or isinstance(v, list),
                 "rare": lambda v: v is None or isinstance(v, list),
                 "rare_counts": lambda v: v is None or (isinstance(v, list) and all(whole(c) and c > 0 for c in v)),
                 "rare_rows": lambda v: v is None or (whole(v) and v > 0),
                 "rare_labels": lambda v: v is None or (whole(v) and v > 0),
                 "minimum": lambda v: v is None or number(v), "maximum": lambda v: v is None or number(v),
                 "dtype": lambda v: v is None or isinstance(v, str),
                 "resolution": lambda v: v in (None, "D", "s"),
                 "decimals": lambda v: v is None or (whole(v) and 0 <= v <= MAX_DECIMALS),
                 "discrete": lambda v: v is None or isinstance(v, bool),
                 "support": lambda v: v is None or (isinstance(v, list) and all(number(x) for x in v)),
                 "step": lambda v: v is None or (number(v) and v > 0),
                 "id_format": lambda v: v is None or isinstance(v, dict)}
        for key, value in data.items():
            if not rules[key](value):
                raise SchemaError(f"column {data.get('name')!r}: schema field {key!r} has the invalid value {value!r}")
        column = cls(**data)
        if (column.minimum is None) != (column.maximum is None) or \
                (column.minimum is not None and column.minimum > column.maximum):
            raise SchemaError(f"column {column.name!r}: schema range {column.minimum!r}..{column.maximum!r} is invalid")
        return column


def text_names(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its column labels as text, as models name columns (pd.DataFrame(array)'s 0, 1,
    ... become "0", "1", ...); SchemaError when two labels would share a text."""
    if all(isinstance(name, str) for name in frame.columns):
        return frame
    names = [str(name) for name in frame.columns]
    if len(set(names)) != len(names):
        raise SchemaError(f"column names must stay distinct when written as text; got {list(frame.columns)!r}")
    return frame.set_axis(names, axis=1)


def fully_remembered(column: Column) -> bool:
    """Every label pooled into the rare bucket is remembered, so any other label was never seen."""
    return bool(column.rare) and column.rare_labels is not None and column.rare_labels <= len(column.rare)


def _json_label(value):
    """Labels go to JSON: numpy scalars become Python ones; a label that is not text, a number or a
    boolean (a timestamp, a date, a tuple) is kept as its text, so a model file can hold it."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


@dataclass
class Schema:
    columns: list[Column] = field(default_factory=list)

    # ------------------------------------------------------------------ construction
    @classmethod
    def infer(cls, data: pd.DataFrame, overrides: dict | None = None,
              max_categories: int = DEFAULT_MAX_CATEGORIES, min_count: int = DEFAULT_MIN_COUNT) -> "Schema":
        """Infer a schema from a DataFrame; `overrides` maps a column to a kind, to "discrete" or
        "continuous" (numbers), or to a dict of fields. `min_count`: see "Rare labels" above."""
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(data).__name__}")
        if data.shape[0] == 0:
            raise SchemaError("the table is empty: a model needs at least one row to learn from")
        if data.shape[1] == 0:
            raise SchemaError("the table has no columns")
        if not data.columns.is_unique:
            dup = data.columns[data.columns.duplicated()].tolist()
            raise SchemaError(f"duplicate column names {dup}: rename them so each column is unique")
        overrides = check_overrides(overrides, [str(name) for name in data.columns])
        columns, found_ids = [], []
        for name in data.columns:
            column, found = infer_column(str(name), data[name], overrides.get(str(name)), max_categories, min_count)
            columns.append(column)
            if found:
                found_ids.append(column.name)
        warn_ids(found_ids, stacklevel=4)
        return cls(columns)

    def to_dict(self) -> dict:
        return {"columns": [c.to_dict() for c in self.columns]}

    def as_overrides(self) -> dict:
        """Every column's fields as `infer` overrides: a resample of the table gets this schema."""
        return {c.name: {k: v for k, v in c.to_dict().items() if k != "name"} for c in self.columns}

    @classmethod
    def from_dict(cls, data: dict) -> "Schema":
        return cls([Column.from_dict(c) for c in data["columns"]])

    # ------------------------------------------------------------------ access
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def __len__(self) -> int:
        return len(self.columns)

    # ------------------------------------------------------------------ checking new data
    def check(self, data: pd.DataFrame, *, allow_missing_cells: bool = False, require_all: bool = True) -> pd.DataFrame:
        """Check new data against the schema and return it with columns in schema order.

        Raises `SchemaError` naming the column for: missing or unknown columns, values of the wrong
        type, infinite numbers, labels never seen in training, and missing cells in a column that
        was never missing in training (unless `allow_missing_cells`, as for `impute`).
        """
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(data).__name__}")
        given = [str(c) for c in data.columns]
        unknown = sorted(set(given) - set(self.names))
        if unknown:
            raise SchemaError(f"columns {unknown} were not in the training data; the model knows {self.names}")
        absent = [n for n in self.names if n not in given]
        if absent and require_all:
            raise SchemaError(f"columns {absent} are missing; the model was fitted on {self.names}")
        data = data.copy()
        data.columns = given
        for column in self.columns:
            if column.name in data:
                data[column.name] = _check_values(column, data[column.name], allow_missing_cells)
        return data[[n for n in self.names if n in data.columns]]


# ---------------------------------------------------------------------- inference, one column at a time
def check_overrides(overrides: dict | None, names: list[str]) -> dict:
    """`overrides` as a dict; SchemaError when one names a column that is not in the table."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(names)
    if unknown:
        raise SchemaError(f"schema overrides name columns that are not in the table: {sorted(unknown)}")
    return overrides


def infer_column(name: str, series: pd.Series, spec, max_categories: int = DEFAULT_MAX_CATEGORIES,
                 min_count: int = DEFAULT_MIN_COUNT) -> tuple[Column, bool]:
    """One column of `Schema.infer` from the whole column alone (nothing in it depends on the other
    columns, so a partitioned table is described one column at a time, `core/by_parts.py`): the
    Column, and whether it was recognised as an ID column (for `warn_ids`). `spec`: its override."""
    if isinstance(spec, str):
        spec = {"kind": spec} if spec not in NUMBER_MODES else {"discrete": True} if spec == "discrete" \
            else {"discrete": False, "atoms": False}
    kind, found = (spec or {}).get("kind"), False
    if kind is None:
        kind = _infer_kind(series)
        if "discrete" not in (spec or {}) and looks_like_id(series, kind, max_categories):
            kind, found = "id", True
    if kind not in KINDS:
        raise SchemaError(f"column {name!r}: unknown kind {kind!r}; use one of {', '.join(KINDS + NUMBER_MODES)}")
    column = _describe(name, series, kind, max_categories, min_count)
    fields = {f.name for f in dataclasses.fields(Column)} - {"name", "kind"}
    for key, value in (spec or {}).items():
        if key == "kind":
            continue
        if key not in fields:
            raise SchemaError(f"column {name!r}: unknown schema field {key!r}; use kind or one of "
                              f"{', '.join(sorted(fields))}")
        setattr(column, key, value)
    _settle_numbers(column, series)
    return column, found


def warn_ids(found_ids: list[str], stacklevel: int = 3) -> None:
    """The one warning for the columns `infer_column` recognised as IDs."""
    if found_ids:
        warnings.warn(f"{_list(found_ids)} {'names' if len(found_ids) == 1 else 'name'} each row (unique values "
                      f"or a counter): {'it is' if len(found_ids) == 1 else 'they are'} not modelled, and samples "
                      "get new values in the same format; declare a column otherwise with --schema "
                      "COLUMN=categorical (Python: schema={COLUMN: 'categorical'})", stacklevel=stacklevel)


# ---------------------------------------------------------------------- inference helpers
def _infer_kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "numeric"   # a duration: modelled in seconds, given back as a duration
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        values = series.dropna().to_numpy(dtype=float)
        if values.size and np.all(np.isfinite(values)) and np.all(values == np.round(values)) and series.isna().any():
            return "integer"  # an integer column that pandas turned into floats because of NaN
        return "numeric"
    if pd.api.types.is_object_dtype(dtype):
        non_null = series.dropna()
        if len(non_null) and all(isinstance(v, (bool, np.bool_)) for v in non_null):
            return "boolean"
    return "categorical"


def _list(names: list[str]) -> str:
    return "column " + repr(names[0]) if len(names) == 1 else "columns " + ", ".join(map(repr, names))


def _describe(name: str, series: pd.Series, kind: str, max_categories: int, min_count: int) -> Column:
    nullable = bool(series.isna().any())
    if series.notna().sum() == 0:
        raise SchemaError(f"column {name!r} is missing in every row: drop it, there is nothing to learn")
    column = Column(name=name, kind=kind, nullable=nullable, dtype=str(series.dtype),
                    ordered=bool(getattr(series.dtype, "ordered", False)))
    if kind == "id":
        column.id_format = id_format(series)
        return column
    if kind == "categorical":
        counts = series.dropna().value_counts(sort=True)
        counts = counts[counts > 0]   # a category dtype lists its unused categories with count 0
        labels = [_json_label(v) for v in counts.index]
        if isinstance(series.dtype, pd.CategoricalDtype):  # keep declared-but-unseen categories too
            unused = [label for label in map(_json_label, series.dtype.categories) if label not in set(labels)]
            if unused:
                warnings.warn(f"column {name!r} declares {len(unused)} categories that no row holds (e.g. "
                              f"{unused[:3]}); they stay possible, and the models' smoothing gives them "
                              "probability, so samples will hold them. If they cannot occur, fit on "
                              "df[col].cat.remove_unused_categories()", stacklevel=4)
            labels += unused
        if len(labels) > max_categories:
            # the kept labels and the remembered rare ones are each held by >= min_count rows: a
            # label of one or two rows (a name, an address) is never written to the model file
            common = int((counts.to_numpy() >= min_count).sum())
            keep = min(max_categories - 1, common)
            rare = counts.iloc[keep:min(common, keep + MAX_RARE_REMEMBERED)]
            column.rare = [_json_label(v) for v in rare.index]
            column.rare_counts = [int(c) for c in rare.to_numpy()]
            if isinstance(series.dtype, pd.CategoricalDtype):
                # a category dtype's labels are declared, not data: all are kept or remembered, one
                # that no row holds counting as one row of the pooled bucket (as smoothing does)
                keep = max_categories - 1
                seen = dict(zip(map(_json_label, counts.index), counts.to_numpy()))
                column.rare = labels[keep:keep + MAX_RARE_REMEMBERED]
                column.rare_counts = [max(int(seen.get(label, 0)), 1) for label in column.rare]
            column.categories = labels[:keep]
            pooled = counts.iloc[keep:]
            column.rare_rows = max(int(pooled.sum()), sum(column.rare_counts), 1)
            column.rare_labels = int(len(labels) - keep)
            column.ordered = False   # pooled rare labels have no place in the declared order
        elif isinstance(series.dtype, pd.CategoricalDtype):   # given back in the declared order (low <
            order = {label: k for k, label in enumerate(map(_json_label, series.dtype.categories))}  # mid < high)
            column.categories = sorted(labels, key=order.__getitem__)
        else:
            column.categories = labels
    elif kind == "boolean":
        column.categories = [False, True]
    else:
        values = _to_float(series, kind, name)
        finite = values[~np.isnan(values)]
        if np.isinf(finite).any():
            raise SchemaError(f"column {name!r} has infinite values: replace them with a number or NaN")
        column.minimum, column.maximum = float(finite.min()), float(finite.max())
        if kind == "datetime":
            seconds = finite
            column.resolution = "D" if np.all(np.mod(seconds, 86400) == 0) else "s"
        if kind == "numeric":
            column.decimals = _decimals(finite)
        if kind == "integer" and not np.all(finite == np.round(finite)):
            raise SchemaError(f"column {name!r} was declared integer but has fractional values; declare it numeric")
    return column


def _settle_numbers(column: Column, series: pd.Series) -> None:
    """Fill in a number column's `support` and `step` (module doc, "Discrete numbers") once the
    user's overrides are applied: `discrete=True` keeps every value seen, `False` none, None asks
    the rule; a column without point masses (`atoms=False`, forecasting's windows) stays continuous."""
    if column.kind not in ("numeric", "integer") or column.support is not None:
        return
    if not column.atoms:
        column.discrete, column.step = False, None
        return
    values = as_float(series, column)
    settle_numbers(column, *np.unique(values[~np.isnan(values)], return_counts=True))


def settle_numbers(column: Column, uniques: np.ndarray, counts: np.ndarray) -> None:
    """`_settle_numbers` from the column's distinct present values (ascending) and their counts."""
    present = int(counts.sum())
    told = column.discrete
    if told is None:
        few = len(uniques) <= MAX_DISCRETE_LEVELS and present >= MIN_ROWS_PER_VALUE * len(uniques)
        some = len(uniques) <= MAX_SUPPORT and present >= MIN_ROWS_PER_SUPPORT * len(uniques)
        column.discrete = bool(few or some)
    if column.discrete:
        column.support = [float(v) for v in uniques]
    elif told is None and column.step is None:
        column.step = _grid_step(uniques, 0 if column.kind == "integer" else column.decimals)


def _grid_step(uniques: np.ndarray, decimals: int | None) -> float | None:
    """The grid the values lie on, when it is coarser than their decimals (prices ending in .99 lie
    on a grid of 1.00; counts in fives on one of 5); None when the decimals already say it all."""
    if decimals is None or len(uniques) < 3:
        return None
    scaled = np.round((uniques - uniques[0]) * 10.0 ** decimals)
    if np.max(scaled) >= 2 ** 52:
        return None
    divisor = int(np.gcd.reduce(scaled.astype(np.int64)))
    return divisor / 10.0 ** decimals if divisor > 1 else None


def _decimals(values: np.ndarray) -> int | None:
    """The fewest decimal places (0..MAX_DECIMALS) that represent every value, up to float round-off.

    Round-off is judged relative to each value, floored at the column's own scale (capped at 1), so a
    column of magnitude 1e-9 is not mistaken for a column of zeros.
    """
    if values.size == 0:
        return None
    scale = min(1.0, float(np.max(np.abs(values))))
    tolerance = 1e-9 * np.maximum(scale, np.abs(values))
    for places in range(MAX_DECIMALS + 1):
        if np.all(np.abs(values - np.round(values, places)) <= tolerance):
            return places
    return None


def _to_float(series: pd.Series, kind: str, name: str) -> np.ndarray:
    """Numbers (or datetimes as seconds since 1970) as float64, NaN for missing."""
    if kind == "datetime":
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            raise SchemaError(f"column {name!r} is declared datetime but holds numbers, whose unit (seconds? days? "
                              "years?) is unknown; convert it first, e.g. pd.to_datetime(df[col], unit='s'), or "
                              "keep it numeric")
        try:
            stamps = pd.to_datetime(series)
        except (ValueError, TypeError) as error:
            raise SchemaError(f"column {name!r} is declared datetime but has values that are not dates: {error}") from None
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        try:
            out = stamps.astype("datetime64[ns]").to_numpy().astype("int64").astype(float) / 1e9
        except (ValueError, OverflowError) as error:   # pandas' OutOfBoundsDatetime is a ValueError
            raise SchemaError(f"column {name!r} has dates outside 1677-09-21..2262-04-11, the range plausible "
                              f"models ({error}); store them as numbers (e.g. years) instead") from None
        out[stamps.isna().to_numpy()] = np.nan
        return out
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(float).to_numpy()
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return (series / pd.Timedelta(seconds=1)).to_numpy(dtype=float, na_value=np.nan)
    try:
        return pd.to_numeric(series, errors="raise").astype("float64").to_numpy(na_value=np.nan)
    except (ValueError, TypeError):
        bad = [v for v in series.dropna().unique()[:200] if not _is_number(v)][:3]
        raise SchemaError(f"column {name!r} is {kind} but has values that are not numbers, e.g. {bad}; "
                          "fix them or declare the column categorical") from None


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def _check_values(column: Column, series: pd.Series, allow_missing_cells: bool) -> pd.Series:
    missing = series.isna()
    if missing.any() and not column.nullable and not allow_missing_cells and column.kind != "id":
        raise SchemaError(f"column {column.name!r} has {int(missing.sum())} missing values but was never missing "
                          "in training; use impute() to fill them, or refit on data where it can be missing")
    present = series[~missing]
    if column.kind == "id":
        return series        # any value: an ID is not modelled
    if column.kind in NUMERIC_KINDS:
        values = _to_float(series, column.kind, column.name)
        if np.isinf(values).any():
            raise SchemaError(f"column {column.name!r} has infinite values: replace them with a number or NaN")
        if column.kind == "integer":
            fractional = values[~np.isnan(values) & (values != np.round(values))]
            if fractional.size:
                raise SchemaError(f"column {column.name!r} holds whole numbers but has fractional values, e.g. "
                                  f"{fractional[:3].tolist()}; round them, or refit declaring the column numeric")
        return series
    if column.kind == "boolean":
        bad = [v for v in present.unique()[:50] if not isinstance(v, (bool, np.bool_)) and v not in (0, 1)]
        if bad:
            raise SchemaError(f"column {column.name!r} is boolean but has values {bad[:3]}")
        return series
    if column.rare is not None and not fully_remembered(column):
        return series    # a high-cardinality column: any label outside the kept ones may be a pooled one
    known = set(column.categories or []) | set(column.rare or [])
    unseen = [v for v in pd.unique(present) if _json_label(v) not in known]
    if unseen:
        raise SchemaError(f"column {column.name!r} has values never seen in training: {unseen[:5]}; "
                          f"known values are {list(column.categories)[:10]}{' ...' if len(column.categories) > 10 else ''}")
    return series


def as_float(series: pd.Series, column: Column) -> np.ndarray:
    """Public helper for encoders: a numeric, integer or datetime column as float64 (NaN = missing)."""
    return _to_float(series, column.kind, column.name)


def from_float(values: np.ndarray, column: Column) -> np.ndarray:
    """Inverse of `as_float`: clipped to the column's range, integers rounded, datetimes rebuilt."""
    values = np.asarray(values, dtype=float).copy()
    present = ~np.isnan(values)
    if column.minimum is not None:
        values[present] = np.clip(values[present], column.minimum, column.maximum)
    if column.support:       # a discrete number: the nearest value the column takes
        support = np.asarray(column.support)
        at = np.clip(np.searchsorted(support, values[present]), 1, max(len(support) - 1, 1))
        below = support[np.maximum(at - 1, 0)]
        above = support[np.minimum(at, len(support) - 1)]
        values[present] = np.where(values[present] - below <= above - values[present], below, above)
    elif column.step and column.minimum is not None:   # a grid: the nearest point on it
        values[present] = column.minimum + np.round((values[present] - column.minimum) / column.step) * column.step
    if column.kind == "integer":
        # whole numbers, inside int64 as a float can hold it (2**63 itself would wrap to -2**63)
        values[present] = np.clip(np.round(values[present]), -2.0 ** 63, np.nextafter(2.0 ** 63, 0))
    if column.kind == "numeric" and column.decimals is not None:
        values[present] = np.round(values[present], column.decimals)
    if column.kind != "datetime":
        return values
    step = 86400.0 if column.resolution == "D" else 1.0
    values[present] = np.round(values[present] / step) * step
    nanos = np.where(present, values * 1e9, 0).astype("int64").astype("datetime64[ns]")
    nanos[~present] = np.datetime64("NaT")
    return nanos
