"""Known distributions shared by the deep models' tests: a 2-D Gaussian mixture and a 3-D Gaussian."""
import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

COVARIANCE = np.array([[1.0, 0.8, 0.3], [0.8, 1.0, 0.2], [0.3, 0.2, 1.0]])


def mixture(n: int, seed: int) -> pd.DataFrame:
    """Three well-separated 2-D Gaussian clusters with unequal weights."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    k = rng.choice(3, n, p=[0.4, 0.35, 0.25])
    x = centres[k] + rng.normal(0, 0.5, (n, 2))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1]})


def energy_distance(x: np.ndarray, y: np.ndarray) -> float:
    """2 E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖ between two sets of rows (0 for equal distributions)."""
    return float(2 * cdist(x, y).mean() - cdist(x, x).mean() - cdist(y, y).mean())


def gaussian(n: int, seed: int) -> pd.DataFrame:
    x = np.random.default_rng(seed).multivariate_normal(np.zeros(3), COVARIANCE, size=n)
    return pd.DataFrame(x, columns=["a", "b", "c"])


def conditional(a: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviations of (b, c) given a, in closed form."""
    s = COVARIANCE
    mean = s[1:, 0] / s[0, 0] * a
    covariance = s[1:, 1:] - np.outer(s[1:, 0], s[0, 1:]) / s[0, 0]
    return mean, np.sqrt(np.diag(covariance))


def colours(n: int, seed: int) -> pd.DataFrame:
    """A small discrete table with a dependence (size on colour) and a nullable column."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    size = np.where(colour == "red", rng.choice(["S", "L"], n, p=[0.9, 0.1]), rng.choice(["S", "L"], n))
    shape = pd.Series(np.where(rng.random(n) < 0.2, None, rng.choice(["round", "square"], n)), dtype=object)
    return pd.DataFrame({"colour": colour, "size": size, "shape": shape})


def colour_grid() -> pd.DataFrame:
    """Every combination of `colours`' values, missing shape included (3 x 2 x 3 = 18 rows)."""
    return pd.MultiIndex.from_product([["red", "green", "blue"], ["S", "L"], ["round", "square", None]],
                                      names=["colour", "size", "shape"]).to_frame(index=False)


def small_given_colour(grid: pd.DataFrame, probabilities: np.ndarray, colour: str) -> float:
    """P(size = S | colour) from probabilities over `colour_grid()`."""
    of_colour = (grid["colour"] == colour).to_numpy()
    return probabilities[of_colour & (grid["size"] == "S").to_numpy()].sum() / probabilities[of_colour].sum()
