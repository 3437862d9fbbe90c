"""The student edition of the book (`make book STUDENT=1`) has the exercises and none of their
solutions. Each check is made against the instructors' edition too, so that it cannot pass by
looking for text that was never there. Run by `make book-check` after both editions are built."""

import html
import importlib.util
import re
from pathlib import Path

import jupytext
import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
INSTRUCTORS = ROOT / "_build" / "html"
STUDENTS = ROOT / "_build" / "student" / "_build" / "html"
_spec = importlib.util.spec_from_file_location("assignments", ROOT / "tools" / "assignments.py")
assignments = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(assignments)
CHAPTERS = assignments.toc_chapters()
SOLUTION_CLASS = re.compile(r"""class="[^"]*\bsolution\b""")
WORDS = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)+")


def _text(page):
    """The words of an HTML page: tags dropped, entities decoded, whitespace collapsed."""
    raw = page.read_text(encoding="utf-8")
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())


def _parts(chapter):
    """(solutions, statements, the rest) of a chapter's Markdown, as whitespace-collapsed text."""
    solutions, statements, rest, gated = [], [], [], False
    for cell in jupytext.read(chapter).cells:
        if cell.cell_type != "markdown":
            (solutions if gated else rest).append(cell.source)
            continue
        for piece in assignments.segments(cell.source):
            if piece[0] == "text":
                (solutions if gated else rest).append(piece[1])
            elif piece[0] == "solution":
                solutions.append(piece[3])
            elif piece[0] in ("exercise", "exercise-start"):
                statements.append(piece[3])
            gated = {"solution-start": True, "solution-end": False}.get(piece[0], gated)
    return [" ".join(" ".join(p).split()) for p in (solutions, statements, rest)]


def _phrases(text, elsewhere, count=3):
    """The longest runs of plain words (no markup, math or code) in `text` that occur nowhere in
    `elsewhere`: text that only the solutions have."""
    runs = sorted(set(WORDS.findall(text)), key=len, reverse=True)
    return [r for r in runs if len(r.split()) >= 5 and r not in elsewhere][:count]


@pytest.fixture(scope="module", params=CHAPTERS, ids=lambda p: p.stem)
def chapter(request):
    page = f"notebooks/{request.param.stem}.html"
    for edition in (INSTRUCTORS, STUDENTS):
        if not (edition / page).is_file():
            pytest.fail(f"{edition / page} is missing: run `make book` and `make book STUDENT=1` first")
    return request.param, _text(INSTRUCTORS / page), _text(STUDENTS / page), page


def test_no_solution_block_in_the_student_edition(chapter):
    _, _, _, page = chapter
    instructors = len(SOLUTION_CLASS.findall((INSTRUCTORS / page).read_text(encoding="utf-8")))
    students = len(SOLUTION_CLASS.findall((STUDENTS / page).read_text(encoding="utf-8")))
    assert instructors >= 3, f"{page}: the instructors' edition shows {instructors} solution blocks"
    assert students == 0, f"{page}: the student edition shows {students} solution blocks"


def test_no_solution_text_in_the_student_edition(chapter):
    path, instructors, students, page = chapter
    solutions, statements, rest = _parts(path)
    phrases = _phrases(solutions, statements + " " + rest)
    shown = [p for p in phrases if p in instructors]
    assert len(shown) >= 2, f"{page}: few solution phrases in the instructors' edition: {phrases}"
    leaked = [p for p in shown if p in students]
    assert not leaked, f"{page}: solution text in the student edition: {leaked}"


def test_exercises_stay_in_the_student_edition(chapter):
    path, instructors, students, page = chapter
    _, statements, _ = _parts(path)
    phrases = [p for p in _phrases(statements, "") if p in instructors]
    assert phrases, f"{page}: no exercise text found in the instructors' edition"
    missing = [p for p in phrases if p not in students]
    assert not missing, f"{page}: exercise text missing from the student edition: {missing}"
