"""The comparison report: one self-contained HTML file (works offline) plus PNG figures beside it,
each written atomically; and the recommendation in words, which the command line prints too.

Figures are drawn with matplotlib's object API (no pyplot, so no global state is touched) and
embedded as data URIs; the same PNGs are written next to the HTML for people who read files.
"""
from __future__ import annotations

import base64
import html
import io as _io
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.io import write_bytes, write_text
from . import metrics

REAL, SYNTHETIC = "#1f77b4", "#ff7f0e"


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    buffer = _io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def ranking_figure(table: pd.DataFrame) -> bytes:
    ok = table[table["status"] == "ok"].iloc[::-1]
    figure = _figure(7, 0.45 * max(len(ok), 2) + 1.2)
    axis = figure.add_subplot()
    colors = ["#2ca02c" if r else "#7f7f7f" for r in ok["recommended"]]
    axis.barh(ok["model"], ok["quality"], color=colors)
    floor = table.attrs.get("floor_quality")
    if floor is not None and np.isfinite(floor):
        axis.axvline(floor, color="black", linestyle="--", label=f"perfect generator at this size ({floor:.3f})")
        axis.legend(loc="lower right", fontsize=8)
    axis.set_xlim(0, 1)
    axis.set_xlabel("quality (1 = indistinguishable from real data); green = recommended")
    return _png(figure)


def marginals_figure(real: pd.DataFrame, synthetic: pd.DataFrame, columns_max: int = 16) -> bytes:
    columns = list(real.columns)[:columns_max]
    per_row = 4
    rows = int(np.ceil(len(columns) / per_row))
    figure = _figure(3.2 * per_row, 2.4 * rows)
    for k, name in enumerate(columns):
        axis = figure.add_subplot(rows, per_row, k + 1)
        if metrics._is_numeric(real[name]):
            r, s = metrics._numbers(real[name]), metrics._numbers(synthetic[name])
            r, s = r[~np.isnan(r)], s[~np.isnan(s)]
            edges = np.histogram_bin_edges(np.concatenate([r, s]) if len(s) else r, bins=30)
            axis.hist(r, bins=edges, density=True, alpha=0.5, color=REAL, label="real")
            axis.hist(s, bins=edges, density=True, alpha=0.5, color=SYNTHETIC, label="synthetic")
        else:
            p = metrics._labels(real[name]).value_counts(normalize=True)
            q = metrics._labels(synthetic[name]).value_counts(normalize=True)
            labels = list(p.index[:12])
            x = np.arange(len(labels))
            axis.bar(x - 0.2, p.reindex(labels).fillna(0), width=0.4, color=REAL, label="real")
            axis.bar(x + 0.2, q.reindex(labels).fillna(0), width=0.4, color=SYNTHETIC, label="synthetic")
            axis.set_xticks(x, [str(v)[:10] for v in labels], rotation=60, fontsize=7)
        axis.set_title(str(name), fontsize=9)
        if k == 0:
            axis.legend(fontsize=7)
    return _png(figure)


def association_matrix(frame: pd.DataFrame) -> np.ndarray:
    """|Spearman ρ| for two numbers, Cramér's V (numbers binned, rare labels pooled as in the metrics)
    for any other pair."""
    columns = list(frame.columns)
    groups = metrics.label_groups(frame)
    out = np.eye(len(columns))
    coded = {}
    for name in columns:
        if metrics._is_numeric(frame[name]):
            values = metrics._numbers(frame[name])
            edges = np.unique(np.nanquantile(values, [0.2, 0.4, 0.6, 0.8])) if np.isfinite(values).any() else []
            coded[name] = np.where(np.isnan(values), -1, np.searchsorted(edges, values))
        else:
            coded[name] = pd.factorize(metrics._grouped(frame, name, groups))[0]
    for i, a in enumerate(columns):
        for j in range(i + 1, len(columns)):
            b = columns[j]
            if metrics._is_numeric(frame[a]) and metrics._is_numeric(frame[b]):
                rho = pd.Series(metrics._numbers(frame[a])).corr(pd.Series(metrics._numbers(frame[b])), method="spearman")
                value = abs(rho) if np.isfinite(rho) else 0.0
            else:
                table = pd.crosstab(coded[a], coded[b]).to_numpy().astype(float)
                n = table.sum()
                expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
                chi2 = np.sum((table - expected) ** 2 / np.maximum(expected, 1e-12))
                k = min(table.shape) - 1
                value = float(np.sqrt(chi2 / (n * k))) if k > 0 else 0.0
            out[i, j] = out[j, i] = value
    return out


def associations_figure(real: pd.DataFrame, synthetic: pd.DataFrame) -> bytes:
    columns = list(real.columns)[:25]
    figure = _figure(11, 5)
    for k, (title, frame) in enumerate((("real", real), ("synthetic", synthetic))):
        axis = figure.add_subplot(1, 2, k + 1)
        image = axis.imshow(association_matrix(frame[columns]), vmin=0, vmax=1, cmap="viridis")
        axis.set_xticks(range(len(columns)), [str(c)[:12] for c in columns], rotation=90, fontsize=7)
        axis.set_yticks(range(len(columns)), [str(c)[:12] for c in columns], fontsize=7)
        axis.set_title(f"{title}: strength of dependence")
    figure.colorbar(image, ax=figure.axes, shrink=0.8, location="right")
    return _png(figure)


def projection_figure(real: pd.DataFrame, synthetic: pd.DataFrame, limit: int = 2000) -> bytes:
    from sklearn.decomposition import PCA

    (x_real, x_synth), categorical = metrics._design([real, synthetic], real)
    blocks_real, blocks_synth = [], []
    for k in range(x_real.shape[1]):
        r, s = x_real[:, k], x_synth[:, k]
        if categorical[k]:
            levels = int(max(np.nanmax(r), np.nanmax(s))) + 1
            blocks_real.append(np.eye(levels)[r.astype(int)])
            blocks_synth.append(np.eye(levels)[s.astype(int)])
        else:
            centre, scale = np.nanmean(r), np.nanstd(r) or 1.0
            blocks_real.append(np.nan_to_num((r[:, None] - centre) / scale))
            blocks_synth.append(np.nan_to_num((s[:, None] - centre) / scale))
    a, b = np.hstack(blocks_real), np.hstack(blocks_synth)
    pca = PCA(n_components=2, random_state=0).fit(a)
    pa, pb = pca.transform(a[:limit]), pca.transform(b[:limit])
    figure = _figure(6, 5)
    axis = figure.add_subplot()
    axis.scatter(pa[:, 0], pa[:, 1], s=6, alpha=0.4, color=REAL, label="real (held-out)")
    axis.scatter(pb[:, 0], pb[:, 1], s=6, alpha=0.4, color=SYNTHETIC, label="synthetic")
    axis.set_title("rows projected on the real data's first two principal components")
    axis.legend()
    return _png(figure)


def dcr_figure(real: pd.DataFrame, synthetic: pd.DataFrame, train: pd.DataFrame) -> bytes:
    held_out = metrics.distances_to_closest(real, train)
    fake = metrics.distances_to_closest(synthetic.iloc[:len(real)], train)
    figure = _figure(6, 4)
    axis = figure.add_subplot()
    edges = np.histogram_bin_edges(np.concatenate([held_out, fake]), bins=30)
    axis.hist(held_out, bins=edges, alpha=0.5, color=REAL, label="real held-out rows")
    axis.hist(fake, bins=edges, alpha=0.5, color=SYNTHETIC, label="synthetic rows")
    axis.set_xlabel("distance to the closest training row")
    axis.set_title("privacy: synthetic rows should not sit closer to the training rows")
    axis.legend()
    return _png(figure)


def recommendation(table: pd.DataFrame) -> str:
    """The recommendation in words, with the numbers behind it."""
    ok = table[table["status"] == "ok"]
    if ok.empty:
        fitted = table["status"].astype(str).str.startswith("evaluation failed").any()
        return f"No model could be {'evaluated' if fitted else 'fitted'}; see the status column for why."
    chosen = table[table["recommended"]].iloc[0]
    best = ok.iloc[0]
    tolerance = table.attrs.get("tolerance", float("nan"))
    text = (f"Recommended: {chosen['model']} (quality {chosen['quality']:.3f}). The best quality was "
            f"{best['quality']:.3f} ({best['model']}); a perfect generator would score about "
            f"{table.attrs.get('floor_quality', float('nan')):.3f} with this much data, and that score varies by "
            f"{tolerance / 2:.3f} (one standard deviation) between random splits, so differences below "
            f"{tolerance:.3f} are noise. {chosen['model']} is the simplest model within that tolerance of the best")
    if chosen["model"] == best["model"]:
        text += " (and the best)."
    elif f"{chosen['fit_seconds']:.2f}" == f"{best['fit_seconds']:.2f}":
        text += f"; it is a simpler model than {best['model']}."
    else:
        text += f"; it fits in {chosen['fit_seconds']:.2f} s against {best['fit_seconds']:.2f} s."
    zero = chosen.get("zero_likelihood_rows", 0)
    if pd.notna(zero) and zero > 0:
        text += (f"\nNote: {chosen['model']} gives probability 0 to {int(zero)} held-out row(s) (a value or a gap "
                 "it never saw in training), so its log_likelihood is -inf; quality does not use it, but "
                 "such rows can never be sampled.")
    failed = table[table["status"] != "ok"]
    for _, row in failed.iterrows():
        text += f"\n{row['model']} was not ranked: {row['status']}"
    for note in table.attrs.get("notes", []):
        text += f"\nNote: {note}."
    return text


def write_report(path, table: pd.DataFrame, held_out: pd.DataFrame, train: pd.DataFrame,
                 synthetic: dict[str, pd.DataFrame], evaluations: dict) -> Path:
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"the report is an HTML file: give a path ending in .html, got {path}")
    figures = {"ranking": ("Models ranked by quality", ranking_figure(table))}
    chosen = table.loc[table["recommended"], "model"]
    if len(chosen):
        name = chosen.iloc[0]
        fake = synthetic[name]
        figures["marginals"] = (f"Each column, real vs {name}", marginals_figure(held_out, fake))
        figures["associations"] = (f"Dependence between columns, real vs {name}", associations_figure(held_out, fake))
        figures["projection"] = (f"Real and {name} rows in two dimensions", projection_figure(held_out, fake))
        figures["dcr"] = (f"Distance to the closest training record, {name}", dcr_figure(held_out, fake, train))
    for key, (_, png) in figures.items():
        write_bytes(png, path.parent / f"{path.stem}-{key}.png")
    shown = table.drop(columns=[c for c in ("complexity",) if c in table.columns])
    table_html = shown.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="", classes="ranking", border=0)
    sections = "".join(
        f'<section><h2>{html.escape(title)}</h2><img alt="{html.escape(title)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}"></section>'
        for title, png in figures.values())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>plausible compare report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1150px; color: #222; }}
table.ranking {{ border-collapse: collapse; font-size: 13px; }}
table.ranking th, table.ranking td {{ padding: 4px 8px; border-bottom: 1px solid #ddd; text-align: right; }}
img {{ max-width: 100%; }}
.recommendation {{ background: #eef7ee; padding: 1em; border-left: 4px solid #2ca02c; white-space: pre-wrap; }}
</style></head>
<body>
<h1>plausible compare</h1>
<p>{table.attrs.get('train_rows', '?')} training rows, {table.attrs.get('held_out_rows', '?')} held-out rows.
Quality is the mean of marginal fidelity, pairwise fidelity, the detection score and (with a target) the utility
ratio; the noise floor is what a second real sample scores.</p>
<p class="recommendation">{html.escape(recommendation(table))}</p>
<h2>Ranking</h2>
{table_html}
{sections}
<script>
window.addEventListener("load", function () {{
  var images = Array.prototype.slice.call(document.images);
  document.body.setAttribute("data-figures-loaded", images.filter(function (i) {{ return i.naturalWidth > 0; }}).length);
  document.body.setAttribute("data-figures", images.length);
}});
</script>
</body></html>
"""
    write_text(page, path)
    return path
