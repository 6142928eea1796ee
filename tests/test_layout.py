"""The layout the README promises: imports inside minigan go one way, and the README's layout
table names exactly the modules there are."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "minigan"

# Each module may import only modules of a lower level (README, "Layout").
LEVELS = {
    "_types": -1,
    "engine": 0, "metrics": 0, "theory": 0, "_version": 0, "exitcodes": 0,
    "backend": 1,
    "layers": 2, "data": 2,
    "networks": 3, "losses": 3, "optim": 3, "penalties": 3,
    "config": 4,
    "training": 5,
    "checkpoint": 6, "plots": 6, "gradcheck": 6, "diagnostics": 6,
    "game": 7, "saved": 7,
    "cli": 8, "bench": 8,
    "sweep": 9,
    "__main__": 10, "__init__": 10,
}


def _imports(path: Path) -> set:
    """The minigan modules that ``path`` imports (relative or absolute imports)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                out.add(node.module.split(".")[0])
            elif node.level == 1:
                out.update(a.name for a in node.names)
            elif node.module and node.module.startswith("minigan."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("minigan."))
    return out


def test_every_module_has_a_level():
    modules = {p.stem for p in PKG.glob("*.py")}
    assert modules == set(LEVELS), f"unplaced: {modules - set(LEVELS)}; gone: {set(LEVELS) - modules}"


def test_imports_go_one_way():
    bad = []
    for p in sorted(PKG.glob("*.py")):
        for dep in _imports(p):
            if LEVELS[dep] >= LEVELS[p.stem]:
                bad.append(f"{p.stem} (level {LEVELS[p.stem]}) imports {dep} (level {LEVELS[dep]})")
    assert not bad, "\n".join(bad)


def test_the_core_imports_no_tool():
    """The six core modules import only each other, the engine, data, config and the type names."""
    core = {"backend", "layers", "networks", "losses", "optim", "training"}
    allowed = core | {"engine", "data", "config", "_types"}
    for name in core:
        assert _imports(PKG / f"{name}.py") <= allowed, name


def test_the_readme_layout_table_names_every_module():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`minigan/(\w+)\.py`", section))
    modules = {p.stem for p in PKG.glob("*.py")} - {"__init__", "__main__"}
    assert named == modules, f"missing from the README: {modules - named}; not in minigan/: {named - modules}"
