"""The chapters' execution cache (book/_ext/execution_cache.py): nbval's execution of a notebook is
stored where Jupyter Book looks for it, with the outputs that Jupyter Book's own execution gives."""

import json
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
import os, pathlib
# The chapter records its numbers beside its cached execution (mi_lib.results reads this variable).
assert pathlib.Path(os.environ["MI_RESULTS_DIR"]).parent.name.startswith("quick-"), os.environ
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


def _chapter(folder, text=CHAPTER, name="chapter"):
    markdown = folder / f"{name}.md"
    markdown.write_text(text)
    jupytext.write(jupytext.read(markdown), markdown.with_suffix(".ipynb"))
    return markdown


def _nbval(folder, *args, cache):
    env = {
        **{k: v for k, v in os.environ.items() if k != "MI_RESULTS_DIR"},
        "PYTHONPATH": str(EXT),
        "MI_PROFILE": "quick",
        execution_cache.CACHE_VARIABLE: str(cache),
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "execution_cache"]
        + ["--nbval-lax", "--rootdir", str(folder), *args, *map(str, sorted(folder.glob("*.ipynb")))],
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
                m: "<image>" if m.startswith("image/") else v for m, v in output["data"].items()
            }
        return output

    def merged(outputs):  # how the book shows streams (nb_merge_streams): their split is timing
        shown = []
        for output in outputs:
            if output.get("output_type") == "stream" and shown and shown[-1].get("name") == output["name"]:
                shown[-1] = {**shown[-1], "text": shown[-1]["text"] + output["text"]}
            else:
                shown.append(output)
        return shown

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return [merged([clean(o) for o in cell.outputs]) for cell in code]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(execution_cache.CACHE_VARIABLE, str(folder))
    return folder


def test_nbval_execution_is_cached_as_the_book_would_execute_it(tmp_path, cache, monkeypatch):
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook

    # A chapter whose claim fails is not cached: the book must not show it.
    failing = CHAPTER + "\n```{code-cell} ipython3\nassert False, 'the claim fails'\n```\n"
    markdown = _chapter(tmp_path, failing)
    run = _nbval(tmp_path, cache=cache)
    assert run.returncode == 1 and "the claim fails" in run.stdout, run.stdout
    folder = execution_cache.cache_path("quick")
    assert not execution_cache.is_cached(jupytext.read(markdown), folder)

    # Fixed, it is missing from the cache, so `make book`'s --uncached-only executes it; then nothing.
    _chapter(tmp_path)
    run = _nbval(tmp_path, "--uncached-only", cache=cache)
    assert run.returncode == 0 and "3 passed" in run.stdout, run.stdout
    # JupyterLab writes metadata into the .ipynb that the .md does not hold: still the same chapter.
    paired = jupytext.read(markdown.with_suffix(".ipynb"))
    paired.cells[1].metadata.update(collapsed=True, scrolled=True)
    jupytext.write(paired, markdown.with_suffix(".ipynb"))
    again = _nbval(tmp_path, "--uncached-only", cache=cache)
    assert again.returncode == 0 and "3 deselected" in again.stdout, again.stdout

    # The book reads the chapter's MyST source; the cache must match it by its code cells...
    book_notebook = read_myst_markdown_notebook(markdown.read_text(), path=str(markdown))
    assert execution_cache.is_cached(book_notebook, folder)
    _, shown = get_cache(folder).merge_match_into_notebook(book_notebook)
    assert execution_cache.durations()["chapter"] > 0

    # ... and give what myst-nb's own execution (nbclient) would have shown (in a build, whose
    # results folder is the same).
    monkeypatch.setenv("MI_RESULTS_DIR", str(folder / "results"))
    executed = jupytext.read(markdown)
    nbclient.NotebookClient(
        executed, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert _outputs(shown) == _outputs(executed)
    first, second, third = _outputs(shown)
    assert [o.get("name") for o in first] == ["stdout", "stderr"]
    assert [o["data"]["text/markdown"] for o in second] == ["after the clear"]
    assert any("image/png" in o.get("data", {}) for o in third)
    assert shown.metadata["language_info"]["name"] == "python"
    assert [c.execution_count for c in shown.cells if c.cell_type == "code"] == [1, 2, 3]


def test_chapters_run_longest_first(tmp_path, cache):
    for name in ("01_a", "02_b", "03_c"):
        _chapter(tmp_path, name=name)
    (tmp_path / "chapter.ipynb").unlink(missing_ok=True)

    def order():
        run = _nbval(tmp_path, "--collect-only", cache=cache)
        assert run.returncode == 0, run.stdout + run.stderr
        return list(
            dict.fromkeys(line.split(".ipynb")[0] for line in run.stdout.splitlines() if ".ipynb::" in line)
        )

    assert order() == ["03_c", "02_b", "01_a"]  # never executed: the later chapters first
    cache.mkdir()
    (cache / "durations.json").write_text(json.dumps({"01_a": 50.0, "03_c": 10.0}))
    assert order() == ["02_b", "01_a", "03_c"]  # never executed, then the longest first


def test_the_cache_is_kept_per_profile_and_per_code_version(cache, monkeypatch):
    quick = execution_cache.cache_path("quick")
    full = execution_cache.cache_path("full")
    assert quick != full and quick.parent == full.parent == cache
    for folder in (quick, full):
        folder.mkdir(parents=True)
        (folder / "global.db").touch()
    monkeypatch.setattr(execution_cache, "code_version", lambda: "changed")
    changed = execution_cache.cache_path("quick")
    assert changed.name == "quick-changed" and quick.exists(), "older code's cache kept until a run"
    execution_cache._remove_older_versions(changed)  # after a chapter was stored there
    assert not quick.exists() and full.exists(), "the other profile's cache must stay"


def test_the_key_holds_what_the_outputs_depend_on():
    assert Path(execution_cache.__file__) in execution_cache.CODE
    assert ROOT / "requirements" / "gpu-lock.txt" in execution_cache.CODE
    assert ROOT / "mi_lib" / "estimators.py" in execution_cache.CODE
    assert execution_cache._tensorflow_build().startswith(("tensorflow-cpu==", "tensorflow=="))
