"""The command line's surface: every command's --help, one-line errors, --set and --time-budget on
every command that fits a model, and the old spellings of renamed flags."""
import contextlib
import io
import subprocess
import sys

import pandas as pd
import pytest

from plausible.cli import main
from plausible.cli.parser import _parser
from plausible.data import io as table_io
from plausible.testing import mixed_table

COMMANDS = _parser()._subparsers._group_actions[0].choices


def fails_in_one_line(argv: list[str]) -> str:
    """Run `plausible ARGV` and expect a refusal: exit status 2 and exactly one line on stderr, no
    traceback. Returns that line."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            status = main(argv)
        except SystemExit as stop:         # argparse's own errors
            status = stop.code
    text = stderr.getvalue()
    assert status == 2, (argv, status, text)
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1, text
    return text.strip()


def stderr_of(argv: list[str]) -> str:
    """Run `plausible ARGV`, expect success, return what it printed on stderr."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(argv) == 0, stderr.getvalue()
    return stderr.getvalue()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_with_an_example_and_every_flag_documented(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    shown = capsys.readouterr().out
    assert stop.value.code == 0
    assert "example" in shown and f"  plausible {command}" in shown
    for action in COMMANDS[command]._actions:
        assert action.help, f"plausible {command}: {action.option_strings or action.dest} has no help text"
        for flag in action.option_strings:
            assert flag in shown, f"plausible {command} --help does not show {flag}"


def test_every_command_that_fits_a_model_takes_set_and_time_budget():
    for command in ("fit", "impute", "compare", "forecast", "backtest"):
        flags = {flag for action in COMMANDS[command]._actions for flag in action.option_strings}
        assert {"--set", "--time-budget"} <= flags, command


@pytest.mark.parametrize("argv, words", [
    (["sample", "m", "--n", "many", "--out", "s.csv"], "--n: invalid int value"),
    (["sample", "m", "--out", "s.csv"], "--n"),
    (["nonsense"], "invalid choice"),
    (["forecast", "nile", "--horizon", "3", "--out", "p.csv", "--spread", "wide"], "--spread"),
    (["fit", "fashion", "--model", "histogram", "--out", "m", "--time-budget", "0"], "--time-budget"),
    (["compare", "fashion", "--time-budget", "nan"], "positive number of seconds"),
])
def test_argparse_errors_are_one_line(argv, words):
    assert words in fails_in_one_line(argv)


@pytest.mark.parametrize("argv, words", [
    (["forecast", "nile", "--horizon", "3", "--model", "gaussian", "--set", "max_iter=0"], "'max_iter' must be >= 1"),
    (["forecast", "nile", "--horizon", "3", "--model", "gaussian", "--set", "nope=1"], "no parameter 'nope'"),
    (["forecast", "nile", "--horizon", "3", "--set", "max_iter=5"], "--set needs a named --model"),
    (["forecast", "nile", "--horizon", "3", "--model", "gaussian+statespace", "--set", "shrinkage=0.1"],
     "'statespace' has no parameter 'shrinkage'"),
    (["backtest", "nile", "--horizon", "3", "--model", "gaussian", "--set", "transform=cube"], "'transform'"),
    (["backtest", "nile", "--horizon", "3", "--model", "gaussian", "--set", "max_iter"], "KEY=VALUE"),
    (["compare", "fashion", "--models", "gmm", "--set", "gmm:max_components=0"], "'max_components' must be >= 1"),
    (["compare", "fashion", "--models", "gmm", "--set", "gmm:nope=1"], "no parameter 'nope'"),
    (["compare", "fashion", "--models", "independent", "--set", "gmm:max_components=2"], "not among the compared"),
    (["compare", "fashion", "--models", "independent", "--set", "max_components=2"], "no compared model has"),
    (["compare", "fashion", "--models", "gmm", "--set", "gmm:"], "[MODEL:]KEY=VALUE"),
])
def test_bad_hyperparameters_are_refused_in_one_line_before_any_work(argv, words, tmp_path):
    if argv[0] == "forecast":
        argv = [*argv, "--out", str(tmp_path / "paths.csv")]
    assert words in fails_in_one_line(argv)
    assert not list(tmp_path.iterdir())


def test_set_and_time_budget_reach_forecast_backtest_and_compare(monkeypatch, tmp_path):
    import plausible.evaluation.compare
    import plausible.tasks.backtest
    import plausible.tasks.forecast

    calls = {}

    def spy(name):
        def record(*args, **kwargs):
            calls[name] = kwargs
            raise ValueError("stop here")     # the CLI's one-line error: nothing is fitted
        return record

    monkeypatch.setattr(plausible.tasks.forecast, "forecast", spy("forecast"))
    monkeypatch.setattr(plausible.tasks.backtest, "backtest", spy("backtest"))
    monkeypatch.setattr(plausible.evaluation.compare, "compare", spy("compare"))
    fails_in_one_line(["forecast", "nile", "--horizon", "3", "--model", "gaussian", "--set", "shrinkage=0.5",
                       "--time-budget", "7", "--out", str(tmp_path / "p.csv")])
    assert calls["forecast"]["params"] == {"shrinkage": 0.5} and calls["forecast"]["time_budget"] == 7.0
    fails_in_one_line(["backtest", "nile", "--horizon", "3", "--model", "vae", "--set", "hidden=8",
                       "--time-budget", "2.5"])
    assert calls["backtest"]["params"] == {"hidden": 8} and calls["backtest"]["time_budget"] == 2.5
    fails_in_one_line(["compare", "fashion", "--models", "gmm,independent,copula", "--set", "gmm:max_components=2",
                       "--set", "alpha=0.5", "--set", "max_iter=7", "--time-budget", "9"])
    assert calls["compare"]["params"] == {"gmm": {"max_components": 2, "alpha": 0.5, "max_iter": 7},
                                          "independent": {"alpha": 0.5}, "copula": {"alpha": 0.5}}
    assert calls["compare"]["time_budget"] == 9.0 and calls["compare"]["models"] == ["gmm", "independent", "copula"]


def test_set_changes_the_forecast(tmp_path):
    def paths(*extra):
        out = tmp_path / "paths.csv"
        stderr_of(["forecast", "nile", "--horizon", "3", "--paths", "20", "--model", "gaussian", "--out", str(out),
                   *extra])
        return pd.read_csv(out)["value"].to_numpy()

    default, again, shrunk = paths(), paths(), paths("--set", "shrinkage=0.9")
    assert (default == again).all() and not (default == shrunk).all()


def test_time_budget_reaches_the_fitted_model(tmp_path):
    import plausible as pl

    table_io.write_table(mixed_table(40, seed=0)[["age", "spend"]], tmp_path / "data.csv")
    stderr_of(["fit", str(tmp_path / "data.csv"), "--model", "vae", "--set", "epochs=1", "--set", "hidden=4",
               "--time-budget", "30", "--out", str(tmp_path / "m")])
    assert pl.load(tmp_path / "m").get_params()["time_budget"] == 30.0
    stderr_of(["fit", str(tmp_path / "data.csv"), "--model", "independent", "--time-budget", "30",
               "--out", str(tmp_path / "m2")])       # a model without a training loop ignores it


def test_the_old_spellings_still_work_and_warn_once(tmp_path, capsys):
    data = mixed_table(60, seed=0)[["age", "spend", "group"]]
    data.loc[[1, 4], "spend"] = None
    table_io.write_table(data, tmp_path / "holes.csv")
    for flag in ("--spread", "--spread-out"):
        spread = tmp_path / f"spread{flag}.csv"
        said = stderr_of(["impute", str(tmp_path / "holes.csv"), "--model", "gaussian", "--draws", "2",
                          "--out", str(tmp_path / "done.csv"), flag, str(tmp_path / "ignored.csv"), flag, str(spread)])
        assert spread.exists() and not (tmp_path / "ignored.csv").exists()
        warned = [line for line in said.splitlines() if "deprecated" in line]
        assert warned == (["plausible impute: warning: --spread is deprecated: use --spread-out"]
                          if flag == "--spread" else []), said

    stderr_of(["fit", str(tmp_path / "holes.csv"), "--model", "independent", "--out", str(tmp_path / "m")])
    table_io.write_table(data.dropna(), tmp_path / "real.csv")
    capsys.readouterr()
    for flag in ("--model", "--model-dir"):
        said = stderr_of(["evaluate", "--real", str(tmp_path / "real.csv"), "--synthetic", str(tmp_path / "real.csv"),
                          flag, str(tmp_path / "m"), "--json"])
        assert "log_likelihood" in capsys.readouterr().out
        warned = [line for line in said.splitlines() if "deprecated" in line]
        assert warned == (["plausible evaluate: warning: --model is deprecated: use --model-dir"]
                          if flag == "--model" else []), said


@pytest.mark.parametrize("command, old, new", [("impute", "--spread", "--spread-out"),
                                               ("evaluate", "--model", "--model-dir")])
def test_help_names_the_new_spelling_of_a_deprecated_flag(command, old, new, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert f"{old} MODEL_DIR" in shown or f"{old} FILE" in shown
    assert f"(deprecated: use {new})" in shown


def test_python_m_plausible_cli_runs_the_command_as_torchrun_does():
    run = subprocess.run([sys.executable, "-m", "plausible.cli", "models"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and "histogram" in run.stdout, run.stderr[-2000:]


def test_models_lists_each_models_data_kind(capsys):
    import plausible as pl

    assert main(["models"]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    start = header.index("data")
    rungs = lines[:lines.index("")]                      # then the image versions, under their own heading
    shown = {line.split()[0]: line[start:].split()[0] for line in rungs}
    kinds = {name: "+".join(info["data_kinds"]) for name, info in pl.models().items()}
    assert shown == kinds and kinds["statespace"] == "series" and "table" in kinds.values()
    assert kinds["vae"] == "table+image" and kinds["dbn"] == "image"
    images = [line.split()[0] for line in lines[lines.index("") + 2:]]
    assert set(images) == {name for name, info in pl.models().items() if "image" in info}
