"""Every image rung beside scikit-learn's GaussianMixture, KernelDensity and KNNImputer (issue 25).

    OMP_NUM_THREADS=1 nohup python benchmarks/bench_images.py > /tmp/bench_images.log 2>&1 &   # the full run
    python benchmarks/bench_images.py --quick                      # smoke run (tiny sizes; writes nothing)
    python benchmarks/bench_images.py --models vae,diffusion       # only these rows; the others kept
    python benchmarks/bench_images.py --report-only                # re-render RESULTS.md from the JSON

Contenders: every registered image rung (`plausible.testing_images.image_models()`, so rungs that
land later are picked up), `--models` selects. On `digits` (train the first 1,200 images, test the
last 597, levels 0..16 = 17 levels, given as int64: `pl.datasets.load` returns uint8, which the
codec reads as 256 levels) also scikit-learn's GaussianMixture (`sklearn_gmm`) and KernelDensity
(`sklearn_kde`) on the 64 intensities x = (level + u) / 17, u ~ U(0, 1) (dequantized), their
hyperparameters chosen by validation log-likelihood on a fifth of the 1,200 training images
(refitted on all 1,200); bits/dim by the dequantization bound log P(levels) >= E_u log p(x) - 64 log 17
(an upper bound on bits/dim, like the intensity rungs'); samples x -> level floor(17 x) clipped to 0..16.

Measured per contender (fits on 1 thread):
- fit s (median of up to --repeats fits while they take under 30 s together), sample images/s (one
  `sample(600)`), held-out bits/dim (`pl.bits_per_dim`; rungs without log_prob blank);
- `pl.evaluate(real=test, synthetic=600 samples, train=train)`: Fréchet distance (and its
  real-vs-real floor), precision, recall, DCR ratio (>= 1: samples no closer to the training images
  than held-out images are), medians over 3 evaluation seeds;
- inpainting of the bottom half and of a random half (32 pixels per image, seeded) of the first
  --inpaint-n (100) test images (the slow samplers' 20 draws of all 597 took over half an hour): PSNR (0..1 scale, level / 16, over every hidden pixel) of the posterior mean (the mean of
  --draws draws of `impute(test, mask=...)`) and the share of hidden pixels inside the draws'
  5%-95% quantiles (np.quantile, linear). Peers: GaussianMixture's exact conditional (closed form
  from sklearn's means/covariances, components reweighted by the known pixels' evidence at their
  cells' centres; its draws for coverage) and KNNImputer (k chosen on the validation split).
On `avatars` (5,000 train + 1,000 test, 500 samples): tv_to_truth and unreadable_share beside the
real floor, by `pl.evaluate(..., truth="avatars", seed=0)`'s own routine on the same 500 real and
500 sampled images (the whole pl.evaluate, FD too, with --full-avatars-eval: its feature network
takes minutes on this loaded machine). On `jars` (4,000 train + 1,000 test): held-out R² of height
and width from a 2-D latent (`latent=2`, or gaussian's `rank=2` PCA code), predicted by a cubic
polynomial fitted on the training codes. Rungs with a `time_budget` get min(their default, --budget);
one sampling or impute call longer than --limit seconds is reported as not measured.

Records go to benchmarks/images_results.json (one per dataset and contender, with the commit and
time of its run; a run replaces only the rows it measured); the section between
`<!-- bench_images:start -->` and `<!-- bench_images:end -->` of RESULTS.md is re-rendered from all
records, the file re-read right before the section is replaced.
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

START, END = "<!-- bench_images:start -->", "<!-- bench_images:end -->"
RECORDS = HERE / "images_results.json"
PEERS = ("sklearn_gmm", "sklearn_kde")
LEVELS = 17
EVAL_SEEDS = (0, 1, 2)
TARGET_BPD, TARGET_FD, TARGET_DB, COVERAGE, TARGET_TV, TARGET_UNREADABLE, TARGET_R2 = \
    1.9, 0.85, 2.0, (0.88, 0.92), 1.5, 0.05, 0.95


# ---------------------------------------------------------------------- helpers
def git(*args) -> str:
    try:
        return subprocess.run(["git", *args], check=False, cwd=HERE.parent, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def rung_state(name: str) -> str:
    """'committed', 'modified' or 'uncommitted': the state of the rung's image file in git."""
    if name in PEERS:
        return "peer"
    path = f"src/plausible/ladder/image_{name}.py"
    status = git("status", "--porcelain", path)
    return "committed" if not status else ("uncommitted" if status.startswith("??") else "modified")


def image_class(name: str):
    from plausible.core.model import VARIANTS
    from plausible.core.registry import _discover

    _discover()
    return VARIANTS[(name, "image")]


def make(name: str, budget: float | None, **params):
    import plausible as pl

    cls = image_class(name)
    if budget and "time_budget" in cls.params:
        default = cls.params["time_budget"].default
        params.setdefault("time_budget", budget if default is None else min(default, budget))
    return pl.make(name, seed=0, **params)


def deep(name: str) -> bool:
    return name not in PEERS and "time_budget" in image_class(name).params


def error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:240]


def masks(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    bottom = np.zeros((n, 8, 8), bool)
    bottom[:, 4:] = True
    rng = np.random.default_rng(seed)
    random = np.zeros((n, 64), bool)
    for row in random:
        row[rng.choice(64, 32, replace=False)] = True
    return {"bottom": bottom, "random": random.reshape(n, 8, 8)}


def inpaint_scores(draws: np.ndarray | None, mean: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> dict:
    """PSNR of `mean` (0..1) over the hidden pixels; coverage of the draws' 5-95% quantiles (levels)."""
    hidden = mask.astype(bool)
    mse = float(((mean[hidden] - truth[hidden] / (LEVELS - 1)) ** 2).mean())
    out = {"psnr": 10 * np.log10(1.0 / mse)}
    if draws is not None:
        low, high = np.quantile(draws, [0.05, 0.95], axis=0)
        out["coverage"] = float(((truth >= low - 1e-9) & (truth <= high + 1e-9))[hidden].mean())
    return out


def evaluate(real, samples, train, seeds=EVAL_SEEDS, **kwargs) -> dict:
    import plausible as pl

    runs = [pl.evaluate(real=real, synthetic=samples, train=train, seed=s, **kwargs) for s in seeds]
    out = {}
    for key in runs[0]:
        out[key] = float(np.median([r[key] for r in runs]))
        out[key + "_floor"] = float(np.median([r.floor.get(key, np.nan) for r in runs]))
    return out


# ---------------------------------------------------------------------- scikit-learn peers on digits
def dequantized(levels: np.ndarray, seed: int) -> np.ndarray:
    flat = levels.reshape(len(levels), -1).astype(float)
    return (flat + np.random.default_rng(seed).uniform(size=flat.shape)) / LEVELS


def to_levels(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x * LEVELS), 0, LEVELS - 1).astype(np.int64).reshape(len(x), 8, 8)


class SklearnDensity:
    """GaussianMixture or KernelDensity on the dequantized intensities, chosen on a validation split."""

    def __init__(self, kind: str, quick: bool):
        self.kind, self.quick = kind, quick

    def candidates(self):
        from sklearn.mixture import GaussianMixture
        from sklearn.neighbors import KernelDensity

        if self.kind == "sklearn_kde":
            for bandwidth in np.geomspace(0.01, 0.3, 4 if self.quick else 12):
                yield f"bandwidth={bandwidth:.4f}", lambda b=bandwidth: KernelDensity(bandwidth=b)
            return
        for covariance in ("full", "diag"):
            for k in ((1, 4) if self.quick else (1, 2, 4, 8, 12, 16, 24, 32)):
                yield (f"n_components={k}, covariance_type={covariance}",
                       lambda k=k, c=covariance: GaussianMixture(k, covariance_type=c, random_state=0, max_iter=200))

    def fit(self, train: np.ndarray):
        order = np.random.default_rng(0).permutation(len(train))
        cut = len(train) // 5
        val, fit = dequantized(train[order[:cut]], 1), dequantized(train[order[cut:]], 2)
        scores = {}
        for label, build in self.candidates():
            try:
                scores[label] = (float(build().fit(fit).score_samples(val).mean()), build)
            except Exception as error:  # noqa: BLE001 - a failed candidate is skipped, not fatal
                progress(f"    {self.kind} {label}: {error_text(error)}")
        self.chosen = max(scores, key=lambda k: scores[k][0])
        self.model = scores[self.chosen][1]().fit(dequantized(train, 3))
        return self

    def sample(self, n: int, seed: int) -> np.ndarray:
        drawn = self.model.sample(n, random_state=seed) if self.kind == "sklearn_kde" else self.model.sample(n)[0]
        return to_levels(drawn)

    def bits_per_dim(self, test: np.ndarray) -> float:
        return float(-self.model.score_samples(dequantized(test, 4)).mean() / (64 * np.log(2)) + np.log2(LEVELS))

    def covariances(self) -> np.ndarray:
        m = self.model
        if m.covariance_type == "full":
            return m.covariances_
        return np.stack([np.diag(c) for c in m.covariances_])

    def conditional(self, test: np.ndarray, mask: np.ndarray, n_draws: int, seed: int):
        """GaussianMixture's exact conditional of the hidden pixels given the known ones (at their
        cells' centres): the posterior mean on the 0..1 scale, and n_draws draws as levels."""
        from scipy.special import logsumexp
        from scipy.stats import multivariate_normal

        rng = np.random.default_rng(seed)
        x = (test.reshape(len(test), -1) + 0.5) / LEVELS
        hidden = mask.reshape(len(test), -1)
        means, covs, log_w = self.model.means_, self.covariances(), np.log(self.model.weights_)
        mean_out = np.empty_like(x)
        draws = np.repeat(x[None], n_draws, axis=0)
        for i in range(len(x)):
            m, o = hidden[i], ~hidden[i]
            logs, cond_means, cond_covs = [], [], []
            for k in range(len(means)):
                s_oo, s_mo = covs[k][np.ix_(o, o)], covs[k][np.ix_(m, o)]
                gain = np.linalg.solve(s_oo, s_mo.T).T
                logs.append(log_w[k] + multivariate_normal.logpdf(x[i, o], means[k][o], s_oo))
                cond_means.append(means[k][m] + gain @ (x[i, o] - means[k][o]))
                cond_covs.append(covs[k][np.ix_(m, m)] - gain @ s_mo.T)
            post = np.exp(np.array(logs) - logsumexp(logs))
            mean_out[i, m] = post @ np.array(cond_means)
            for d, k in enumerate(rng.choice(len(means), n_draws, p=post / post.sum())):
                draws[d, i, m] = rng.multivariate_normal(cond_means[k], cond_covs[k], method="cholesky")
        # the mean of x = (level + u) / 17 -> the level's mean 17 x - 0.5, on the 0..1 scale / 16
        mean01 = np.clip(LEVELS * mean_out - 0.5, 0, LEVELS - 1) / (LEVELS - 1)
        return mean01.reshape(test.shape), np.clip(np.floor(draws * LEVELS), 0, LEVELS - 1).reshape(
            (n_draws,) + test.shape)


def knn_inpaint(train: np.ndarray, test: np.ndarray, mask: np.ndarray, kind: str) -> tuple[np.ndarray, int]:
    """KNNImputer on the 0..1 intensities, its k chosen by PSNR on a validation fifth of train."""
    from sklearn.impute import KNNImputer

    def run(reference, target, hide, k):
        holes = target.reshape(len(target), -1) / (LEVELS - 1)
        holes[hide.reshape(len(target), -1)] = np.nan
        imputer = KNNImputer(n_neighbors=k).fit(reference.reshape(len(reference), -1) / (LEVELS - 1))
        return imputer.transform(holes).reshape(target.shape)

    order = np.random.default_rng(0).permutation(len(train))
    cut = len(train) // 5
    val, fit = train[order[:cut]], train[order[cut:]]
    val_mask = masks(len(val), seed=7)[kind]
    scores = {k: inpaint_scores(None, run(fit, val, val_mask, k), val, val_mask)["psnr"] for k in (1, 3, 5, 10, 20)}
    best = max(scores, key=scores.get)
    return run(train, test, mask, best), best


# ---------------------------------------------------------------------- the three datasets
def digits_split(quick: bool):
    import plausible as pl

    images, _ = pl.datasets.load("digits", return_labels=True)
    images = np.asarray(images).astype(np.int64)     # levels 0..16: 17 levels (uint8 would read as 256)
    if quick:
        return images[:300], images[-100:]
    return images[:1200], images[1200:]


def run_digits(name: str, train, test, args) -> dict:
    rec = {"fit_s": [], "notes": []}
    draws = args.draws
    holes = test[:args.inpaint_n]
    hide = masks(len(holes))
    if name in PEERS:
        t0 = time.perf_counter()
        model = SklearnDensity(name, args.quick).fit(train)
        rec["fit_s"].append(time.perf_counter() - t0)
        rec["notes"].append(f"chosen: {model.chosen}; fit s includes the validation search")
    else:
        while True:
            t0 = time.perf_counter()
            model = make(name, args.budget).fit(train)
            rec["fit_s"].append(time.perf_counter() - t0)
            if len(rec["fit_s"]) >= args.repeats or sum(rec["fit_s"]) > 30:
                break
    t0 = time.perf_counter()
    with time_limit(args.limit, f"sampling {args.samples} images"):
        samples = model.sample(args.samples, seed=1)
    rec["sample_ips"] = args.samples / (time.perf_counter() - t0)
    samples = np.asarray(samples)
    progress(f"  digits / {name}: fit {np.median(rec['fit_s']):.2f} s, sample {rec['sample_ips']:,.0f} images/s")
    try:
        import plausible as pl

        rec["bits_per_dim"] = model.bits_per_dim(test) if name in PEERS else pl.bits_per_dim(model, test)
        rec["log_prob_kind"] = "bound" if name in PEERS else model.log_prob_kind
    except Exception as error:  # noqa: BLE001 - rungs without log_prob: blank
        rec["notes"].append(f"no bits/dim ({error_text(error)})")
    rec["eval"] = evaluate(test, samples, train, seeds=EVAL_SEEDS[:1] if args.quick else EVAL_SEEDS)
    progress(f"  digits / {name}: bits/dim {rec.get('bits_per_dim')}, FD {rec['eval']['frechet_distance']:.4f}")
    rec["inpaint"] = {}
    for kind, mask in hide.items():
        t0 = time.perf_counter()
        try:
            if name == "sklearn_kde":
                continue
            with time_limit(args.limit, f"impute ({kind} half, {len(holes)} images x {draws} draws)"):
                if name == "sklearn_gmm":
                    mean, drawn = model.conditional(holes, mask, draws, seed=0)
                else:
                    drawn = np.stack(model.impute(holes, mask=mask, n_draws=draws, seed=0)).astype(float)
                    mean = drawn.mean(0) / (LEVELS - 1)
        except Exception as error:  # noqa: BLE001 - no impute: blank, with the reason
            rec["inpaint"][kind] = {"error": error_text(error)}
            continue
        rec["inpaint"][kind] = {**inpaint_scores(drawn, mean, holes, mask), "seconds": time.perf_counter() - t0}
        progress(f"  digits / {name}: inpaint {kind} {rec['inpaint'][kind]}")
    return rec


def run_knn(train, test, args) -> dict:
    rec = {"inpaint": {}, "notes": []}
    test = test[:args.inpaint_n]
    for kind, mask in masks(len(test)).items():
        t0 = time.perf_counter()
        mean, k = knn_inpaint(train, test, mask, kind)
        rec["inpaint"][kind] = {**inpaint_scores(None, mean, test, mask), "seconds": time.perf_counter() - t0, "k": k}
    return rec


def run_avatars(name: str, train, test, args) -> dict:
    rec = {"notes": []}
    t0 = time.perf_counter()
    model = make(name, args.budget).fit(train)
    rec["fit_s"] = [time.perf_counter() - t0]
    rec["epochs"] = getattr(model, "epochs_trained_", None)
    n = len(test) // 2
    t0 = time.perf_counter()
    with time_limit(args.limit, f"sampling {n} avatars"):
        samples = np.asarray(model.sample(n, seed=1))
    rec["sample_ips"] = n / (time.perf_counter() - t0)
    rec["eval"] = avatar_scores(test, samples, args.full_avatars_eval, train)
    return rec


def avatar_scores(test, samples, full: bool, train) -> dict:
    """tv_to_truth and unreadable_share as `pl.evaluate(real=test, synthetic=samples, truth="avatars",
    seed=0)` computes them (its own routine, on the same real half and sample size); the whole
    pl.evaluate (FD too) only with --full-avatars-eval: its feature network takes minutes here."""
    if full:
        return evaluate(test, samples, train, seeds=(0,), truth="avatars")
    from plausible.datasets.avatars import read_features
    from plausible.evaluation.image_metrics import _avatar_distances

    rng = np.random.default_rng(0)
    order = rng.permutation(len(test))
    half = len(test) // 2
    half_b = test[order[half:2 * half]]
    size = min(len(half_b), len(samples))
    same_size = samples[rng.choice(len(samples), size, replace=False)]
    out = {}
    out["tv_to_truth"], out["unreadable_share"], _ = _avatar_distances(read_features, same_size)
    out["tv_to_truth_floor"], out["unreadable_share_floor"], _ = _avatar_distances(read_features, half_b[:size])
    return out


def run_jars(name: str, train, test, labels_train, labels_test, args) -> dict:
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    params = image_class(name).params
    setting = {"latent": 2} if "latent" in params else {"rank": 2}
    rec = {"notes": [", ".join(f"{k}={v}" for k, v in setting.items())]}
    t0 = time.perf_counter()
    model = make(name, args.budget, **setting).fit(train)
    rec["fit_s"] = [time.perf_counter() - t0]
    z_train, z_test = np.asarray(model.encode(train)), np.asarray(model.encode(test))
    rec["r2"] = {}
    for column in labels_train.columns:
        reg = make_pipeline(StandardScaler(), PolynomialFeatures(3), LinearRegression())
        reg.fit(z_train, labels_train[column])
        rec["r2"][column] = float(r2_score(labels_test[column], reg.predict(z_test)))
    return rec


# ---------------------------------------------------------------------- reporting
def f(value, digits=3):
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def best_peer_fd(rows: dict):
    fds = {n: rows[n]["eval"]["frechet_distance"] for n in PEERS if "eval" in rows.get(n, {})}
    return (min(fds, key=fds.get), min(fds.values())) if fds else (None, None)


def render(store: dict) -> str:
    records, runs = store["records"], store["runs"]
    used = sorted({r["run"] for r in records.values()})
    lines = ["## bench_images: the image ladder beside scikit-learn (issue 25)", ""]
    for run in used:
        env = runs[run]
        lines.append(f"- run {run}: commit {env['commit']}{' (+ uncommitted files)' if env['dirty'] else ''}, "
                     f"{env['start']} to {env.get('end', '?')}, neural rungs' time_budget ≤ {env.get('budget', '?'):g} s; "
                     f"`{env['command']}`")
    env = runs[used[-1]] if used else {}
    lines += [f"- machine: {env.get('machine', '?')} (shared with other engineers: timings are noisy)",
              f"- versions: {env.get('versions', '?')}",
              ("- every process on 1 thread (OMP_NUM_THREADS=1, torch.set_num_threads(1)); runs listed side by side "
              "shared the machine"), ""]
    lines += targets(records)
    lines += ["", __doc__.split("\n\n", 2)[2].split("Records go")[0].strip(), ""]
    digits = {k.split("/", 1)[1]: v for k, v in records.items() if k.startswith("digits/")}
    if digits:
        peer, peer_fd = best_peer_fd(digits)
        lines += ["### digits (train 1,200 / test 597, 17 levels)", "",
                  ("| contender | file | fit s | sample img/s | bits/dim | FD | FD / best sklearn | precision | recall "
                  "| DCR ratio | PSNR bottom | cover bottom | PSNR random | cover random | run | note |"),
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        floor = None
        for name, r in digits.items():
            if "error" in r and "eval" not in r and "inpaint" not in r:
                lines.append(f"| {name} | {r.get('state', '')} | | | | | | | | | | | | | {r['run']} | **FAILED** "
                             f"`{r['error']}` |")
                continue
            e = r.get("eval", {})
            floor = e.get("frechet_distance_floor", floor)
            ip = r.get("inpaint", {})
            bpd = f(r.get("bits_per_dim")) + (" (bound)" if r.get("log_prob_kind") == "bound" else
                                              " (est.)" if r.get("log_prob_kind") == "estimate" else "")
            cells = [name, r.get("state", ""), f(np.median(r["fit_s"]), 2) if r.get("fit_s") else "",
                     f"{r['sample_ips']:,.0f}" if r.get("sample_ips") else "", bpd if r.get("bits_per_dim") else "",
                     f(e.get("frechet_distance"), 4),
                     f(e["frechet_distance"] / peer_fd, 2) if e and peer_fd else "",
                     f(e.get("precision"), 2), f(e.get("recall"), 2), f(e.get("dcr_ratio"), 2)]
            notes = [short(n) for n in r.get("notes", [])]
            for kind in ("bottom", "random"):
                one = ip.get(kind, {})
                cells += [f(one.get("psnr"), 2), f(one.get("coverage"), 3)]
                if "error" in one:
                    notes.append(f"{kind}: {short(one['error'])}")
                if "k" in one:
                    notes.append(f"{kind}: k={one['k']}")
            cells += [r["run"], "; ".join(notes).replace("|", "/")]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", (f"FD floor (real vs real, same size): {f(floor, 4)}; best scikit-learn density by FD: {peer}. "
                  f"Inpainting: the first {store.get('inpaint_n', '?')} test images, {store.get('draws', '?')} draws "
                  "per image; coverage = share of hidden pixels' levels "
                  "inside the draws' 5%-95% quantiles. `file`: the rung's image file in git at run time."), ""]
    avatars = {k.split("/", 1)[1]: v for k, v in records.items() if k.startswith("avatars/")}
    if avatars:
        lines += ["### avatars (5,000 train / 1,000 test, 500 samples, 32x32 colour)", "",
                  ("| contender | file | fit s | epochs | sample img/s | TV to truth | floor | TV / floor | unreadable | "
                  "floor | FD | FD floor | run | note |"), "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        for name, r in avatars.items():
            e = r.get("eval", {})
            if not e:
                lines.append(f"| {name} | {r.get('state', '')} | | | | | | | | | | | {r['run']} | **FAILED** "
                             f"{short(r.get('error', ''))} |")
                continue
            lines.append(f"| {name} | {r.get('state', '')} | {f(r['fit_s'][0], 1)} | {epochs(r.get('epochs'))} | "
                         f"{r['sample_ips']:,.0f} | {f(e['tv_to_truth'])} | {f(e['tv_to_truth_floor'])} | "
                         f"{f(e['tv_to_truth'] / e['tv_to_truth_floor'], 2)} | {f(e['unreadable_share'])} | "
                         f"{f(e['unreadable_share_floor'])} | {f(e.get('frechet_distance'), 3)} | "
                         f"{f(e.get('frechet_distance_floor'), 3)} | {r['run']} | {'; '.join(r.get('notes', []))} |")
        lines.append("")
    jars = {k.split("/", 1)[1]: v for k, v in records.items() if k.startswith("jars/")}
    if jars:
        lines += ["### jars (4,000 train / 1,000 test): height and width from a 2-D latent", "",
                  "| contender | file | setting | fit s | R² height | R² width | run | note |",
                  "|---|---|---|---:|---:|---:|---|---|"]
        for name, r in jars.items():
            if "r2" not in r:
                lines.append(f"| {name} | {r.get('state', '')} | | | | | {r['run']} | **FAILED** `{r.get('error', '')}` |")
                continue
            lines.append(f"| {name} | {r.get('state', '')} | {r['notes'][0]} | {f(r['fit_s'][0], 1)} | "
                         f"{f(r['r2']['height'])} | {f(r['r2']['width'])} | {r['run']} | |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def short(note: str) -> str:
    """A table note: a declared refusal or a time limit in a few words, anything else as it is."""
    if "NotSupportedError" in note:
        return "impute not offered (declared)" if "impute" in note.split("NotSupportedError")[1][:60] else \
            note.split(" (")[0] + " (log_prob not offered, declared)"
    if "TimeoutError" in note:
        return note.split("TimeoutError: ")[1].replace(" (--timeout)", " (--limit)")
    return note


def epochs(value) -> str:
    """Epochs trained: one number, or one per layer (dbn) joined by '+'."""
    if value is None:
        return ""
    return "+".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def targets(records: dict) -> list[str]:
    def verdict(ok):
        return "**MET**" if ok else "**NOT MET**"

    out = ["### Issue 25 targets", ""]
    digits = {k.split("/", 1)[1]: v for k, v in records.items() if k.startswith("digits/")}
    rungs = {n: r for n, r in digits.items() if n not in PEERS and n != "knn_imputer"}
    bpd = {n: r["bits_per_dim"] for n, r in rungs.items() if r.get("bits_per_dim") is not None}
    if bpd:
        best = min(bpd, key=bpd.get)
        out.append(f"- digits bits/dim ≤ {TARGET_BPD}: {verdict(bpd[best] <= TARGET_BPD)} — best rung {best} "
                   f"{bpd[best]:.3f}")
    peer, peer_fd = best_peer_fd(digits)
    if peer_fd:
        fair = {n: r["eval"]["frechet_distance"] for n, r in rungs.items()
                if "eval" in r and r["eval"].get("dcr_ratio", 0) >= 1}
        if fair:
            best = min(fair, key=fair.get)
            ratio = fair[best] / peer_fd
            out.append(f"- digits FD ≤ {TARGET_FD} × best sklearn ({peer} {peer_fd:.4f}) with DCR ratio ≥ 1: "
                       f"{verdict(ratio <= TARGET_FD)} — best rung {best} {fair[best]:.4f} ({ratio:.2f}×, "
                       f"DCR {rungs[best]['eval']['dcr_ratio']:.2f})")
    gm, knn = digits.get("sklearn_gmm", {}).get("inpaint", {}), digits.get("knn_imputer", {}).get("inpaint", {})
    for kind in ("bottom", "random"):
        if kind not in gm or kind not in knn or "psnr" not in gm[kind]:
            continue
        bar = max(gm[kind]["psnr"], knn[kind]["psnr"]) + TARGET_DB
        scored = {n: r["inpaint"][kind] for n, r in rungs.items() if "psnr" in r.get("inpaint", {}).get(kind, {})}
        if not scored:
            continue
        best = max(scored, key=lambda n: scored[n]["psnr"])
        good = [n for n, s in scored.items() if s["psnr"] >= bar and COVERAGE[0] <= s["coverage"] <= COVERAGE[1]]
        out.append(f"- digits inpainting ({kind} half) PSNR ≥ {bar:.2f} dB (GM {gm[kind]['psnr']:.2f}, KNN "
                   f"{knn[kind]['psnr']:.2f}, + {TARGET_DB}) with 90% coverage in {COVERAGE[0]}-{COVERAGE[1]}: "
                   f"{verdict(bool(good))} — best PSNR {best} {scored[best]['psnr']:.2f} dB, coverage "
                   f"{scored[best]['coverage']:.3f}" + (f"; meeting both: {', '.join(good)}" if good else ""))
    avatars = {k.split("/", 1)[1]: v for k, v in records.items() if k.startswith("avatars/")}
    evals = {n: r["eval"] for n, r in avatars.items() if "eval" in r}
    deep_ones = {n: e for n, e in evals.items() if r_deep(n)}
    if deep_ones:
        best = min(deep_ones, key=lambda n: deep_ones[n]["tv_to_truth"])
        e = deep_ones[best]
        ratio = e["tv_to_truth"] / e["tv_to_truth_floor"]
        ok = ratio <= TARGET_TV and e["unreadable_share"] < TARGET_UNREADABLE
        ind = evals.get("independent")
        extra = (f"; independent {ind['tv_to_truth']:.3f} ({ind['tv_to_truth'] / ind['tv_to_truth_floor']:.1f}× floor, "
                 f"{ind['unreadable_share']:.1%} unreadable)") if ind else ""
        out.append(f"- avatars deep rung TV ≤ {TARGET_TV} × floor, < {TARGET_UNREADABLE:.0%} unreadable: {verdict(ok)} — "
                   f"best deep rung {best} TV {e['tv_to_truth']:.3f} vs floor {e['tv_to_truth_floor']:.3f} "
                   f"({ratio:.2f}×), {e['unreadable_share']:.1%} unreadable{extra}")
    jars = {k.split("/", 1)[1]: v for k, v in records.items() if k.startswith("jars/")}
    for name, r in jars.items():
        if "r2" in r:
            low = min(r["r2"].values())
            out.append(f"- jars R² ≥ {TARGET_R2} from a 2-D latent, {name}: {verdict(low >= TARGET_R2)} — height "
                       f"{r['r2']['height']:.3f}, width {r['r2']['width']:.3f}")
    return out


def r_deep(name: str) -> bool:
    try:
        return deep(name)
    except KeyError:
        return False


# ---------------------------------------------------------------------- main
def load_store(paths) -> dict:
    """The records of every file in `paths`, merged (the first file's settings win)."""
    store = {"runs": {}, "records": {}}
    for path in reversed(paths):
        if path.exists():
            more = json.loads(path.read_text())
            store["runs"].update(more["runs"])
            store["records"].update(more["records"])
            store.update({k: v for k, v in more.items() if k not in ("runs", "records")})
    return store


def save(store: dict, run: str, path: Path = RECORDS) -> None:
    """Write this run's records into `path`, re-read first: another run's rows written meanwhile stay."""
    current = json.loads(path.read_text()) if path.exists() else {"runs": {}, "records": {}}
    current["runs"][run] = store["runs"][run]
    current["records"].update({k: v for k, v in store["records"].items() if v.get("run") == run})
    current.update({k: v for k, v in store.items() if k not in ("runs", "records")})
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(current, indent=1, default=float))
    os.replace(tmp, path)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=None, help="comma-separated image rungs and/or sklearn_gmm, sklearn_kde, "
                        "knn_imputer (default: every registered image rung and the peers)")
    parser.add_argument("--datasets", default="digits,jars,avatars")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and budgets; writes nothing")
    parser.add_argument("--repeats", type=int, default=3, help="fits per rung on digits while under 30 s (3)")
    parser.add_argument("--draws", type=int, default=20, help="impute draws per image (20)")
    parser.add_argument("--samples", type=int, default=600, help="images sampled on digits (600)")
    parser.add_argument("--budget", type=float, default=300.0, help="time_budget cap in seconds for neural rungs (300)")
    parser.add_argument("--inpaint-n", type=int, default=100, help="test images inpainted, the first of the 597 (100)")
    parser.add_argument("--limit", type=float, default=420.0, help="seconds one sampling or impute call may take (420)")
    parser.add_argument("--full-avatars-eval", action="store_true", help="the whole pl.evaluate on avatars (FD too)")
    parser.add_argument("--records", type=Path, default=RECORDS, help="the JSON this run's records go to")
    parser.add_argument("--merge", type=Path, nargs="*", default=[], help="more record files to render with --records")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    store = load_store([args.records, *args.merge])
    if args.report_only:
        write_section(args.out, render(store), START, END)
        return 0
    import torch

    import plausible as pl
    from plausible.testing_images import image_models

    torch.set_num_threads(1)
    rungs = image_models()
    wanted = rungs + list(PEERS) + ["knn_imputer"] if args.models is None else args.models.split(",")
    datasets = args.datasets.split(",")
    if args.quick:
        args.repeats, args.draws, args.samples, args.budget, args.inpaint_n = 1, 5, 200, 10.0, 50
        store = {"runs": {}, "records": {}}
    run = datetime.now().strftime("%Y%m%d-%H%M")
    store["draws"], store["inpaint_n"] = args.draws, args.inpaint_n
    store["runs"][run] = {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain",
                          "src")), "start": datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": machine(),
                          "versions": ", ".join(f"{k} {v}" for k, v in versions().items() if k != "sdv"),
                          "command": "python benchmarks/bench_images.py " + " ".join(argv), "budget": args.budget}
    progress(f"image rungs registered: {', '.join(rungs)}; measuring {', '.join(wanted)} on {', '.join(datasets)}")

    def keep(key, rec):
        store["records"][key] = {**rec, "run": run}
        store["runs"][run]["end"] = datetime.now().strftime("%Y-%m-%d %H:%M")
        if not args.quick:
            save(store, run, args.records)

    def attempt(key, name, work):
        progress(f"{key}: start")
        try:
            rec = work()
        except Exception as error:  # noqa: BLE001 - reported in the table, never hidden
            traceback.print_exc()
            rec = {"error": error_text(error)}
        rec["state"] = rung_state(name) if name != "knn_imputer" else "peer"
        keep(key, rec)
        progress(f"{key}: done {json.dumps({k: v for k, v in rec.items() if k != 'notes'}, default=float)[:400]}")

    if "digits" in datasets:
        train, test = digits_split(args.quick)
        for name in wanted:
            if name == "knn_imputer":
                attempt(f"digits/{name}", name, lambda: run_knn(train, test, args))
            else:
                attempt(f"digits/{name}", name, lambda name=name: run_digits(name, train, test, args))
    if "jars" in datasets:
        n_train, n_test = (300, 100) if args.quick else (4000, 1000)
        images, labels = pl.datasets.load("jars", n=n_train + n_test, seed=0, return_labels=True)
        for name in [n for n in wanted if n in rungs and hasattr(image_class(n), "encode")]:
            attempt(f"jars/{name}", name, lambda name=name: run_jars(
                name, images[:n_train], images[n_train:], labels.iloc[:n_train], labels.iloc[n_train:], args))
    if "avatars" in datasets:
        n_train, n_test = (300, 100) if args.quick else (5000, 1000)
        images = pl.datasets.load("avatars", n=n_train + n_test, seed=0)
        for name in [n for n in wanted if n in rungs]:
            attempt(f"avatars/{name}", name, lambda name=name: run_avatars(name, images[:n_train], images[n_train:], args))
    text = render(store)
    print(text)
    if not args.quick:
        write_section(args.out, text, START, END)
        progress(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
