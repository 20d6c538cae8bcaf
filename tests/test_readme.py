"""The README's Python example runs as written (issue 24: `df_with_gaps` was not defined)."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_python_example_runs_as_written(tmp_path, monkeypatch):
    block = re.search(r"## Use it from Python\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    names: dict = {}
    exec(compile(block, "README.md", "exec"), names)
    assert len(names["completions"]) == 5 and not names["completions"][0].isna().any().any()
    assert (tmp_path / "model.plausible" / "config.json").is_file()
