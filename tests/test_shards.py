"""Big tables out (core/shards.py, issue 28 part 2): sample(n, out=DIR) as Parquet shards with the same
rows for any number of workers; log_prob and impute mapped over the pieces of a partitioned table, equal
to the in-memory results (impute: piece by piece with the pieces' derived seeds); the CLI on Parquet
folders."""
import importlib.util

import numpy as np
import pandas as pd
import pytest
from test_cli_surface import fails_in_one_line

import plausible as pl
from plausible.cli import main
from plausible.core.engine import available, engine_client
from plausible.core.errors import ParameterError
from plausible.core.shards import impute_parts, log_prob_parts, piece_seed
from plausible.data.partitioned import Partitions

needs_dask = pytest.mark.skipif(not available(), reason="the distributed extra (dask.distributed) is not "
                                "installed: pip install 'plausible[distributed]'")


@pytest.fixture(scope="module")
def client():
    """One local cluster of 2 workers for the module, passed as engine=."""
    if not available():
        pytest.skip("the distributed extra (dask.distributed) is not installed: pip install 'plausible[distributed]'")
    import warnings

    with warnings.catch_warnings():       # the dashboard's port taken by another engineer's cluster
        warnings.simplefilter("ignore", UserWarning)
        opened = engine_client("dask", 2)
        started = opened.__enter__()
    yield started
    opened.__exit__(None, None, None)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 300
    return pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n).round(2),
                         "c": rng.choice(["a", "b", "c"], size=n)})


@pytest.fixture(scope="module")
def model(table):
    return pl.make("histogram").fit(table)


@pytest.fixture(scope="module")
def holes(table, tmp_path_factory):
    """The table with 20% of its cells hidden, as 3 Parquet pieces of unequal sizes."""
    rng = np.random.default_rng(1)
    gappy = table.mask(rng.random(table.shape) < 0.2)
    folder = tmp_path_factory.mktemp("holes")
    for i, (start, stop) in enumerate([(0, 120), (120, 130), (130, len(table))]):
        gappy.iloc[start:stop].to_parquet(folder / f"part-{i}.parquet", index=False)
    return gappy, folder


def rows(folder) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(f) for f in sorted(folder.glob("part-*.parquet"))], ignore_index=True)


# ---------------------------------------------------------------------- sample
def test_shards_have_their_sizes_and_the_first_is_the_in_memory_draw(model, tmp_path):
    out = model.sample(250, seed=7, out=tmp_path / "s", shard_rows=100)
    assert out == tmp_path / "s"
    assert Partitions(out).rows == [100, 100, 50]
    assert pd.read_parquet(out / "part-00000.parquet").equals(model.sample(100, seed=7))
    assert not rows(out).iloc[100:200].reset_index(drop=True).equals(rows(out).iloc[:100].reset_index(drop=True))
    empty = model.sample(0, out=tmp_path / "none")
    assert Partitions(empty).rows == [0] and Partitions(empty).columns == ["x", "y", "c"]


@needs_dask
def test_sample_gives_the_same_rows_here_and_on_1_or_2_workers(model, client, tmp_path):
    here = rows(model.sample(250, seed=3, out=tmp_path / "here", shard_rows=60))
    two = rows(model.sample(250, seed=3, out=tmp_path / "two", shard_rows=60, engine=client))
    one = rows(model.sample(250, seed=3, out=tmp_path / "one", shard_rows=60, engine="dask", workers=1))
    assert len(here) == 250 and here.equals(two) and here.equals(one)


def test_an_array_model_writes_named_columns(tmp_path):
    fitted = pl.make("gaussian").fit(np.random.default_rng(0).normal(size=(50, 3)))
    written = rows(fitted.sample(20, seed=1, out=tmp_path / "a"))
    assert list(written.columns) == list(fitted.codec_.schema.names)
    assert np.array_equal(written.to_numpy(), fitted.sample(20, seed=1))


def test_an_existing_folder_is_refused_in_one_line_and_replaced_only_when_told(model, tmp_path):
    out = model.sample(30, out=tmp_path / "s", shard_rows=10)
    with pytest.raises(ParameterError, match="is not empty") as caught:
        model.sample(30, out=out)
    assert "\n" not in str(caught.value)
    (out / "notes.txt").write_text("kept")
    model.sample(5, seed=1, out=out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "part-00000.parquet"]   # no stale shards
    pd.DataFrame({"x": [1]}).to_parquet(out / "theirs.parquet")
    with pytest.raises(ParameterError, match="did not write"):
        model.sample(5, out=out, overwrite=True)


def test_bad_calls_are_refused_in_one_line(model, holes, tmp_path):
    for call, says in [(lambda: model.sample(5, shard_rows=0, out=tmp_path / "z"), "shard_rows"),
                       (lambda: model.sample(5, shard_rows=10), "applies when writing to out="),
                       (lambda: model.log_prob(holes[1], out=holes[1] / "scores"), "inside the input"),
                       (lambda: model.impute(holes[1], mask=np.ones(3)), "mask= marks pixels")]:
        with pytest.raises(ParameterError, match=says) as caught:
            call()
        assert "\n" not in str(caught.value)


def test_an_image_model_refuses_out_in_one_line(tmp_path):
    from plausible.core.errors import NotSupportedError

    images = pl.make("independent").fit(np.random.default_rng(0).random((6, 4, 4)))
    with pytest.raises(NotSupportedError, match="draws images") as caught:
        images.sample(3, out=tmp_path / "pictures")
    assert "\n" not in str(caught.value) and not (tmp_path / "pictures").exists()


# ---------------------------------------------------------------------- log_prob
def test_scores_of_the_pieces_equal_the_in_memory_scores(model, table, tmp_path):
    folder = model.sample(230, seed=2, out=tmp_path / "rows", shard_rows=70)
    whole = rows(folder)
    expected = model.log_prob(whole)
    assert np.array_equal(model.log_prob(folder), expected)
    written = rows(model.log_prob(folder, out=tmp_path / "scores"))
    assert written.drop(columns="log_prob").equals(whole)
    assert np.array_equal(written["log_prob"].to_numpy(), expected)
    assert np.array_equal(log_prob_parts(model, table, piece_rows=50, progress=False), model.log_prob(table))


@needs_dask
def test_scores_on_the_workers_equal_the_in_memory_scores(model, client, tmp_path):
    folder = model.sample(230, seed=2, out=tmp_path / "rows", shard_rows=70)
    assert np.array_equal(model.log_prob(folder, engine=client), model.log_prob(rows(folder)))


# ---------------------------------------------------------------------- impute
def test_imputing_pieces_is_imputing_each_piece_with_its_seed(model, holes, tmp_path):
    gappy, folder = holes
    draws = model.impute(folder, n_draws=2, seed=5)
    parts = Partitions(folder)
    starts = np.cumsum([0, *parts.rows])
    for i in range(len(parts)):
        alone = model.impute(parts.read(i), n_draws=2, seed=piece_seed(5, i))
        for k in range(2):
            assert draws[k].iloc[starts[i]:starts[i + 1]].reset_index(drop=True).equals(alone[k])
    assert all(d.notna().all().all() for d in draws)
    observed = gappy.notna().to_numpy()
    assert np.array_equal(draws[0].to_numpy()[observed], gappy.to_numpy()[observed])
    # a table in one piece imputes exactly as in memory
    in_memory = model.impute(gappy, n_draws=2, seed=5)
    assert all(a.equals(b) for a, b in zip(impute_parts(model, gappy, n_draws=2, seed=5, piece_rows=10_000),
                                           in_memory))
    # out=: one long table per piece, row counting over the whole table
    long = rows(model.impute(folder, n_draws=2, seed=5, out=tmp_path / "filled"))
    assert list(long.columns) == ["draw", "row", "x", "y", "c"]
    for k in range(2):
        mine = long[long["draw"] == k].sort_values("row", kind="stable")
        assert mine["row"].tolist() == list(range(len(gappy)))
        assert mine.drop(columns=["draw", "row"]).reset_index(drop=True).equals(draws[k])


@needs_dask
def test_imputing_on_the_workers_equals_imputing_here(model, holes, client):
    here = model.impute(holes[1], n_draws=2, seed=5)
    there = model.impute(holes[1], n_draws=2, seed=5, engine=client)
    assert all(a.equals(b) for a, b in zip(here, there))


def test_piece_seeds_are_the_call_seed_then_distinct():
    seeds = [piece_seed(11, i) for i in range(50)]
    assert seeds[0] == 11 and len(set(seeds)) == 50 and min(seeds) >= 0
    assert piece_seed(12, 3) != piece_seed(11, 3)


# ---------------------------------------------------------------------- the CLI
def test_cli_samples_scores_and_imputes_parquet_folders(model, table, holes, tmp_path, capsys):
    table.to_csv(tmp_path / "t.csv", index=False)
    assert main(["fit", str(tmp_path / "t.csv"), "--model", "histogram", "--out", str(tmp_path / "m")]) == 0
    fitted = pl.load(tmp_path / "m")
    assert main(["sample", str(tmp_path / "m"), "--n", "250", "--shard-rows", "100", "--seed", "4",
                 "--out", f"{tmp_path / 'syn'}/"]) == 0
    synthetic = rows(tmp_path / "syn")
    assert Partitions(tmp_path / "syn").rows == [100, 100, 50]
    assert synthetic.iloc[:100].equals(fitted.sample(100, seed=4))
    assert main(["score", str(tmp_path / "m"), str(tmp_path / "syn"), "--out", f"{tmp_path / 'scores'}/"]) == 0
    assert np.array_equal(rows(tmp_path / "scores")["log_prob"].to_numpy(), fitted.log_prob(synthetic))
    assert main(["impute", str(tmp_path / "m"), str(holes[1]), "--draws", "2", "--seed", "5",
                 "--out", f"{tmp_path / 'filled'}/"]) == 0
    assert rows(tmp_path / "filled").equals(rows(fitted.impute(holes[1], n_draws=2, seed=5, out=tmp_path / "api")))
    capsys.readouterr()
    said = fails_in_one_line(["sample", str(tmp_path / "m"), "--n", "5", "--out", str(tmp_path / "syn")])
    assert "is not empty" in said and "--force" in said
    assert main(["sample", str(tmp_path / "m"), "--n", "5", "--out", str(tmp_path / "syn"), "--force"]) == 0
    assert Partitions(tmp_path / "syn").rows == [5]
    assert "give --out a folder" in fails_in_one_line(["score", str(tmp_path / "m"), str(tmp_path / "syn"),
                                                        "--out", str(tmp_path / "s.csv")])
    assert "add --engine dask" in fails_in_one_line(["sample", str(tmp_path / "m"), "--n", "5", "--workers", "2",
                                                     "--out", f"{tmp_path / 'w'}/"])
    assert "fitted model" in fails_in_one_line(["impute", str(holes[1]), "--out", f"{tmp_path / 'x'}/"])


@needs_dask
def test_cli_engine_gives_the_rows_of_one_process(tmp_path, table, capsys):
    table.to_csv(tmp_path / "t.csv", index=False)
    main(["fit", str(tmp_path / "t.csv"), "--model", "histogram", "--out", str(tmp_path / "m")])
    for folder, engine in (("here", []), ("there", ["--engine", "dask", "--workers", "2"])):
        assert main(["sample", str(tmp_path / "m"), "--n", "300", "--shard-rows", "70",
                     "--out", f"{tmp_path / folder}/", *engine]) == 0
    assert rows(tmp_path / "here").equals(rows(tmp_path / "there"))
    assert "Port" not in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("plausible.core.by_parts") is None,
                    reason="fitting from Parquet pieces (core/by_parts.py) has not landed yet")
def test_cli_fits_a_parquet_folder(tmp_path, table, capsys):
    for i in range(3):
        table.iloc[i * 100:(i + 1) * 100].to_parquet(tmp_path / f"part-{i}.parquet", index=False)
    folder = tmp_path
    assert main(["fit", str(folder), "--model", "gaussian", "--out", str(tmp_path.parent / f"{tmp_path.name}.m")]) == 0
    fitted = pl.load(tmp_path.parent / f"{tmp_path.name}.m")
    assert np.allclose(fitted.log_prob(table), pl.make("gaussian").fit(table).log_prob(table), atol=1e-8)
    assert "name the model" in fails_in_one_line(["fit", str(folder), "--out", str(tmp_path.parent / "auto.m")])
