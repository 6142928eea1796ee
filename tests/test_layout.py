"""The layout the README promises: the library at the top of the package in levels, the engine
under it, the figures and the workshop (``minigan/app``) above it, and imports that go one way."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "minigan"

# The library: each module may import only modules of a lower level (README, "Layout").
# fmt: off
LEVELS = {
    "_types": -2, "_version": -2, "_checks": -2,
    "engine": -1,  # the subpackage: minigan/engine/*
    "metrics": 0, "theory": 0, "files": 0,
    "backend": 1,
    "layers": 2, "data": 2, "unrolled": 2,
    "networks": 3, "losses": 3, "optim": 3, "penalties": 3, "game_updates": 3,
    "config": 4, "second_order": 4,
    "training": 5,
    "checkpoint": 6, "gradcheck": 6,
    "figures": 7,  # the subpackage: minigan/figures/*
    "app": 8,  # the subpackage: minigan/app/* (the workshop)
    "__init__": 9, "__main__": 9,
}
# fmt: on
SUBPACKAGES = {"engine", "figures", "app"}

# Old paths of modules that moved: each only re-exports its new home (the one exception to
# "imports go one way"), so code written against the old path keeps working.
MOVED = {
    "cli": "app.train",
    "saved": "app.sample_eval",
    "sweep": "app.sweep",
    "bench": "app.bench",
    "diagnostics": "app.diagnostics",
    "exitcodes": "app.exitcodes",
    "plots": "figures.plots",
    "game": "figures.game",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    return ".".join(rel.parts)


def _imports(path: Path) -> set[str]:
    """The minigan modules ``path`` imports, as dotted names inside the package ("app.train",
    "training", "engine"): relative or absolute, at any depth of the file."""
    here = _module_name(path).split(".")
    package = here[:-1] if path.name != "__init__.py" else here[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                if node.module:
                    out.add(".".join([*base, node.module]))
                else:
                    out.update(".".join([*base, a.name]) for a in node.names)
            elif node.module and node.module.startswith("minigan."):
                out.add(node.module.removeprefix("minigan."))
        elif isinstance(node, ast.Import):
            out.update(a.name.removeprefix("minigan.") for a in node.names if a.name.startswith("minigan."))
    return {name for name in out if name}


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def _top(name: str) -> str:
    return name.split(".")[0]


def test_every_module_has_a_level():
    tops = {_top(_module_name(p)) for p in _modules()} - set(MOVED)
    assert tops == set(LEVELS), f"unplaced: {tops - set(LEVELS)}; gone: {set(LEVELS) - tops}"


def test_imports_go_one_way():
    """Across levels imports point down; inside a subpackage they form no cycle."""
    bad, inside = [], {}
    for p in _modules():
        name = _module_name(p)
        me = _top(name)
        if me in MOVED:
            continue
        for dep in _imports(p):
            top = _top(dep)
            if top == me and me in SUBPACKAGES:
                inside.setdefault(name, set()).add(dep)
            elif LEVELS[top] >= LEVELS[me]:
                bad.append(f"{name} (level {LEVELS[me]}) imports {dep} (level {LEVELS[top]})")
    assert not bad, "\n".join(bad)
    _assert_acyclic(inside)


def _assert_acyclic(graph: dict[str, set[str]]) -> None:
    done, path = set(), []

    def visit(node: str) -> None:
        if node in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(node) :], node]))
        if node in done:
            return
        path.append(node)
        for dep in graph.get(node, ()):
            if dep.rsplit(".", 1)[-1] != "__init__" and dep != node.rsplit(".", 1)[0]:
                visit(dep)
        path.pop()
        done.add(node)

    for node in graph:
        visit(node)


def test_the_library_imports_no_tool():
    """The math and the modules users import never import the figures or the workshop."""
    library = {name for name, level in LEVELS.items() if level < LEVELS["figures"]}
    for p in _modules():
        name = _module_name(p)
        if _top(name) in library:
            deps = {_top(d) for d in _imports(p)}
            assert not deps & {"figures", "app"}, f"{name} imports {deps & {'figures', 'app'}}"


def test_the_core_imports_no_tool():
    """The six core modules import only each other, the engine, data, config, the type names and,
    for training, the game's own optimizers with the second-order product that consensus takes."""
    core = {"backend", "layers", "networks", "losses", "optim", "training"}
    allowed = core | {"engine", "data", "config", "_types", "_checks", "game_updates", "second_order"}
    for name in core:
        assert {_top(d) for d in _imports(PKG / f"{name}.py")} <= allowed, name


def test_old_paths_are_the_moved_modules():
    import importlib

    for old, new in MOVED.items():
        assert (PKG / f"{old}.py").exists(), old
        moved = importlib.import_module(f"minigan.{new}")
        again = importlib.import_module(f"minigan.{old}")
        if old == "bench":  # a module of its own, for ``python -m minigan.bench``
            assert again.CONFIGS is moved.CONFIGS and again.make_gan is moved.make_gan
        else:
            assert again is moved, old


def test_the_layout_page_names_every_module():
    """docs/layout.md's "Modules" table names every module there is, and nothing else."""
    text = (ROOT / "docs" / "layout.md").read_text()
    section = text.split("## Modules", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`minigan/([\w/]+)\.py`", section)) - set(MOVED)  # old paths may be listed
    modules = set()
    for p in _modules():
        moved_shim = p.parent == PKG and p.stem in MOVED
        if p.name not in ("__init__.py", "__main__.py") and not moved_shim:
            modules.add(str(p.relative_to(PKG).with_suffix("")))
    assert named == modules, (
        f"missing from docs/layout.md: {modules - named}; not in minigan/: {named - modules}"
    )
