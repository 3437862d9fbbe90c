"""The PDF of the whole book (`make pdf`): present, one section per chapter, its chapters numbered as
in the HTML book, math and references rendered, no TeX source left in its text."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PDF = ROOT / "_build" / "latex" / "book.pdf"
pytestmark = pytest.mark.pdf


def _toc_titles():
    """The first heading of every page of the table of contents, in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    titles = []
    for name in files:
        text = (ROOT / f"{name}.md").read_text()
        titles.append(re.search(r"^# (.+)$", text, re.M).group(1).strip())
    return titles


@pytest.fixture(scope="module")
def text():
    assert PDF.is_file(), f"{PDF.relative_to(ROOT)} is missing: run `make pdf`"
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: `make tex-deps` installs it (Debian package poppler-utils)")
    command = ["pdftotext", "-layout", str(PDF), "-"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def test_every_chapter_has_its_section(text):
    flat = " ".join(text.split())
    missing = [t for t in _toc_titles() if " ".join(t.split()) not in flat]
    assert not missing, f"chapters without a section in the PDF: {missing}"


def test_no_unrendered_tex_or_unresolved_references(text):
    # Code listings legitimately hold TeX in matplotlib's raw-string labels (r"$\log b$"): skip them;
    # and in ordinary strings, where the backslash is doubled ("$\\log b$"): a command after a
    # backslash is not a leftover.
    prose = "\n".join(line for line in text.splitlines() if 'r"' not in line and "r'" not in line)
    tex = r"(?<!\\)\\(?:frac|mathbb|mathcal|begin|end|cite|log|sum|int)\b|\$\$|\{cite\}|\?\?"
    leftovers = re.findall(tex, prose)
    assert not leftovers, f"TeX source or unresolved references in the PDF text: {sorted(set(leftovers))}"


def _toc_numbers():
    """(title, number) of every page of the table of contents, numbered as the HTML book numbers it:
    the chapters of the parts marked `numbered`, counted on across parts; None for the others."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbers, count = [], 0
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            text = (ROOT / f"{chapter['file']}.md").read_text()
            title = re.search(r"^# (.+)$", text, re.M).group(1).strip()
            count += bool(part.get("numbered"))
            numbers.append((title, count if part.get("numbered") else None))
    return numbers


def test_chapters_are_numbered_as_in_the_html_book(text):
    # a line of the PDF's table of contents: "3 The mixture test ..... 23", or "Notation ..... 7"
    wrong = {}
    for title, number in _toc_numbers():
        words = r"\s+".join(map(re.escape, title.split()))
        line = re.search(rf"^\s*(?:(\d+)\s+)?{words}[\s.]+\d+\s*$", text, re.M)
        found = int(line.group(1)) if line and line.group(1) else None
        if line is None or found != number:
            wrong[title] = (number, found if line else "not in the contents")
    assert not wrong, f"chapters numbered otherwise than in the HTML book (expected, found): {wrong}"


def test_figures_and_bibliography(text):
    images = subprocess.run(["pdfimages", "-list", str(PDF)], capture_output=True, text=True, check=True)
    # one line per image after a two-line header; every chapter draws several figures
    assert len(images.stdout.splitlines()) - 2 >= 10, images.stdout[:500]
    assert "Belghazi" in text and "Donsker" in text, "the bibliography is missing"
