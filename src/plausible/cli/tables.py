"""The table commands: fit, sample, impute, score, evaluate, compare, models, datasets, demo.
"""
from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

from .files import (
    _check_model_out,
    _check_table_out,
    _compare_params,
    _engine,
    _model_params,
    _pairs,
    _read,
    _reading,
    _strict_json,
    is_folder_out,
    is_parquet_folder,
)
from .images import (
    fit_images,
    impute_images,
    is_image_source,
    sample_images,
    score_images,
)


def _fit(args) -> str:
    from ..core.registry import get_class, make_for_task
    from ..data.schema import SchemaError

    engine = _engine(args)
    if is_parquet_folder(args.data):
        return _fit_pieces(args, engine)
    if is_image_source(args.data):
        return fit_images(args)
    if args.model == "auto":
        if args.engine:
            raise ValueError("--engine fits a named model from pieces; --model auto compares models on rows in "
                             "memory: name the model (e.g. --model gaussian)")
        return _fit_auto(args)
    cls = get_class(args.model)
    params = _model_params(args.model, args.set)
    _check_model_out(args.out, args.force)
    data = _read(args.data, args)
    if args.engine:
        return _fit_pieces(args, engine, data)
    distributed = False
    if cls.family not in ("counting", "classical"):  # neural models train data-parallel under torchrun
        from ..neural import init_distributed, is_main_process

        distributed = init_distributed()
    model = make_for_task(args.model, args.seed, params, args.time_budget)
    try:
        model.fit(data, schema=_pairs(args.schema, "--schema") or None)
    except SchemaError as error:     # what is wrong with the table: say which file
        raise SchemaError(f"{args.data}: {error}") from None
    if distributed:
        from ..neural import finish_distributed

        main = is_main_process()
        if main:
            model.save(args.out, overwrite=args.force)   # every rank holds the same weights; rank 0 writes them
        finish_distributed()
        if not main:
            return ""
    else:
        model.save(args.out, overwrite=args.force)
    return f"fitted {args.model} on {len(data):,} rows x {data.shape[1]} columns; saved to {args.out}"


def _fit_pieces(args, engine: dict, data=None) -> str:
    """fit on a folder of Parquet pieces (or with --engine): the model reads them a piece at a time
    (core/by_parts.py), on the engine's workers when given."""
    from ..core.registry import make_for_task
    from ..data.partitioned import Partitions
    from ..data.schema import SchemaError

    if args.model == "auto":
        raise ValueError(f"{args.data} is a folder of Parquet pieces: name the model (e.g. --model gaussian); auto "
                         "compares models on rows held in memory")
    params = _model_params(args.model, args.set)
    _check_model_out(args.out, args.force)
    model = make_for_task(args.model, args.seed, params, args.time_budget)
    source = args.data if data is None else data
    try:
        model.fit(source, schema=_pairs(args.schema, "--schema") or None, **engine)
    except SchemaError as error:
        raise SchemaError(f"{args.data}: {error}") from None
    except ModuleNotFoundError as error:
        if "by_parts" not in str(error):
            raise
        raise RuntimeError("fitting from Parquet pieces or on --engine is not in this version of plausible: "
                           "read the table into one file and fit that") from None
    model.save(args.out, overwrite=args.force)
    if data is None:
        parts = Partitions(args.data)
        shape = f"{sum(parts.rows):,} rows x {len(parts.columns)} columns in {len(parts)} Parquet pieces"
    else:
        shape = f"{len(data):,} rows x {data.shape[1]} columns"
    return f"fitted {args.model} on {shape}; saved to {args.out}"


def _fit_auto(args) -> str:
    from ..data.schema import SchemaError
    from ..tasks.synthesis import fit

    if args.set:
        raise ValueError("--set gives a named model's hyperparameters; with --model auto the model is not known "
                         "in advance: name it (e.g. --model copula) to set them")
    _check_model_out(args.out, args.force)
    data = _read(args.data, args)
    try:
        model = fit(data, "auto", seed=args.seed, schema=_pairs(args.schema, "--schema") or None,
                    time_budget=args.time_budget)
    except SchemaError as error:     # what is wrong with the table: say which file
        raise SchemaError(f"{args.data}: {error}") from None
    model.save(args.out, overwrite=args.force)
    return (f"auto chose {model.choice_['reason']}\n"
            f"fitted {model.name} on {len(data):,} rows x {data.shape[1]} columns; saved to {args.out}")


def _sample(args) -> str:
    from ..core.registry import load
    from ..data.io import write_table

    engine = _engine(args)
    model = load(args.model_dir)
    if model.data_kind == "image":
        if args.engine:
            raise ValueError("--engine draws table rows into Parquet pieces; an image model's samples are drawn "
                             "here: drop --engine")
        return sample_images(model, args)
    if is_folder_out(args.out):
        from ..data.partitioned import Partitions

        out = model.sample(args.n, seed=args.seed, out=args.out, shard_rows=args.shard_rows, overwrite=args.force,
                           **engine)
        return f"wrote {args.n:,} rows to {out} in {len(Partitions(out))} Parquet pieces"
    if args.engine:
        raise ValueError(f"--engine draws shards into a folder of Parquet pieces: give --out a folder (end it with "
                         f"/, e.g. {Path(args.out).with_suffix('')}/)")
    _check_table_out(args.out)
    synthetic = model.sample(args.n, seed=args.seed)
    write_table(synthetic, args.out)
    return f"wrote {len(synthetic):,} rows to {args.out}"


def _impute(args) -> str:
    import pandas as pd

    from ..core.registry import load
    from ..data.io import read_table, write_table
    from ..data.schema import SchemaError
    from ..tasks.imputation import choose_model, impute, planned_refits
    from ..tasks.pooling import cell_spread, check_statistic, pool

    if len(args.inputs) > 2:
        raise ValueError(f"impute takes DATA, or MODEL_DIR DATA; got {len(args.inputs)} paths")
    engine = _engine(args)
    images = len(args.inputs) == 2 and not is_parquet_folder(args.inputs[1]) and is_image_source(args.inputs[1])
    if is_parquet_folder(args.inputs[-1]) or (is_folder_out(args.out) and not images):
        return _impute_pieces(args, engine)
    if args.engine:
        if len(args.inputs) == 1:
            raise ValueError("--engine imputes with a fitted model: plausible fit DATA --model NAME --out MODEL_DIR, "
                             "then plausible impute MODEL_DIR DATA --engine dask")
        if args.spread_out or args.pool:
            raise ValueError("--spread-out and --pool need every draw in memory; drop --engine for them")
    if images:
        if args.engine:
            raise ValueError("--engine imputes table rows a piece at a time; images are imputed here: drop --engine")
        return impute_images(load(args.inputs[0]), args.inputs[1], args)
    if any(is_image_source(path) for path in args.inputs[-1:]):
        raise ValueError(f"{args.inputs[-1]} holds images: fit a model on images first (plausible fit IMAGES --out "
                         "MODEL_DIR), then plausible impute MODEL_DIR IMAGES --out FILLS.npy")
    if args.mask:
        raise ValueError("--mask marks pixels of images; in a table leave the unknown cells empty")
    for out in (args.out, args.spread_out):
        if out:
            _check_table_out(out)
    lines, params, budget = [], {}, args.time_budget
    if len(args.inputs) == 2:                      # the model folder form: no refit
        folder, source = args.inputs
        if (args.model is not None or args.set or args.time_budget is not None or args.refits != 1
                or args.uncertainty == "posterior" or args.jobs != 1):
            raise ValueError(f"--model, --set, --time-budget, --refits, --jobs and --uncertainty posterior choose "
                             f"how to fit on DATA; {folder} is already fitted: drop them, or drop the model "
                             "folder to fit on DATA")
        model = load(folder)
        data = read_table(source, **_reading(args))
    else:
        source = args.inputs[0]
        if Path(source).is_dir():
            raise ValueError(f"{source} is a folder: give a model folder and DATA, or a .csv/.parquet table")
        data = read_table(source, **_reading(args))
        if len(data) == 0:
            raise ValueError(f"{source} has no rows: nothing to impute")
        model = args.model or "auto"
        if model == "auto":
            if args.set:
                raise ValueError("--set needs a named --model (auto chooses the model from the table)")
            chosen, reason = choose_model(data, args.time_budget)
            lines.append(f"auto chose {chosen}: {reason}")
        params = _model_params(chosen if model == "auto" else model, args.set)
    if args.pool and args.draws < 2:
        raise ValueError("--pool needs --draws 2 or more (Rubin's rules use the spread between draws); 20 is typical")
    for statistic in args.pool:                    # a typo should cost nothing, not a whole imputation
        check_statistic(statistic, data)
    if len(args.inputs) == 1:
        name = chosen if model == "auto" else model
        fits = planned_refits(len(data), args.draws, name, args.refits, args.uncertainty)
        cpus = os.cpu_count() or 1
        if fits > 1 and args.jobs == 1 and cpus > 1:
            why = f"a bootstrap refit per draw ({name} has no posterior to draw its parameters from)" \
                if args.refits == 1 else "--refits"
            lines.append(f"{fits} fits of {name}, {why}, one after another: --jobs -1 fits them side by side on "
                         f"all {cpus} CPUs, with the same draws")
    try:
        if args.engine:     # the model folder form: the table's pieces imputed on the workers
            draws = model.impute(data, n_draws=args.draws, seed=args.seed, **engine)
        else:
            draws = impute(data, n_draws=args.draws, model=model, seed=args.seed, params=params, time_budget=budget,
                           refits=args.refits, uncertainty=args.uncertainty, n_jobs=args.jobs)
    except SchemaError as error:     # what is wrong with the table: say which file
        raise SchemaError(f"{source}: {error}") from None
    long = pd.concat([d.assign(draw=k, row=range(len(d))) for k, d in enumerate(draws)], ignore_index=True)
    long = long[["draw", "row", *data.columns]]
    write_table(long, args.out)
    lines.append(f"filled {int(data.isna().sum().sum()):,} missing cells {args.draws} times; wrote {args.out}")
    if args.spread_out:
        write_table(cell_spread(draws), args.spread_out)
        lines.append(f"wrote each cell's spread across the draws to {args.spread_out}")
    for statistic in args.pool:
        table = pool(draws, statistic)
        lines += ["", f"Rubin's rules for {statistic} over {args.draws} draws:",
                  table.to_string(float_format=lambda v: f"{v:.4g}")]
    return "\n".join(lines)


def _score(args) -> str:
    import numpy as np

    from ..core.registry import load
    from ..data.io import read_table, write_table
    from ..data.schema import SchemaError

    engine = _engine(args)
    pieces = is_parquet_folder(args.data)
    if pieces or (is_folder_out(args.out) and not is_image_source(args.data)):
        if not is_folder_out(args.out):
            raise ValueError(f"{args.data} is a folder of Parquet pieces: give --out a folder (end it with /) for "
                             "the scored pieces")
        if pieces:
            from ..data.partitioned import Partitions

            columns = Partitions(args.data).columns
        else:
            data = read_table(args.data, **_reading(args))
            columns = data.columns
        if args.column in columns:
            raise ValueError(f"{args.data} already has a column {args.column!r}: name the score column with --column")
        try:
            out = load(args.model_dir).log_prob(args.data if pieces else data, unseen=args.unseen, out=args.out,
                                                column=args.column, overwrite=args.force, **engine)
        except SchemaError as error:
            raise SchemaError(f"{args.data}: {_unseen_hint(error, args)}") from None
        return f"scored {args.data}; wrote its rows with a {args.column!r} column to {out} as Parquet pieces"
    _check_table_out(args.out)
    if is_image_source(args.data):
        if args.engine:
            raise ValueError("--engine scores table rows a piece at a time; images are scored here: drop --engine")
        return score_images(load(args.model_dir), args)
    data = read_table(args.data, **_reading(args))
    if args.column in data.columns:
        raise ValueError(f"{args.data} already has a column {args.column!r}: name the score column with --column")
    model = load(args.model_dir)
    try:
        scores = model.log_prob(data, unseen=args.unseen, **engine)
    except SchemaError as error:
        raise SchemaError(_unseen_hint(error, args)) from None
    write_table(data.assign(**{args.column: scores}), args.out)
    impossible = int(np.isneginf(scores).sum())
    return f"scored {len(data):,} rows" + (f" ({impossible:,} impossible: -inf)" if impossible else "") + \
        f"; wrote {args.out}"


def _unseen_hint(error, args) -> str:
    """A scoring error, with how to score the other rows when a row holds a value never seen."""
    if args.unseen == "raise" and ("never seen" in str(error) or "never missing" in str(error)):
        return f"{error} (--unseen impossible scores such rows -inf and scores the others)"
    return str(error)


def _impute_pieces(args, engine: dict) -> str:
    """impute MODEL_DIR DATA --out FOLDER/: piece i of DATA (a folder of Parquet pieces, or one table
    cut into pieces) imputed with its own seed (core/shards.py), written as part-i.parquet: the
    long table (draw, row, columns) of that piece."""
    from ..core.registry import load
    from ..data.io import read_table
    from ..data.schema import SchemaError

    source = args.inputs[-1]
    if len(args.inputs) == 1:
        raise ValueError(f"impute into Parquet pieces takes a fitted model: plausible fit {source} --model NAME --out "
                         f"MODEL_DIR, then plausible impute MODEL_DIR {source} --out {args.out}")
    if not is_folder_out(args.out):
        raise ValueError(f"{source} is a folder of Parquet pieces: give --out a folder (end it with /) for the "
                         "imputed pieces")
    if args.spread_out or args.pool:
        raise ValueError("--spread-out and --pool need every draw in memory; with Parquet pieces compute them from "
                         "the written pieces")
    if (args.model is not None or args.set or args.time_budget is not None or args.refits != 1
            or args.uncertainty == "posterior" or args.jobs != 1 or args.mask):
        raise ValueError(f"--model, --set, --time-budget, --refits, --jobs, --uncertainty posterior and --mask do not "
                         f"apply to imputing Parquet pieces with the fitted model {args.inputs[0]}: drop them")
    model = load(args.inputs[0])
    data = source if is_parquet_folder(source) else read_table(source, **_reading(args))
    try:
        out = model.impute(data, n_draws=args.draws, seed=args.seed, out=args.out, overwrite=args.force, **engine)
    except SchemaError as error:
        raise SchemaError(f"{source}: {error}") from None
    return (f"imputed {source} {args.draws} times; wrote {out} as Parquet pieces (columns draw, row, then the "
            "table's, missing cells filled)")


def _evaluate(args) -> str:
    from ..core.registry import load
    from ..data.io import read_table
    from ..evaluation.samples import METRICS, evaluate

    if is_image_source(args.real):
        from .images import evaluate_images_command

        return evaluate_images_command(args)
    with warnings.catch_warnings():   # what evaluate warns about is printed below, under Notes
        warnings.simplefilter("ignore", UserWarning)
        real, synthetic = (read_table(path, **_reading(args)) for path in (args.real, args.synthetic))
        result = evaluate(real, synthetic,
                          train=read_table(args.train, **_reading(args)) if args.train else None,
                          model=load(args.model_dir) if args.model_dir else None, target=args.target, truth=args.truth,
                          seed=args.seed)
    if args.json:
        return _strict_json(result.to_json())
    table = result.table()
    lines = [table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")]
    lines += ["", "What each metric means:"] + [f"  {k}: {METRICS[k].meaning}" for k in result]
    notes = [text for key, text in result.details.items() if key.endswith("_note") and text]
    notes += result.details.get("levels_notes", [])
    if notes:
        lines += ["", "Notes:"] + [f"  {text}" for text in notes]
    return "\n".join(lines)


def _compare(args) -> str:
    from .. import datasets
    from ..evaluation.compare import compare, table_models
    from ..evaluation.report import recommendation

    names = [name.strip() for name in args.models.split(",")] if args.models else table_models()
    params = _compare_params(names, args.set)
    data = _read(args.data, args)
    target = args.target
    truth = args.data if args.data in datasets.names() and datasets.info(args.data).truth else None
    table = compare(data, models=names, time_budget=args.time_budget, params=params,
                    target=target, seed=args.seed, truth=truth, report=args.report,
                    progress=False if (args.quiet or args.json) else None)
    if not (table["status"] == "ok").any():   # one line per model, then the error line; exit status 2
        for _, row in table.iterrows():
            print(f"plausible compare: {row['model']}: {row['status']}", file=sys.stderr)
        raise RuntimeError(f"no model could be evaluated ({len(table)} tried): see the line for each above")
    if args.json:
        return json.dumps({"table": json.loads(table.to_json(orient="records")),
                           "recommendation": recommendation(table),
                           "tolerance": table.attrs["tolerance"], "floor_quality": table.attrs["floor_quality"]},
                          indent=2)
    columns = [c for c in ["model", "status", "quality", "detection_auc", "marginal_fidelity", "pairwise_fidelity",
                           "utility_ratio", "dcr_ratio", "log_likelihood", "kl_to_truth", "fit_seconds",
                           "sample_rows_per_second", "recommended"] if c in table.columns]
    text = table[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")
    text += "\n\n" + recommendation(table)
    if args.report:
        text += f"\nreport written to {args.report}"
    return text


def _models(args) -> str:
    from ..core.registry import models

    table = models()
    if args.json:
        return json.dumps(table, indent=2, default=str)
    lines = [f"{'model':<15}{'family':<17}{'data':<13}{'log_prob':<10}{'impute':<13}description"]
    for name, m in table.items():
        kinds = "+".join(m["data_kinds"])
        lines.append(f"{name:<15}{m['family']:<17}{kinds:<13}{m['log_prob']:<10}{m['impute']:<13}{m['description']}")
    images = {name: m["image"] for name, m in table.items() if "image" in m}
    if images:
        lines += ["", "On images (pl.make(name).fit(images) fits this version; --json lists its parameters):"]
        lines += [f"{name:<15}{'':<17}{'image':<13}{m['log_prob']:<10}{m['impute']:<13}{m['description']}"
                  for name, m in images.items()]
    return "\n".join(lines)


def _datasets(args) -> str:
    from .. import datasets

    rows = [datasets.info(name) for name in datasets.names()]
    if args.json:
        return json.dumps([{"name": d.name, "description": d.description, "source": d.source,
                            "known_truth": d.truth is not None, "target": d.target, "kind": d.kind}
                           for d in rows], indent=2)
    return "\n".join(f"{d.name:<15}{d.kind:<8}{d.description} ({d.source})" for d in rows)


def _demo(args) -> str:
    from .. import demo
    from ..data.io import write_table, write_text

    if args.which in ("pixels", "latent"):
        return _image_demo(args)
    if args.which == "restore":
        from .restore import demo_command

        return demo_command(args)
    if args.which == "classify":
        from ..demo_classify import command

        return command(args)
    if args.which == "collapse":
        from ..demo_collapse import FOLDER, demo_collapse

        demo_collapse(out=args.out or FOLDER, seeds=args.seeds, generations=args.generations, seed=args.seed)
        return ""   # the demo prints its own account and where its files went
    if args.which == "forecast":
        figure = args.out or "plausible-forecast-demo.png"
        if Path(figure).suffix.lower() != ".png":
            raise ValueError(f"--out for the forecast demo is the figure: give a .png file, got {figure!r}")
        demo.forecast_demo(seed=args.seed, figure=figure)
        return ""   # the demo itself says where the figure went
    args.out = args.out or "plausible-demo.md"
    sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
    if not sizes or min(sizes) < 1:
        raise ValueError(f"--sizes must be positive whole numbers, got {args.sizes!r}")
    results = demo.run(sizes=sizes, seed=args.seed)
    if Path(args.out).suffix.lower() in (".md", ".txt"):
        write_text(demo.to_markdown(results), args.out)
    else:
        write_table(results, args.out)
    return f"table written to {args.out}"


def _image_demo(args) -> str:
    """`plausible demo pixels` and `plausible demo latent`: each prints its own account and files."""
    if args.which == "pixels":
        from ..demo_images import DEEP, demo_pixels

        out = args.out or "plausible-pixels"
        if Path(out).suffix.lower() in (".png", ".md", ".csv", ".parquet") or Path(out).is_file():
            raise ValueError(f"--out for the pixels demo is a folder for the sample grids, got {out!r}")
        demo_pixels(out=out, deep=args.model or DEEP, seed=args.seed, time_budget=args.time_budget)
        return ""
    from ..tasks.latent import demo_latent

    if args.model is not None:
        raise ValueError("--model is for the pixels demo; the latent demo fits a VAE with a 2-D latent")
    out = Path(args.out or "latent_map.png")
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out for the latent demo is the latent map: give a .png file, got {str(out)!r}")
    strip = "latent_strip.png" if args.out is None else out.with_name(f"{out.stem}_strip.png")
    demo_latent(out=out, strip=strip, seed=args.seed, time_budget=args.time_budget)
    return ""
