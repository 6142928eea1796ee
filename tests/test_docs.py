"""The documents: README.md, docs/, CHANGELOG.md, benchmarks/README.md, and docs/MATH.md's citations.

Code docstrings and comments cite the math document as ``docs/MATH.md §N`` or ``§N.M``; these
tests check that every such citation lands on a section heading that exists, that no citation
points nowhere, that nothing cites files outside the repository, and that the equilibrium values
of §4 are printed correctly. For the pages users read: every relative link (and its #anchor)
resolves, every repository path and every ``minigan.x.y`` name they give exists, the README maps
every page of docs/, the Quickstart is what CI runs, and the pages speak about the project, not
about how it was made. The code the pages show runs in tests/test_snippets.py.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs/MATH.md"

# A citation: the file name, then § and a section number (N or N.M), possibly a list of them
# ("docs/MATH.md §2, §6.1"); SECTION picks the numbers out of the list.
CITATION = re.compile(r"MATH\.md\s*(§\s*\d+(?:\.\d+)?(?:\s*(?:,|and|&)\s*§\s*\d+(?:\.\d+)?)*)")
SECTION = re.compile(r"§\s*(\d+(?:\.\d+)?)")
# Any mention of the file name.
MENTION = re.compile(r"MATH\.md")
HEADING = re.compile(r"^(#{2,3}) (\d+(?:\.\d+)?)[.\s]", re.MULTILINE)

# Built from pieces so that this file does not match its own search.
FORBIDDEN = ("../" + "shared", "shared/" + "MATH")
TEXT_SUFFIXES = {".py", ".md", ".txt", ".rst", ".toml", ".cfg", ".ini", ".json", ".yaml", ".yml", ".sh"}


def _citing_files():
    """The files whose citations must resolve: code, tests, demos, README, benchmark notes."""
    files = []
    for folder in ("minigan", "tests", "demos"):
        files += sorted((ROOT / folder).rglob("*.py"))
    files += sorted((ROOT / "benchmarks").glob("*.md"))
    files += [p for p in sorted((ROOT / "docs").glob("*.md")) if p != DOC]
    files += [p for p in (ROOT / "README.md", ROOT / "CHANGELOG.md") if p.exists()]
    return files


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def _rel(path):
    return path.relative_to(ROOT).as_posix()


def _sections():
    """The section numbers of docs/MATH.md: "N" for each "## N." and "N.M" for each "### N.M"."""
    return {m.group(2).rstrip(".") for m in HEADING.finditer(DOC.read_text(encoding="utf-8"))}


def _section_text(number):
    """The text of section "## <number>." up to the next "## " heading."""
    text = DOC.read_text(encoding="utf-8")
    start = re.search(rf"^## {re.escape(number)}\. .*$", text, re.MULTILINE)
    assert start, f"docs/MATH.md has no heading '## {number}.'"
    end = re.search(r"^## ", text[start.end() :], re.MULTILINE)
    return text[start.end() : start.end() + end.start() if end else len(text)]


def test_document_exists_with_numbered_sections():
    assert DOC.is_file(), "docs/MATH.md is missing"
    text = DOC.read_text(encoding="utf-8")
    top = [int(n) for n in re.findall(r"^## (\d+)\. ", text, re.MULTILINE)]
    assert top == list(range(1, len(top) + 1)) and len(top) >= 12, f"top-level sections: {top}"
    # every "### N.M" sits under "## N", numbered M = 1, 2, ... in order
    current, expected_sub, bad = None, 1, []
    for level, number in re.findall(r"^(#{2,3}) (\d+(?:\.\d+)?)", text, re.MULTILINE):
        if level == "##":
            current, expected_sub = number, 1
            continue
        n, _, m = number.partition(".")
        if n != current or int(m) != expected_sub:
            bad.append(number)
        expected_sub = int(m) + 1
    assert not bad, f"subsections out of place or out of order: {bad}"


def test_every_section_citation_resolves():
    sections = _sections()
    unresolved = []
    for path in _citing_files():
        for i, line in enumerate(_lines(path), 1):
            for m in CITATION.finditer(line):
                for number in SECTION.findall(m.group(1)):
                    if number not in sections:
                        unresolved.append(f"{_rel(path)}:{i}: §{number}")
    assert not unresolved, "citations of sections docs/MATH.md does not have:\n" + "\n".join(unresolved)


def test_every_mention_is_the_repository_path_or_a_section():
    """Each mention of the file is either the path docs/MATH.md or a citation of a section."""
    vague = []
    for path in _citing_files():
        for i, line in enumerate(_lines(path), 1):
            for m in MENTION.finditer(line):
                before, after = line[max(0, m.start() - 5) : m.start()], line[m.end() : m.end() + 2]
                as_path = before == "docs/" or before.endswith("](")  # the path, or a link to it
                as_link_text = before.endswith("[") and after == "]("
                with_section = re.match(r"MATH\.md\s*§\s*\d", line[m.start() :]) is not None
                if not (as_path or as_link_text or with_section):
                    vague.append(f"{_rel(path)}:{i}: {line.strip()}")
    assert not vague, "mentions that should read docs/MATH.md or cite a section:\n" + "\n".join(vague)


def test_nothing_cites_files_outside_the_repository():
    paths = []
    for folder in ("minigan", "tests", "demos", "docs"):
        paths += [p for p in sorted((ROOT / folder).rglob("*")) if p.is_file() and p.suffix in TEXT_SUFFIXES]
    paths.append(ROOT / "README.md")
    found = []
    for path in paths:
        if not path.exists():
            continue
        for i, line in enumerate(_lines(path), 1):
            for bad in FORBIDDEN:
                if bad in line:
                    found.append(f"{_rel(path)}:{i}: {bad}")
    assert not found, "references to files outside the repository:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "name, value",
    [("log 4", math.log(4.0)), ("log 2", math.log(2.0)), ("3 log 2", 3.0 * math.log(2.0))],
)
def test_equilibrium_values_in_section_4(name, value):
    text = _section_text("4")
    assert f"{value:.4f}" in text, f"docs/MATH.md §4 should give {name} ≈ {value:.4f}"
    assert name in text


def test_equilibrium_values_match_the_code():
    """§4's table and training.equilibrium_values agree (to the 4 decimals printed)."""
    from minigan.training import equilibrium_values

    text = _section_text("4")
    for key, value in equilibrium_values().items():
        if key.startswith("D_"):
            continue
        assert f"{abs(value):.4f}" in text, f"{key} = {value:.4f} is missing from docs/MATH.md §4"


# --------------------------------------------------------------------------------------------
# The pages users read
# --------------------------------------------------------------------------------------------
PAGES = [
    ROOT / "README.md",
    ROOT / "CHANGELOG.md",
    ROOT / "benchmarks/README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
# Pages whose every word is the project's own (docs/MATH.md is checked for citations above).
USER_PAGES = [p for p in PAGES if p != DOC]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
# A repository path: a top-level folder of the repository, then a path (a placeholder such as
# <name> or OUT, or a glob, ends it).
REPO_PATH = re.compile(r"(?<![\w./-])((?:minigan|docs|demos|benchmarks|tests|\.ci)/[\w./-]*)")
DOTTED = re.compile(r"(?<![\w.])minigan(?:\.[A-Za-z_]\w*)+")
# What commands create in the folder they run in: named in the pages, never committed.
CREATED = ("runs/", "sweeps/", "out/", "demo_output/", "benchmarks/gpu-out")
NOT_FOR_USERS = [
    (re.compile(r"\bsessions?\b", re.IGNORECASE), "a session"),
    (
        re.compile(r"\bissues?\s*#?\d|\bissue's\b|\b(?:this|the|that|an) issue\b|\(issue\b", re.IGNORECASE),
        "an issue",
    ),
    (re.compile(r"\btargets\b|\(target\)|\btarget(?:s)? (?:is|are) (?:not )?met", re.IGNORECASE), "a target"),
    (re.compile(r"\b20\d\d-\d\d-\d\d\b"), "a date"),
    (re.compile(r"\b\d\d:\d\d(?:[–-]\d\d:\d\d)? UTC\b"), "a time of day"),
]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def _prose(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def test_every_relative_link_resolves():
    broken = []
    for page in PAGES:
        for i, line in enumerate(_lines(page), 1):
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target):  # https:, mailto:
                    continue
                path, _, anchor = target.partition("#")
                dest = (page.parent / path).resolve() if path else page
                if not dest.exists():
                    broken.append(f"{_rel(page)}:{i}: {target} (no such file)")
                elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                    broken.append(f"{_rel(page)}:{i}: {target} (no heading #{anchor} in {dest.name})")
    assert not broken, "links that lead nowhere:\n" + "\n".join(broken)


def test_every_repository_path_named_exists():
    missing = []
    for page in PAGES:
        for i, line in enumerate(_lines(page), 1):
            for path in REPO_PATH.findall(line):
                path = path.rstrip(".")
                if path.startswith(CREATED) or not path:
                    continue
                if not (ROOT / path).exists():
                    missing.append(f"{_rel(page)}:{i}: {path}")
    assert not missing, "paths the pages name that the repository does not have:\n" + "\n".join(missing)


def _resolves(name: str) -> bool:
    """minigan.a.b.c: the longest importable module prefix, then attributes."""
    import importlib

    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        except Exception:  # the module is there but does not import
            return False
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_every_minigan_name_given_exists():
    missing = []
    for page in USER_PAGES:
        for i, line in enumerate(_lines(page), 1):
            for name in DOTTED.findall(line):
                if not _resolves(name):
                    missing.append(f"{_rel(page)}:{i}: {name}")
    assert not missing, "minigan names the pages give that do not exist:\n" + "\n".join(missing)


def test_the_readme_maps_every_page_of_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Documentation", 1)[1].split("\n## ", 1)[0]
    unmapped = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if f"](docs/{p.name})" not in section]
    assert not unmapped, f"pages of docs/ missing from the README's Documentation table: {unmapped}"


def test_the_readme_stays_short():
    lines = len(_lines(ROOT / "README.md"))
    assert lines <= 300, f"README.md has {lines} lines: move detail to docs/ (the README is for new users)"


def test_ci_runs_the_quickstart_as_written():
    """.ci/run runs the Quickstart's lines, each exactly as the README writes it, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = [
        c.strip() for c in quickstart.split("```bash\n", 1)[1].split("```", 1)[0].splitlines() if c.strip()
    ]
    assert commands[1:] == ["minigan train", "python -m pytest -q"], commands
    ci = [c.strip() for c in (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()]
    assert "set -euo pipefail" in ci
    at = [ci.index(c) for c in commands if c in ci]
    assert len(at) == len(commands) and at == sorted(at), f".ci/run should run {commands} in this order"


def test_the_pages_speak_about_the_project():
    """No sessions, issue numbers, targets, dates or times of day: the pages talk to users."""
    found = []
    for page in USER_PAGES:
        for i, line in enumerate(_lines(page), 1):
            for pattern, what in NOT_FOR_USERS:
                m = pattern.search(line)
                if m:
                    found.append(f"{_rel(page)}:{i}: {what}: {m.group(0)!r}")
    assert not found, "words about how the project was made, not about the project:\n" + "\n".join(found)


def test_the_changelog_follows_keep_a_changelog():
    from minigan._version import __version__

    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## \[([^\]]+)\]", text, re.MULTILINE)
    assert versions[:1] == ["Unreleased"] and __version__ in versions, versions
    groups = set(re.findall(r"^### (\w+)", text, re.MULTILINE))
    assert groups <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, groups
