"""Tables as people have them: the CSV's separator, decimal comma and encoding found from the file
(or given), text that is not a table refused, outputs that would overwrite an input refused."""
import warnings

import numpy as np
import pandas as pd
import pytest
from test_cli_surface import fails_in_one_line

from plausible.cli import main
from plausible.data.io import csv_dialect, read_table


def quiet_read(path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_table(path, **options)


def test_semicolons_and_decimal_commas_are_found(tmp_path):
    """A European export: ';' between fields, ',' before the decimals. It was one text column."""
    path = tmp_path / "eu.csv"
    path.write_text("height;weight;city\n1,71;59,9;Köln\n1,69;82;Bonn\n-0,5;1e3;Bonn\n")
    frame = quiet_read(path)
    assert list(frame.columns) == ["height", "weight", "city"]
    assert frame["height"].tolist() == [1.71, 1.69, -0.5] and frame["weight"].tolist() == [59.9, 82.0, 1000.0]
    assert frame["city"].tolist() == ["Köln", "Bonn", "Bonn"]


@pytest.mark.parametrize("text, sep, decimal", [
    ("a,b\n1.5,x\n2,y\n", ",", "."),
    ("a\tb\n1,5\tx\n2\ty\n", "\t", ","),
    ("a|b\n1.5|x\n2|y\n", "|", "."),
    ("a;b\n1.5;x\n2;y\n", ";", "."),          # semicolons with decimal points
    ("a;b\n7;x\n2;y\n", ";", "."),            # no decimals at all
    ("value\n3,14\n2,5\n", "\x1f", ","),       # one column of decimal commas
    ("name\nSmith, John\nDoe, Jane\n", "\x1f", "."),   # one column whose cells hold commas
])
def test_the_dialect_is_found_from_the_file(tmp_path, text, sep, decimal):
    path = tmp_path / "t.csv"
    path.write_text(text)
    dialect = csv_dialect(path)
    assert (dialect.sep, dialect.decimal) == (sep, decimal)
    assert len(quiet_read(path)) == 2


def test_one_column_keeps_its_cells_whole(tmp_path):
    (tmp_path / "names.csv").write_text("name\nSmith, John\nDoe, Jane\n")
    assert quiet_read(tmp_path / "names.csv")["name"].tolist() == ["Smith, John", "Doe, Jane"]
    (tmp_path / "bare.csv").write_text("3,5\n2,25\n4\n")   # a bare list with decimal commas, the first included
    assert quiet_read(tmp_path / "bare.csv", decimal=",")["value"].tolist() == [3.5, 2.25, 4.0]


def test_sep_decimal_and_encoding_can_be_given(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("a:b\n1,5:caf\xe9\n2:th\xe9\n".encode("latin-1"))
    frame = quiet_read(path, sep=":", decimal=",", encoding="latin-1")
    assert frame["a"].tolist() == [1.5, 2.0] and frame["b"].tolist() == ["café", "thé"]
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        read_table(path, encoding="klingon")
    with pytest.raises(ValueError, match="cannot both be ','"):
        read_table(path, sep=",", decimal=",")
    with pytest.raises(ValueError, match="--decimal must be"):
        read_table(path, decimal=":")


def test_a_file_that_is_not_utf8_is_read_as_cp1252_with_a_warning_naming_it(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("city,n\nK\xf6ln,1\nM\xfcnchen,2\n".encode("latin-1"))
    with pytest.warns(UserWarning, match=r"latin.csv is not UTF-8 \(byte 0xf6 at offset 8\): read as cp1252"):
        frame = read_table(path)
    assert frame["city"].tolist() == ["Köln", "München"]
    path.write_bytes(b"city,n\nA\x81,1\n")               # 0x81: no letter in cp1252
    with pytest.warns(UserWarning, match="read as latin-1"):
        assert read_table(path)["city"].tolist() == ["A\x81"]
    path.write_text("a,b\n1,2\n", encoding="utf-16")      # UTF-16 by its byte-order mark
    assert quiet_read(path)["b"].tolist() == [2]


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"\n  \n", "is empty"),
    (bytes(range(256)) * 4, "is not a text file"),
    ((b"It was the best of times and it was the worst of times\nit was the age of wisdom and the age of "
      b"foolishness\nit was the epoch of belief and the epoch of incredulity\n"), "does not look like a table"),
    ((b"Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse,\n"
      b"and nothing particular to interest me on shore, I thought I would sail about a little and see\n"
      b"the watery part of the world. It is a way I have of driving off the spleen, and regulating the\n"
      b"circulation. Whenever I find myself growing grim about the mouth; whenever it is a damp, drizzly\n"
      b"November in my soul; whenever I find myself involuntarily pausing before coffin warehouses, and\n"),
     "does not look like a table"),
    (b"a,b\n1,2\n3,4,5\n", "line 3 has 3 fields but the header has 2"),
    (b"a,b\n1," + b"x" * 200_000 + b"\n", "holds a cell of 200,000 characters"),
])
def test_what_is_not_a_table_is_refused_naming_the_file(tmp_path, content, message):
    path = tmp_path / "page.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        read_table(path)
    assert "page.csv" in str(error.value) and "\n" not in str(error.value)


def test_leading_zero_codes_warn_once_without_an_empty_text(tmp_path):
    """The marker warning printed "holds numbers and the text , so ... if  marks a missing cell"."""
    path = tmp_path / "zip.csv"
    path.write_text("zip,n\n02134,1\n10001,2\n02139,3\n90210,4\n00501,5\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_table(path)
    assert frame["zip"].tolist()[0] == "02134"
    expected = (f"{path}: column 'zip' holds whole numbers written with leading zeros (e.g. '02134'): read as text "
                "(codes), so the zeros stay")
    assert [str(w.message) for w in caught] == [expected]


def test_commands_take_the_csv_flags_and_a_semicolon_file_fits(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = [f"{x:.3f};{y:.3f}".replace(".", ",") for x, y in rng.standard_normal((40, 2))]
    (tmp_path / "eu.csv").write_text("x;y\n" + "\n".join(rows) + "\n")
    assert main(["fit", str(tmp_path / "eu.csv"), "--model", "gaussian", "--out", str(tmp_path / "m")]) == 0
    assert main(["score", str(tmp_path / "m"), str(tmp_path / "eu.csv"), "--out", str(tmp_path / "s.csv"),
                 "--sep", "semicolon", "--decimal", ","]) == 0
    assert np.isfinite(pd.read_csv(tmp_path / "s.csv")["log_prob"]).all()
    assert "--sep: must be one character" in fails_in_one_line(
        ["fit", str(tmp_path / "eu.csv"), "--model", "gaussian", "--out", str(tmp_path / "n"), "--sep", "ab"])


def test_an_output_that_is_an_input_is_refused_before_any_work(tmp_path, capsys):
    from plausible.testing import mixed_table

    data = tmp_path / "data.csv"
    mixed_table(40).to_csv(data, index=False)
    before = data.read_bytes()
    assert main(["fit", str(data), "--model", "independent", "--out", str(tmp_path / "m")]) == 0
    (tmp_path / "link.csv").symlink_to(data)
    for argv in (["impute", str(data), "--out", str(data)],
                 ["impute", str(data), "--out", str(tmp_path / "link.csv")],
                 ["impute", str(tmp_path / "m"), str(data), "--out", str(tmp_path / "a.csv"),
                  "--spread-out", str(tmp_path / "a.csv")],
                 ["score", str(tmp_path / "m"), str(data), "--out", str(tmp_path / ".." / tmp_path.name / "data.csv")],
                 ["compare", str(data), "--models", "independent", "--report", str(data)],
                 ["fit", str(data), "--model", "independent", "--out", str(tmp_path), "--force"]):
        assert "choose another" in fails_in_one_line(argv) or "the same file" in fails_in_one_line(argv), argv
    assert data.read_bytes() == before


def test_a_number_column_with_blank_cells_says_so_in_words(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("a,b\n" + "\n".join(f"{i},{' ' if i % 5 == 0 else i}" for i in range(40)) + "\n")
    with pytest.warns(UserWarning, match="column 'b' holds numbers and cells of spaces only, so it is read as text"):
        read_table(path)
