"""Import hygiene: start-up stays light, and every module imports on its own.

Each check runs in a fresh interpreter: in this one, other tests have imported everything.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import ragtui

PACKAGE = Path(ragtui.__file__).parent
HEAVY = ("torch", "lancedb", "llama_cpp", "redis", "fakeredis", "sentence_transformers", "onnxruntime")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def all_modules() -> list[str]:
    """Every module of the package but __main__ (importing it runs the app)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__main__.py":
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@pytest.mark.parametrize("module", ["ragtui.cli", "ragtui.tui.app"])
def test_start_up_loads_no_heavy_library(module):
    """The app paints before the store or the model is needed: those load in workers."""
    done = run_python(
        f"import sys, {module}\n"
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"importing {module} loaded {done.stdout.strip()}"


def test_every_module_imports_alone():
    """An import loop shows up as an ImportError when the loop is entered from the wrong side:
    import each module first thing in its own interpreter (one process runs them all, each
    after clearing what the previous one loaded from ragtui)."""
    modules = all_modules()
    assert "ragtui.tui.screens.help" in modules and "ragtui.sessions.api" in modules
    done = run_python(
        "import importlib, sys, traceback\n"
        f"for name in {modules!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'ragtui' or m.startswith('ragtui.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        print(f'{name}: {type(exc).__name__}: {exc}')\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "", done.stdout


def runtime_nodes(tree: ast.AST):
    """Every node that may run: all of them but `if TYPE_CHECKING:` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            yield from (n for child in node.orelse for n in [child, *runtime_nodes(child)])
            continue
        yield node
        yield from runtime_nodes(node)


def imports_of(module: str) -> set[str]:
    """The ragtui modules `module` imports anywhere in its text, inside functions too: an
    import moved into a function hides a loop from the interpreter, not from this."""
    known = set(all_modules())
    path = PACKAGE.parent.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            prefix = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:  # a submodule, or a name defined in the module `prefix`
                found.add(f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in known else prefix)
    return {name for name in found if name in known and name != module}


def test_no_import_loop_even_through_function_level_imports():
    graph = {module: imports_of(module) for module in all_modules()}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        raise AssertionError(f"import loop: {' -> '.join(exc.args[1])}") from None


LAYERS = {  # modules under the first prefix never import modules under the others
    "ragtui.rag.": ("ragtui.sessions", "ragtui.tui", "ragtui.cli", "ragtui.commands"),
    "ragtui.sessions.": ("ragtui.rag", "ragtui.tui", "ragtui.cli", "ragtui.commands"),
    "ragtui.tui.widgets.": ("ragtui.tui.screens", "ragtui.tui.app"),
}


def test_layers_point_one_way():
    """rag/ and sessions/ know nothing of each other or of the UI; widgets know no screen;
    and within tui/ only screens/ and app.py reach into screens/ (a helper module that
    opened a dialog would make screens -> helper -> screens)."""
    wrong = []
    for module in all_modules():
        forbidden = [prefix for layer, prefixes in LAYERS.items() if module.startswith(layer) for prefix in prefixes]
        if module.startswith("ragtui.tui.") and not module.startswith(("ragtui.tui.screens", "ragtui.tui.app")):
            forbidden.append("ragtui.tui.screens")
        wrong += [f"{module} -> {name}" for name in sorted(imports_of(module))
                  if any(name == p or name.startswith(p + ".") for p in forbidden)]
    assert wrong == []
