"""Every chapter in the table of contents ends with at least three exercises (sphinx-exercise), each
with its solution, of graded difficulty: a check of understanding, a computation, an investigation."""

import importlib.util
import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("assignments", ROOT / "tools" / "assignments.py")
assignments = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(assignments)

CHAPTERS = assignments.toc_chapters()
LEVELS = ("Understanding", "Computation", "Investigation")


def test_the_toc_has_chapters():
    assert len(CHAPTERS) >= 4, CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_three_exercises_with_solutions(chapter):
    found = assignments.exercises(chapter)
    solved = [label for label, has_solution in found.items() if has_solution]
    assert len(solved) >= 3, f"{chapter.name}: exercises with a solution: {solved} (of {list(found)})"
    unsolved = [label for label, has_solution in found.items() if not has_solution]
    assert not unsolved, f"{chapter.name}: exercises without a solution: {unsolved}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_exercises_of_graded_difficulty(chapter):
    statements = [
        piece[3]
        for cell in jupytext.read(chapter).cells
        if cell.cell_type == "markdown"
        for piece in assignments.segments(cell.source)
        if piece[0] in ("exercise", "exercise-start")
    ]
    levels = {m for s in statements for m in re.findall(r"\((\w+)\.?\)", s) if m in LEVELS}
    assert levels == set(LEVELS), f"{chapter.name}: exercises marked {sorted(levels)}, want {LEVELS}"


def test_the_counter_sees_both_solution_forms():
    # A check of the counter itself: a prose solution and a gated one both count, a missing one not.
    text = (
        ":::{exercise}\n:label: a\n\n(Understanding.) Q.\n:::\n\n"
        ":::{solution} a\n:class: dropdown\n\nA.\n:::\n\n"
        ":::{exercise}\n:label: b\n\nQ.\n:::\n\n"
        "```{solution-start} b\n```\n\nB.\n\n```{solution-end}\n```\n\n"
        ":::{exercise}\n:label: c\n\nQ.\n:::\n"
    )
    kinds = [(p[0], p[1] if p[0] != "exercise" else p[2]["label"]) for p in assignments.segments(text)]
    kinds = [k for k in kinds if k[0] != "text"]
    assert kinds == [
        ("exercise", "a"),
        ("solution", "a"),
        ("exercise", "b"),
        ("solution-start", "b"),
        ("solution-end", ""),
        ("exercise", "c"),
    ]
