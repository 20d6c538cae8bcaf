"""`avatars`: 32x32 cartoons drawn from the five `fashion` features, and a classifier that reads them back.

    images, features = pl.datasets.load("avatars", n=5000, seed=0, return_labels=True)
    read, readable = plausible.datasets.avatars.read_features(images)

The features are exactly `pl.datasets.load("fashion", n, seed)` (same draw from the same truth), and
each picture is a deterministic function of its five features, so the distribution of the images is
known exactly: the 4,032 pictures with the probabilities of `pl.datasets.truth("fashion")`.

What each feature changes (every one is visible; drawn with numpy at 4x4 supersampling, so edges
are anti-aliased):
- hair_type: the silhouette of the hair. NoHair: none (bald); LongHairBun: a cap and a bun on top;
  LongHairCurly: a round curly volume around the head and curls down to the shoulders;
  LongHairStraight: a cap with a straight fringe and straight strands to the shoulders;
  ShortHairShortWaved: a cap with a wavy fringe; ShortHairShortFlat: a square flat top;
  ShortHairFrizzle: a cap with spikes.
- hair_color: the hair and the eyebrows (so a bald avatar still shows it).
- clothing_type: the shape of the clothes on the shoulders. Hoodie: a hood collar rising around the
  neck; Overall: a bib with straps over bare shoulders; ShirtScoopNeck: a round neckline;
  ShirtVNeck: a V neckline.
- clothing_color: the clothes.
- accessories: Blank (nothing), Round (round rims around the eyes), Sunglasses (dark lenses).

Grey version (`color=False`): luminance 0.299 R + 0.587 G + 0.114 B, rounded. The colours of one
feature never collide in grey: hair colours lie at grey levels Black 27, Brown 90, Red 121,
PastelPink 166, Blonde 215, SilverGray 236 (at least 21 apart); clothing colours at Black 36, Red 89,
Gray01 110, Blue01 126, Pink 146, PastelOrange 171, PastelGreen 216, White 250 (at least 16 apart);
skin is 186 and the background 68 (at least 15 from every hair and clothing colour, so every
silhouette and neckline stays visible). What collides in grey, across features (under 12 levels):
Blonde hair and PastelGreen clothes (0.4), Brown hair and Red clothes (1.6), PastelPink hair and
PastelOrange clothes (4.5), Red hair and Blue01 clothes (5.4), Black hair and Black clothes (9.1),
Red hair and Gray01 clothes (10.9); these only meet where long hair falls over the shoulders, whose
outline there fades in grey. The 4,032 grey pictures are still all different, and `read_features`
reads grey ones too, less surely: every feature right on 2,000 fresh grey renders, but 1.7% of them
below the confidence bar (colour: none), and 13% once pixel noise of sd 0.05 is added (colour: 0.1%).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from . import fashion

SIZE = 32
SUPERSAMPLE = 4
FEATURES = list(fashion.COLUMNS)   # accessories, clothing_color, clothing_type, hair_color, hair_type

HAIR_RGB = {"Black": (30, 25, 25), "Blonde": (250, 220, 100), "Brown": (130, 80, 40),
            "PastelPink": (240, 130, 160), "Red": (220, 90, 20), "SilverGray": (235, 235, 245)}
CLOTHING_RGB = {"Black": (35, 35, 40), "Blue01": (60, 140, 230), "Gray01": (110, 110, 110),
                "PastelGreen": (170, 245, 185), "PastelOrange": (250, 150, 70), "Pink": (250, 90, 165),
                "Red": (215, 35, 35), "White": (250, 250, 250)}
SKIN, BACKGROUND = (230, 175, 130), (45, 75, 95)
EYES, MOUTH, GLASSES = (40, 30, 30), (150, 40, 50), (15, 15, 20)
GREY_WEIGHTS = np.array([0.299, 0.587, 0.114])

HEAD = (16.0, 13.5, 6.5, 7.5)          # ellipse: centre x, centre y, radius x, radius y (pixels)
EYE_CENTRES = ((13.3, 13.2), (18.7, 13.2))


# ---------------------------------------------------------------------- shapes, on the supersampled grid
def _grid():
    ticks = (np.arange(SIZE * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    return np.meshgrid(ticks, ticks)   # x, y in pixel units, (128, 128) each


def _ellipse(cx, cy, rx, ry):
    x, y = _grid()
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1


def _rect(x0, y0, x1, y1):
    x, y = _grid()
    return (x >= x0) & (x < x1) & (y >= y0) & (y < y1)


def _triangle(a, b, c):
    x, y = _grid()

    def side(p, q):
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])
    s1, s2, s3 = side(a, b), side(b, c), side(c, a)
    return ((s1 >= 0) & (s2 >= 0) & (s3 >= 0)) | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0))


def _coverage(mask: np.ndarray) -> np.ndarray:
    """The share of each pixel a supersampled mask covers: (32, 32) floats in [0, 1]."""
    return mask.reshape(SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE).mean(axis=(1, 3))


def _cap(bottom):
    """The hair on the skull, down to `bottom` (a number or an array over the grid)."""
    _, y = _grid()
    cx, cy, rx, ry = HEAD
    return _ellipse(cx, cy, rx + 0.8, ry + 0.9) & (y <= bottom)


def _hair() -> tuple[dict, dict]:
    """Per hair type: the part behind the head and the part in front of it (supersampled masks)."""
    x, y = _grid()
    none = np.zeros_like(x, dtype=bool)
    cx, cy, rx, ry = HEAD
    angle = np.arctan2(y - cy, x - cx)
    radius = np.hypot((x - cx) / (rx + 1.0), (y - cy) / (ry + 1.0))
    curls = np.zeros_like(none)
    for side in (7.6, 24.4):
        for top in (12.0, 15.5, 19.0, 22.5, 25.5):
            curls |= _ellipse(side, top, 2.3, 2.0)
    spikes = (radius <= 1.0 + 0.35 * np.abs(((angle * 9 / np.pi) % 2) - 1)) & (y <= 9.5)
    back = {"NoHair": none, "LongHairBun": none, "LongHairStraight": none,
            "LongHairCurly": _ellipse(cx, cy + 1.5, rx + 3.5, ry + 3.0) & (y <= 24),
            "ShortHairShortWaved": none, "ShortHairShortFlat": none, "ShortHairFrizzle": none}
    front = {"NoHair": none,
             "LongHairBun": _cap(9.0) | _ellipse(cx, 3.6, 3.0, 2.6),
             "LongHairCurly": _cap(9.0 + 0.9 * np.sin(x * 2.2)) | curls,
             "LongHairStraight": _cap(9.5) | _rect(7.6, 9.0, 10.2, 27.0) | _rect(21.8, 9.0, 24.4, 27.0),
             "ShortHairShortWaved": _cap(9.6 + 1.1 * np.sin(x * 1.3)) | (_cap(12.5) & (np.abs(x - cx) > 5.2)),
             "ShortHairShortFlat": _cap(9.2) | _rect(9.2, 2.6, 22.8, 9.2),
             "ShortHairFrizzle": _cap(9.2) | spikes}
    return back, front


def _clothes() -> tuple[dict, dict, np.ndarray]:
    """Per clothing type: the hood (drawn behind the head) and the cloth on the shoulders; and the
    shoulders themselves (skin, under the cloth)."""
    _, y = _grid()
    shoulders = _ellipse(16.0, 34.0, 13.0, 10.0)
    none = np.zeros_like(shoulders)
    scoop = _ellipse(16.0, 24.0, 4.2, 4.2)
    vee = _triangle((11.5, 23.0), (20.5, 23.0), (16.0, 30.5))
    bib = _rect(10.5, 26.0, 21.5, 32.0) | _rect(9.0, 23.5, 12.0, 27.0) | _rect(20.0, 23.5, 23.0, 27.0)
    overall = shoulders & (bib | (y >= 30.0))
    hood = {"Hoodie": _ellipse(16.0, 21.5, 8.6, 5.0), "Overall": none, "ShirtScoopNeck": none, "ShirtVNeck": none}
    cloth = {"Hoodie": shoulders, "Overall": overall, "ShirtScoopNeck": shoulders & ~scoop,
             "ShirtVNeck": shoulders & ~vee}
    return hood, cloth, shoulders


def _face() -> dict:
    cx, cy, rx, ry = HEAD
    (lx, ly), (rx_, ry_) = EYE_CENTRES
    skin = _ellipse(cx, cy, rx, ry) | _rect(13.0, 18.0, 19.0, 26.0) | _ellipse(9.5, 14.0, 1.4, 1.8) | _ellipse(22.5, 14.0, 1.4, 1.8)
    eyes = _ellipse(lx, ly, 1.0, 1.1) | _ellipse(rx_, ry_, 1.0, 1.1)
    brows = _rect(lx - 1.7, 9.3, lx + 1.5, 10.7) | _rect(rx_ - 1.5, 9.3, rx_ + 1.7, 10.7)
    bridge = _rect(15.2, 12.4, 16.8, 13.2)
    rims = (_ellipse(lx, ly, 2.4, 2.2) & ~_ellipse(lx, ly, 1.7, 1.5)) | (_ellipse(rx_, ry_, 2.4, 2.2) & ~_ellipse(rx_, ry_, 1.7, 1.5))
    lenses = _ellipse(lx, ly + 0.2, 2.4, 1.8) | _ellipse(rx_, ry_ + 0.2, 2.4, 1.8)
    return {"skin": skin, "eyes": eyes, "brows": brows, "mouth": _rect(14.0, 17.3, 18.0, 18.4),
            "accessories": {"Blank": np.zeros_like(skin), "Round": rims | bridge, "Sunglasses": lenses | bridge}}


@lru_cache(maxsize=1)
def _layers() -> dict:
    """Every shape as a (k, 32, 32) coverage stack, indexed by the feature's code (fashion's order)."""
    hair_back, hair_front = _hair()
    hood, cloth, shoulders = _clothes()
    face = _face()

    def stack(masks, labels):
        return np.stack([_coverage(masks[label]) for label in labels])
    return {"hair_back": stack(hair_back, fashion.HAIR_TYPE), "hair_front": stack(hair_front, fashion.HAIR_TYPE),
            "hood": stack(hood, fashion.CLOTHING_TYPE), "cloth": stack(cloth, fashion.CLOTHING_TYPE),
            "accessories": stack(face["accessories"], fashion.ACCESSORIES),
            **{name: _coverage(face[name]) for name in ("skin", "eyes", "brows", "mouth")},
            "shoulders": _coverage(shoulders)}


# ---------------------------------------------------------------------- rendering
def codes(features: pd.DataFrame) -> np.ndarray:
    """(n, 5) integer codes of the five features, in FEATURES order (fashion's category order)."""
    missing = [name for name in FEATURES if name not in features.columns]
    if missing:
        raise ValueError(f"avatar features need the columns {', '.join(FEATURES)}; missing {', '.join(missing)}")
    out = np.empty((len(features), len(FEATURES)), dtype=int)
    for j, name in enumerate(FEATURES):
        labels = fashion.COLUMNS[name]
        values = features[name].astype(object).to_numpy()
        unknown = sorted({str(v) for v in values if v not in labels})
        if unknown:
            raise ValueError(f"column {name!r} holds {', '.join(unknown[:3])}, not one of {', '.join(labels)}")
        out[:, j] = pd.Categorical(values, categories=labels).codes
    return out


def render(features: pd.DataFrame, color: bool = True) -> np.ndarray:
    """Draw one avatar per row of `features` (the five fashion columns): (n, 32, 32, 3) uint8, or
    (n, 32, 32) grey levels with `color=False`. Deterministic: the same features, the same picture."""
    code = codes(features)
    unique, inverse = np.unique(code, axis=0, return_inverse=True)
    pictures = _paint(unique)[inverse.reshape(-1)]
    if not color:
        pictures = pictures @ GREY_WEIGHTS.astype(np.float32)
    return np.clip(np.rint(pictures), 0, 255).astype(np.uint8)


def _paint(code: np.ndarray) -> np.ndarray:
    """(k, 32, 32, 3) floats in 0..255 for k rows of codes; painted back to front."""
    layers = _layers()
    accessories, clothing_color, clothing_type, hair_color, hair_type = code.T
    hair = np.array([HAIR_RGB[c] for c in fashion.HAIR_COLOR], dtype=np.float32)[hair_color]      # (k, 3)
    cloth = np.array([CLOTHING_RGB[c] for c in fashion.CLOTHING_COLOR], dtype=np.float32)[clothing_color]
    picture = np.broadcast_to(np.array(BACKGROUND, dtype=np.float32), (len(code), SIZE, SIZE, 3)).copy()

    def paint(coverage, rgb):   # coverage (k or 1, 32, 32), rgb (k or 1, 3): over, with alpha = coverage
        rgb = np.asarray(rgb, dtype=np.float32).reshape(-1, 1, 1, 3)
        picture[:] += coverage[..., None].astype(np.float32) * (rgb - picture)

    paint(layers["hair_back"][hair_type], hair)
    paint(layers["hood"][clothing_type], cloth)
    paint(layers["skin"][None], SKIN)
    paint(layers["shoulders"][None], SKIN)
    paint(layers["cloth"][clothing_type], cloth)
    paint(layers["hair_front"][hair_type], hair)
    paint(layers["eyes"][None], EYES)
    paint(layers["mouth"][None], MOUTH)
    paint(layers["brows"][None], hair)
    paint(layers["accessories"][accessories], GLASSES)
    return picture


def load(n: int, seed: int, color: bool = True) -> tuple[np.ndarray, pd.DataFrame]:
    """`n` avatars and their features: the features are `fashion.load(n, seed)`, the same draw."""
    features = fashion.load(n, seed)
    return render(features, color=color), features


# ---------------------------------------------------------------------- reading the features back
TRAINING_RENDERS = 2000
CONFIDENCE = 0.9      # readable: every feature's most likely label has at least this probability
NOISE_SD = 0.08       # pixel noise (intensities in [0, 1]) added to the training renders, times U(0, 1)


def _uniform_features(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Features drawn uniformly over the 4,032 combinations (rare ones are read as well as common ones)."""
    return pd.DataFrame({name: np.asarray(labels, dtype=object)[rng.integers(len(labels), size=n)]
                         for name, labels in fashion.COLUMNS.items()})


def _pixels(images: np.ndarray) -> np.ndarray:
    """(n, 32, 32[, 3]) uint8 or floats in [0, 1] -> (n, d) floats in [0, 1]."""
    values = np.asarray(images)
    floats = values.astype(float) / 255 if values.dtype.kind in "uib" else values.astype(float)
    return floats.reshape(len(values), -1)


def _augment(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Renders as a generative model might return them: some pixel noise and a small global
    brightness and contrast change."""
    gain = rng.uniform(0.9, 1.1, size=(len(pixels), 1))
    shift = rng.uniform(-0.05, 0.05, size=(len(pixels), 1))
    noise = rng.normal(0, NOISE_SD, size=pixels.shape) * rng.uniform(0, 1, size=(len(pixels), 1))
    return np.clip(pixels * gain + shift + noise, 0, 1)


@lru_cache(maxsize=2)
def reader(color: bool = True):
    """(pca, heads): the classifiers `read_features` uses, trained once per process (a few seconds)
    on TRAINING_RENDERS avatars with features uniform over the 4,032 combinations, each rendered
    clean and perturbed (seed 0): a PCA to 64 components, then one small MLP (64 hidden units,
    L2 penalty 1, L-BFGS) per feature. The penalty keeps it unsure far from any avatar, so noise
    is unreadable."""
    import warnings

    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    features = _uniform_features(TRAINING_RENDERS, rng)
    clean = _pixels(render(features, color=color))
    pixels = np.concatenate([clean, _augment(clean, rng)])
    target = np.concatenate([codes(features)] * 2)
    # small matrices: one BLAS thread is fastest, and the only sane choice on a loaded machine
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pca = PCA(n_components=64, svd_solver="randomized", random_state=0).fit(clean[:1000])
        projected = pca.transform(pixels)
        heads = [MLPClassifier(hidden_layer_sizes=(64,), alpha=1.0, solver="lbfgs", max_iter=300,
                               random_state=0).fit(projected, target[:, j]) for j in range(len(FEATURES))]
    return pca, heads


def read_features(images: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The five features read back from avatar pictures, and which pictures are readable.

    `images`: (n, 32, 32, 3) colour or (n, 32, 32) grey, uint8 (0..255) or floats in [0, 1], as
    `load("avatars")` returns them or a model samples them. Returns a DataFrame of the five features
    (the most likely label of each) and `readable`, a boolean array: False where the classifier gives
    any feature's most likely label a probability under CONFIDENCE (noise, blends of two avatars...).
    """
    values = np.asarray(images)
    if values.ndim == 4 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim not in (3, 4) or values.shape[1:3] != (SIZE, SIZE) or (values.ndim == 4 and values.shape[-1] != 3):
        raise ValueError(f"avatar images must be (n, 32, 32, 3) colour or (n, 32, 32) grey, got shape {values.shape}")
    color = values.ndim == 4
    pca, heads = reader(color)
    projected = pca.transform(_pixels(values))
    frame, confident = {}, np.ones(len(values), dtype=bool)
    for name, head in zip(FEATURES, heads):
        probability = head.predict_proba(projected)
        best = probability.argmax(axis=1)
        frame[name] = np.asarray(fashion.COLUMNS[name], dtype=object)[head.classes_[best]]
        confident &= probability.max(axis=1) >= CONFIDENCE
    return pd.DataFrame(frame), confident
