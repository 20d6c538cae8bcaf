"""`fashion`: five categorical features of avatars with a known ground-truth distribution.

3 accessories x 8 clothing colours x 4 clothing types x 6 hair colours x 7 hair types = 4,032
combinations. The truth is a Bayesian network written out by hand (no randomness, so it is the
same on every machine and version):

    hair_type -> hair_color
    hair_type -> accessories
    (accessories, hair_type) -> clothing_type        # two parents, with an interaction
    (clothing_type, hair_color) -> clothing_color    # two parents

Each conditional is a softmax of additive scores plus a few interactions (sunglasses with short
hair favour hoodies...). The columns depend on each other, so the `independent` model is
measurably wrong, and two nodes have two parents, so a tree-shaped Bayesian network cannot be
exactly right either; only a model with one parameter per combination (`histogram`) converges to
the truth, and it needs far more than 50 rows to do so.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

ACCESSORIES = ["Blank", "Round", "Sunglasses"]
CLOTHING_COLOR = ["Black", "Blue01", "Gray01", "PastelGreen", "PastelOrange", "Pink", "Red", "White"]
CLOTHING_TYPE = ["Hoodie", "Overall", "ShirtScoopNeck", "ShirtVNeck"]
HAIR_COLOR = ["Black", "Blonde", "Brown", "PastelPink", "Red", "SilverGray"]
HAIR_TYPE = ["NoHair", "LongHairBun", "LongHairCurly", "LongHairStraight", "ShortHairShortWaved",
             "ShortHairShortFlat", "ShortHairFrizzle"]
COLUMNS = {"accessories": ACCESSORIES, "clothing_color": CLOTHING_COLOR, "clothing_type": CLOTHING_TYPE,
           "hair_color": HAIR_COLOR, "hair_type": HAIR_TYPE}

SHARPNESS = 1.5  # multiplies every score: higher makes the truth more concentrated

HAIR_TYPE_SCORE = [0.2, 0.0, -0.3, 0.8, 0.5, 0.6, -0.5]
HAIR_COLOR_GIVEN_HAIR_TYPE = [  # rows: hair type; columns: hair colour
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],     # NoHair: colour means nothing, uniform
    [0.5, 1.0, 0.8, -0.5, 0.2, -1.0],
    [0.3, 0.2, 1.2, -0.2, 1.0, -1.5],
    [1.0, 1.5, 0.5, 0.0, -0.5, -1.0],
    [1.2, 0.0, 1.0, -1.5, -0.5, 0.5],
    [1.5, -0.5, 0.8, -1.0, -1.0, 1.0],
    [-0.5, 0.0, 0.0, 1.8, 0.8, -0.5],
]
ACCESSORIES_GIVEN_HAIR_TYPE = [
    [0.0, 0.5, 1.2], [1.0, 0.8, -0.5], [1.2, 0.0, 0.0], [1.0, 0.2, 0.5],
    [0.8, 0.8, 0.3], [0.5, 1.0, 0.8], [1.0, -0.5, 1.0],
]
CLOTHING_TYPE_GIVEN_ACCESSORIES = [[0.5, 0.8, 0.2, 0.2], [-0.5, 0.0, 1.0, 0.8], [1.0, -0.5, 0.0, 0.3]]
CLOTHING_TYPE_GIVEN_HAIR_GROUP = {"none": [0.8, 0.0, -0.8, 0.3], "long": [-0.5, 0.3, 0.8, 0.0],
                                  "short": [0.6, -0.2, -0.5, 0.5]}
CLOTHING_TYPE_INTERACTIONS = [  # (accessory, hair group, clothing type, extra score)
    ("Sunglasses", "short", "Hoodie", 1.0), ("Round", "long", "ShirtScoopNeck", 1.0),
    ("Blank", "none", "Overall", 1.5),
]
CLOTHING_COLOR_GIVEN_TYPE = [
    [1.2, 0.5, 1.0, -0.5, -0.5, -0.5, 0.3, 0.0],
    [0.0, 1.2, 0.3, 0.5, 0.5, 0.0, 0.3, -0.5],
    [-0.5, 0.0, -0.3, 0.8, 0.8, 1.0, 0.5, 1.0],
    [0.3, 0.5, 0.5, 0.3, 0.0, 0.3, 0.5, 1.2],
]
CLOTHING_COLOR_GIVEN_HAIR_COLOR = [
    [0.8, 0, 0, 0, 0, 0, 0.5, 0], [0, 0.8, 0, 0, 0.3, 0.3, 0, 0], [0, 0, 0.3, 0.5, 0.5, 0, 0, 0],
    [-1.0, 0, 0, 1.2, 0, 1.5, 0, 0], [0.5, 0, 0, 0, 0, 0, -1.0, 0.5], [0.5, 0, 1.0, 0, 0, 0, 0, 0.5],
]


def _softmax(scores) -> np.ndarray:
    scores = SHARPNESS * np.asarray(scores, dtype=float)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def _hair_group(hair_type: str) -> str:
    return "none" if hair_type == "NoHair" else "long" if hair_type.startswith("Long") else "short"


def truth() -> pd.DataFrame:
    """All 4,032 combinations with their exact `probability` (sums to 1)."""
    p_hair_type = _softmax(HAIR_TYPE_SCORE)
    p_hair_color = _softmax(HAIR_COLOR_GIVEN_HAIR_TYPE)
    p_accessories = _softmax(ACCESSORIES_GIVEN_HAIR_TYPE)
    p_clothing_color = _softmax(np.asarray(CLOTHING_COLOR_GIVEN_TYPE)[:, None, :]
                                + np.asarray(CLOTHING_COLOR_GIVEN_HAIR_COLOR)[None, :, :])  # (type, hair colour, colour)
    scores = np.zeros((len(ACCESSORIES), len(HAIR_TYPE), len(CLOTHING_TYPE)))
    for a, accessory in enumerate(ACCESSORIES):
        for h, hair_type in enumerate(HAIR_TYPE):
            group = _hair_group(hair_type)
            scores[a, h] = np.add(CLOTHING_TYPE_GIVEN_ACCESSORIES[a], CLOTHING_TYPE_GIVEN_HAIR_GROUP[group])
            for acc, grp, kind, extra in CLOTHING_TYPE_INTERACTIONS:
                if acc == accessory and grp == group:
                    scores[a, h, CLOTHING_TYPE.index(kind)] += extra
    p_clothing_type = _softmax(scores)  # (accessory, hair type, clothing type)

    rows = []
    for a, cc, ct, hc, ht in itertools.product(*(range(len(v)) for v in COLUMNS.values())):
        probability = (p_hair_type[ht] * p_hair_color[ht, hc] * p_accessories[ht, a]
                       * p_clothing_type[a, ht, ct] * p_clothing_color[ct, hc, cc])
        rows.append((ACCESSORIES[a], CLOTHING_COLOR[cc], CLOTHING_TYPE[ct], HAIR_COLOR[hc], HAIR_TYPE[ht], probability))
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "probability"])
    frame["probability"] /= frame["probability"].sum()  # exact up to rounding; make the sum exactly 1
    return frame


def load(n: int, seed: int) -> pd.DataFrame:
    """`n` independent draws from the truth."""
    table = truth()
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(table), size=n, p=table["probability"].to_numpy())
    return table.iloc[picks].drop(columns="probability").reset_index(drop=True)
