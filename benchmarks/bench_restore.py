"""pl.restore's posterior samplers beside scikit-image's restorers (issue 26).

    OMP_NUM_THREADS=1 nohup python benchmarks/bench_restore.py --datasets digits > /tmp/bench_restore.log 2>&1 &
    python benchmarks/bench_restore.py --quick                       # smoke run (tiny sizes; writes nothing)
    python benchmarks/bench_restore.py --datasets avatars --models gaussian,gmm,skimage
    python benchmarks/bench_restore.py --models diffusion --budget 600 --save-models /tmp/restore_models
    python benchmarks/bench_restore.py --models diffusion --diffusion-model /tmp/restore_models/avatars_diffusion
    python benchmarks/bench_restore.py --report-only                 # re-render RESULTS.md from the JSON

Data: `digits` (8x8, 17 levels; the priors fit the first 1,200 images, the first --n (100) of the
last 597 are restored) and `avatars` (32x32 colour, `pl.datasets.load("avatars", n=..., seed=0)`:
the priors fit the first --avatars-train (4,000), the next --n are restored). Truth and measurements
are intensities in [0, 1] (digits level / 16, avatars / 255). scikit-image's parameters are tuned by
mean PSNR on --val (100) validation images drawn from the training images (never the test images),
their measurements simulated with another seed.

Tasks (`pl.operators`, noise sd in intensity units): `deblur` = blur(sigma) with noise 0.02
(sigma 1.0 on digits, 1.5 on avatars; mirrored edges); `inpaint_centre` = mask hiding the centred
square of a quarter of the image's area, noiseless; `inpaint_bottom` = mask hiding the bottom half,
noiseless; `sr4` = downsample(4) (the mean of each 4x4 block) with noise 0.01; `denoise` =
identity with noise 0.1.

Contenders: scikit-image, per task the best on the validation split of `wiener` (balance),
`richardson_lucy` (iterations) and `wiener` followed by `denoise_tv_chambolle` (weight) for
deblurring; `denoise_tv_chambolle` (weight) and `denoise_nl_means` (h, patch size) for denoising;
`inpaint_biharmonic` for inpainting; `transform.resize` order 1 and order 3 (bicubic) for
super-resolution. plausible: each image rung of --models that declares `restore_methods`
(gaussian, gmm: exact; diffusion: ddrm, dps, repaint; vae: latent), every method it declares, at
the rung's defaults (neural rungs' time_budget capped at --budget seconds), `pl.restore(...,
n_draws=--draws, seed=0)`. A method that refuses an operator (RePaint on a blur) is listed with its
one-line reason.

Measured per (data, task, contender), by `pl.evaluate_restoration`: PSNR (per image, then averaged;
inpainting: over the hidden pixels) and SSIM (whole image) of the posterior mean (scikit-image:
its one estimate); coverage and mean width of the per-pixel 90% intervals (inpainting: hidden
pixels); the Fréchet distance (the image-evaluation features of issue 25, the network trained on
the reference) of one draw per image and of the posterior means to the reference, clean images
from the test distribution that are neither restored nor trained on (digits: the other 497 test
images; avatars: --reference (1,000) more), beside the floor: the restored images' own clean
truth's distance to the reference, at the same sample size; restore seconds per
image and draw (wall clock of the whole pl.restore call / (images x draws)) and fit seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
import warnings
from datetime import datetime
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_core import machine, progress, time_limit, versions, write_section

START, END = "<!-- bench_restore:start -->", "<!-- bench_restore:end -->"
RECORDS = HERE / "restore_results.json"
TASKS = ("deblur", "inpaint_centre", "inpaint_bottom", "sr4", "denoise")
NOISE = {"deblur": 0.02, "inpaint_centre": 0.0, "inpaint_bottom": 0.0, "sr4": 0.01, "denoise": 0.1}
BLUR_SIGMA = {"digits": 1.0, "avatars": 1.5}
MARGIN_DB = {"deblur": 3.0, "inpaint_centre": 3.0, "inpaint_bottom": 3.0, "sr4": 3.0, "denoise": 2.0}
COVERAGE = (0.85, 0.95)
TARGET_FD = 1.5
DEFAULT_MODELS = "skimage,gaussian,gmm,diffusion,vae"
FIT_NOTE = "bench_restore_fit.json"
DEFAULT_N = 100


# ---------------------------------------------------------------------- helpers
def git(*args) -> str:
    try:
        return subprocess.run(["git", *args], check=False, cwd=HERE.parent, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:240]


def image_class(name: str):
    from plausible.core.model import VARIANTS
    from plausible.core.registry import _discover

    _discover()
    return VARIANTS[(name, "image")]


# ---------------------------------------------------------------------- data and tasks
class Data:
    """One dataset: `train` as the priors fit it (levels / uint8), `truth` the restored test images,
    `val` the validation images and `reference` up to --reference other clean test images (what the
    Fréchet distances are measured against), all three as float intensities in [0, 1]."""

    def __init__(self, name: str, args):
        import plausible as pl
        from plausible.data.operators import intensities

        self.name = name
        n = args.n
        self.key = name if n == DEFAULT_N or args.quick else f"{name}@{n}"   # records of another test size apart
        if name == "digits":
            images = pl.datasets.load("digits")          # LevelImages, 17 levels: intensities = level / 16
            train, test = images[:1200], images[1200:]
            if args.quick:
                train = images[:300]
            truth, reference = test[:n], test[n:n + args.reference]
        elif name == "avatars":
            n_train = 300 if args.quick else args.avatars_train
            images = pl.datasets.load("avatars", n=n_train + n + args.reference, seed=0)
            train, truth, reference = images[:n_train], images[n_train:n_train + n], images[n_train + n:]
        else:
            raise SystemExit(f"--datasets: unknown dataset {name!r}; use digits and/or avatars")
        self.train = train
        self.truth, self.reference = intensities(truth), intensities(reference)
        pick = np.random.default_rng(0).choice(len(train), min(args.val, len(train)), replace=False)
        self.val = intensities(train[np.sort(pick)])
        self.shape = self.truth.shape[1:]

    def describe(self) -> str:
        h, w = self.shape[:2]
        colour = " colour" if len(self.shape) == 3 else ""
        return (f"{self.name} ({h}x{w}{colour}): priors fit {len(self.train):,} training images, {len(self.truth)} "
                f"test images restored, scikit-image tuned on {len(self.val)} validation images from the training ones")


def operators(data: Data) -> dict:
    """task -> (operator, noise sd, hidden (H, W) bool or None: the pixels scored for inpainting)."""
    import plausible as pl

    h, w = data.shape[:2]
    centre = np.zeros((h, w), bool)
    centre[h // 4:h // 4 + h // 2, w // 4:w // 4 + w // 2] = True
    bottom = np.zeros((h, w), bool)
    bottom[h // 2:] = True
    return {"deblur": (pl.operators.blur(sigma=BLUR_SIGMA[data.name]), NOISE["deblur"], None),
            "inpaint_centre": (pl.operators.mask(~centre), NOISE["inpaint_centre"], centre),
            "inpaint_bottom": (pl.operators.mask(~bottom), NOISE["inpaint_bottom"], bottom),
            "sr4": (pl.operators.downsample(4), NOISE["sr4"], None),
            "denoise": (pl.operators.identity(), NOISE["denoise"], None)}


def task_label(data_name: str, task: str) -> str:
    what = {"deblur": f"blur sigma {BLUR_SIGMA.get(data_name.split('@')[0], '?')}", "inpaint_centre": "centre square hidden",
            "inpaint_bottom": "bottom half hidden", "sr4": "4x4 block means", "denoise": "identity"}[task]
    return f"{task} ({what}, noise {NOISE[task]:g})"


# ---------------------------------------------------------------------- scikit-image
def per_channel(images: np.ndarray, one) -> np.ndarray:
    """`one(plane) -> plane` on each (H, W) plane of (N, H, W[, C])."""
    if images.ndim == 3:
        return np.stack([one(x) for x in images])
    return np.stack([np.stack([one(x[..., c]) for c in range(x.shape[-1])], -1) for x in images])


def tv(images: np.ndarray, weight: float) -> np.ndarray:
    from skimage.restoration import denoise_tv_chambolle

    return np.stack([denoise_tv_chambolle(x, weight=weight, channel_axis=-1 if x.ndim == 3 else None) for x in images])


def skimage_candidates(task: str, operator, data: Data):
    """(method, setting, estimate(y) -> images) for every candidate setting of every method."""
    from skimage import restoration, transform

    if task == "deblur":
        psf = operator.kernel
        for balance in np.geomspace(1e-4, 3.0, 14):
            yield "wiener", f"balance={balance:.4g}", lambda y, b=balance: per_channel(
                y, lambda p: restoration.wiener(p, psf, b, clip=True))
        for iters in (1, 2, 3, 5, 8, 12, 20, 30, 50):
            yield "richardson_lucy", f"num_iter={iters}", lambda y, k=iters: per_channel(
                np.clip(y, 0, 1), lambda p: restoration.richardson_lucy(p, psf, num_iter=k, clip=True))
        for balance in np.geomspace(1e-3, 0.3, 6):
            for weight in (0.005, 0.01, 0.03, 0.06, 0.1):
                yield "wiener+tv", f"balance={balance:.4g}, weight={weight:g}", \
                    lambda y, b=balance, w=weight: tv(per_channel(y, lambda p: restoration.wiener(p, psf, b, clip=True)), w)
    elif task.startswith("inpaint"):
        yield "inpaint_biharmonic", "", lambda y: np.stack([
            restoration.inpaint_biharmonic(np.nan_to_num(x), np.isnan(x[..., 0] if x.ndim == 3 else x),
                                           channel_axis=-1 if x.ndim == 3 else None) for x in y])
    elif task == "sr4":
        for order in (1, 3):
            yield f"resize order {order}", "", lambda y, o=order: np.stack([
                transform.resize(x, data.shape, order=o, mode="edge", anti_aliasing=False) for x in y])
    elif task == "denoise":
        for weight in (0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.13, 0.17, 0.22, 0.3):
            yield "denoise_tv_chambolle", f"weight={weight:g}", lambda y, w=weight: tv(y, w)
        patches = ((3, 2), (5, 2)) if data.shape[0] <= 8 else ((3, 4), (5, 6), (7, 6))
        for size, distance in patches:
            for h in (0.03, 0.05, 0.07, 0.09, 0.12, 0.15, 0.2):
                yield "denoise_nl_means", f"h={h:g}, patch_size={size}, patch_distance={distance}", \
                    lambda y, h=h, s=size, d=distance: np.stack([restoration.denoise_nl_means(
                        x, h=h, sigma=NOISE["denoise"], patch_size=s, patch_distance=d, fast_mode=True,
                        channel_axis=-1 if x.ndim == 3 else None) for x in y])


def psnr_images(truth: np.ndarray, estimate: np.ndarray, hidden) -> float:
    """Mean over images of 10 log10(1 / MSE) (over the hidden pixels when `hidden` is given)."""
    diff = (np.clip(estimate, 0, 1) - truth) ** 2
    if hidden is not None:
        diff = diff[:, hidden]
    mse = np.maximum(diff.reshape(len(diff), -1).mean(1), 1e-10)
    return float(np.mean(10 * np.log10(1.0 / mse)))


def run_skimage(task: str, data: Data, operator, noise_sd: float, hidden, y_test) -> dict[str, dict]:
    """The best setting of each scikit-image method by validation PSNR, applied to the test images."""
    y_val = operator(data.val, noise_sd=noise_sd, seed=11)
    best: dict[str, tuple] = {}
    tried: dict[str, int] = {}
    for method, setting, estimate in skimage_candidates(task, operator, data):
        score = psnr_images(data.val, estimate(y_val), hidden)
        tried[method] = tried.get(method, 0) + 1
        if method not in best or score > best[method][0]:
            best[method] = (score, setting, estimate)
    out = {}
    for method, (val_psnr, setting, estimate) in best.items():
        t0 = time.perf_counter()
        restored = np.clip(estimate(y_test), 0, 1)
        seconds = time.perf_counter() - t0
        out[method] = {"estimate": restored, "seconds_per_image": seconds / len(y_test), "setting": setting,
                       "val_psnr": val_psnr, "settings_tried": tried[method]}
    return out


# ---------------------------------------------------------------------- scores
class Scorer:
    """Scores of restored test images by `pl.evaluate_restoration` (typicality against
    `data.reference`, other clean test images: floor = FD(reference, truth)); for inpainting PSNR and coverage
    over the hidden pixels as well (the measured ones are given), which the table and targets use."""

    def __init__(self, data: Data):
        self.data = data

    def __call__(self, draws: np.ndarray | None, estimate: np.ndarray, hidden) -> dict:
        import plausible as pl

        truth = self.data.truth
        given = np.clip(draws if draws is not None else estimate[None], 0, 1)
        s = pl.evaluate_restoration(truth=truth, draws=given, reference=self.data.reference, seed=0)
        out = {"psnr": s["psnr_mean"], "psnr_median": s["psnr"], "ssim": s["ssim_mean"], "fd_mean": s["frechet_mean"],
               "fd_floor": s["frechet_floor"]}
        if draws is not None:
            out.update(coverage=s["coverage"], width=s["interval_width"], fd_draw=s["frechet_draws"])
        if hidden is not None:        # inpainting: the hidden pixels' numbers; the whole image's kept beside
            out.update(psnr_whole=out["psnr"], psnr=psnr_images(truth, estimate, hidden))
            if draws is not None:
                low, high = np.quantile(given, [0.05, 0.95], axis=0, method="weibull")
                out.update(coverage_whole=out["coverage"], width_whole=out["width"],
                           coverage=float(((truth >= low) & (truth <= high))[:, hidden].mean()),
                           width=float((high - low)[:, hidden].mean()))
        return out


# ---------------------------------------------------------------------- plausible
def make(name: str, budget: float | None, **params):
    import plausible as pl

    cls = image_class(name)
    if budget and "time_budget" in cls.params:
        default = cls.params["time_budget"].default
        params.setdefault("time_budget", budget if default is None else min(default, budget))
    return pl.make(name, seed=0, **params)


def prior(name: str, data: Data, args) -> tuple[object, dict]:
    """The fitted prior (or the one --diffusion-model / --vae-model names for this image shape)."""
    import plausible as pl

    rec = {"notes": []}
    for path in getattr(args, f"{name}_model", None) or []:
        model = pl.load(path)
        if tuple(model.codec_.image_shape) == tuple(data.shape):
            fitted = Path(path) / FIT_NOTE          # written beside the model when this benchmark saved it
            if fitted.exists():
                rec.update(json.loads(fitted.read_text()))
            rec["notes"].append(f"loaded {Path(path).name}" + (f" (fitted {rec['fitted']})" if "fitted" in rec else ""))
            return model, rec
    t0 = time.perf_counter()
    model = make(name, args.budget).fit(data.train)
    rec["fit_s"] = time.perf_counter() - t0
    for key in ("epochs_trained_", "updates_"):
        if getattr(model, key, None) is not None:
            rec[key.strip("_")] = getattr(model, key)
    if args.save_models and "time_budget" in image_class(name).params:
        target = Path(args.save_models) / f"{data.name}_{name}"
        model.save(target)
        note = {"fit_s": rec["fit_s"], "fitted": f"{datetime.now():%Y-%m-%d %H:%M}, {len(data.train):,} images, "
                f"time_budget ≤ {args.budget:g} s, commit {git('rev-parse', '--short', 'HEAD')}"}
        (target / FIT_NOTE).write_text(json.dumps(note))
        rec["notes"].append(f"saved to {target}")
    return model, rec


def restore_one(model, method: str, task: str, y, operator, noise_sd: float, hidden, score: Scorer, args) -> dict:
    import plausible as pl

    t0 = time.perf_counter()
    with time_limit(args.limit, f"restoring {len(y)} images x {args.draws} draws"):
        draws = pl.restore(model, y, operator, noise_sd=noise_sd, n_draws=args.draws, seed=0, method=method)
    seconds = time.perf_counter() - t0
    draws = np.asarray(draws)
    rec = {"seconds_per_image_draw": seconds / (len(y) * args.draws), "seconds": seconds}
    rec.update(score(draws, draws.mean(0), hidden))
    return rec


# ---------------------------------------------------------------------- reporting
def f(value, digits=3):
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def short(note: str) -> str:
    if note.startswith("ParameterError: method=") and ": " in note[16:]:     # a sampler that refuses the operator
        return "refused: " + note[16:].split(": ", 1)[1].split(";")[0]
    if "TimeoutError" in note:
        return note.split("TimeoutError: ")[1].replace(" (--timeout)", " (--limit)")
    return note


def rows_of(records: dict, dataset: str, task: str) -> dict:
    prefix = f"{dataset}/{task}/"
    return {k[len(prefix):]: v for k, v in records.items() if k.startswith(prefix)}


def best(rows: dict, plausible: bool):
    scored = {k: r for k, r in rows.items() if "psnr" in r and k.startswith("skimage:") != plausible}
    if not scored:
        return None, None
    name = max(scored, key=lambda k: scored[k]["psnr"])
    return name, scored[name]


def verdict(ok: bool) -> str:
    return "**MET**" if ok else "**NOT MET**"


def targets(records: dict, datasets: list[str]) -> list[str]:
    out = ["### Issue 26 targets", ""]
    summary = {"psnr": [], "coverage": [], "fd": [], "all": []}
    for dataset in datasets:
        for task in TASKS:
            rows = rows_of(records, dataset, task)
            sk_name, sk = best(rows, plausible=False)
            pl_name, pl = best(rows, plausible=True)
            if not pl or not sk:
                continue
            gain = pl["psnr"] - sk["psnr"]
            ok_psnr = gain >= MARGIN_DB[task]
            covered = {k: r["coverage"] for k, r in rows.items() if "coverage" in r}
            in_range = [k for k, c in covered.items() if COVERAGE[0] <= c <= COVERAGE[1]]
            ok_cover = COVERAGE[0] <= pl.get("coverage", -1) <= COVERAGE[1]
            fd_ratio = pl["fd_draw"] / pl["fd_floor"] if pl.get("fd_floor") else np.nan
            ok_fd = bool(fd_ratio <= TARGET_FD)
            fd_ok = [k for k, r in rows.items() if r.get("fd_floor") and "fd_draw" in r
                     and r["fd_draw"] / r["fd_floor"] <= TARGET_FD]
            complete = [k for k, r in rows.items() if not k.startswith("skimage:") and "coverage" in r
                        and r["psnr"] - sk["psnr"] >= MARGIN_DB[task] and COVERAGE[0] <= r["coverage"] <= COVERAGE[1]
                        and r.get("fd_floor") and r["fd_draw"] / r["fd_floor"] <= TARGET_FD]
            summary["all"].append(bool(complete))
            summary["psnr"].append(ok_psnr)
            summary["coverage"].append(ok_cover)
            summary["fd"].append(ok_fd)
            out.append(f"- {dataset} {task}: PSNR ≥ best scikit-image + {MARGIN_DB[task]:g} dB {verdict(ok_psnr)} — "
                       f"{pl_name} {pl['psnr']:.2f} dB vs {sk_name[8:]} {sk['psnr']:.2f} ({gain:+.2f}); its 90% "
                       f"coverage {pl.get('coverage', float('nan')):.3f} {verdict(ok_cover)}"
                       + (f" (in {COVERAGE[0]}-{COVERAGE[1]}: {', '.join(in_range)})" if in_range and not ok_cover
                          else "") + f"; its single draws' FD {pl['fd_draw']:.3g} = {fd_ratio:.2f}× the floor "
                       f"{pl['fd_floor']:.3g} {verdict(ok_fd)}"
                       + (f" (≤ {TARGET_FD}×: {', '.join(fd_ok)})" if fd_ok and not ok_fd else "")
                       + f"; contenders meeting all three: {', '.join(complete) if complete else 'none'}")
    if summary["psnr"]:
        out += ["", f"- posterior-mean PSNR ≥ best scikit-image + 3 dB (denoising + 2 dB), best plausible contender per "
                f"task: {verdict(all(summary['psnr']))} (met on {sum(summary['psnr'])} of {len(summary['psnr'])} tasks)",
                f"- 90% coverage in {COVERAGE[0]}-{COVERAGE[1]} on every task (that contender): "
                f"{verdict(all(summary['coverage']))} (met on {sum(summary['coverage'])} of {len(summary['coverage'])})",
                f"- single draws' FD ≤ {TARGET_FD}× the clean-vs-clean floor (that contender): "
                f"{verdict(all(summary['fd']))} (met on {sum(summary['fd'])} of {len(summary['fd'])})",
                f"- one contender meeting all three at once (PSNR margin, coverage, FD): on {sum(summary['all'])} of "
                f"{len(summary['all'])} tasks"]
    for dataset in datasets:
        names = {k.split("/")[2].split(":")[0] for k in records if k.startswith(f"{dataset}/")
                 and "psnr" in records[k]}
        if names:
            out.append(f"- {dataset}: exact GMM shown beside diffusion: "
                       f"{verdict('gmm' in names and 'diffusion' in names)}"
                       f" ({'gmm' if 'gmm' in names else 'no gmm'}, {'diffusion' if 'diffusion' in names else 'no diffusion'} rows)")
    return out


def render(store: dict) -> str:
    records, runs = store["records"], store["runs"]
    used = sorted({r["run"] for r in records.values()})
    lines = ["## bench_restore: pl.restore's posterior samplers beside scikit-image (issue 26)", ""]
    for run in used:
        env = runs[run]
        dirty = env["dirty"]
        dirty = (f" (+ uncommitted at run time: {', '.join(dirty)})" if isinstance(dirty, list) and dirty else
                 " (+ uncommitted files)" if dirty else "")
        lines.append(f"- run {run}: commit {env['commit']}{dirty}, "
                     f"{env['start']} to {env.get('end', '?')}, {env['draws']} draws, neural rungs' time_budget ≤ "
                     f"{env['budget']:g} s; `{env['command']}`")
    env = runs[used[-1]] if used else {}
    lines += [f"- machine: {env.get('machine', '?')} (shared with other engineers: timings are noisy)",
              f"- versions: {env.get('versions', '?')}",
              "- every process on 1 thread (OMP_NUM_THREADS=1, torch.set_num_threads(1)); one run at a time", ""]
    datasets = sorted({k.split("/")[0] for k in records}, key=lambda d: (d.split("@")[0] != "digits", d))
    lines += targets(records, datasets)
    lines += ["", __doc__.split("\n\n", 2)[2].strip(), ""]
    for dataset in datasets:
        about = store.get("about", {}).get(dataset, dataset)
        floor = next((r["fd_floor"] for k, r in records.items() if k.startswith(dataset + "/") and "fd_floor" in r), None)
        lines += [f"### {about}", "", f"FD floor (the restored images' truth vs the reference, "
                  f"{store.get('reference_n', {}).get(dataset, '?'):,} other clean test images): "
                  f"{f(floor, 4)}.", "",
                  ("| task | contender | setting | PSNR | SSIM | 90% cover | width | FD draw | FD mean | FD draw / floor "
                   "| s per image·draw | fit s | run | note |"),
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        for task in TASKS:
            rows = rows_of(records, dataset, task)
            order = sorted(rows, key=lambda k: (not k.startswith("skimage:"), k))
            for name in order:
                r = rows[name]
                model = name.split(":")[0]
                fit = records.get(f"{dataset}/fit/{model}", {})
                notes = [short(n) for n in r.get("notes", [])]
                if "error" in r:
                    said = short(r["error"])
                    notes.insert(0, said if said.startswith("refused") else f"**failed** `{said}`")
                per = r.get("seconds_per_image_draw", r.get("seconds_per_image"))
                cells = [task_label(dataset, task) if name == order[0] else "", name, r.get("setting", ""),
                         f(r.get("psnr"), 2), f(r.get("ssim"), 3), f(r.get("coverage"), 3), f(r.get("width"), 3),
                         f(r.get("fd_draw"), 3), f(r.get("fd_mean"), 3),
                         f(r["fd_draw"] / r["fd_floor"], 2) if r.get("fd_draw") and r.get("fd_floor") else "",
                         f"{per:.2g}" if per else "", (f"{fit['fit_s']:.3g}" if fit.get("fit_s") is not None else ""), r["run"],
                         "; ".join(notes).replace("|", "/")]
                lines.append("| " + " | ".join(cells) + " |")
        fits = {k.split("/")[2]: r for k, r in records.items() if k.startswith(f"{dataset}/fit/")}
        lines += [""] + [f"- {model}: " + "; ".join(
            ([f"fit {r['fit_s']:.3g} s"] if r.get("fit_s") is not None else []) +
            ([f"**fit failed** `{short(r['error'])}`"] if "error" in r else []) + r.get("notes", [])) + f" (run {r['run']})"
            for model, r in sorted(fits.items())]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------- main
def load_store(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {"runs": {}, "records": {}}


def save(store: dict, run: str, path: Path) -> None:
    """Write this run's records into `path`, re-read first: rows written meanwhile by another run stay."""
    current = load_store(path)
    current["runs"][run] = store["runs"][run]
    current["records"].update({k: v for k, v in store["records"].items() if v.get("run") == run})
    current.setdefault("about", {}).update(store.get("about", {}))
    current.setdefault("reference_n", {}).update(store.get("reference_n", {}))
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(current, indent=1, default=float))
    os.replace(tmp, path)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="digits,avatars")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--models", default=DEFAULT_MODELS, help=f"skimage and/or image rungs ({DEFAULT_MODELS})")
    parser.add_argument("--n", type=int, default=DEFAULT_N, help=f"test images restored ({DEFAULT_N}; another number "
                        "keeps its records apart, as dataset@n, with their own targets)")
    parser.add_argument("--methods", default=None, help="only these restore methods (e.g. ddrm,repaint; default: every "
                        "method a rung declares)")
    parser.add_argument("--val", type=int, default=100, help="validation images for scikit-image's tuning (100)")
    parser.add_argument("--reference", type=int, default=1000, help="other clean test images the Fréchet distances "
                        "are measured against (1,000; digits has 597 - --n)")
    parser.add_argument("--avatars-train", type=int, default=4000, help="avatars the priors fit (4,000)")
    parser.add_argument("--draws", type=int, default=20, help="posterior draws per image (20)")
    parser.add_argument("--budget", type=float, default=300.0, help="time_budget cap in seconds for neural rungs (300)")
    parser.add_argument("--limit", type=float, default=1800.0, help="seconds one pl.restore call may take (1800)")
    parser.add_argument("--diffusion-model", type=Path, action="append", default=[],
                        help="a saved diffusion model (Model.save) used instead of fitting one, for the dataset of its "
                             "image shape (repeatable)")
    parser.add_argument("--vae-model", type=Path, action="append", default=[], help="likewise for vae")
    parser.add_argument("--save-models", type=Path, default=None, help="save the neural priors fitted here to this folder")
    parser.add_argument("--fit-only", action="store_true", help="only fit the neural priors of --models and save them "
                        "to --save-models (no restore, no records), for --diffusion-model / --vae-model later")
    parser.add_argument("--quick", action="store_true", help="tiny sizes; writes nothing")
    parser.add_argument("--records", type=Path, default=RECORDS)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    store = load_store(args.records)
    if args.report_only:
        write_section(args.out, render(store), START, END)
        return 0
    import torch

    torch.set_num_threads(1)
    if args.fit_only and not args.save_models:
        parser.error("--fit-only needs --save-models DIR")
    if args.quick:
        args.n, args.val, args.draws, args.budget, args.reference = 12, 12, 5, 10.0, 60
        store = {"runs": {}, "records": {}}
    wanted = args.models.split(",")
    tasks = args.tasks.split(",")
    run = datetime.now().strftime("%Y%m%d-%H%M")
    uncommitted = [line[3:].split("/")[-1] for line in git("status", "--porcelain", "src").splitlines()]
    store["runs"][run] = {"commit": git("rev-parse", "--short", "HEAD"), "dirty": uncommitted,
                          "start": datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": machine(),
                          "versions": ", ".join(f"{k} {v}" for k, v in {**versions(), "scikit-image": skimage_version()}
                                                .items() if k != "sdv"),
                          "command": "python benchmarks/bench_restore.py " + " ".join(argv), "budget": args.budget,
                          "draws": args.draws}

    def keep(key, rec):
        store["records"][key] = {**rec, "run": run}
        store["runs"][run]["end"] = datetime.now().strftime("%Y-%m-%d %H:%M")
        if not args.quick:
            save(store, run, args.records)
        shown = {k: v for k, v in rec.items() if k not in ("notes",)}
        progress(f"{key}: {json.dumps(shown, default=lambda v: round(float(v), 4))[:300]}")

    for name in args.datasets.split(","):
        data = Data(name, args)
        store.setdefault("about", {})[data.key] = data.describe()
        store.setdefault("reference_n", {})[data.key] = len(data.reference)
        progress(data.describe())
        score = Scorer(data)
        ops = {task: spec for task, spec in operators(data).items() if task in tasks}
        ys = {task: op(data.truth, noise_sd=sd, seed=1) for task, (op, sd, _) in ops.items()}
        if "skimage" in wanted and not args.fit_only:
            for task, (op, sd, hidden) in ops.items():
                for method, one in run_skimage(task, data, op, sd, hidden, ys[task]).items():
                    rec = {k: v for k, v in one.items() if k != "estimate"}
                    rec.update(score(None, one["estimate"], hidden))
                    keep(f"{data.key}/{task}/skimage:{method}", rec)
        for model_name in [m for m in wanted if m != "skimage"]:
            try:
                cls = image_class(model_name)
            except KeyError:
                progress(f"{model_name}: no such image rung; skipped")
                continue
            if not cls.restore_methods and not args.fit_only:
                progress(f"{model_name}: declares no restore_methods yet; skipped")
                continue
            try:
                model, fit = prior(model_name, data, args)
            except Exception as error:  # noqa: BLE001 - reported in the table
                traceback.print_exc()
                fit = {"error": error_text(error), "notes": []}
                model = None
            if args.fit_only:
                progress(f"{data.key}/{model_name}: fitted in {fit.get('fit_s', float('nan')):.0f} s; {fit['notes']}")
                continue
            keep(f"{data.key}/fit/{model_name}", fit)
            if model is None:
                continue
            for task, (op, sd, hidden) in ops.items():
                for method in [m for m in cls.restore_methods if not args.methods or m in args.methods.split(",")]:
                    key = f"{data.key}/{task}/{model_name}:{method}"
                    try:
                        rec = restore_one(model, method, task, ys[task], op, sd, hidden, score, args)
                    except Exception as error:  # noqa: BLE001 - a refusal or failure is a row with its reason
                        if not isinstance(error, (ValueError, TimeoutError)) and "NotSupported" not in type(error).__name__:
                            traceback.print_exc()
                        rec = {"error": error_text(error)}
                    keep(key, rec)
    if args.fit_only:
        return 0
    text = render(store)
    print(text)
    if not args.quick:
        write_section(args.out, text, START, END)
        progress(f"wrote {args.out}")
    return 0


def skimage_version() -> str:
    import skimage

    return skimage.__version__


if __name__ == "__main__":
    sys.exit(main())
