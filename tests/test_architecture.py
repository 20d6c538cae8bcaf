"""The house rules CONTRIBUTING.md states, checked on the source: no import cycles, one topic per
file (no file over about 600 lines), and no code outside a model's own file that asks for a model
by name (tasks ask for declared capabilities instead)."""
import ast
from pathlib import Path

import pytest

import plausible as pl

SOURCE = Path(pl.__file__).parent
MAX_LINES = 600


def _module(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _files() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every plausible module `path` imports, at the top or inside a function."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    known = {_module(p) for p in _files()}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target not in known:
                continue
            for alias in node.names:    # `from . import metrics` imports the module, not the package
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    found.discard(module)
    return found


def test_no_module_imports_itself_back_through_others():
    graph = {_module(p): _imports(p) for p in _files()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                cycles.append(" -> ".join(stack[stack.index(child):] + [child]))
            elif child not in state:
                visit(child, stack + [child])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(cycles)


# what each package may import (CONTRIBUTING.md's map); the root package (__version__) is open to all,
# and cli/, demo.py, testing.py and the two re-export modules may import anything
MAY_IMPORT = {
    "core": ("data",),
    "data": ("core.errors",),
    "datasets": ("core", "data"),
    "ladder": ("core", "data", "neural"),
    "neural": ("core", "data", "ladder._marginals"),
    "evaluation": ("core", "data", "datasets"),
    "tasks": ("core", "data", "datasets", "evaluation"),
    "experiments": ("core", "data", "datasets", "evaluation", "tasks"),
}


def test_each_package_imports_only_the_layers_below_it():
    wrong = []
    for path in _files():
        module = _module(path)
        package = module.split(".")[1] if "." in module else ""
        if package not in MAY_IMPORT:
            continue
        for target in _imports(path):
            inner = target.partition(".")[2]
            if not inner or inner.split(".")[0] == package:
                continue
            if not any(inner == allowed or inner.startswith(allowed + ".") for allowed in MAY_IMPORT[package]):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against CONTRIBUTING.md's map: " + "; ".join(wrong)


def test_every_source_file_holds_one_topic_in_at_most_about_600_lines():
    long = {str(p.relative_to(SOURCE)): n for p in _files() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines (split them by topic): {long}"


def test_no_model_is_asked_for_by_name_outside_its_own_file_and_the_registry():
    names = set(pl.models())
    found = []
    for path in _files():
        if path.parent.name == "ladder" and path.stem in names or path.name == "registry.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            for side in [node.left, *node.comparators]:
                values = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                for value in values:
                    if isinstance(value, ast.Constant) and value.value in names:
                        found.append(f"{path.relative_to(SOURCE)}:{node.lineno} compares with {value.value!r}")
    assert not found, "declare a capability instead of naming the model: " + "; ".join(found)


@pytest.mark.parametrize("name", ["BOOTSTRAP_MODELS"])
def test_no_task_keeps_a_list_of_model_names_for_a_behaviour(name):
    holders = [str(p.relative_to(SOURCE)) for p in _files() if f"{name} =" in p.read_text()]
    assert not holders, f"{name} in {holders}: declare the capability on the model instead"
