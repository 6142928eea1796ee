"""One table of exit codes: minigan/exitcodes.py, the README and ``minigan --help`` agree."""

from pathlib import Path

from minigan.app import exitcodes
from minigan.app.main import main, usage

README = Path(__file__).resolve().parents[1] / "README.md"
INTRO = "Exit codes, the same for every command"


def _readme_table() -> dict:
    text = README.read_text(encoding="utf-8")
    assert INTRO in text, "the README's exit-code table is gone"
    rows = {}
    for line in text.split(INTRO, 1)[1].splitlines()[2:]:  # skip the intro's tail and the blank line
        if not line.startswith("|"):
            break
        code, meaning = (cell.strip() for cell in line.strip("|").split("|"))
        if code.isdigit():
            rows[int(code)] = meaning
    return rows


def test_the_readme_table_is_the_constants():
    assert _readme_table() == exitcodes.EXIT_CODES


def test_the_codes_are_the_conventional_ones():
    # 2 is argparse's code for a bad option; 130 = 128 + SIGINT (2), the shell's code for Ctrl-C
    assert (
        exitcodes.OK,
        exitcodes.FAILED,
        exitcodes.USAGE,
        exitcodes.WRITE_ERROR,
        exitcodes.INTERRUPTED,
    ) == (0, 1, 2, 3, 130)


def test_help_prints_every_code(capsys):
    assert main(["--help"]) == exitcodes.OK
    out = capsys.readouterr().out
    assert out.strip() == usage().strip()
    for code in exitcodes.EXIT_CODES:
        assert f"\n  {code:<5}" in out, code


def test_every_command_module_uses_the_shared_names():
    """No command returns a bare exit code: in each module of ``minigan COMMAND`` (and __main__), a
    ``return <0, 1, 2, 3 or 130>`` in a function named *main or returning ``int`` is an error."""
    import ast

    from minigan.app.main import COMMANDS

    modules = {"minigan.app.main"} | {module for module, _, _ in COMMANDS.values()}
    assert {
        "minigan.app.train",
        "minigan.app.sample_eval",
        "minigan.app.gradcheck_command",
        "minigan.app.bench",
    } <= modules
    bare = []
    for module in sorted(modules):
        path = README.parent / module.replace(".", "/")
        sources = (
            sorted(path.glob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        )  # a package: each module
        for fn in (f for source in sources for f in ast.walk(ast.parse(source.read_text(encoding="utf-8")))):
            if not isinstance(fn, ast.FunctionDef):
                continue
            if not (
                fn.name.endswith("main") or (isinstance(fn.returns, ast.Name) and fn.returns.id == "int")
            ):
                continue
            for node in ast.walk(fn):
                if (
                    isinstance(node, ast.Return)
                    and isinstance(node.value, ast.Constant)
                    and node.value.value in exitcodes.EXIT_CODES
                    and type(node.value.value) is int
                ):
                    bare.append(f"{module}.{fn.name}: return {node.value.value}")
    assert not bare, bare
