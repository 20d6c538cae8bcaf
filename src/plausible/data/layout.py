"""Model space: how every classical model sees a mixed table, and the way back.

A table becomes two arrays (`Encoded`):

* `codes` (N, D) int64: one *discrete variable* per categorical or boolean column, and one per
  numeric column that has point masses or missing cells (its *state*). -1 means unknown.
* `values` (N, C) float64: one *continuous variable* per numeric, integer or datetime column
  that has a continuous part. NaN where the state says the cell is not continuous, or unknown.

A numeric column's state has one label per point mass (a value that holds at least `atom_share`
of the rows and is the column's smallest or largest value, like the 68% zeros of an insurance
claim, or a capped maximum; every value of a discrete number column with at most MAX_DISCRETE_LEVELS
values (the schema's "Discrete numbers": ratings, ages in steps, counts); a column whose every value is
such a spike, like a 0/1 flag stored as floats),
one for "missing" when the column can be missing, and `VALUE` for "a continuous value, see `values`". So every
column is a mixed distribution: probability mass on the states times a density on the value.
That is the log_prob convention of the whole library (mass for discrete parts, density in the
column's own units for continuous parts; datetimes in seconds). A Likert column whose every
value is a point mass has no continuous part at all, and comes back as exactly those values.

Unknown cells (for `impute`) are -1 / NaN; `evidence` turns a row into the set of codes still
allowed, which never includes "missing": imputation fills a cell with a value, not with a gap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .identifiers import make_ids
from .schema import (MAX_DISCRETE_LEVELS, NUMERIC_KINDS, RARE_LABEL, Column, Schema, SchemaError, _json_label, as_float,
                     from_float, fully_remembered)

VALUE = "<value>"      # state label: the cell holds a continuous value
MISSING = "<missing>"  # label of the missing state of a nullable column
RARE = "<rare>"        # label of the pooled rare categories of a high-cardinality column
MAX_INTEGER_LEVELS = 20  # an integer column with at most this many distinct values is all point masses,
MIN_ROWS_PER_LEVEL = 3   # when it has at least this many present values per distinct value (else too few
                         # rows to tell a category from a number: 8 rows of 2, 4, ..., 16 are a number)


@dataclass
class Encoded:
    codes: np.ndarray   # (N, D) int64, -1 = unknown
    values: np.ndarray  # (N, C) float64, NaN = not continuous here, or unknown

    def __len__(self) -> int:
        return self.codes.shape[0]

    def take(self, rows) -> "Encoded":
        return Encoded(self.codes[rows], self.values[rows])


@dataclass
class Discrete:
    name: str           # e.g. "color" or "income:state"
    column: str
    labels: list        # code -> label (categories, atoms as floats, VALUE, MISSING, RARE)
    missing_code: int   # code of MISSING, -1 if the column cannot be missing
    value_code: int     # code of VALUE (numeric states only), -1 otherwise

    @property
    def cardinality(self) -> int:
        return len(self.labels)


@dataclass
class Continuous:
    name: str
    column: str
    state: int          # index of the column's state variable in `codes`, -1 if it has none
    integer: bool       # values are whole numbers (integer columns)
    minimum: float
    maximum: float


class TableLayout:
    """The reversible map between a user's DataFrame and `Encoded` arrays, fixed at fit time."""

    def __init__(self, schema: Schema, discrete: list[Discrete], continuous: list[Continuous]):
        self.schema, self.discrete, self.continuous = schema, discrete, continuous

    # ------------------------------------------------------------------ building
    @classmethod
    def fit(cls, data: pd.DataFrame, schema: Schema, atom_share: float = 0.05,
            interior_point_masses: bool = True) -> "TableLayout":
        discrete, continuous = [], []
        for column in schema.columns:
            if column.kind != "id":       # not modelled: decode makes new values
                layout_column(column, data[column.name], discrete, continuous, atom_share, interior_point_masses)
        return cls(schema, discrete, continuous)

    def to_dict(self) -> dict:
        return {"discrete": [vars(d) for d in self.discrete], "continuous": [vars(c) for c in self.continuous]}

    @classmethod
    def from_dict(cls, schema: Schema, data: dict) -> "TableLayout":
        """Rebuild a saved layout; ValueError when it and the schema do not describe the same table
        (a model folder edited by hand)."""
        layout = cls(schema, [Discrete(**d) for d in data["discrete"]], [Continuous(**c) for c in data["continuous"]])
        names = {column.name for column in schema.columns if column.kind != "id"}
        covered = {v.column for v in layout.discrete} | {v.column for v in layout.continuous}
        if covered and covered != names:   # (series models keep no per-column layout at all)
            raise ValueError(f"the schema's columns {sorted(names)} and the layout's {sorted(covered)} differ")
        for var in layout.discrete:
            column = schema[var.column]
            if var.missing_code >= len(var.labels) or var.value_code >= len(var.labels):
                raise ValueError(f"variable {var.name!r} has codes beyond its {len(var.labels)} labels")
            if column.kind in NUMERIC_KINDS and any(not isinstance(label, float) and label not in (VALUE, MISSING)
                                                    for label in var.labels):
                raise ValueError(f"column {column.name!r} is {column.kind} but the layout holds labels for it")
            if column.kind == "categorical":
                labels = {label for label in var.labels if label not in (MISSING, RARE)}
                if labels != set(column.categories or []):
                    raise ValueError(f"column {column.name!r}: the schema's categories and the layout's labels differ")
        for var in layout.continuous:
            if schema[var.column].kind not in NUMERIC_KINDS:
                raise ValueError(f"column {var.column!r} is {schema[var.column].kind} but the layout models it as a number")
        return layout

    # ------------------------------------------------------------------ sizes
    @property
    def cardinalities(self) -> np.ndarray:
        return np.array([d.cardinality for d in self.discrete], dtype=np.int64)

    @property
    def missing_codes(self) -> np.ndarray:
        return np.array([d.missing_code for d in self.discrete], dtype=np.int64)

    # ------------------------------------------------------------------ DataFrame -> arrays
    def encode(self, data: pd.DataFrame, unknown_missing: bool = False) -> Encoded:
        """Encode checked data. A NaN cell is the MISSING state, or unknown if `unknown_missing`."""
        n = len(data)
        codes = np.full((n, len(self.discrete)), -1, dtype=np.int64)
        values = np.full((n, len(self.continuous)), np.nan)
        for j, var in enumerate(self.discrete):
            column = self.schema[var.column]
            if var.column not in data:
                continue  # a column left out entirely is unknown
            series = data[var.column]
            missing = series.isna().to_numpy()
            if column.kind in ("categorical", "boolean"):
                present = series[~missing]
                if column.kind == "boolean":
                    present = present.astype(bool)
                index, cells = pd.Index(var.labels, dtype=object), present.tolist()
                found = index.get_indexer(pd.Index(cells, dtype=object))
                if (found < 0).any():   # labels kept as text (timestamps, dates) match by their text
                    lost = np.flatnonzero(found < 0)
                    found[lost] = index.get_indexer(pd.Index([_json_label(cells[i]) for i in lost], dtype=object))
                codes[~missing, j] = np.where(found >= 0, found, var.labels.index(RARE) if RARE in var.labels else -1)
            else:
                raw = as_float(series, column)
                atoms = np.array([a for a in var.labels if isinstance(a, float)])
                for k, label in enumerate(var.labels):
                    if isinstance(label, float):
                        codes[raw == label, j] = k
                if var.value_code >= 0:
                    is_value = ~missing & ~np.isin(raw, atoms)
                    codes[is_value, j] = var.value_code
                else:
                    off = ~missing & ~np.isin(raw, atoms)
                    if off.any():
                        raise SchemaError(f"column {var.column!r} only took the values {atoms.tolist()} in training; "
                                          f"got {np.unique(raw[off])[:5].tolist()}; log_prob(..., unseen='impossible') "
                                          "gives such rows probability zero instead")
            if var.missing_code >= 0 and not unknown_missing:
                codes[missing, j] = var.missing_code
        for c, var in enumerate(self.continuous):
            if var.column not in data:
                continue
            column = self.schema[var.column]
            raw = as_float(data[var.column], column)
            if var.state >= 0:
                raw = np.where(codes[:, var.state] == self.discrete[var.state].value_code, raw, np.nan)
            values[:, c] = raw
        return Encoded(codes, values)

    # ------------------------------------------------------------------ arrays -> DataFrame
    def decode(self, encoded: Encoded, rng: np.random.Generator) -> pd.DataFrame:
        """Complete arrays back to a DataFrame with the schema's columns and dtypes."""
        n = len(encoded)
        out = {}
        state_of = {d.column: j for j, d in enumerate(self.discrete)}
        value_of = {c.column: i for i, c in enumerate(self.continuous)}
        for column in self.schema.columns:
            if column.kind == "id":
                out[column.name] = make_ids(column.id_format, n, rng)
                continue
            if column.kind in ("categorical", "boolean"):
                j = state_of[column.name]
                out[column.name] = self._decode_labels(column, self.discrete[j], encoded.codes[:, j], rng)
                continue
            raw = np.full(n, np.nan)
            if column.name in value_of:
                # into the continuous part's own range: a value drawn beyond it must not land on a
                # point mass at the column's end (a claim's zeros), whose share the state variable says
                var = self.continuous[value_of[column.name]]
                raw = np.clip(encoded.values[:, value_of[column.name]], var.minimum, var.maximum)
            if column.name in state_of:
                var = self.discrete[state_of[column.name]]
                codes = encoded.codes[:, state_of[column.name]]
                for k, label in enumerate(var.labels):
                    if isinstance(label, float):
                        raw[codes == k] = label
                    elif label == MISSING:
                        raw[codes == k] = np.nan
            out[column.name] = from_float(raw, column)
        frame = pd.DataFrame({name: out[name] for name in self.schema.names})
        return restore_dtypes(frame, self.schema)

    def _decode_labels(self, column: Column, var: Discrete, codes: np.ndarray, rng) -> np.ndarray:
        labels = np.empty(len(codes), dtype=object)
        lookup = np.array(var.labels + [None], dtype=object)
        labels[:] = lookup[np.where(codes >= 0, codes, len(var.labels))]
        labels[labels == MISSING] = None
        is_rare = labels == RARE
        if column.rare:
            weights = np.asarray(column.rare_counts, dtype=float)
            picks = rng.choice(len(column.rare), size=int(is_rare.sum()), p=weights / weights.sum())
            labels[is_rare] = np.array(column.rare, dtype=object)[picks]
        elif is_rare.any():     # every pooled label was too rare to be stored (schema: "Rare labels")
            labels[is_rare] = RARE_LABEL
        return labels

    # ------------------------------------------------------------------ helpers for models
    @property
    def modelled(self) -> list[Column]:
        """The schema's columns a model sees: all but `id` columns (made anew by `decode`)."""
        return [column for column in self.schema.columns if column.kind != "id"]

    def columns(self) -> list[tuple[int, int]]:
        """Per modelled column (`modelled`): (index of its discrete variable or -1, index of its
        continuous one or -1)."""
        discrete = {v.column: j for j, v in enumerate(self.discrete)}
        continuous = {v.column: c for c, v in enumerate(self.continuous)}
        return [(discrete.get(c.name, -1), continuous.get(c.name, -1)) for c in self.modelled]

    def unknown(self, n: int) -> Encoded:
        """`n` rows where every cell is unknown: what sampling conditions on."""
        return Encoded(np.full((n, len(self.discrete)), -1, np.int64), np.full((n, len(self.continuous)), np.nan))

    def evidence(self, encoded: Encoded, allow_missing: bool = False) -> list[np.ndarray]:
        """Per discrete variable, an (N, K) boolean array of codes still allowed for each row.

        A known code allows only itself; an unknown one allows every code except MISSING (imputing
        fills a cell with a value), or every code with `allow_missing` (sampling a fresh row).
        """
        out = []
        for j, var in enumerate(self.discrete):
            codes = encoded.codes[:, j]
            allowed = np.zeros((len(codes), var.cardinality), dtype=bool)
            known = codes >= 0
            allowed[np.flatnonzero(known), codes[known]] = True
            allowed[~known] = True
            if var.missing_code >= 0 and not allow_missing:
                allowed[~known, var.missing_code] = False
            out.append(allowed)
        return out

    def value_unknown(self, encoded: Encoded) -> np.ndarray:
        """(N, C) mask of continuous cells that are unknown (not merely 'not continuous here')."""
        unknown = np.isnan(encoded.values)
        for c, var in enumerate(self.continuous):
            if var.state >= 0:
                state = encoded.codes[:, var.state]
                unknown[:, c] &= (state < 0) | (state == self.discrete[var.state].value_code)
        return unknown

    def value_active(self, codes: np.ndarray) -> np.ndarray:
        """(N, C) mask: given complete codes, which continuous variables hold a value."""
        active = np.ones((codes.shape[0], len(self.continuous)), dtype=bool)
        for c, var in enumerate(self.continuous):
            if var.state >= 0:
                active[:, c] = codes[:, var.state] == self.discrete[var.state].value_code
        return active

    def unseen_rows(self, data: pd.DataFrame) -> np.ndarray:
        """(N,) rows holding a value the model never saw in training: a new category, a number
        outside the values of a column modelled as fully discrete, or a missing cell in a column
        that was never missing. The model gives them probability 0."""
        unseen = np.zeros(len(data), dtype=bool)
        for column in self.schema.columns:
            if not column.nullable and column.name in data:
                unseen |= data[column.name].isna().to_numpy()
        for var in self.discrete:
            column = self.schema[var.column]
            if var.column not in data:
                continue
            series = data[var.column]
            present = series.notna().to_numpy()
            if column.kind in ("categorical", "boolean"):
                if (column.rare is not None and not fully_remembered(column)) or not column.categories:
                    continue
                known = set(column.categories) | set(column.rare or [])
                unseen |= present & ~np.array([_json_label(v) in known for v in series.tolist()], dtype=bool)
            elif var.value_code < 0:
                atoms = [a for a in var.labels if isinstance(a, float)]
                unseen |= present & ~np.isin(as_float(series, column), atoms)
        return unseen

    def rare_log_correction(self, data: pd.DataFrame) -> np.ndarray:
        """log P(label | rare bucket) for rows whose label was pooled; 0 elsewhere.

        Of the bucket's R training rows, a remembered label held n gets n / R; the pooled labels
        not remembered (beyond MAX_RARE_REMEMBERED) share the rest equally, so the probabilities of
        the training labels sum to one. A label never seen in training cannot be told from one of
        those, and gets the same; where every pooled label is remembered it is unseen instead (see
        `unseen_rows`). Model files from before R was saved: R = the remembered rows, and a label not
        remembered counts as seen once (as those files were scored).
        """
        out = np.zeros(len(data))
        for column in self.schema.columns:
            if column.kind == "categorical" and column.rare is not None and column.name in data:
                counts = np.asarray(column.rare_counts, dtype=float)
                rows = float(column.rare_rows or counts.sum())
                share = dict(zip(column.rare, np.log(counts / rows)))
                rest, others = rows - counts.sum(), (column.rare_labels or 0) - len(counts)
                unremembered = np.log(rest / rows / others) if rest > 0 and others > 0 else -np.log(rows)
                kept = set(column.categories)
                out += np.array([0.0 if _plain(v) in kept or pd.isna(v) else share.get(_plain(v), unremembered)
                                 for v in data[column.name]])
        return out


def layout_column(column: Column, series: pd.Series, discrete: list, continuous: list, atom_share: float = 0.05,
                  interior_point_masses: bool = True) -> None:
    """Append one column's variables to `discrete` and `continuous` (`TableLayout.fit`), from the
    whole column alone: a partitioned table is laid out one column at a time (`core/by_parts.py`)."""
    if column.kind in ("categorical", "boolean"):
        labels = list(column.categories) + ([RARE] if column.rare is not None else [])
        if column.nullable:
            labels.append(MISSING)
        discrete.append(Discrete(column.name, column.name, labels,
                                 labels.index(MISSING) if column.nullable else -1, -1))
        return
    values = as_float(series, column)
    uniques, counts = np.unique(values[~np.isnan(values)], return_counts=True)
    layout_numbers(column, uniques, counts, len(values), discrete, continuous, atom_share, interior_point_masses)


def layout_numbers(column: Column, uniques: np.ndarray, counts: np.ndarray, rows: int, discrete: list,
                   continuous: list, atom_share: float = 0.05, interior_point_masses: bool = True) -> None:
    """`layout_column` of a number column from its distinct present values (ascending, as float64),
    their counts and the column's row count (gaps included): all it depends on, so a partitioned
    table's column is laid out from these summed over its pieces (`data/summary.py`)."""
    atoms = uniques[counts >= max(atom_share * rows, 2)]
    if not column.atoms:
        atoms = uniques[:0]
    elif column.discrete and len(column.support or uniques) <= MAX_DISCRETE_LEVELS:
        # a number with few, repeated values (schema: "Discrete numbers"); the support, not
        # this sample's values: a bootstrap resample that lost one still knows it
        atoms = np.union1d(uniques, column.support or [])
    elif (column.discrete is None and column.kind == "integer" and len(uniques) <= MAX_INTEGER_LEVELS
            and int(counts.sum()) >= MIN_ROWS_PER_LEVEL * len(uniques)):
        atoms = uniques      # (a schema saved before `discrete`) whole numbers with few values
    elif len(atoms) < len(uniques) and not (interior_point_masses and _fractional(uniques, column)):
        # Whole numbers: only spikes at the ends (zeros, a cap) are point masses. An interior
        # spike of whole numbers (40 hours a week) would overlap the continuous part's unit
        # bins and leak probability, so it stays on the number line. A spike inside a column
        # of fractions (a log deductible of 6.907755 in 16% of rows, randhie) is a point
        # mass: drawn smeared around it, a detector finds it at once (AUC 0.81 on that column).
        # A model may keep such spikes continuous (Model.interior_point_masses = False).
        atoms = atoms[(atoms == uniques[0]) | (atoms == uniques[-1])]
    has_value = len(atoms) < len(uniques)
    state = -1
    if len(atoms) or column.nullable:
        labels = ([VALUE] if has_value else []) + [float(a) for a in atoms] + ([MISSING] if column.nullable else [])
        state = len(discrete)
        discrete.append(Discrete(f"{column.name}:state", column.name, labels,
                                 labels.index(MISSING) if column.nullable else -1,
                                 0 if has_value else -1))
    if has_value:
        rest = uniques[~np.isin(uniques, atoms)]       # (the same minimum and maximum as the rows')
        continuous.append(Continuous(column.name, column.name, state, column.kind == "integer",
                                     float(rest.min()), float(rest.max())))


def _fractional(values: np.ndarray, column: Column) -> bool:
    """A numeric column whose values are not all whole numbers (its interior spikes can be atoms)."""
    return column.kind == "numeric" and bool(np.any(values != np.round(values)))


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def restore_dtypes(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Cast columns (possibly plain objects) back to the dtypes the user fitted on."""
    for column in schema.columns:
        series = frame[column.name]
        missing = series.isna()
        if column.kind == "id":
            if (column.id_format or {}).get("type") == "number":
                frame[column.name] = pd.array(series.where(~missing, None).tolist(), dtype="Int64") \
                    if missing.any() else series.astype("int64")
            else:
                frame[column.name] = series.astype(object).where(~missing, None)
        elif column.kind == "categorical":
            if column.dtype == "category":
                cats = list(column.categories) + list(column.rare or []) + ([RARE_LABEL] if column.rare == [] else [])
                frame[column.name] = pd.Categorical(series, categories=cats, ordered=column.ordered)
            elif column.dtype and column.dtype != "object":
                try:
                    frame[column.name] = series.astype(column.dtype)
                except (TypeError, ValueError):
                    frame[column.name] = series.astype(object)
            else:
                frame[column.name] = series.astype(object).where(~missing, None)
        elif column.kind == "boolean":
            if missing.any() or column.dtype == "boolean":
                frame[column.name] = series.astype("boolean")
            else:
                frame[column.name] = series.astype(bool)
        elif column.kind == "integer":
            if missing.any() or (column.dtype or "").startswith("Int") or (column.dtype or "").startswith("float"):
                frame[column.name] = pd.array(series.where(~missing, None).tolist(), dtype="Int64")
            else:
                dtype = column.dtype if column.dtype and "int" in column.dtype else "int64"
                frame[column.name] = series.astype("int64").astype(dtype)
        elif column.kind == "datetime":
            unit = column.dtype if (column.dtype or "").startswith("datetime64[") else "datetime64[ns]"
            stamps = pd.to_datetime(series)
            target = pd.api.types.pandas_dtype(unit)
            if isinstance(target, pd.DatetimeTZDtype):   # modelled in UTC, given back in the user's zone
                stamps = (stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps).dt.tz_convert(target.tz)
            frame[column.name] = stamps.astype(target)
        elif (column.dtype or "").startswith("timedelta64"):
            seconds = pd.Series([v / pd.Timedelta(seconds=1) if isinstance(v, pd.Timedelta) else v for v in series],
                                index=series.index, dtype=float)
            frame[column.name] = pd.to_timedelta(seconds, unit="s").astype(column.dtype)
        else:
            dtype = column.dtype if column.dtype and column.dtype.lower().startswith("float") else "float64"
            frame[column.name] = pd.to_numeric(series).astype(dtype)
    return frame
