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
