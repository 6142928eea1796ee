"""Type hints: the public API is annotated, and mypy (configured in pyproject.toml, [tool.mypy])
finds no error in minigan/."""

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "minigan"

# Every module: the library a user imports and the commands' own machinery alike.
MODULES = sorted(p.stem for p in PKG.glob("*.py"))
DUNDERS = {"__init__", "__call__", "__repr__"}


def _unannotated(path: Path) -> list:
    """'module.qualname(arg, ...) ->?' for every public def of ``path`` that lacks an annotation."""
    missing = []

    def visit(body, prefix):
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name.startswith("_") and node.name not in DUNDERS:
                    continue
                a = node.args
                params = (
                    a.posonlyargs + a.args + a.kwonlyargs + [p for p in (a.vararg, a.kwarg) if p is not None]
                )
                bare = [p.arg for p in params if p.annotation is None and p.arg not in ("self", "cls")]
                if bare or node.returns is None:
                    missing.append(
                        f"{path.stem}.{prefix}{node.name}({', '.join(bare)})"
                        + (" ->?" if node.returns is None else "")
                    )

    visit(ast.parse(path.read_text(encoding="utf-8")).body, "")
    return missing


def test_the_public_api_is_annotated():
    assert len(MODULES) >= 25 and "training" in MODULES
    missing = [m for name in MODULES for m in _unannotated(PKG / f"{name}.py")]
    assert not missing, "public functions without type hints:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_hint(tmp_path):
    """The annotation check itself: it names a public def without hints and passes a private one."""
    f = tmp_path / "m.py"
    f.write_text(
        "def ok(x: int) -> int: ...\ndef _private(x): ...\nclass C:\n    def m(self, y) -> None: ...\n"
        "def bare(z): ...\n"
    )
    assert _unannotated(f) == ["m.C.m(y)", "m.bare(z) ->?"]


def test_mypy_finds_no_error(tmp_path):
    """``python -m mypy`` with the settings of pyproject.toml: "Success: no issues found"."""
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[test]')")
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0 and "Success: no issues found" in r.stdout, r.stdout + r.stderr
