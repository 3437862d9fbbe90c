"""`make assignments` for real: the chapters become nbgrader assignments, and nbgrader grades them.

The instructor's solution of chapter 1 (the nbgrader source notebook, with the outputs of the
chapter's execution by nbval) is submitted and autograded: every autograded test cell gets full marks
and the written answers wait for the instructor. The unchanged student release is submitted too and
executed by the autograder: every graded cell gets zero. This runs in the `classroom` stage of
`make test`, in the quick profile.
"""

import ast
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.classroom

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("assignments", ROOT / "tools" / "assignments.py")
assignments = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(assignments)
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import execution_cache  # noqa: E402

CHAPTERS = assignments.toc_chapters()
GRADED = CHAPTERS[0].stem  # chapter 1: the one that is autograded here (about a minute, quick profile)


def _cells(course, kind, stem):
    return nbformat.read(course / kind / stem / f"{stem}.ipynb", as_version=4).cells


def _meta(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    assignments.main(["--root", str(root)])
    return root


def test_every_toc_chapter_is_an_assignment(course):
    for chapter in CHAPTERS:
        for kind in ("source", "release"):
            assert (course / kind / chapter.stem / f"{chapter.stem}.ipynb").is_file(), (kind, chapter)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_release_has_no_solutions_no_hidden_tests_no_pairing(course, chapter):
    source = _cells(course, "source", chapter.stem)
    release_nb = nbformat.read(course / "release" / chapter.stem / f"{chapter.stem}.ipynb", as_version=4)
    release = release_nb.cells
    text = json.dumps(release_nb)
    assert "jupytext" not in release_nb.metadata, release_nb.metadata
    assert not list((course / "release" / chapter.stem).glob("*.md")), "a paired Markdown file was released"
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, marker
    answers = [c for c in source if _meta(c).get("solution")]
    assert len(answers) >= 3, f"{chapter.stem}: fewer than three answer cells"
    by_id = {_meta(c).get("grade_id"): c for c in release if _meta(c)}
    # No line of a model answer is left anywhere in the release, unless the chapter itself (outside
    # the solutions) has the same line, as code that a solution repeats.
    shared = "\n".join(c.source for c in source if not _meta(c).get("solution"))
    for cell in answers:
        released = by_id[_meta(cell)["grade_id"]]
        assert released.source in ("YOUR ANSWER HERE", "# YOUR CODE HERE\nraise NotImplementedError()")
        for line in cell.source.splitlines():
            line = line.strip()
            if len(line) > 30 and "SOLUTION" not in line and line not in shared:
                assert line not in text, f"{chapter.stem}: solution text released: {line!r}"
    for cell in source:
        if _meta(cell).get("grade") and not _meta(cell).get("solution") and "BEGIN HIDDEN" in cell.source:
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            for line in hidden.splitlines():
                if line.strip() and not line.strip().startswith("#"):
                    assert line not in by_id[_meta(cell)["grade_id"]].source, line


def _submit(course, student, notebook):
    folder = course / "submitted" / student / GRADED
    folder.mkdir(parents=True)
    shutil.copy(notebook, folder / f"{GRADED}.ipynb")
    (folder / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")


def _bound(source):
    """The names a cell binds in the kernel's namespace (not those local to functions or
    comprehensions)."""
    names = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)):
            return
        else:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            for child in ast.iter_child_nodes(node):
                visit(child)

    visit(ast.parse(source))
    return names


def _loaded(source):
    return {
        n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _solution_as_executed(course):
    """The instructor's solution with the outputs of chapter 1's execution in the quick profile, from
    the execution cache (`make nbval`, or `make classroom` itself, puts it there), so that execution
    serves instead of a second one. It can: every cell of the solution, hidden tests included, is a
    cell of the chapter, in the same order (solution cells inside nbgrader's markers), and the
    chapter's own checks that the assignment leaves out bind no name that a later cell reads."""
    chapter = execution_cache.executed(CHAPTERS[0], "quick")
    assert chapter is not None, f"{GRADED} is not in the execution cache: run `make classroom`"
    ran = [cell for cell in chapter.cells if cell.cell_type == "code"]
    solution = nbformat.read(course / "source" / GRADED / f"{GRADED}.ipynb", as_version=4)
    code = [cell for cell in solution.cells if cell.cell_type == "code"]
    sources = [c.source.removeprefix("### BEGIN SOLUTION\n").removesuffix("\n### END SOLUTION") for c in code]
    position = 0
    for cell in ran:
        if position < len(sources) and cell.source == sources[position]:
            code[position].outputs, code[position].execution_count = cell.outputs, cell.execution_count
            position += 1
            continue
        read_later = set().union(set(), *map(_loaded, sources[position:]))
        assert not _bound(cell.source) & read_later, (
            f"the assignment leaves out a cell of {GRADED} that later cells depend on: {cell.source[:200]}"
        )
    assert position == len(sources), f"cell {position} of the assignment is not a cell of {GRADED}"
    path = course / "executed" / f"{GRADED}.ipynb"
    path.parent.mkdir()
    nbformat.write(solution, path)
    return path


@pytest.fixture(scope="module")
def grades(course):
    from nbgrader.api import Gradebook

    _submit(course, "instructor", _solution_as_executed(course))
    _submit(course, "unchanged", course / "release" / GRADED / f"{GRADED}.ipynb")
    # The instructor's solution is graded on its outputs (kept, not executed again); the unchanged
    # release is executed, in the quick profile whatever the caller's.
    grade = ("autograde", GRADED, "--log-level=WARN")
    assignments.nbgrader(
        *grade,
        "--student=instructor",
        "--Execute.enabled=False",
        "--ClearOutput.enabled=False",
        course=course,
    )
    assignments.nbgrader(*grade, "--student=unchanged", course=course, env={"MI_PROFILE": "quick"})
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            student: [
                (g.name, g.cell.cell_type, g.auto_score, g.max_score, g.needs_manual_grade)
                for g in gradebook.find_submission_notebook(GRADED, GRADED, student).grades
            ]
            for student in ("instructor", "unchanged")
        }


def test_instructor_solution_gets_full_marks(grades):
    autograded = [g for g in grades["instructor"] if g[1] == "code"]
    written = [g for g in grades["instructor"] if g[1] == "markdown"]
    assert sum(g[3] for g in autograded) >= 3, f"chapter 1 should have autograded tests: {grades}"
    for name, _, score, points, manual in autograded:
        assert score == points and not manual, f"{name}: {score} of {points} points"
    # Written answers are graded by hand: the model answer is text, so nbgrader asks for a grade.
    assert written and all(g[2] is None and g[4] for g in written), written


def test_unchanged_release_gets_zero(grades):
    assert len(grades["unchanged"]) == len(grades["instructor"])
    for name, _, score, points, _ in grades["unchanged"]:
        assert score == 0 and points > 0, f"{name}: {score} of {points} points for an unchanged release"
