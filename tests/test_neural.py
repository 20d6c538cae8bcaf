"""The shared training loop: reproducible, early stopping, NaN guard, no global state, DDP."""
import dataclasses
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import plausible as pl
from plausible.core.registry import get_class
from plausible.data.layout import TableLayout
from plausible.data.schema import Schema
from plausible.neural import (
    TRAINING_SETTINGS,
    TableTensors,
    TrainConfig,
    TrainingError,
    mlp,
    rebuild,
    seeded,
    state_to_numpy,
    train,
)
from plausible.testing import mixed_table

sys.path.insert(0, str(Path(__file__).parent))
import ddp_worker  # noqa: E402


def test_same_seed_same_weights_and_global_state_untouched():
    before = torch.random.get_rng_state().clone()
    a, _ = ddp_worker.fit()
    b, _ = ddp_worker.fit()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert torch.equal(before, torch.random.get_rng_state())


def test_it_learns_and_keeps_the_best_epoch():
    net, history = ddp_worker.fit()
    losses = [h["validation_loss"] for h in history]
    assert losses[-1] < 0.2 * losses[0]
    data = ddp_worker.data()
    with torch.no_grad():
        final = float(ddp_worker.loss(net, data, None))
    assert final < 0.1


def test_early_stopping_stops():
    with seeded(0):
        net = mlp(4, 1, 8, 1)
        history = train(net, lambda m, b, g: (m(b[:, :4]) * 0).sum() + 1.0, ddp_worker.data(),
                        TrainConfig(epochs=100, patience=3), seed=0, device=torch.device("cpu"))
    assert len(history) == 4  # a flat loss: no improvement after the first epoch


def test_a_time_budget_spent_mid_epoch_ends_the_epoch_there(monkeypatch):
    """A 1M-row table's epoch takes a minute: time_budget=5 trained 39-71 s when the budget was only
    checked between epochs. Now a batch is not started once the budget is spent (the first always is).
    The clock is simulated (each training batch takes 0.01 s of it), so the count does not depend on
    how busy the machine is."""
    from plausible.neural import training

    calls = {"train": 0}
    now = {"seconds": 0.0}

    class Clock:
        @staticmethod
        def perf_counter():
            return now["seconds"]

    monkeypatch.setattr(training, "time", Clock)

    def loss(module, batch, generator):
        if module.training:
            calls["train"] += 1
            now["seconds"] += 0.01
        return ((module(batch[:, :4])[:, 0] - batch[:, 4]) ** 2).mean()

    data = ddp_worker.data()
    with seeded(0):
        net = mlp(4, 1, 8, 1)
        history = train(net, loss, data, TrainConfig(epochs=5, batch_size=4, time_budget=0.05), seed=0,
                        device=torch.device("cpu"))
    per_epoch = int(np.ceil(len(data) * 0.9 / 4))
    # 0.05 s of budget at 0.01 s a batch: the sixth batch finds the budget spent, in the first epoch
    assert len(history) == 1 and calls["train"] == 6 < per_epoch, (calls, per_epoch)


def test_validation_loss_in_chunks_is_the_mean_over_all_rows(monkeypatch):
    from plausible.neural import training as neural

    data = ddp_worker.data()
    with seeded(0):
        net = mlp(4, 1, 8, 1)
    loss = ddp_worker.loss
    whole = neural._validation_loss(net, loss, data, None)
    monkeypatch.setattr(neural, "VALIDATION_CHUNK", 7)
    assert neural._validation_loss(net, loss, data, None) == pytest.approx(whole, rel=1e-5)


@pytest.mark.parametrize("sync_batches", [1, 3, 1000])
def test_nan_guard_keeps_the_last_good_weights(sync_batches, monkeypatch):
    """The running loss is read back every SYNC_BATCHES batches (each read waits for a GPU); a NaN
    between two reads still stops training with the previous epoch's weights, not spoilt ones."""
    from plausible.neural import training as neural

    monkeypatch.setattr(neural, "SYNC_BATCHES", sync_batches)
    calls = {"n": 0}

    def loss(module, batch, generator):
        calls["n"] += 1
        value = ((module(batch[:, :4])[:, 0] - batch[:, 4]) ** 2).mean()
        return value * float("nan") if calls["n"] > 20 else value

    with seeded(0):
        net = mlp(4, 1, 8, 1)
        with pytest.raises(TrainingError, match="became nan at epoch .*last good weights"):
            train(net, loss, ddp_worker.data(), TrainConfig(epochs=50, batch_size=128), seed=0,
                  device=torch.device("cpu"))
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_table_tensors_roundtrip():
    data = mixed_table(500)
    schema = Schema.infer(data)
    layout = TableLayout.fit(data, schema)
    encoded = layout.encode(schema.check(data))
    tensors = TableTensors.fit(layout, encoded)
    x, known = tensors.encode(encoded)
    assert x.shape == (500, tensors.width) and known.min() == 1.0
    for block in tensors.blocks():  # one-hot blocks
        assert np.all(x[:, block].sum(axis=1) == 1.0)
    back = tensors.from_normal(tensors.to_normal(encoded.values))
    scale = np.nanstd(encoded.values, axis=0)
    assert np.nanmax(np.abs(back - encoded.values) / scale) < 1e-3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_on_gloo_matches_single_process(tmp_path):
    worker = Path(__file__).parent / "ddp_worker.py"
    for attempt in range(2):
        run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                              "--master_addr=127.0.0.1", f"--master_port={_free_port()}", str(worker), str(tmp_path)],
                             capture_output=True, text=True, timeout=300)
        # gloo's worker threads can abort a rank at interpreter exit, after its work and the group's
        # teardown (an upstream race, pytorch/pytorch#179291; seen once in ~20 runs on a loaded
        # 2-core machine): one more run then, anything else fails at once
        if run.returncode == 0 or "terminate called without an active exception" not in run.stderr:
            break
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    for key in ranks[0].files:  # both ranks end with identical weights
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key])
    _, single = ddp_worker.fit()
    distributed_loss = ranks[0]["validation"].min()
    single_loss = min(h["validation_loss"] for h in single)
    assert distributed_loss < 0.1 and abs(distributed_loss - single_loss) < 0.05


@pytest.mark.parametrize("name, params", [("copula", {}), ("flow", {"epochs": 3}),
                                          ("autoregressive", {"epochs": 3}), ("vae", {"epochs": 3})])
def test_a_value_a_little_outside_the_training_range_keeps_a_density(name, params):
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=300), "n": rng.integers(0, 200, 300)})
    model = pl.make(name, seed=0, **params).fit(train)
    beyond = pd.DataFrame({"x": [train["x"].max() + 0.3, train["x"].min() - 0.3], "n": [train["n"].max() + 3, train["n"].min() - 3]})
    inside = model.log_prob(train.head(50))
    outside = model.log_prob(beyond)
    assert np.isfinite(outside).all() and outside.max() < inside.min()   # possible, and unlikely
    sampled = model.sample(500, seed=0)
    assert sampled["x"].between(train["x"].min(), train["x"].max()).all()


def test_a_device_this_machine_lacks_is_a_clear_error(tmp_path, capsys):
    from plausible.cli import main
    from plausible.neural import select_device

    missing = "cuda:99" if torch.cuda.is_available() else "cuda"
    with pytest.raises(ValueError, match="CUDA"):
        select_device(missing)
    with pytest.raises(ValueError, match="device must be"):
        select_device("gpu")
    assert select_device("cpu").type == "cpu"
    assert main(["fit", "fashion", "--model", "vae", "--set", f"device={missing}", "--set", "epochs=1",
                 "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "plausible fit: error:" in err and "Traceback" not in err and "CUDA" in err


NEURAL = ["autoregressive", "diffusion", "flow", "gan", "rbm", "vae"]


def test_a_zero_time_budget_is_refused_like_compare_refuses_it():
    for name in NEURAL:
        with pytest.raises(pl.ParameterError, match="time_budget"):
            pl.make(name, time_budget=0)
        assert pl.make(name, time_budget=5).time_budget == 5.0


def test_the_neural_rungs_are_the_models_with_training_settings():
    """So that the checks below, over NEURAL, cover every model that trains a network."""
    with_settings = {name for name, entry in pl.models().items()      # image-only rungs (dbn): their own tests
                     if entry["data_kind"] != "image" and set(get_class(name).params) & set(TRAINING_SETTINGS)}
    assert with_settings == set(NEURAL)


@pytest.mark.parametrize("name", NEURAL)
@pytest.mark.parametrize("rate", [0, 0.0, -1e-3, -1])
def test_every_neural_rung_refuses_a_learning_rate_that_is_not_positive(name, rate):
    with pytest.raises(pl.ParameterError, match="'learning_rate' must be > 0"):
        pl.make(name, learning_rate=rate)
    model = pl.make(name)
    with pytest.raises(pl.ParameterError, match="learning_rate"):
        model.set_params(learning_rate=rate)
    assert model.learning_rate > 0 and pl.make(name, learning_rate=1e-6).learning_rate == 1e-6


def test_every_neural_rung_declares_the_training_settings_with_the_same_bounds():
    """Defaults and help may differ from rung to rung; types, bounds and choices may not. A setting
    is optional (None: the model chooses) exactly where its default is None."""
    def bounds(param):
        assert param.optional == (param.default is None), param
        return dataclasses.replace(param, default=None, help="", optional=False)

    reference = {key: bounds(get_class(NEURAL[0]).params[key]) for key in TRAINING_SETTINGS}
    assert reference["learning_rate"].low == 0.0 and reference["learning_rate"].low_exclusive
    for name in NEURAL[1:]:
        params = get_class(name).params
        assert set(TRAINING_SETTINGS) <= set(params), name
        for key in TRAINING_SETTINGS:
            assert bounds(params[key]) == reference[key], (name, key)


def test_rebuild_gives_back_the_saved_weights_in_eval_mode_and_leaves_the_global_state_alone():
    def build():
        return torch.nn.Sequential(mlp(3, 2, 8, 1, dropout=0.5))

    with seeded(1):
        trained = build()
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(1.0)           # unlike any freshly built network's weights
    arrays = state_to_numpy(trained)
    before = torch.random.get_rng_state().clone()
    again = rebuild(build, arrays)
    assert torch.equal(before, torch.random.get_rng_state())
    assert not again.training
    assert state_to_numpy(again).keys() == arrays.keys()
    for key, value in state_to_numpy(again).items():
        np.testing.assert_array_equal(value, arrays[key])
    x = torch.linspace(-1, 1, 12).reshape(4, 3)
    trained.eval()
    assert torch.equal(again(x), trained(x))
    with pytest.raises(ValueError, match="lacks"):
        rebuild(build, {k: v for k, v in arrays.items() if not k.endswith("bias")})


@pytest.mark.parametrize("name", NEURAL)
def test_every_neural_rung_keeps_its_network_as_net_and_saves_it_under_net_keys(name, tmp_path):
    data = mixed_table(120, seed=1)
    settings = {**get_class(name).test_params, "epochs": 1}
    model = pl.make(name, seed=0, **settings).fit(data)
    assert isinstance(model.net_, torch.nn.Module) and not model.net_.training
    networks = {key for key, value in vars(model).items() if isinstance(value, torch.nn.Module)}
    assert networks <= {"net_", "net64_"}, networks      # rbm's float64 copy is derived, not saved
    model.save(tmp_path / "m")
    again = pl.load(tmp_path / "m")
    for key, value in state_to_numpy(model.net_).items():
        np.testing.assert_array_equal(state_to_numpy(again.net_)[key], value)
