"""`make assignments`: every chapter of the table of contents as an nbgrader assignment.

Each chapter (MyST Markdown, read with Jupytext) becomes an nbgrader *source* notebook in
``<root>/source/<chapter>/<chapter>.ipynb``; nbgrader's own ``generate_assignment`` then writes the
student version to ``<root>/release/<chapter>/``. The chapter's exercises (sphinx-exercise) map to
nbgrader cells as follows:

- ``:::{exercise}``: a read-only statement cell, "Exercise n", in plain Markdown;
- ``:::{solution}`` (prose): a manually graded answer cell (MANUAL_POINTS points), whose text is
  the model answer in the source and "YOUR ANSWER HERE" in the release;
- ``{solution-start}`` ... ``{solution-end}``: each code cell inside becomes an autograded answer
  cell, wrapped whole in ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (the release holds a stub);
  the prose inside becomes one manually graded answer cell after the code;
- a code cell with ``nbgrader: {grade: true, points: N}`` in its metadata (in the chapter, a hidden
  cell tagged ``remove-cell`` that checks the exercise's solution) becomes an autograded test cell
  worth N points; ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` inside it mark the part that
  stays out of the release.

The chapter's own hidden checks (other ``remove-cell`` code cells) are left out: they test the
chapter, not the student, and `make test` runs them. The Jupytext pairing metadata is dropped, so
JupyterLab cannot re-create a solution from a paired Markdown file.

Usage: python tools/assignments.py [--root DIR] [--no-release] [CHAPTER ...]; with no chapter
named, source/ is rewritten from scratch and every chapter released.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COURSE = ROOT / "_build" / "assignments"
MANUAL_POINTS = 2  # each written answer; autograded tests carry their own points
DIRECTIVES = ("exercise", "solution", "solution-start", "solution-end", "exercise-start", "exercise-end")
FENCE = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<name>[\w-]+)\}[ \t]*(?P<arg>.*?)\s*$")
OPTION = re.compile(r"^:([\w-]+):\s*(.*)$")
ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
EQ_LABEL = re.compile(r"^(\$\$)\s*\([\w:.-]+\)\s*$", re.M)


def toc_chapters(root=ROOT):
    """The chapters (notebooks/*.md) listed in _toc.yml, in reading order."""

    def files(node):
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                yield node["file"]
            for value in node.values():
                yield from files(value)
        elif isinstance(node, list):
            for item in node:
                yield from files(item)

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    chapters = [root / f"{f.removesuffix('.md')}.md" for f in files(toc) if f.startswith("notebooks/")]
    missing = [c.name for c in chapters if not c.is_file()]
    if missing:
        raise FileNotFoundError(f"chapters listed in _toc.yml but not in notebooks/: {missing}")
    return chapters


def segments(markdown):
    """Split a Markdown cell into ("text", str) and (directive, argument, options, body) pieces."""
    lines, pieces, text, i = markdown.split("\n"), [], [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match or match["name"] not in DIRECTIVES:
            text.append(lines[i])
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == match["fence"]), None)
        if end is None:
            raise ValueError(f"unclosed {{{match['name']}}} directive: {lines[i]!r}")
        body, options = lines[i + 1 : end], {}
        while body and OPTION.match(body[0]):
            key, value = OPTION.match(body[0]).groups()
            options[key] = value
            body = body[1:]
        if text:
            pieces.append(("text", "\n".join(text)))
            text = []
        pieces.append((match["name"], match["arg"], options, "\n".join(body).strip()))
        i = end + 1
    if text:
        pieces.append(("text", "\n".join(text)))
    return pieces


def exercises(chapter):
    """{label: has a solution} for every exercise of a chapter (.md path)."""
    found, solved = {}, set()
    for cell in jupytext.read(chapter).cells:
        if cell.cell_type != "markdown":
            continue
        for piece in segments(cell.source):
            if piece[0] in ("exercise", "exercise-start"):
                found[piece[2].get("label") or f"unlabelled-{len(found) + 1}"] = False
            elif piece[0] in ("solution", "solution-start"):
                solved.add(piece[1])
    return {label: label in solved for label in found}


def plain_markdown(text):
    """MyST roles and equation labels as JupyterLab's Markdown renderer can show them."""

    def role(match):
        name, body = match["role"], match["text"]
        if name.startswith("cite"):
            return f"[{body}]"
        target = re.match(r"(.*?)\s*<[^>]*>$", body)
        return target[1] if target else body

    return EQ_LABEL.sub(r"\1", ROLE.sub(role, text)).strip()


def _grade_meta(grade_id, *, grade=False, solution=False, locked=False, points=0):
    meta = dict(grade=grade, solution=solution, locked=locked, grade_id=grade_id, schema_version=3)
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def assignment_notebook(chapter):
    """The nbgrader source notebook of one chapter (.md path): solutions in, hidden tests marked."""
    notebook = jupytext.read(chapter)
    cells, text, answer = [], [], []
    state = dict(label=None, gated=None, exercise=0, code=0, test=0)

    def flush_text():
        source = plain_markdown("\n\n".join(text))
        text.clear()
        if source:
            cells.append(nbformat.v4.new_markdown_cell(source))

    def written_answer(label, body):
        flush_text()
        source = plain_markdown(body)
        if source:
            meta = _grade_meta(f"{label}-answer", grade=True, solution=True, points=MANUAL_POINTS)
            cells.append(nbformat.v4.new_markdown_cell(source, metadata=meta))

    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for piece in segments(cell.source):
                kind = piece[0]
                if kind == "text":
                    (answer if state["gated"] else text).append(piece[1])
                elif kind in ("exercise", "exercise-start"):
                    flush_text()
                    state["exercise"] += 1
                    label = piece[2].get("label") or f"exercise-{state['exercise']}"
                    state.update(label=label, code=0, test=0)
                    statement = f"### Exercise {state['exercise']}\n\n{plain_markdown(piece[3])}"
                    cells.append(
                        nbformat.v4.new_markdown_cell(statement, metadata=_grade_meta(label, locked=True))
                    )
                elif kind == "solution":
                    written_answer(piece[1], piece[3])
                elif kind == "solution-start":
                    flush_text()
                    state["gated"] = piece[1]
                    answer.clear()
                elif kind == "solution-end":
                    written_answer(state["gated"], "\n\n".join(answer))
                    state["gated"] = None
                # exercise-end closes a gated statement: nothing to emit
            continue
        flush_text()
        tags = cell.metadata.get("tags", [])
        marked = cell.metadata.get("nbgrader", {})
        label = state["gated"] or state["label"] or "chapter"
        if marked.get("grade"):
            state["test"] += 1
            meta = _grade_meta(
                f"{label}-test-{state['test']}", grade=True, locked=True, points=marked.get("points", 1)
            )
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata=meta))
        elif state["gated"]:
            state["code"] += 1
            source = f"### BEGIN SOLUTION\n{cell.source}\n### END SOLUTION"
            meta = _grade_meta(f"{label}-code-{state['code']}", solution=True)
            cells.append(nbformat.v4.new_code_cell(source, metadata=meta))
        elif "remove-cell" not in tags:
            keep = {k: v for k, v in cell.metadata.items() if k == "tags"}
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata=keep))
    flush_text()
    if state["gated"]:
        raise ValueError(f"{chapter.name}: {{solution-start}} {state['gated']} has no {{solution-end}}")
    metadata = {k: v for k, v in notebook.metadata.items() if k in ("kernelspec", "language_info")}
    return nbformat.v4.new_notebook(cells=cells, metadata=metadata)


def write_sources(chapters, course):
    for chapter in chapters:
        folder = course / "source" / chapter.stem
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(assignment_notebook(chapter), folder / f"{chapter.stem}.ipynb")


def nbgrader(*args, course, **kwargs):
    """Run an nbgrader command from the repository root (where nbgrader_config.py is). nbgrader calls
    the `alembic` executable for its gradebook, so this environment's bin folder goes first on PATH
    (the Makefile calls .venv/bin/python without activating the environment)."""
    env = dict(os.environ, **kwargs.pop("env", {}))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"]
    return subprocess.run(command, cwd=ROOT, env=env, check=True, **kwargs)


def release(chapters, course):
    """nbgrader's generate_assignment, in one process: it takes one assignment id, but nbgrader
    expands a glob, and source/ holds the chapters only (this script writes it)."""
    pattern = chapters[0].stem if len(chapters) == 1 else "*"
    nbgrader("generate_assignment", pattern, "--force", "--log-level=WARN", course=course)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter stems (default: every chapter in _toc.yml)")
    parser.add_argument("--root", type=Path, default=DEFAULT_COURSE, help="the nbgrader course directory")
    parser.add_argument("--no-release", action="store_true", help="write the sources only")
    args = parser.parse_args(argv)
    chapters = toc_chapters()
    if args.chapters:
        unknown = set(args.chapters) - {c.stem for c in chapters}
        if unknown:
            parser.error(f"not chapters of _toc.yml: {sorted(unknown)}")
        chapters = [c for c in chapters if c.stem in args.chapters]
    course = args.root.resolve()
    if not args.chapters:  # all of them: a chapter since removed from the toc goes too
        for kind in ("source", "release"):
            shutil.rmtree(course / kind, ignore_errors=True)
    write_sources(chapters, course)
    if not args.no_release:
        release(chapters, course)
    for chapter in chapters:
        print(f"{chapter.stem}: {len(exercises(chapter))} exercises -> {course / 'release' / chapter.stem}")


if __name__ == "__main__":
    main()
