"""The repository refers to nothing outside itself: no path outside it (a sibling folder's
specification documents) and no issue-tracker numbers.

Two searches over every file of the repository but ``reports/`` (regenerated from the
code) and ``.git``: the names of outside documents in any text file, and issue numbers
("issue" or "issues" and a number, or "#" and two digits ending a word) in the Python
files. The front page ``README.md`` and the hand-written findings in ``lemmas/findings/``
are searched by their own test, so that their state shows apart from the code's. Each
failure names every file:line that matches. The patterns are written so that this file
does not match them itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Folders never searched (besides the top-level ``reports/``, regenerated): git's own, and
#: what running and installing leave behind (caches, build output, virtual environments).
SKIP_DIRS = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache",
             ".ruff_cache", "build", "dist", ".venv", "venv", ".tox", "node_modules"}

#: A document outside the repository: the sibling specification folder or one of its files.
OUTSIDE = re.compile(r"shar" r"ed[/]|MATH\.md|CLI\.md|STYLE\.md|LAYOUT\.md")
#: An issue number: "issue", "Issues" and a number, or "#" and two digits ending a word
#: (a colour such as "#222" does not match).
ISSUE = re.compile(r"[Ii]ssues?[ ][0-9]+|[#][0-9]{2}\b")


def _files() -> list[str]:
    """Every file under the repository root, as a POSIX path relative to it."""
    out = []
    for folder, dirs, files in os.walk(ROOT):
        rel_folder = Path(folder).relative_to(ROOT)
        dirs[:] = sorted(d for d in dirs
                         if d not in SKIP_DIRS and not d.endswith(".egg-info")
                         and not (rel_folder == Path(".") and d == "reports"))
        out.extend((rel_folder / f).as_posix() for f in sorted(files))
    return out


def _elsewhere(rel: str) -> bool:
    """The front page and the findings records, searched by their own test."""
    return rel == "README.md" or rel.startswith("lemmas/findings/")


def _text(rel: str) -> str | None:
    """The file's text, or None for a binary file (a NUL byte, as grep decides)."""
    data = (ROOT / rel).read_bytes()
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def _matches(files, pattern: re.Pattern) -> list[str]:
    found = []
    for rel in files:
        text = _text(rel)
        if text is None:
            continue
        for n, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{rel}:{n}: {line.strip()}")
    return found


def test_no_file_cites_a_document_outside_the_repository():
    found = _matches([f for f in _files() if not _elsewhere(f)], OUTSIDE)
    assert not found, ("cites a document outside the repository (cite lemmas/README.md "
                       "or verify/cli/README.md instead):\n" + "\n".join(found))


def test_no_python_file_cites_an_issue_number():
    found = _matches([f for f in _files() if f.endswith(".py")], ISSUE)
    assert not found, ("cites an issue number (describe the work instead):\n"
                       + "\n".join(found))


def test_readme_and_findings_cite_no_document_outside_the_repository():
    """The front page and ``lemmas/findings/``, kept apart from the code's test."""
    files = [f for f in _files() if _elsewhere(f)]
    assert "README.md" in files
    found = _matches(files, OUTSIDE)
    assert not found, ("cites a document outside the repository (cite lemmas/README.md "
                       "or verify/cli/README.md instead):\n" + "\n".join(found))


def test_the_patterns_find_what_they_are_for():
    assert OUTSIDE.search("see ../sha" "red/spec/CLI" ".md") and OUTSIDE.search("MATH" ".md 5")
    assert not OUTSIDE.search("lemmas/README.md and verify/cli/README.md")
    for text in ("(issue" " 17)", "Issues" " 6, 15", "see #" "18", "#" "17's goal"):
        assert ISSUE.search(text), text
    for text in ("color:#222;", "border:1px solid #eee", "the issue's target", "# 17 x 17"):
        assert not ISSUE.search(text), text
