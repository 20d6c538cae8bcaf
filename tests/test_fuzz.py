"""Fuzz: malformed files, tables and model folders given to the command line.

Every case runs `plausible ...` in-process and must be refused the same way: a non-zero exit,
exactly one line on stderr, no traceback anywhere, and nothing written at the output path (nor a
temporary file left beside it). Two files that look odd but are tables (a ';'-separated file with
decimal commas, a Latin-1 file) must be read.
"""
import contextlib
import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from plausible.cli import main

N = 30


def _table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"x": rng.standard_normal(N).round(3), "g": rng.choice(["a", "b", "c"], N)})
    table.loc[0, "g"] = None          # a gap, so that impute has work to do
    return table


def _with(change) -> str:
    table = _table()
    change(table)
    return table.to_csv(index=False)


def _mixed(table):
    table["x"] = table["x"].astype(object)
    table.loc[:3, "x"] = ["one", "two", "three", "four"]


PROSE = ("It was the best of times, it was the worst of times, it was the age of wisdom,\n"
         "it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity,\n"
         "it was the season of Light, it was the season of Darkness, it was the spring of hope,\n"
         "it was the winter of despair, we had everything before us, we had nothing before us,\n"
         "we were all going direct to Heaven, we were all going direct the other way -- in short,\n"
         "the period was so far like the present period, that some of its noisiest authorities insisted\n"
         "on its being received, for good or for evil, in the superlative degree of comparison only.\n")

# name -> (file name, content (bytes, text, or None for a folder), extra flags)
FILES = {
    "empty file": ("t.csv", b"", []),
    "blank lines": ("t.csv", b"\n \n\t\n", []),
    "header only": ("t.csv", "x,g\n", []),
    "binary garbage": ("t.csv", np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes(), []),
    "a PNG named .csv": ("t.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), []),
    "prose": ("t.csv", PROSE, []),
    "one column of sentences": ("t.csv", "The quick brown fox jumps over the lazy dog\n" * 5, []),
    "ragged rows": ("t.csv", "x,g\n1,a\n2,b,c,d\n3,c\n", []),
    "duplicated header": ("t.csv", "x,x,g\n1,2,a\n3,4,b\n", []),
    "a huge single cell": ("t.csv", "x,g\n1," + "y" * 300_000 + "\n2,b\n", []),
    "one huge line": ("t.csv", "z" * 300_000, []),
    "unknown extension": ("t.txt", _table().to_csv(index=False), []),
    "no extension": ("t", _table().to_csv(index=False), []),
    "a folder where a file is expected": ("t.csv", None, []),
    "a file that does not exist": ("missing.csv", "absent", []),
    "text named .parquet": ("t.parquet", _table().to_csv(index=False), []),
    "wrong --encoding": ("t.csv", _table().to_csv(index=False), ["--encoding", "utf-16"]),
    "unknown --encoding": ("t.csv", _table().to_csv(index=False), ["--encoding", "martian"]),
    "--sep of two characters": ("t.csv", _table().to_csv(index=False), ["--sep", ";;"]),
    "--sep and --decimal both ','": ("t.csv", _table().to_csv(index=False), ["--sep", ",", "--decimal", ","]),
    # malformed tables
    "an all-missing column": ("t.csv", _with(lambda t: t.insert(1, "empty", np.nan)), []),
    "one row": ("t.csv", _table().head(1).to_csv(index=False), []),
    "infinite values": ("t.csv", _with(lambda t: t.loc.__setitem__((3, "x"), np.inf)), []),
    "mixed types declared numeric": ("t.csv", _with(_mixed), ["--schema", "x=numeric"]),
}

FOLDERS = [
    "missing config.json", "missing weights", "garbage JSON", "JSON that is a list", "wrong weights",
    "flipped bytes in weights", "truncated weights", "a config naming an unknown model",
    "a config from another model", "an edited format version", "a folder that does not exist",
    "a file where a folder is expected",
]


def _run(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main(argv)
        except SystemExit as stop:          # argparse's own refusals
            status = stop.code
    return status, stdout.getvalue(), stderr.getvalue()


def _refused(argv: list[str], out) -> str:
    folder = out.parent
    before = set(folder.iterdir())
    status, stdout, stderr = _run(argv)
    assert status not in (0, None), (argv, stdout, stderr)
    assert "Traceback" not in stdout + stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert not out.exists(), f"{out} was written"
    assert set(folder.iterdir()) == before, f"left behind: {set(folder.iterdir()) - before}"
    return stderr.strip()


def _write(folder, name, content):
    path = folder / name
    if content is None:
        path.mkdir()
    elif name == "missing.csv":
        pass
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A model folder of `independent` on the table, and the table as a CSV."""
    root = tmp_path_factory.mktemp("fitted")
    _table().to_csv(root / "data.csv", index=False)
    assert _run(["fit", str(root / "data.csv"), "--model", "independent", "--out", str(root / "m")])[0] == 0
    return root


@pytest.mark.parametrize("command", ["fit", "impute", "score", "forecast"])
@pytest.mark.parametrize("case", sorted(FILES))
def test_a_malformed_file_or_table_is_one_line_and_writes_nothing(case, command, fitted, tmp_path):
    name, content, flags = FILES[case]
    data = _write(tmp_path, name, content)
    out = tmp_path / ("model.plausible" if command == "fit" else "out.csv")
    argv = {"fit": ["fit", str(data), "--model", "independent", "--out", str(out)],
            "impute": ["impute", str(data), "--model", "independent", "--out", str(out)],
            "score": ["score", str(fitted / "m"), str(data), "--out", str(out)],
            "forecast": ["forecast", str(data), "--horizon", "3", "--paths", "10", "--out", str(out)]}[command]
    if command in ("impute", "forecast") and "--schema" in flags:
        pytest.skip(f"{command} has no --schema (a column of numbers and words is read as text)")
    if command == "score" and "--schema" in flags:    # the fitted model's schema refuses the words
        flags = []
    if command == "score" and case in ("an all-missing column", "one row", "header only"):
        pytest.skip("a table to score may have one row or an extra column; scoring none is refused by fit/impute")
    message = _refused(argv + flags, out)
    assert message.startswith(f"plausible {command}: error:")


def _damage(folder, case: str, other) -> None:
    config_path, weights = folder / "config.json", folder / "weights.safetensors"
    config = json.loads(config_path.read_text())
    if case == "missing config.json":
        config_path.unlink()
    elif case == "missing weights":
        weights.unlink()
    elif case == "garbage JSON":
        config_path.write_text('{"format": "plausible-model", "model": ')
    elif case == "JSON that is a list":
        config_path.write_text("[1, 2, 3]")
    elif case == "wrong weights":
        shutil.copy(other / "weights.safetensors", weights)
    elif case == "flipped bytes in weights":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0x5A
        weights.write_bytes(bytes(data))
    elif case == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:40])
        config.pop("weights_sha256")                     # as a folder saved before the checksum
        config_path.write_text(json.dumps(config))
    elif case == "a config naming an unknown model":
        config_path.write_text(json.dumps({**config, "model": "telepathy"}))
    elif case == "a config from another model":
        shutil.copy(other / "config.json", config_path)
    elif case == "an edited format version":
        config_path.write_text(json.dumps({**config, "format_version": "one"}))
    elif case == "a folder that does not exist":
        shutil.rmtree(folder)
    elif case == "a file where a folder is expected":
        shutil.rmtree(folder)
        folder.write_text("not a folder")


@pytest.mark.parametrize("command", ["sample", "score", "impute"])
@pytest.mark.parametrize("case", FOLDERS)
def test_a_malformed_model_folder_is_one_line_and_writes_nothing(case, command, fitted, tmp_path):
    folder = tmp_path / "m.plausible"
    shutil.copytree(fitted / "m", folder)
    other = tmp_path / "other.plausible"
    assert _run(["fit", str(fitted / "data.csv"), "--model", "gaussian", "--out", str(other)])[0] == 0
    _damage(folder, case, other)
    out = tmp_path / "out.csv"
    data = str(fitted / "data.csv")
    argv = {"sample": ["sample", str(folder), "--n", "5", "--out", str(out)],
            "score": ["score", str(folder), data, "--out", str(out)],
            "impute": ["impute", str(folder), data, "--out", str(out)]}[command]
    message = _refused(argv, out)
    assert message.startswith(f"plausible {command}: error:")
    if case in ("wrong weights", "flipped bytes in weights"):
        assert "does not match the checksum recorded when it was saved" in message


def test_a_semicolon_file_with_decimal_commas_and_a_latin1_file_are_read(tmp_path):
    """Not malformed: what spreadsheets write in much of Europe. Read as a table, silently for the
    first; with one warning naming the file and the encoding used for the second."""
    table = _table()
    text = table.to_csv(index=False, sep=";", decimal=",")
    (tmp_path / "eu.csv").write_text(text)
    status, _, stderr = _run(["fit", str(tmp_path / "eu.csv"), "--model", "gaussian", "--out", str(tmp_path / "m")])
    assert status == 0 and stderr == ""
    status, _, stderr = _run(["sample", str(tmp_path / "m"), "--n", "50", "--out", str(tmp_path / "s.csv")])
    assert status == 0 and pd.api.types.is_float_dtype(pd.read_csv(tmp_path / "s.csv")["x"])

    table["g"] = table["g"].map({"a": "Köln", "b": "Zürich", "c": "Orléans"})
    (tmp_path / "latin.csv").write_bytes(table.to_csv(index=False).encode("latin-1"))
    status, _, stderr = _run(["impute", str(tmp_path / "latin.csv"), "--model", "independent", "--draws", "1",
                              "--out", str(tmp_path / "filled.csv")])
    assert status == 0 and len(stderr.strip().splitlines()) == 1, stderr
    assert "latin.csv is not UTF-8" in stderr and "read as cp1252" in stderr
    assert set(pd.read_csv(tmp_path / "filled.csv")["g"]) == {"Köln", "Zürich", "Orléans"}
