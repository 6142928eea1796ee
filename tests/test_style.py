"""The tree keeps its style: ruff's format and lint pass (pyproject.toml's rules), no function in
the package is longer than a reader can hold, and no module reaches for another's private names."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "minigan"
MAX_FUNCTION_LINES = 60


def _ruff(*args):
    exe = shutil.which("ruff")
    cmd = [exe] if exe else [sys.executable, "-m", "ruff"]
    return subprocess.run([*cmd, *args], cwd=ROOT, capture_output=True, text=True)


@pytest.fixture(scope="module")
def ruff_available():
    if _ruff("--version").returncode != 0:
        pytest.skip("ruff is not installed (pip install -e '.[test]' installs it)")


def test_ruff_check_passes(ruff_available):
    r = _ruff("check", "--no-cache", ".")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_ruff_format_check_passes(ruff_available):
    r = _ruff("format", "--check", "--no-cache", ".")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def _functions(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_no_function_is_over_60_lines():
    long = [
        f"{p.relative_to(ROOT)}:{f.name} ({f.end_lineno - f.lineno + 1} lines)"
        for p in sorted(PKG.rglob("*.py"))
        for f in _functions(p)
        if f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, "\n".join(long)


def _minigan_module(node, path):
    """The minigan module an ``import``/``from`` statement names, as a dotted path, or None."""
    if node.level:
        package = list(path.relative_to(ROOT).with_suffix("").parts[:-1])
        base = package[: len(package) - (node.level - 1)]
        return ".".join([*base, node.module] if node.module else base)
    return node.module if node.module and node.module.split(".")[0] == "minigan" else None


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def _is_module(dotted):
    rel = Path(*dotted.split("."))
    return (ROOT / rel).with_suffix(".py").exists() or (ROOT / rel / "__init__.py").exists()


def test_no_module_imports_private_names_of_another():
    """Neither ``from .x import _name`` nor ``x._name`` on an imported minigan module: private
    modules (``_types``, ``_checks``, ``_version``) are the package's own, their names public."""
    bad = []
    for p in sorted(PKG.rglob("*.py")):
        modules = set()  # local names bound to minigan modules
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and (mod := _minigan_module(node, p)):
                for a in node.names:
                    if _is_module(f"{mod}.{a.name}"):
                        modules.add(a.asname or a.name)
                    elif _private(a.name):
                        bad.append(f"{p.relative_to(ROOT)}: from {mod} import {a.name}")
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in modules and _private(node.attr):
                    bad.append(f"{p.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)
