"""Images in and out (data/image_files.py): PNG folders, .npy and .npz round trips, one-line errors
that name the file, atomic folder writes, and the grid picture."""
import numpy as np
import pytest
from PIL import Image

from plausible.data import image_files
from plausible.data.image_files import ImageFileError, image_grid, read_images, write_images

RNG = np.random.default_rng(0)
GREY = RNG.integers(0, 256, (5, 6, 4), dtype=np.uint8)
COLOUR = RNG.integers(0, 256, (3, 6, 4, 3), dtype=np.uint8)


@pytest.mark.parametrize("images", [GREY, COLOUR, COLOUR[..., :1], np.concatenate([COLOUR, COLOUR[..., :1]], axis=3)],
                         ids=["grey", "rgb", "one channel", "rgba"])
def test_a_png_folder_gives_back_the_uint8_images(tmp_path, images):
    write_images(images, tmp_path / "out")
    back, names = read_images(tmp_path / "out")          # grid.png, a different size, is skipped
    expected = images[..., 0] if images.ndim == 4 and images.shape[3] == 1 else images
    assert back.dtype == np.uint8 and np.array_equal(back, expected)
    assert names == [f"{i:06d}.png" for i in range(len(images))]


@pytest.mark.parametrize("name", ["x.npy", "x.npz"])
@pytest.mark.parametrize("images", [GREY, COLOUR, np.where(GREY > 128, np.nan, GREY / 255)])
def test_arrays_come_back_as_stored(tmp_path, name, images):
    write_images(images, tmp_path / name)
    back, names = read_images(tmp_path / name)
    assert names is None and back.dtype == images.dtype and np.array_equal(back, images, equal_nan=True)


def test_levels_floats_and_holes_are_drawn_on_0_to_255(tmp_path):
    digits = np.array([[[0, 8, 16]]], dtype=np.uint8)
    write_images(digits, tmp_path / "d", levels=17, names=["seven.jpg"], grid=False)
    assert read_images(tmp_path / "d")[0].tolist() == [[[0, 128, 255]]]
    assert image_grid(np.array([[[0.0, 0.5, 1.0]]]))[1, 1:4].tolist() == [0, 128, 255]
    holes = np.array([[[np.nan, 1.0]]])
    write_images(holes, tmp_path / "h")
    back, _ = read_images(tmp_path / "h")
    assert back.shape == (1, 1, 2, 3) and back[0, 0].tolist() == [[255, 0, 255], [255, 255, 255]]


def test_a_folder_is_read_in_name_order_skipping_dotfiles_and_the_grid(tmp_path):
    for name, value in [("b.png", 2), ("a.png", 1), ("c.bmp", 3)]:
        Image.fromarray(np.full((2, 3), value, np.uint8)).save(tmp_path / name)
    (tmp_path / ".DS_Store").write_bytes(b"\0junk")
    Image.fromarray(np.zeros((9, 9), np.uint8)).save(tmp_path / "grid.png")
    images, names = read_images(tmp_path)
    assert names == ["a.png", "b.png", "c.bmp"] and images[:, 0, 0].tolist() == [1, 2, 3]


def test_the_grid_is_near_square_with_borders():
    assert image_grid(GREY).shape == (2 * 7 + 1, 3 * 5 + 1)                  # 5 images: 3 columns, 2 rows
    assert image_grid(COLOUR, columns=1, scale=2).shape == (3 * 14 + 2, 1 * 10 + 2, 3)
    grid = image_grid(GREY)
    assert (grid[0] == image_files.BORDER_GREY).all() and np.array_equal(grid[1:7, 1:5], GREY[0])


def _folder(tmp_path, files: dict):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, content in files.items():
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            Image.fromarray(content).save(folder / name)
    return folder


def _array_file(tmp_path, name, **arrays):
    path = tmp_path / name
    np.savez(path, **arrays) if name.endswith(".npz") else np.save(path, arrays["a"])
    return path


GREY_3x2, GREY_4x2 = np.zeros((2, 3), np.uint8), np.zeros((2, 4), np.uint8)
READ_ERRORS = {   # what is wrong: (how to make it, the file the message names, a phrase of it)
    "missing path": (lambda t: t / "nope", "nope", "no such file"),
    "empty folder": (lambda t: _folder(t, {".hidden": b"x"}), "in", "no images"),
    "mixed sizes": (lambda t: _folder(t, {"a.png": GREY_3x2, "b.png": GREY_4x2}), "a.png", "4x2"),
    "mixed modes": (lambda t: _folder(t, {"a.png": GREY_3x2, "b.png": np.zeros((2, 3, 3), np.uint8)}), "b.png", "RGB"),
    "non-image file": (lambda t: _folder(t, {"a.png": GREY_3x2, "README": b"hi"}), "README", "not an image"),
    "corrupt png": (lambda t: _folder(t, {"a.png": b"\x89PNG\r\n\x1a\nbroken"}), "a.png", "cannot read"),
    "16-bit png": (lambda t: _folder(t, {"a.png": np.zeros((2, 3), np.uint16)}), "a.png", "8 bits"),
    "other suffix": (lambda t: (t / "x.csv").write_text("a\n1\n") and t / "x.csv", "x.csv", ".npy"),
    "damaged npz": (lambda t: (t / "x.npz").write_bytes(b"PK junk") and t / "x.npz", "x.npz", "not NumPy"),
    "npz keys": (lambda t: _array_file(t, "x.npz", a=GREY, b=GREY), "x.npz", "(a, b)"),
    "2-D array": (lambda t: _array_file(t, "x.npy", a=GREY[0]), "x.npy", "shape (6, 4)"),
    "channels first": (lambda t: _array_file(t, "x.npy", a=np.zeros((2, 3, 5, 5))), "x.npy", "transpose"),
    "negative levels": (lambda t: _array_file(t, "x.npy", a=-np.ones((1, 2, 2), int)), "x.npy", "found -1"),
    "float above 1": (lambda t: _array_file(t, "x.npy", a=np.full((1, 2, 2), 255.0)), "x.npy", "divide by 255"),
    "text array": (lambda t: _array_file(t, "x.npy", a=np.full((1, 2, 2), "a")), "x.npy", "<U1"),
}


@pytest.mark.parametrize("case", READ_ERRORS)
def test_read_errors_are_one_line_naming_the_file(tmp_path, case):
    make, named, phrase = READ_ERRORS[case]
    with pytest.raises(ImageFileError) as error:
        read_images(make(tmp_path))
    text = str(error.value)
    assert "\n" not in text and named in text and phrase in text, text


WRITE_ERRORS = {
    "non-empty folder": (lambda t: (t / "out").mkdir() or (t / "out" / "x").write_text("keep"), {}, "overwrite=True"),
    "a png path": (lambda t: None, {"path": "out.png"}, "folder name"),
    "names count": (lambda t: None, {"names": ["a"]}, "1 names for 5"),
    "names repeat": (lambda t: None, {"names": ["a.png", "a.jpg", "b", "c", "d"]}, "a.png"),
    "names grid": (lambda t: None, {"names": ["grid", "a", "b", "c", "d"]}, "grid"),
    "levels too few": (lambda t: None, {"images": GREY.astype(int), "levels": 17}, "give levels=249"),
}


@pytest.mark.parametrize("case", WRITE_ERRORS)
def test_write_errors_are_one_line_naming_the_target(tmp_path, case):
    prepare, options, phrase = WRITE_ERRORS[case]
    prepare(tmp_path)
    options = {"images": GREY, "path": "out", **options}
    path = tmp_path / options.pop("path")
    with pytest.raises(ImageFileError) as error:
        write_images(options.pop("images"), path, **options)
    text = str(error.value)
    assert "\n" not in text and path.name in text and phrase in text, text
    if case != "non-empty folder":
        assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_nothing_and_keeps_the_old_folder(tmp_path, monkeypatch):
    calls = []

    def fail_on_third(image, target):
        calls.append(target)
        if len(calls) == 3:
            raise OSError("disk full")
        Image.fromarray(image).save(target, format="PNG")

    monkeypatch.setattr(image_files, "_save_png", fail_on_third)
    with pytest.raises(OSError):
        write_images(GREY, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    write_images(GREY[:1], tmp_path / "old", grid=False)
    calls.clear()
    with pytest.raises(OSError):
        write_images(GREY, tmp_path / "old", overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["old"] and [p.name for p in (tmp_path / "old").iterdir()] == [
        "000000.png"]
    monkeypatch.undo()
    write_images(GREY, tmp_path / "old", overwrite=True)       # replaced whole, nothing left beside it
    assert len(read_images(tmp_path / "old")[1]) == 5 and [p.name for p in tmp_path.iterdir()] == ["old"]
