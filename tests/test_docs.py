"""The math document docs/MATH.md and the references to it.

Code docstrings and comments cite the document as ``docs/MATH.md §N`` or ``§N.M``; these tests
check that every such citation lands on a section heading that exists, that no citation points
nowhere, that nothing cites the project's private reference notes outside the repository, and
that the equilibrium values of §4 are printed correctly.
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
    readme = ROOT / "README.md"
    if readme.exists():
        files.append(readme)
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
    end = re.search(r"^## ", text[start.end():], re.MULTILINE)
    return text[start.end(): start.end() + end.start() if end else len(text)]


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
                as_path = line[max(0, m.start() - 5): m.start()] == "docs/"
                with_section = re.match(r"MATH\.md\s*§\s*\d", line[m.start():]) is not None
                if not (as_path or with_section):
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
