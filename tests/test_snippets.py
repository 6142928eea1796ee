"""The code that README.md and docs/ show, run as a user runs it.

Each ```python block of README.md and docs/*.md (docs/MATH.md has none) runs in a subprocess, in
an empty folder of its own. A block may carry, just above it, an HTML comment that the rendered
page does not show::

    <!-- test
    run: minigan train --steps 200 --no-plots -q       a command the block needs first (any number)
    replace: TrainConfig() => TrainConfig(steps=200)    a shorter run: OLD must occur in the block
    spec: docs/sweeps/ring_losses_modes.toml            a ```toml block: the committed spec it shows
    -->

A ```bash block runs too when it carries such a comment (its lines in order, ``set -euo
pipefail``). Every command line shown in a bash block — ``minigan CMD ...``, ``python -m
minigan...``, ``python demos/X.py ...`` — is checked for its options: each one it uses is an
option of its command. The commands no test can run (installs, a GPU, a Dask scheduler's address,
hours of training) are listed, with the reason, in docs/guide.md's "Commands the tests do not
run"; each listed command is one that the pages show.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE_PAGES = [p for p in PAGES if p.stem != "MATH"]
COMMAND_PAGES = [*PAGES, ROOT / "benchmarks" / "README.md"]
GUIDE = ROOT / "docs" / "guide.md"
NOT_RUN = "## Commands the tests do not run"
# Lines that cannot run here whatever their length: each must be listed in NOT_RUN.
NEEDS_MORE = re.compile(r"^pip install|--scheduler|gpu_check\.sh|--backend cupy|\.\[cuda")
TIMEOUT = 180


@dataclass
class Block:
    page: Path
    line: int  # the fence's line, 1-based
    lang: str
    text: str
    directives: dict[str, list[str]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT).as_posix()}:{self.line}"


def _directives(comment: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in comment:
        if line.strip():
            key, sep, value = line.partition(":")
            assert sep, f"a test comment's line is 'key: value', got {line!r}"
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, each with the test comment right above it (if any)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        comment = None
        if start > 0 and lines[start - 1].strip() == "-->":
            j = start - 2
            while j >= 0 and not lines[j].startswith("<!--"):
                j -= 1
            assert lines[j].strip() == "<!-- test", (
                f"{page.name}:{j + 1}: a comment above a block is '<!-- test'"
            )
            comment = lines[j + 1 : start - 1]
        found.append(
            Block(
                page,
                start + 1,
                m.group(1),
                "\n".join(body) + "\n",
                _directives(comment) if comment is not None else {},
            )
        )
        i += 1
    return found


def _all(pages: list[Path], lang: str) -> list[Block]:
    return [b for p in pages for b in blocks(p) if b.lang == lang]


def _shortened(block: Block) -> str:
    text = block.text
    for rule in block.directives.get("replace", []):
        old, sep, new = rule.partition(" => ")
        assert sep, f"{block.id}: replace: OLD => NEW, got {rule!r}"
        assert old in text, f"{block.id}: replace: {old!r} is not in the block"
        text = text.replace(old, new)
    return text


def _env() -> dict[str, str]:
    """This environment's python and minigan first on PATH; figures without a display; one BLAS
    thread (the networks are tiny: conftest.py runs the suite so too, and on a busy machine two
    threads make a step many times slower)."""
    env = dict(os.environ)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["MPLBACKEND"] = "Agg"
    env.pop("MINIGAN_BACKEND", None)
    return env


def _run(args: list[str], cwd: Path, what: str) -> None:
    r = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, f"{what} exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"


def _prepare(block: Block, folder: Path) -> None:
    for command in block.directives.get("run", []):
        _run(["bash", "-euo", "pipefail", "-c", command], folder, f"{block.id}: run: {command}")


PYTHON = _all(RUNNABLE_PAGES, "python")
BASH_RUN = [b for b in _all(RUNNABLE_PAGES, "bash") if b.directives]


def test_the_pages_show_python_to_run():
    assert len(PYTHON) >= 4 and any(b.page.name == "README.md" for b in PYTHON)


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: b.id)
def test_python_block_runs(block, tmp_path):
    _prepare(block, tmp_path)
    (tmp_path / "snippet.py").write_text(_shortened(block), encoding="utf-8")
    _run([sys.executable, "snippet.py"], tmp_path, block.id)


@pytest.mark.parametrize("block", BASH_RUN, ids=lambda b: b.id)
def test_marked_command_block_runs(block, tmp_path):
    _prepare(block, tmp_path)
    (tmp_path / "commands.sh").write_text(_shortened(block), encoding="utf-8")
    _run(["bash", "-euo", "pipefail", "commands.sh"], tmp_path, block.id)


def test_toml_blocks_are_sweep_specs(tmp_path):
    from minigan.app import sweep

    shown = _all(RUNNABLE_PAGES, "toml")
    assert shown
    for i, block in enumerate(shown):
        path = tmp_path / f"{i}.toml"
        path.write_text(block.text, encoding="utf-8")
        spec = sweep.load_spec(path)
        for committed in block.directives.get("spec", []):
            assert spec.to_dict() == sweep.load_spec(ROOT / committed).to_dict(), (
                f"{block.id} is not {committed}"
            )


def test_the_default_run_spec_is_the_default_run_on_eight_seeds():
    from minigan.app import sweep
    from minigan.training import TrainConfig

    spec = sweep.load_spec(ROOT / "docs/sweeps/default_run.toml")
    points = spec.points()
    assert [p.name for p in points] == [f"seed={s}" for s in range(8)]
    assert [p.config for p in points] == [TrainConfig(seed=s).to_dict() for s in range(8)]


def test_every_committed_spec_runs_shortened(tmp_path):
    """Each spec of docs/sweeps, cut to 20 steps and its first two points, through ``minigan sweep``."""
    from minigan.app import sweep

    for path in sorted((ROOT / "docs/sweeps").glob("*.toml")):
        spec = sweep.load_spec(path)
        axes = [(name, values[:2] if name == spec.axes[-1][0] else values[:1]) for name, values in spec.axes]
        short = sweep.make_spec({**spec.base, "steps": 20}, axes, spec.run, spec.name)
        spec_file = tmp_path / (path.stem + ".json")
        spec_file.write_text(_as_json(short), encoding="utf-8")
        out = tmp_path / path.stem
        _run(
            [sys.executable, "-m", "minigan", "sweep", str(spec_file), "--no-dask", "-q", "--out", str(out)],
            tmp_path,
            f"minigan sweep {path.name}, shortened",
        )
        rows = (out / "results.csv").read_text().splitlines()[1:]
        assert len(rows) == 2 and all(",done," in r for r in rows), rows


def _as_json(spec) -> str:
    import json

    d = spec.to_dict()
    d["base"] = {k: ("none" if v is None else v) for k, v in d["base"].items()}
    return json.dumps(d)


# --------------------------------------------------------------------------------------------
# Every command line shown uses options its command has
# --------------------------------------------------------------------------------------------
def _command_lines() -> list[tuple[str, str]]:
    """(where, command) for every simple command of every bash block, comments stripped."""
    out = []
    for block in _all(COMMAND_PAGES, "bash"):
        for k, line in enumerate(block.text.splitlines()):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            tokens = shlex.split(line, comments=True)
            command: list[str] = []
            for t in [*tokens, "&&"]:
                if t in ("&&", "||", ";", "|"):
                    if command:
                        out.append((f"{block.id}+{k + 1}", shlex.join(command)))
                    command = []
                else:
                    command.append(t)
    return out


def _minigan_help(command: str) -> str:
    from minigan.app.main import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        main([command, "--help"])
    return buf.getvalue()


def _demo_options(script: Path) -> set[str]:
    """The options a demo's parser takes: its own add_argument calls and demos/_common.py's."""
    options = {"-h", "--help"}
    for path in (script, ROOT / "demos" / "_common.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                options |= {
                    a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("-")
                }
    return options


def _options(tokens: list[str]) -> list[str]:
    return [t.split("=", 1)[0] for t in tokens if re.match(r"^--?[A-Za-z]", t)]


def _check(tokens: list[str]) -> str | None:
    """None if every option of the command is one it has, else what is wrong."""
    if tokens[:1] == ["python"] and tokens[1:3] in (["-m", "minigan.bench"], ["-m", "minigan.gradcheck"]):
        tokens = ["minigan", tokens[2].split(".")[1], *tokens[3:]]
    elif tokens[:3] == ["python", "-m", "minigan"]:
        tokens = ["minigan", *tokens[3:]]
    if tokens[0] == "minigan":
        if len(tokens) == 1 or tokens[1] in ("--help", "--version"):
            return None
        from minigan.app.main import COMMANDS

        if tokens[1] not in COMMANDS:
            return f"no command {tokens[1]!r}"
        shown = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", _minigan_help(tokens[1])))
        missing = [o for o in _options(tokens[2:]) if o not in shown]
        return f"options not in minigan {tokens[1]} --help: {missing}" if missing else None
    if tokens[0] == "python" and len(tokens) > 1 and tokens[1].startswith("demos/"):
        script = ROOT / tokens[1]
        if not script.is_file():
            return f"no {tokens[1]}"
        missing = [o for o in _options(tokens[2:]) if o not in _demo_options(script)]
        return f"options {tokens[1]} does not take: {missing}" if missing else None
    return None


def test_command_lines_use_only_options_their_command_has():
    lines = _command_lines()
    assert any(c.startswith("minigan train") for _, c in lines)
    wrong = []
    for where, command in lines:
        problem = _check(shlex.split(command))
        if problem:
            wrong.append(f"{where}: {command}: {problem}")
    assert not wrong, "\n".join(wrong)


def _not_run_list() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    assert NOT_RUN in text, f"docs/guide.md has no section {NOT_RUN!r}"
    section = text.split(NOT_RUN, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [re.match(r"\| `(.+?)` \|", row).group(1) for row in rows]


def test_the_commands_not_run_are_listed_and_shown():
    listed = _not_run_list()
    assert listed, "the list of commands the tests do not run is empty"
    shown = {command for _, command in _command_lines()}
    shown_raw = {
        line.split(" #")[0].strip() for b in _all(COMMAND_PAGES, "bash") for line in b.text.splitlines()
    }
    unknown = [c for c in listed if c not in shown_raw and shlex.join(shlex.split(c)) not in shown]
    assert not unknown, f"listed in docs/guide.md but shown nowhere: {unknown}"
    need = sorted({c for c in shown if NEEDS_MORE.search(c)})
    listed_norm = {shlex.join(shlex.split(c)) for c in listed}
    unlisted = [c for c in need if c not in listed_norm]
    assert not unlisted, f"commands that cannot run here, missing from docs/guide.md's list: {unlisted}"
