"""The chapters' execution cache: each chapter is executed once, by nbval, and the book shows that
execution.

Jupyter Book (myst-nb, ``execute_notebooks: cache``) looks a chapter up in a jupyter-cache by the
hash of its code cells; when it finds it there, it shows the cached outputs instead of executing the
chapter again. This module is both ends of that cache:

- a **pytest plugin** (``pytest -p execution_cache``, with this folder on ``PYTHONPATH``): while
  nbval executes a chapter it keeps the kernel messages of every cell, turns them into outputs with
  nbclient's own message handling (the code myst-nb executes chapters with, so the book shows what
  its own execution would have shown), and stores the executed notebook in the cache once every cell
  has passed. ``--uncached-only`` executes only the chapters that the cache lacks (``make book``);
  without it every chapter is executed (``make test``: nbval is a test, it always runs);
- a **Sphinx extension** (a local extension in ``_config.yml``): it points myst-nb at that cache.

The cache is kept per run profile and per version of what the chapters run (``mi_lib``, the pinned
dependencies, the TensorFlow build, Python, this module): a quick execution never stands in for a
full one, a CPU execution never for a GPU one, and a change to the library executes every chapter
again, as a change to a chapter's own code executes that chapter again. The numbers the chapters
record for the reproduction report (``mi_lib.results``) are kept in the same folder, so the report
always reads the numbers of the executions the book shows.
"""

import contextlib
import copy
import fcntl
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE_VARIABLE = "MI_EXECUTION_CACHE_DIR"  # moves the cache (the tests of this module use it)
# What the chapters' outputs depend on besides their own cells (which jupyter-cache hashes itself).
CODE = (
    *sorted((ROOT / "mi_lib").rglob("*.py")),
    *sorted((ROOT / "mi_lib").glob("*.mplstyle")),
    *sorted((ROOT / "requirements").glob("*.txt")),
    Path(__file__),  # how the outputs are rebuilt
)
PROFILE_VARIABLE = "MI_PROFILE"  # mi_lib.settings.PROFILE_VARIABLE, without importing TensorFlow
RESULTS_VARIABLE = "MI_RESULTS_DIR"  # mi_lib.results.RESULTS_VARIABLE


def _tensorflow_build():
    """The TensorFlow distribution installed (the CPU or the CUDA build), read without importing it."""
    for name in ("tensorflow-cpu", "tensorflow"):
        try:
            return f"{name}=={importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return "no tensorflow"


def code_version():
    digest = hashlib.sha256(f"{_tensorflow_build()} python {platform.python_version()}\0".encode())
    for path in CODE:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def cache_root():
    return Path(os.environ.get(CACHE_VARIABLE) or ROOT / "_build" / ".jupyter_cache")


def profile_name():
    """The run profile of ``$MI_PROFILE``; ``auto`` is resolved by mi_lib (which looks for a GPU)."""
    name = os.environ.get(PROFILE_VARIABLE, "").strip().lower()
    if name in ("quick", "full"):
        return name
    from mi_lib.settings import profile

    return profile().name


def cache_path(profile=None):
    """The cache folder of the run profile (``$MI_PROFILE`` when not given) and of the current code."""
    return cache_root() / f"{profile or profile_name()}-{code_version()}"


def _remove_older_versions(folder):
    """After a chapter was stored in ``folder``: the same profile's folders of other code versions
    can never match again (kept until then, so that switching branches costs nothing until a run)."""
    profile = folder.name.rsplit("-", 1)[0]
    for stale in folder.parent.glob(f"{profile}-*"):
        if stale != folder and (stale / "global.db").exists():
            shutil.rmtree(stale, ignore_errors=True)


def use_results_of(folder):
    """Chapters started from here (kernels inherit the environment) record their numbers beside
    their cached executions, and the report page reads them there (unless $MI_RESULTS_DIR is set)."""
    os.environ.setdefault(RESULTS_VARIABLE, str(folder / "results"))


@contextlib.contextmanager
def _locked(folder):
    """One writer at a time (nbval runs chapters in parallel processes; jupyter-cache is SQLite)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _source(notebook_path):
    """The chapter a generated notebook was made from (its MyST twin), as the book names it."""
    markdown = Path(notebook_path).with_suffix(".md")
    return markdown if markdown.exists() else Path(notebook_path)


def _as_the_book_reads(chapter):
    """An nbval notebook (a pytest collector) as the book reads it: from its MyST source, since
    JupyterLab may have left metadata in the generated .ipynb that the .md does not hold, and
    jupyter-cache hashes all of it. None when the two differ in code (not in sync)."""
    from myst_nb.core.read import read_myst_markdown_notebook

    source = _source(chapter.path)
    if source.suffix != ".md":
        return chapter.nb
    notebook = read_myst_markdown_notebook(source.read_text(encoding="utf-8"), path=str(source))

    def code(nb):
        return [cell.source for cell in nb.cells if cell.cell_type == "code"]

    return notebook if code(notebook) == code(chapter.nb) else None


def is_cached(notebook, folder):
    from jupyter_cache import get_cache

    if not (folder / "global.db").exists():
        return False
    with _locked(folder):
        try:
            get_cache(folder).match_cache_notebook(notebook)
        except KeyError:
            return False
    return True


def executed(chapter, profile=None):
    """The cached execution of ``chapter`` (its MyST file) as the book shows it, or None."""
    import jupytext
    from jupyter_cache import get_cache

    notebook, folder = jupytext.read(chapter), cache_path(profile)
    if not is_cached(notebook, folder):
        return None
    with _locked(folder):
        return get_cache(folder).merge_match_into_notebook(notebook)[1]


def _durations_file():
    return cache_root() / "durations.json"


def durations():
    """Seconds each chapter (by name) took when it was last executed here, in any profile."""
    try:
        return json.loads(_durations_file().read_text())
    except (OSError, ValueError):
        return {}


def store(notebook, uri, seconds, folder):
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    with _locked(folder):
        get_cache(folder).cache_notebook_bundle(
            CacheBundleIn(notebook, str(uri), data={"execution_seconds": seconds}),
            check_validity=False,
            overwrite=True,
        )
    _remove_older_versions(folder)
    with _locked(cache_root()):
        times = json.dumps({**durations(), Path(uri).stem: round(seconds, 1)}, indent=1, sort_keys=True)
        handle, temporary = tempfile.mkstemp(dir=cache_root(), suffix=".tmp")
        with os.fdopen(handle, "w") as file:
            file.write(times)
        os.replace(temporary, _durations_file())  # a reader never sees half of it


def executed_notebook(notebook, messages_by_cell):
    """``notebook`` with the outputs of its code cells rebuilt from the kernel's iopub messages (a
    list per code cell), exactly as nbclient builds them when it executes (streams, displays updated
    by id, cleared outputs, widget state)."""
    from ipykernel.ipkernel import IPythonKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionComplete

    notebook = copy.deepcopy(notebook)
    client = NotebookClient(notebook, record_timing=False)
    code_cells = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    for number, (index, messages) in enumerate(zip(code_cells, messages_by_cell, strict=True), start=1):
        cell = notebook.cells[index]
        cell.outputs = []
        client.clear_before_next_output = False  # as nbclient starts each cell
        requests = [m["parent_header"]["msg_id"] for m in messages if m["msg_type"] == "execute_input"]
        if not requests:
            raise ValueError(f"code cell {number} was not executed")
        request = requests[0]
        for message in messages:
            if message["parent_header"].get("msg_id") != request:
                continue  # not this cell's (nbval skips them too)
            try:
                client.process_message(message, cell, index)
            except CellExecutionComplete:
                break
        # nbval executes without storing history, so the kernel numbers no cell: number them as a
        # fresh kernel running the chapter top to bottom does.
        cell.execution_count = number
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = number
    client.set_widgets_metadata()
    notebook.metadata["language_info"] = dict(IPythonKernel.language_info)  # as nbclient records it
    return notebook


# --- the pytest plugin: loaded with `pytest -p execution_cache` beside nbval ---------------------


def pytest_addoption(parser):
    parser.addoption(
        "--uncached-only",
        action="store_true",
        help="execute only the chapters that the execution cache lacks (make book)",
    )


def _nbval_file_class():
    from nbval.plugin import IPyNbFile

    return IPyNbFile


def pytest_configure(config):
    IPyNbFile = _nbval_file_class()
    if getattr(IPyNbFile, "_keeps_messages", False):
        return  # configured before in this process
    read = IPyNbFile.get_kernel_message

    def get_kernel_message(self, timeout=None, stream="iopub"):
        # nbval reads every iopub message of a cell through here, then keeps only a summary of them:
        # keep the messages themselves, for the outputs the book shows.
        message = read(self, timeout=timeout, stream=stream)
        if stream == "iopub":
            self.__dict__.setdefault("_iopub", []).append(message)
        return message

    IPyNbFile.get_kernel_message = get_kernel_message
    IPyNbFile._keeps_messages = True


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    # Resolve the profile once (xdist's workers, started later, and every kernel inherit it).
    os.environ[PROFILE_VARIABLE] = profile_name()
    session.config._execution_cache = cache_path()
    use_results_of(session.config._execution_cache)


def _is_chapter(item):
    return isinstance(item.parent, _nbval_file_class())


def _is_cached_chapter(chapter, folder):
    notebook = _as_the_book_reads(chapter)
    return notebook is not None and is_cached(notebook, folder)


def pytest_collection_modifyitems(session, config, items):
    chapters = list(dict.fromkeys(item.parent for item in items if _is_chapter(item)))
    if config.getoption("uncached_only"):
        cached = [c for c in chapters if _is_cached_chapter(c, config._execution_cache)]
        if cached:
            config.hook.pytest_deselected(items=[item for item in items if item.parent in cached])
            items[:] = [item for item in items if item.parent not in cached]
            chapters = [chapter for chapter in chapters if chapter not in cached]
    # The longest chapters first, so that parallel workers finish together: by the time each took
    # when last executed here; chapters never executed here first, the later ones first (chapters
    # 6-9 train networks).
    seconds = durations()
    rank = {
        chapter: (-seconds.get(chapter.path.stem, float("inf")), -position)
        for position, chapter in enumerate(sorted(chapters, key=lambda c: c.path.name))
    }
    others = [item for item in items if not _is_chapter(item)]
    items[:] = others + sorted((i for i in items if _is_chapter(i)), key=lambda i: rank[i.parent])


def pytest_sessionfinish(session, exitstatus):
    # Nothing left to execute is success for `make book`, not pytest's "no tests ran".
    if exitstatus == 5 and session.config.getoption("uncached_only"):
        session.exitstatus = 0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if _is_chapter(item):
        item.parent._iopub = []
        item.parent.__dict__.setdefault("_started", time.perf_counter())
    try:
        return (yield)
    finally:
        if _is_chapter(item):
            item.parent.__dict__.setdefault("_cells", {})[item.cell_num] = item.parent._iopub


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if _is_chapter(item) and report.failed:
        item.parent._failed = True
    return report


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    chapter = item.parent
    if not _is_chapter(item) or (nextitem is not None and nextitem.parent is chapter):
        return
    cells = chapter.__dict__.get("_cells", {})
    code_cells = sum(cell.cell_type == "code" for cell in chapter.nb.cells)
    skipped = any(not any(m["msg_type"] == "execute_input" for m in messages) for messages in cells.values())
    failed = getattr(chapter, "_failed", False) or chapter.timed_out
    if failed or skipped or sorted(cells) != list(range(code_cells)):
        return  # only a complete, passing execution stands for the chapter
    seconds = time.perf_counter() - chapter._started
    notebook = _as_the_book_reads(chapter)
    if notebook is not None:
        notebook = executed_notebook(notebook, [cells[i] for i in range(code_cells)])
        store(notebook, _source(chapter.path), seconds, item.config._execution_cache)


# --- the Sphinx extension ----------------------------------------------------------------------


def _use_cache(app, config):
    folder = cache_path()
    config.nb_execution_cache_path = str(folder)
    use_results_of(folder)  # for the report page, which is executed on every build


def setup(app):
    app.connect("config-inited", _use_cache, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
