"""ID columns: recognised, never modelled, never stored; new values made in the same format.

A column that names each row (a customer number, an order code, the row counter pandas writes as
"Unnamed: 0") carries no distribution worth learning, and modelling it as a category copies real
IDs into every sample and every model file. `looks_like_id` recognises one:

- text, with at least MIN_ID_ROWS present cells, that is unique in at least UNIQUE_SHARE of them
  (a key, a name); or text in one format (one length and character class per position, like
  "A-10492") unique in at least half the rows and with more distinct values than a category
  column keeps (`max_categories`);
- whole numbers that are all distinct and either count up in row order, fill a range no wider
  than RANGE_SLACK times the rows (a shuffled 1..n), or sit in a column named like an ID
  ("id", "customer_id", "key", "Unnamed: 0"); not a column named like a time or an age ("year",
  "month", "age"): one row per year counts up too, and is data.

`id_format` describes the values' format without keeping any of them: the characters every value
shares at a position (a prefix like "CUST-"), the class of the others (digit, upper- or lowercase
letter, hex digit, letter or digit), and where the longest varying run of digits starts counting
for new values (one past the largest training value, so a new value is never a training one).
`make_ids` draws new values: that run counts up, the other varying positions are random.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

MIN_ID_ROWS = 20       # fewer rows than this: too few to tell a key from a small category
UNIQUE_SHARE = 0.95    # text unique in this share of its rows is a key
RANGE_SLACK = 1.1      # whole numbers spanning at most this many times the rows count rows
ID_NAME = re.compile(r"(^|[^a-z])(id|key|uuid|guid)$|^unnamed: ?0$|^index$", re.IGNORECASE)
TIME_NAME = re.compile(r"year|date|time|period|quarter|month|week|day|age", re.IGNORECASE)  # a counter of time is data
CLASSES = {"9": "0123456789", "A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "a": "abcdefghijklmnopqrstuvwxyz",
           "h": "0123456789abcdef", "H": "0123456789ABCDEF",
           "x": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}


def looks_like_id(series: pd.Series, kind: str, max_categories: int = 50) -> bool:
    """Whether a column of the given inferred kind names its rows (module doc)."""
    present = series.dropna()
    if len(present) < MIN_ID_ROWS:
        return False
    if kind == "integer":
        if TIME_NAME.search(str(series.name)) and not ID_NAME.search(str(series.name)):
            return False     # one row per year (or per age) counts up too, and is a variable to model
        values = present.to_numpy(dtype=float)
        if len(np.unique(values)) < len(values):
            return False
        counting = bool(np.all(np.diff(values) > 0))
        packed = values.max() - values.min() + 1 <= RANGE_SLACK * len(values)
        return counting or packed or bool(ID_NAME.search(str(series.name)))
    if kind != "categorical" or not all(isinstance(v, str) for v in present.head(1000)):
        return False
    distinct = present.nunique()
    if distinct >= UNIQUE_SHARE * len(present):
        return True
    if distinct < max(0.5 * len(present), max_categories):
        return False
    shapes = Counter(_shape(v) for v in present.head(5000))
    return shapes.most_common(1)[0][1] >= 0.9 * min(len(present), 5000)


def _shape(text: str) -> str:
    return "".join("9" if c.isdigit() else "A" if c.isupper() else "a" if c.islower() else c for c in text)


def id_format(series: pd.Series) -> dict:
    """The format of an ID column's values, holding none of them (module doc)."""
    present = series.dropna()
    if pd.api.types.is_numeric_dtype(series.dtype):
        return {"type": "number", "start": int(present.max()) + 1}
    texts = [str(v) for v in present]
    width = Counter(map(len, texts)).most_common(1)[0][0]
    same = [t for t in texts if len(t) == width]
    positions = []
    for k in range(width):
        chars = {t[k] for t in same}
        if len(chars) == 1 and len(set(same)) > 1:    # shared by distinct values: not one value's text
            positions.append(["=", chars.pop()])
        else:
            positions.append([next(name for name, allowed in CLASSES.items() if chars <= set(allowed)) if all(
                c.isalnum() and c.isascii() for c in chars) else "x", ""])
    runs = _digit_runs(positions)
    counter = None
    if runs:
        begin, end = max(runs, key=lambda run: run[1] - run[0])
        largest = max(int(t[begin:end]) for t in same if t[begin:end].isdigit())
        counter = {"begin": begin, "end": end, "start": largest + 1}
    return {"type": "text", "positions": positions, "counter": counter}


def _digit_runs(positions: list) -> list[tuple[int, int]]:
    runs, begin = [], None
    for k, (cls, _) in enumerate(positions + [["=", ""]]):
        if cls == "9" and begin is None:
            begin = k
        elif cls != "9" and begin is not None:
            runs.append((begin, k))
            begin = None
    return runs


def make_ids(form: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` new IDs in the format `form` (from `id_format`), distinct from each other and, where the
    format has a counter, from every training value."""
    if form.get("type") == "number":
        return np.arange(n, dtype=np.int64) + int(form["start"])
    positions, counter = form["positions"], form.get("counter")
    columns = []
    for k, (cls, literal) in enumerate(positions):
        if counter and counter["begin"] <= k < counter["end"]:
            continue
        if cls == "=":
            columns.append((k, np.full(n, literal, dtype=object)))
        else:
            alphabet = np.array(list(CLASSES[cls]), dtype=object)
            columns.append((k, alphabet[rng.integers(len(alphabet), size=n)]))
    pieces = [np.full(n, "", dtype=object)] * len(positions)
    for k, chars in columns:
        pieces[k] = chars
    if counter:
        width = counter["end"] - counter["begin"]
        numbers = [str(v).zfill(width) for v in range(int(counter["start"]), int(counter["start"]) + n)]
        pieces = pieces[:counter["begin"]] + [np.array(numbers, dtype=object)] + pieces[counter["end"]:]
    out = np.array(["".join(parts) for parts in zip(*pieces)], dtype=object) if n else np.array([], dtype=object)
    if not counter and all(cls == "=" for cls, _ in positions):   # nothing varies: number the copies
        return np.array([f"{value}{i}" for i, value in enumerate(out)], dtype=object)
    if not counter:   # random positions only: draw again where a new value repeats an earlier one
        seen = set()
        for i in range(n):
            while out[i] in seen:
                out[i] = make_ids(form, 1, rng)[0]
            seen.add(out[i])
    return out
