"""The package layers of docs/architecture.md: no module imports from a layer above its own.

Every `import` and `from ... import` in `src/llmrl` counts, at module level or inside a
function (a lazy import is still a dependency). Packages of one layer do not import each
other either, so that each of them can be read, tested and replaced on its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "llmrl"

# Lowest first. The registry names the trainers as "module:attribute" strings resolved on use
# (late binding, like entry points), so it sits at the bottom and imports nothing of llmrl.
LAYERS: list[set[str]] = [
    {"__init__", "_lazy", "registry", "presets"},
    {"algos", "envs", "lm"},
    {"intrinsic"},
    {"agents"},
    {"runtime"},
    {"eval"},
    {"train"},
    {"bench", "experiments"},
    {"cli"},
    {"__main__"},
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def _unit(module: str) -> str:
    """The layer unit of a dotted module name under llmrl: its top-level package or module."""
    parts = module.split(".")
    assert parts[0] == "llmrl", module
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, imported llmrl module) of every import in a source file, relative ones resolved."""
    module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text() if source is None else source, str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return sorted((line, name) for line, name in found if name == "llmrl" or name.startswith("llmrl."))


def test_every_source_file_belongs_to_a_layer():
    units = {p.stem if p.is_file() else p.name for p in SRC.iterdir() if p.suffix == ".py" or
             (p.is_dir() and (p / "__init__.py").is_file())}
    assert units <= set(RANK), f"add {sorted(units - set(RANK))} to a layer here and in docs/architecture.md"


def test_no_module_imports_from_its_own_layer_or_above():
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        source = _unit(".".join(path.relative_to(SRC.parent).with_suffix("").parts))
        for line, name in _imports(path):
            target = _unit(name)
            if target != source and RANK[target] >= RANK[source]:
                wrong.append(f"{path.relative_to(SRC.parent)}:{line} ({source}) imports {name} ({target})")
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_the_check_sees_lazy_and_relative_imports():
    code = "import os\ndef f():\n    from llmrl.train.glam import Glam\nfrom . import stats\nfrom .plots import x\n"
    assert _imports(SRC / "eval" / "x.py", code) == [(3, "llmrl.train.glam"), (4, "llmrl.eval"),
                                                       (5, "llmrl.eval.plots")]
