"""The chapters' execution cache (book/_ext/execution_cache.py): nbval's execution of a notebook is
stored where Jupyter Book looks for it, with the outputs that Jupyter Book's own execution gives."""

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import nbclient
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "book" / "_ext"
sys.path.insert(0, str(EXT))
import execution_cache  # noqa: E402

# Every kind of output a chapter makes: prints to both streams, a figure, a rich result, a display
# updated by id and a progress bar that clears itself (tqdm), a glue-style display.
CHAPTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3 (ipykernel)
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
import sys
from IPython.display import Markdown, clear_output, display, update_display
print("to stdout")
print("to stderr", file=sys.stderr)
print("again")
```

Some prose.

```{code-cell} ipython3
:tags: [remove-cell]
handle = display(Markdown("first"), display_id=True)
handle.update(Markdown("updated"))
display("cleared away")
clear_output(wait=True)
display(Markdown("after the clear"))
```

```{code-cell} ipython3
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.plot([0, 1], [1, 0])
plt.show()
{"a": 1}
```
"""


def _chapter(folder, text=CHAPTER):
    markdown = folder / "chapter.md"
    markdown.write_text(text)
    notebook = jupytext.read(markdown)
    jupytext.write(notebook, folder / "chapter.ipynb")
    return markdown


def _nbval(folder, *args, cache):
    env = {
        **os.environ,
        "PYTHONPATH": str(EXT),
        "MI_PROFILE": "quick",
        execution_cache.CACHE_VARIABLE: str(cache),
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "execution_cache"]
        + ["--nbval-lax", "--rootdir", str(folder), *args, str(folder / "chapter.ipynb")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _outputs(notebook):
    def clean(output):
        output = {k: v for k, v in output.items() if k != "metadata"}
        if "data" in output:  # figures are not byte-identical between two executions
            output["data"] = {
                m: (v if not m.startswith("image/") else "<image>") for m, v in output["data"].items()
            }
        return output

    return [[clean(o) for o in cell.outputs] for cell in notebook.cells if cell.cell_type == "code"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(execution_cache.CACHE_VARIABLE, str(folder))
    return folder


def test_nbval_execution_is_what_the_book_would_execute(tmp_path, cache):
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook

    markdown = _chapter(tmp_path)
    run = _nbval(tmp_path, cache=cache)
    assert run.returncode == 0, run.stdout + run.stderr

    # The book reads the chapter's MyST source; the cache must match it by its code cells...
    book_notebook = read_myst_markdown_notebook(markdown.read_text(), path=str(markdown))
    folder = execution_cache.cache_path("quick")
    assert execution_cache.is_cached(book_notebook, folder)
    _, shown = get_cache(folder).merge_match_into_notebook(book_notebook)

    # ... and give what myst-nb's own execution (nbclient) would have shown.
    executed = jupytext.read(markdown)
    nbclient.NotebookClient(
        executed, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert _outputs(shown) == _outputs(executed)
    first, second, third = _outputs(shown)
    assert [o.get("name") for o in first] == ["stdout", "stderr"]
    assert second == [
        {
            "output_type": "display_data",
            "data": {
                "text/markdown": "after the clear",
                "text/plain": "<IPython.core.display.Markdown object>",
            },
        }
    ]
    assert any("image/png" in o.get("data", {}) for o in third)
    assert shown.metadata["language_info"]["name"] == "python"


def test_a_failing_chapter_is_not_cached_and_uncached_only_runs_what_is_missing(tmp_path, cache):
    failing = CHAPTER + "\n```{code-cell} ipython3\nassert False, 'the claim fails'\n```\n"
    markdown = _chapter(tmp_path, failing)
    run = _nbval(tmp_path, cache=cache)
    assert run.returncode == 1 and "the claim fails" in run.stdout, run.stdout
    book_notebook = jupytext.read(markdown)
    assert not execution_cache.is_cached(book_notebook, execution_cache.cache_path("quick"))

    _chapter(tmp_path)  # fixed: executed and cached, then nothing is left to execute
    assert _nbval(tmp_path, "--uncached-only", cache=cache).returncode == 0
    again = _nbval(tmp_path, "--uncached-only", cache=cache)
    assert again.returncode == 0 and "deselected" in again.stdout, again.stdout


def test_the_cache_is_kept_per_profile_and_per_code_version(cache, monkeypatch):
    quick = execution_cache.cache_path("quick")
    quick.mkdir(parents=True)
    assert execution_cache.cache_path("full") != quick
    assert execution_cache.cache_path("full").parent == quick.parent
    monkeypatch.setattr(execution_cache, "code_version", lambda: "changed")
    assert execution_cache.cache_path("quick").name == "quick-changed"
    assert not quick.exists(), "a cache of older code stays behind"
