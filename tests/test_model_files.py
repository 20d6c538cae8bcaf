import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import plausible as pl
import plausible.testing
from plausible.testing import mixed_table


@pytest.fixture()
def saved(tmp_path):
    path = tmp_path / "m.plausible"
    pl.make("histogram", seed=3, bins=5).fit(mixed_table()).save(path)
    return path


def test_config_records_everything_needed(saved):
    config = json.loads((saved / "config.json").read_text())
    assert config["model"] == "histogram" and config["params"] == {"alpha": 1.0, "bins": 5}
    assert config["seed"] == 3 and config["format_version"] == 1 and config["library_version"] == pl.__version__
    assert [c["name"] for c in config["schema"]["columns"]] == list(mixed_table().columns)


def test_newer_format_is_refused_with_advice(saved):
    config = json.loads((saved / "config.json").read_text())
    config["format_version"] = 99
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(pl.ModelFileError, match="upgrade plausible"):
        pl.load(saved)


def test_wrong_shapes_are_refused(saved):
    arrays = load_file(str(saved / "weights.safetensors"))
    arrays["counts"] = np.zeros(3, dtype=arrays["counts"].dtype)
    save_file(arrays, str(saved / "weights.safetensors"))
    with pytest.raises(pl.ModelFileError, match="does not match the checksum"):
        pl.load(saved)
    _edit(saved, lambda c: c.pop("weights_sha256"))     # as a folder saved before the checksum
    with pytest.raises(pl.ModelFileError, match="'counts' has shape"):
        pl.load(saved)


def test_missing_or_damaged_files(saved, tmp_path):
    (saved / "config.json").write_text("{not json")
    with pytest.raises(pl.ModelFileError, match="not valid JSON"):
        pl.load(saved)
    with pytest.raises(pl.ModelFileError, match="not a model folder"):
        pl.load(tmp_path / "nothing-here")


class _Thing:   # a class, so that unpickling it looks it up (the "pickle.find_class" audit event)
    pass


def test_pickle_blocked_refuses_every_way_to_unpickle(tmp_path):
    """The guard check_save_load loads every model under (tests/test_conformance.py runs it over
    every registered model): each route to pickle raises inside it, and works again after it."""
    import _pickle
    import io
    import pickle

    import torch

    data = pickle.dumps(_Thing())
    np.save(tmp_path / "objects.npy", np.array([_Thing()], dtype=object), allow_pickle=True)
    torch.save({"w": torch.zeros(2)}, tmp_path / "weights.pt")
    routes = {
        "pickle.loads": lambda: pickle.loads(data),
        "pickle.load": lambda: pickle.load(io.BytesIO(data)),
        "pickle.Unpickler": lambda: pickle.Unpickler(io.BytesIO(data)).load(),
        "_pickle.loads (C, found by the audit hook)": lambda: _pickle.loads(data),
        "numpy.load": lambda: np.load(tmp_path / "objects.npy", allow_pickle=True),
        "torch.load": lambda: torch.load(tmp_path / "weights.pt"),
    }
    for what, route in routes.items():
        with pl.testing.pickle_blocked(), pytest.raises(pl.testing.PickleUsed):
            route()
            pytest.fail(f"{what} unpickled inside pickle_blocked()")
        route()   # works again outside the block


def test_a_loader_that_unpickles_fails_the_save_load_check(monkeypatch):
    import pickle

    from plausible.core import registry

    read_folder = registry.read_folder
    def read_with_a_pickle(path):
        pickle.loads(pickle.dumps(_Thing()))
        return read_folder(path)

    monkeypatch.setattr(registry, "read_folder", read_with_a_pickle)
    with pytest.raises(pl.testing.PickleUsed):
        pl.testing.check_model("independent", ["save_load"])


def test_a_model_folder_with_anything_but_config_and_safetensors_fails_the_save_load_check(monkeypatch):
    from plausible.core import model

    write_folder = model.write_folder

    def write_with_a_pickle(path, config, arrays):
        written = write_folder(path, config, arrays)
        (written / "extra.pkl").write_bytes(b"")
        return written

    monkeypatch.setattr(model, "write_folder", write_with_a_pickle)
    with pytest.raises(AssertionError, match="config.json and safetensors files only"):
        pl.testing.check_model("independent", ["save_load"])


def test_saving_over_something_else_is_refused(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    model = pl.make("independent").fit(mixed_table())
    with pytest.raises(pl.ModelFileError, match="not a plausible model folder"):
        model.save(tmp_path / "notes")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"


def _edit(path, change):
    config = json.loads((path / "config.json").read_text())
    change(config)
    (path / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("change, message", [
    (lambda c: c.pop("model"), "names model None"),
    (lambda c: c.update(model="bayesnet"), "does not fit a 'bayesnet' model"),
    (lambda c: c.pop("schema"), "does not describe"),
    (lambda c: c.update(layout={}), "does not describe"),
    (lambda c: c.update(format_version="1"), "not a whole number"),
    (lambda c: c["schema"]["columns"].pop(), "columns .* differ"),
    (lambda c: c["schema"]["columns"][0].update(categories=["north"]), "categories and the layout's labels differ"),
    (lambda c: c["schema"]["columns"][2].update(kind="categorical", categories=[]), "does not describe"),
    (lambda c: c["schema"]["columns"][0].update(kind="numeric", categories=None), "holds labels"),
    # damage that loaded and then failed at the first sample with a numpy error
    (lambda c: c["schema"]["columns"][2].update(minimum="zero"), "field 'minimum' has the invalid value 'zero'"),
    (lambda c: c["schema"]["columns"][2].update(minimum=5.0, maximum=1.0), "range 5.0..1.0 is invalid"),
    (lambda c: c["schema"]["columns"][1].update(decimals=-1), "field 'decimals'"),
    (lambda c: c.update(input="array"), "says input 'array'"),
    (lambda c: c.update(n_training_rows="x"), "n_training_rows 'x'"),
])
def test_a_config_edited_by_hand_is_a_model_file_error(saved, change, message):
    _edit(saved, change)
    with pytest.raises(pl.ModelFileError, match=message):
        pl.load(saved)


def test_a_config_that_is_not_an_object_is_refused(saved):
    (saved / "config.json").write_text("[1, 2]")
    with pytest.raises(pl.ModelFileError, match="not a plausible model folder"):
        pl.load(saved)


def test_the_weights_checksum_catches_flipped_bytes_and_old_folders_still_load(saved):
    config = json.loads((saved / "config.json").read_text())
    weights = saved / "weights.safetensors"
    assert len(config["weights_sha256"]) == 64
    original = weights.read_bytes()
    flipped = bytearray(original)
    flipped[-1] ^= 0xFF                      # a value in the last array: still a readable safetensors file
    weights.write_bytes(bytes(flipped))
    with pytest.raises(pl.ModelFileError, match="does not match the checksum recorded when it was saved; the file "
                                                "is damaged or was edited"):
        pl.load(saved)
    weights.write_bytes(original)
    _edit(saved, lambda c: c.pop("weights_sha256"))   # a folder saved before the checksum was recorded
    assert len(pl.load(saved).sample(3)) == 3


def test_saving_over_a_model_needs_overwrite(saved, tmp_path):
    model = pl.make("independent").fit(mixed_table())
    with pytest.raises(pl.ModelFileError, match="already holds a model: give overwrite=True"):
        model.save(saved)
    assert pl.load(saved).name == "histogram"
    model.save(saved, overwrite=True)
    assert pl.load(saved).name == "independent"
    (tmp_path / "empty").mkdir()
    model.save(tmp_path / "empty")           # an empty folder is no model to lose


def test_a_table_too_short_to_learn_from_is_refused_naming_the_minimum():
    table = mixed_table(30)
    with pytest.raises(pl.SchemaError, match="the table has 1 row: model 'copula' needs at least 2 rows"):
        pl.make("copula").fit(table.head(1))
    with pytest.warns(UserWarning, match="only 4 rows: a model learns little from fewer than 10"):
        pl.make("copula").fit(table.head(4))
