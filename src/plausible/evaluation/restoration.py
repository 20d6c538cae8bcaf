"""Scoring posterior draws of restored images against the clean truth: `pl.evaluate_restoration`.

    draws = pl.restore(prior, y, blur, noise_sd=0.02, n_draws=20)
    scores = pl.evaluate_restoration(truth=test_images, draws=draws)
    print(scores)                    # a few lines; scores["psnr"], scores.per_image (a DataFrame)

Three questions, each beside what a perfect answer scores:

- **How close is the posterior mean?** PSNR and SSIM (scikit-image's `peak_signal_noise_ratio` and
  `structural_similarity`, data range 1, colour channels last) of the mean of the draws against the
  truth, per image, with their median and mean over the images. A perfect mean scores PSNR inf.
- **Is the spread honest?** Per pixel value, the central `level` interval of the draws; `coverage`
  is the share of pixel values whose truth lies inside (ideal: `level`), `interval_width` their
  mean width. The interval's ends are the draws' quantiles at plotting positions k/(M+1) (numpy's
  "weibull" method), so that for M draws it covers one more draw from the same distribution with
  probability ~`level` whatever its shape (as `evaluate_imputation` does). With M < 2/(1-level) - 1
  draws (19 at level 0.9) the interval is the draws' whole range, which covers a new draw only
  (M-1)/(M+1) of the time: coverage is then below `level` even for perfect draws (`details` says so).
- **Do single draws look like real images?** The Fréchet distance, in the features of the small
  network `pl.evaluate` trains on images (`image_metrics.FeatureNet`, trained once per image set
  in a process), of single draws (draw 0 of each image) and of the posterior means to clean
  images, beside the clean-vs-clean floor at the same sample size. Without `reference`, the truth
  is split in two halves A and B (seeded): floor = FD(A, B), draws = FD(A, draw 0 of B's images),
  mean = FD(A, B's posterior means); with `reference` (other clean images, e.g. the training
  set): floor = FD(reference, truth), draws = FD(reference, draw 0 of every image), mean likewise.
  A posterior mean is blurrier than any real image, so its distance sits well above the floor
  while good draws sit near it.

Everything is read as intensities in [0, 1] (`plausible.data.operators.intensities`: uint8 / 255,
level images / their top level, floats as given).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.errors import ParameterError
from ..data.operators import intensities
from .image_metrics import feature_net, frechet_distance

FEWEST_FOR_HALVES = 4          # typicality without `reference`: two halves of at least 2 images each


class RestorationScores(dict):
    """The scores (metric -> number, see `evaluate_restoration`), with `per_image` (a DataFrame:
    psnr, ssim, coverage, interval_width of each image) and `details` beside; prints as a few lines."""

    def __init__(self, values: dict, per_image: pd.DataFrame, details: dict):
        super().__init__(values)
        self.per_image, self.details = per_image, details

    def __repr__(self) -> str:
        level = self["level"]
        lines = [f"restoration of {self['n_images']:,} images ({self['n_draws']:,} draws each)",
                 f"  posterior mean     PSNR {self['psnr']:.2f} dB median (mean {self['psnr_mean']:.2f}), "
                 f"SSIM {_number(self['ssim'])} median (mean {_number(self['ssim_mean'])})",
                 f"  {level:.0%} intervals      cover {self['coverage']:.3f} of pixel values (ideal {level:g}), "
                 f"mean width {self['interval_width']:.3f}"]
        if "short_interval" in self.details:
            lines.append(f"                     ({self.details['short_interval']})")
        if self.get("frechet_floor") is not None:
            lines.append(f"  Fréchet distance   single draws {self['frechet_draws']:.3g}, posterior means "
                         f"{self['frechet_mean']:.3g}, clean vs clean {self['frechet_floor']:.3g} (the floor: "
                         f"{self.details['typicality']})")
        elif "typicality" in self.details:
            lines.append(f"  Fréchet distance   not measured: {self.details['typicality']}")
        return "\n".join(lines)

    __str__ = __repr__


def evaluate_restoration(truth, draws, reference=None, level: float = 0.9, seed: int = 0,
                         typicality: bool = True) -> RestorationScores:
    """Scores of posterior draws (n_draws, N, H, W[, C]) of N restored images against the clean
    `truth` (N, H, W[, C]) (module doc).

    Returns a `RestorationScores` dict: psnr, ssim (medians over the images of the posterior
    mean's) and psnr_mean, ssim_mean (their means); coverage and interval_width of the per-pixel
    central `level` intervals; frechet_draws, frechet_mean and frechet_floor (None with
    typicality=False or too few images); level, n_images, n_draws. `.per_image` holds each image's
    numbers, `.details` how the interval and the floor were made. `reference`: clean images to
    measure typicality against (default: two halves of `truth`); `seed` picks the halves and seeds
    the feature network."""
    truth, draws, reference = _read(truth, draws, reference)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ParameterError(f"level={level!r}: give the intervals' probability, a number between 0 and 1 (e.g. 0.9)")
    n_draws, n_images = draws.shape[:2]
    mean = draws.mean(axis=0)
    psnr, ssim = _quality(truth, mean)
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0, method="weibull")
    inside = ((truth >= low) & (truth <= high)).reshape(n_images, -1)
    width = (high - low).reshape(n_images, -1)
    per_image = pd.DataFrame({"psnr": psnr, "ssim": ssim, "coverage": inside.mean(1), "interval_width": width.mean(1)})
    details = {"interval": f"per pixel value, the draws' {(1 - level) / 2:.3g} and {(1 + level) / 2:.3g} quantiles at "
                           "plotting positions k/(M+1) (numpy's 'weibull')"}
    fewest = int(np.ceil(2 / (1 - level) - 1 - 1e-9))
    if n_draws < fewest:
        details["short_interval"] = (f"{n_draws} draws: the interval is their whole range, which covers a new draw "
                                     f"{(n_draws - 1) / (n_draws + 1):.2f} of the time; give {fewest} or more")
    values = {"psnr": _summary(psnr, np.median), "psnr_mean": _summary(psnr, np.mean),
              "ssim": _summary(ssim, np.median), "ssim_mean": _summary(ssim, np.mean),
              "coverage": float(inside.mean()), "interval_width": float(width.mean()),
              "frechet_draws": None, "frechet_mean": None, "frechet_floor": None,
              "level": float(level), "n_images": int(n_images), "n_draws": int(n_draws)}
    if typicality:
        values.update(_typicality(truth, draws[0], mean, reference, seed, details))
    return RestorationScores(values, per_image, details)


# ---------------------------------------------------------------------- the three questions
def _quality(truth: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PSNR (dB; inf for an exact mean) and SSIM (NaN for images under 3 pixels a side) of each image."""
    try:
        from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    except ImportError:
        raise ImportError("evaluate_restoration scores with scikit-image's PSNR and SSIM: pip install scikit-image") \
            from None
    colour = truth.ndim == 4
    side = min(truth.shape[1:3])
    window = min(7, side if side % 2 else side - 1)
    psnr, ssim = np.empty(len(truth)), np.full(len(truth), np.nan)
    for i, (clean, estimate) in enumerate(zip(truth, mean)):
        with np.errstate(divide="ignore"):
            psnr[i] = peak_signal_noise_ratio(clean, estimate, data_range=1.0)
        if window >= 3:
            ssim[i] = structural_similarity(clean, estimate, data_range=1.0, win_size=window,
                                            channel_axis=-1 if colour else None)
    return psnr, ssim


def _typicality(truth: np.ndarray, single: np.ndarray, mean: np.ndarray, reference, seed: int,
                details: dict) -> dict:
    """frechet_draws / frechet_mean / frechet_floor (module doc); None with the reason in `details`
    when there are too few images."""
    if reference is None:
        if len(truth) < FEWEST_FOR_HALVES:
            details["typicality"] = (f"{len(truth)} images: the floor needs two halves of at least 2; give "
                                     f"{FEWEST_FOR_HALVES} or more, or clean reference= images")
            return {}
        order = np.random.default_rng(seed).permutation(len(truth))
        half = len(truth) // 2
        clean, others = order[:half], order[half:2 * half]
        net = feature_net(truth, 1.0, seed=seed)
        base, floor_set = net.features(truth[clean]), truth[others]
        draws_set, mean_set = single[others], mean[others]
        details["typicality"] = f"two halves of the truth, {half} vs {half} images"
    else:
        if len(truth) < 2 or len(reference) < 2:
            details["typicality"] = "the Fréchet distance needs at least 2 images on each side"
            return {}
        net = feature_net(reference, 1.0, seed=seed)
        base, floor_set, draws_set, mean_set = net.features(reference), truth, single, mean
        details["typicality"] = f"the {len(reference):,} reference images vs the {len(truth):,} true ones"
    details["feature_net"] = f"a small CNN trained to tell {net.task} (training accuracy {net.train_accuracy:.2f})"
    return {"frechet_draws": frechet_distance(base, net.features(draws_set)),
            "frechet_mean": frechet_distance(base, net.features(mean_set)),
            "frechet_floor": frechet_distance(base, net.features(floor_set))}


# ---------------------------------------------------------------------- reading the arrays
def _read(truth, draws, reference) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    truth = intensities(truth)
    if truth.ndim not in (3, 4):
        raise ParameterError(f"truth must be a batch of clean images (N, H, W) or (N, H, W, C), got shape "
                             f"{truth.shape}: for one image give truth[None]")
    draws = intensities(draws)
    if draws.shape == truth.shape:
        raise ParameterError(f"draws have the truth's shape {truth.shape}: give draws (n_draws, N, ...) (what "
                             "pl.restore returns); for one draw, draws[None]")
    if draws.ndim != truth.ndim + 1 or draws.shape[1:] != truth.shape:
        raise ParameterError(f"draws have shape {draws.shape}; for {len(truth)} true images of shape "
                             f"{truth.shape[1:]} give draws (n_draws, {', '.join(map(str, truth.shape))})")
    if len(draws) == 0 or len(truth) == 0:
        raise ParameterError("no draws or no images to score: give at least one draw of at least one image")
    for what, array in (("truth", truth), ("draws", draws)):
        if not np.isfinite(array).all():
            raise ParameterError(f"the {what} hold NaN or inf: give complete images")
    if reference is not None:
        reference = intensities(reference)
        if reference.shape[1:] != truth.shape[1:] or reference.ndim != truth.ndim:
            raise ParameterError(f"reference images have shape {reference.shape[1:]}, the true ones "
                                 f"{truth.shape[1:]}: give clean images of the same size")
        if not np.isfinite(reference).all():
            raise ParameterError("the reference images hold NaN or inf: give complete clean images")
    return truth, draws, reference


def _summary(values: np.ndarray, how) -> float:
    kept = values[~np.isnan(values)]
    return float(how(kept)) if len(kept) else float("nan")


def _number(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"
