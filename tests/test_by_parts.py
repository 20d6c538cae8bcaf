"""fit from a partitioned table (core/by_parts.py, issue 28 part 2): the counting and Gaussian-family
rungs fitted from 8 Parquet pieces equal the rungs fitted in memory on the concatenated table (the
saved state's arrays to 1e-10, the same codec), in this process and on a 2-worker Dask cluster, and
from a Dask DataFrame; other rungs learn from a seeded uniform sample of rows; a bad piece is one
line naming its file."""
import numpy as np
import pandas as pd
import pytest

import plausible as pl
from plausible.core.by_parts import sample_index
from plausible.core.engine import available
from plausible.core.errors import ParameterError
from plausible.data.partitioned import write_part

needs_dask = pytest.mark.skipif(not available(), reason="the distributed extra (dask.distributed) is not "
                                "installed: pip install 'plausible[distributed]'")
EXACT = ("gaussian", "histogram", "independent", "bayesnet")
PIECES = 8


def mixed_table(n: int = 240, seed: int = 3) -> pd.DataFrame:
    """Numbers with gaps (one on the log scale, one with a point mass at 0), a category, an integer."""
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal([0, 1, 2], [[1, .8, .3], [.8, 1, .2], [.3, .2, 1]], n)
    frame = pd.DataFrame({"a": x[:, 0], "b": np.exp(x[:, 1]), "c": x[:, 2]})
    frame.loc[rng.random(n) < .2, "a"] = np.nan
    frame.loc[rng.random(n) < .1, "c"] = np.nan
    frame["colour"] = rng.choice(["red", "green", "blue"], n, p=[.5, .3, .2])
    frame["count"] = rng.integers(0, 40, n)
    frame["claim"] = np.where(rng.random(n) < .3, 0.0, rng.gamma(2.0, size=n).round(2))
    return frame


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """(directory of 8 Parquet pieces, the concatenated table as read back)."""
    frame = mixed_table()
    folder = tmp_path_factory.mktemp("parts")
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), PIECES)):
        write_part(frame.iloc[rows], folder, i)
    whole = pd.concat([pd.read_parquet(folder / f"part-{i:05d}.parquet") for i in range(PIECES)], ignore_index=True)
    return folder, whole


@pytest.fixture(scope="module")
def client():
    """One local cluster of 2 worker processes for the module."""
    if not available():
        pytest.skip("the distributed extra (dask.distributed) is not installed: pip install 'plausible[distributed]'")
    import logging

    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    with Client(cluster) as engine:
        yield engine
    cluster.close()


def same_fit(a, b, tolerance=1e-10):
    """The two fitted models save the same codec, settings and (to `tolerance`) arrays."""
    (state_a, arrays_a), (state_b, arrays_b) = a._get_state(), b._get_state()
    assert a.codec_.to_config() == b.codec_.to_config()
    assert a.n_training_rows_ == b.n_training_rows_
    assert sorted(arrays_a) == sorted(arrays_b)
    for key in arrays_a:
        assert arrays_a[key].shape == arrays_b[key].shape, key
        np.testing.assert_allclose(arrays_b[key].astype(float), arrays_a[key].astype(float), rtol=0, atol=tolerance,
                                   err_msg=key)
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        try:
            numbers = np.asarray(state_a[key], dtype=float), np.asarray(state_b[key], dtype=float)
        except (TypeError, ValueError):
            assert state_a[key] == state_b[key], key
            continue
        np.testing.assert_allclose(*numbers, rtol=0, atol=tolerance, err_msg=key)


@pytest.mark.parametrize("name", EXACT)
def test_exact_rungs_from_pieces_equal_the_fit_in_memory(table, name, tmp_path):
    folder, whole = table
    assert pl.make(name).merged_fit
    in_memory = pl.make(name).fit(whole)
    by_parts = pl.make(name).fit(folder)
    same_fit(in_memory, by_parts)
    by_parts.save(tmp_path / "model")
    same_fit(in_memory, pl.load(tmp_path / "model"))


def test_gaussian_from_pieces_chooses_the_same_shrinkage_and_log_scale(table):
    folder, whole = table
    in_memory, by_parts = pl.make("gaussian").fit(whole), pl.make("gaussian").fit(folder)
    assert in_memory.shrinkage_scores_            # the search ran (240 rows < 20 C^2): folds by global row
    assert by_parts.shrinkage_ == in_memory.shrinkage_ and by_parts.logged_.tolist() == in_memory.logged_.tolist()
    assert by_parts.logged_.any()


@pytest.fixture(scope="module")
def longer(tmp_path_factory):
    """A table long enough (600 rows >= 20 C^2) for gaussian to skip its shrinkage search, whose
    ~1,000 passes cost a round trip to the workers each (20 s on a cluster for 240 rows)."""
    frame = mixed_table(600, seed=5).drop(columns="count")
    folder = tmp_path_factory.mktemp("longer")
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), PIECES)):
        write_part(frame.iloc[rows], folder, i)
    return folder, pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))], ignore_index=True)


@needs_dask
@pytest.mark.parametrize("name", EXACT)
def test_exact_rungs_on_a_dask_cluster_equal_the_fit_in_memory(table, longer, client, name):
    folder, whole = longer if name == "gaussian" else table
    same_fit(pl.make(name).fit(whole), pl.make(name).fit(folder, engine=client))


@needs_dask
def test_a_dask_dataframe_is_fitted_piece_by_piece(table, client):
    import dask.dataframe as dd

    frame = dd.from_pandas(table[1], npartitions=4)
    whole = frame.compute().reset_index(drop=True)    # (Dask may hold the labels as strings: its own dtype)
    for make in (lambda: pl.make("gaussian", shrinkage=0.1), lambda: pl.make("histogram")):
        expected = make().fit(whole)
        same_fit(expected, make().fit(frame, engine=client))
        same_fit(expected, make().fit(frame))


def test_other_rungs_learn_from_a_seeded_sample_of_rows(table):
    folder, whole = table
    assert not getattr(pl.make("gmm"), "merged_fit", False) and not pl.make("student").merged_fit
    same_fit(pl.make("gmm").fit(whole), pl.make("gmm").fit(folder))       # the sample is every row here
    few = pl.make("copula", seed=4).fit(folder, sample_rows=100)
    index = sample_index(len(whole), 100, 4)
    assert len(index) == 100 and len(np.unique(index)) == 100 and np.array_equal(index, np.sort(index))
    assert np.array_equal(index, sample_index(len(whole), 100, 4))
    assert few.n_training_rows_ == len(whole)
    assert few.codec_.to_config() == pl.make("copula").fit(whole).codec_.to_config()   # codec from every row
    same_fit(few, pl.make("copula", seed=4).fit(folder, sample_rows=100))
    assert len(few.sample(5)) == 5


@needs_dask
def test_the_sample_of_rows_is_the_same_on_a_cluster(table, client):
    folder, _ = table
    same_fit(pl.make("copula", seed=4).fit(folder, sample_rows=100),
             pl.make("copula", seed=4).fit(folder, sample_rows=100, engine=client))


def test_a_bad_piece_is_one_line_naming_its_file(table, tmp_path):
    folder, whole = table
    for i in range(3):
        write_part(whole.iloc[i * 10:(i + 1) * 10], tmp_path / "odd", i)
    write_part(whole.iloc[30:40].drop(columns="claim"), tmp_path / "odd", 3)
    with pytest.raises(ParameterError) as caught:
        pl.make("independent").fit(tmp_path / "odd")
    assert "part-00003.parquet" in str(caught.value) and "\n" not in str(caught.value)
    broken = tmp_path / "broken"
    write_part(whole, broken, 0)
    (broken / "part-00001.parquet").write_text("not parquet")
    with pytest.raises(ParameterError) as caught:
        pl.make("gaussian").fit(broken)
    assert "part-00001.parquet" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ParameterError, match="sample_rows"):
        pl.make("gmm").fit(folder, sampled=3)


def test_pl_fit_takes_a_folder_with_a_named_model_and_refuses_auto_in_one_line(table):
    folder, whole = table
    same_fit(pl.make("independent").fit(whole), pl.fit(folder, model="independent"))
    with pytest.raises(ValueError, match="name the model") as caught:
        pl.fit(folder)
    assert "\n" not in str(caught.value)
