"""Chapters are MyST Markdown paired with generated notebooks: no .ipynb is committed, every chapter
is in the table of contents, and a notebook present beside its chapter holds the same cells."""

import subprocess
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("*.md"))


def test_no_notebook_is_committed():
    tracked = subprocess.run(
        ["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked == [], f"generated notebooks are committed: {tracked}; `git rm --cached` them"


def test_there_are_chapters():
    assert CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_a_myst_notebook_in_the_toc(chapter):
    notebook = jupytext.read(chapter)
    assert notebook.metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert f"notebooks/{chapter.stem}" in (ROOT / "_toc.yml").read_text()


def _cells(notebook):
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", []))) for c in notebook.cells]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_paired_notebook_is_in_sync(chapter):
    paired = chapter.with_suffix(".ipynb")
    if not paired.exists():
        pytest.skip("no paired notebook (run `make notebooks` to create it)")
    assert _cells(jupytext.read(paired)) == _cells(jupytext.read(chapter)), (
        f"{paired.name} and {chapter.name} differ: run `make notebooks` (jupytext --sync) to pair them"
    )
