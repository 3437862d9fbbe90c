"""JupyterLab as a student opens it: `make lab` started on a temporary copy of the chapters (with the
settings of jupyter-config/, as the Makefile passes them), chapter 1 double-clicked in the file
browser, run through the UI in headless Chromium, saved, and the files Jupytext wrote checked. Run by
`make lab-check` (chapter 1 in the quick profile: a few minutes on two cores)."""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import headless_chromium
import pytest

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "01_dv_duality"
# Besides the chapters' .md (no generated .ipynb: `make lab` makes them): what `make lab` reads, and
# pyproject.toml, which makes the copy the project where the chapters write their results.
COPIED = ("jupyter-config", "jupytext.toml", "pyproject.toml")
START_TIMEOUT = 300  # `make notebooks` on every chapter, then the server
UI_TIMEOUT = 120  # the page, the file browser, the notebook, the kernel
RUN_TIMEOUT = 600  # chapter 1 takes about a minute in the quick profile, longer on a loaded machine
SAVE_TIMEOUT = 60
NEWS_PROMPT = "official Jupyter news"
CITE = re.compile(r"\{cite\}`([^`]+)`")


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(path, lines=40):
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _brief(state):
    """A state for a failure message: long texts cut, long lists shortened."""
    if isinstance(state, str):
        return state if len(state) <= 120 else state[:117] + "..."
    if isinstance(state, list):
        return [_brief(item) for item in state[:12]] + (["..."] if len(state) > 12 else [])
    if isinstance(state, dict):
        return {key: _brief(value) for key, value in state.items()}
    return state


def _wait(probe, done, timeout, what, log=None, interval=1.0, browser=None):
    """Poll ``probe()`` until ``done(state)``; fail after ``timeout`` s, saying what was seen last
    (and with the end of the server's log and a screenshot of the page, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        state = probe()
        if done(state):
            return state
        if time.monotonic() > deadline:
            message = f"{what}: not within {timeout} s; last seen: {_brief(state)!r}"
            if browser is not None and log is not None:
                screenshot = log.with_name(f"failure-{int(time.time())}.png")
                browser.save_screenshot(str(screenshot))
                message += f"\nscreenshot: {screenshot}"
            if log is not None:
                message += f"\n--- server log (end) ---\n{_tail(log)}"
            pytest.fail(message)
        time.sleep(interval)


def _stop(server, timeout=60):
    """End `make lab`'s process group (make, its shell, the Jupyter server, which shuts its kernels
    down): SIGTERM, then SIGKILL for what is left after ``timeout`` s."""
    group = server.pid  # start_new_session: the group's id is make's pid
    os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server.poll()  # reap make, so that only live processes keep the group
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.killpg(group, signal.SIGKILL)
    server.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab` on a copy of the project, with no browser, on a free port, with a token. The user's
    own Jupyter folders are replaced by empty temporary ones: the test sees what a new student sees,
    and writes nothing outside its temporary folder."""
    if shutil.which("make") is None:
        pytest.fail("make is needed to start JupyterLab as `make lab` does")
    base = tmp_path_factory.mktemp("lab")
    project, home = base / "project", base / "home"
    shutil.copytree(
        ROOT / "notebooks",
        project / "notebooks",
        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"),
    )
    for name in COPIED:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, project / name)
    # The test's own make (`make lab-check`) and any JUPYTER_CONFIG_PATH of the caller stay out.
    unset = ("JUPYTER_CONFIG_PATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env.update(
        MI_PROFILE="quick",
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "lab-workspaces"),
        IPYTHONDIR=str(home / "ipython"),
    )
    port, token = _free_port(), secrets.token_hex(16)
    options = [
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    if os.geteuid() == 0:  # CI runs as root; Jupyter refuses root without this
        options.append("--allow-root")
    venv = Path(sys.prefix)
    # The Makefile's own `lab` target, run in the copy; -o: the virtual environment is not reinstalled.
    command = [
        "make",
        "--no-print-directory",
        "-f",
        str(ROOT / "Makefile"),
        "-C",
        str(project),
        "-o",
        str(venv / ".installed"),
        "lab",
        f"VENV={venv}",
        f"LAB_ARGS={' '.join(options)}",
    ]
    log = base / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"

    def api(path):
        """GET the server's REST API: the answer as JSON, or the error as text."""
        if server.poll() is not None:
            pytest.fail(f"`make lab` exited with {server.returncode}:\n{_tail(log)}")
        request = urllib.request.Request(url + path, headers={"Authorization": f"token {token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except (OSError, ValueError) as error:
            return str(error)

    try:
        _wait(
            lambda: api("api/status"),
            lambda s: isinstance(s, dict),
            START_TIMEOUT,
            "`make lab` serving",
            log,
            2,
        )
        yield {"url": url, "token": token, "project": project, "log": log, "api": api}
    finally:
        _stop(server)


@pytest.fixture(scope="module")
def browser():
    chrome = headless_chromium.start("1400,1000")
    chrome.set_page_load_timeout(UI_TIMEOUT)
    yield chrome
    chrome.quit()


# The state of the chapter's notebook panel, read from the page. arguments[0]: the tab's title.
PANEL_STATE = """
const tab = [...document.querySelectorAll('.lm-DockPanel .lm-TabBar-tab')]
  .find(t => t.querySelector('.lm-TabBar-tabLabel').textContent === arguments[0]);
if (!tab) return {tab: null};
const panel = document.getElementById(tab.getAttribute('data-id'));
if (!panel) return {tab: 'no panel'};
const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
const errors = [...panel.querySelectorAll('.jp-CodeCell')].map((cell, i) => [...cell.querySelectorAll(stderr)]
  .filter(o => o.textContent.includes('Traceback'))
  .map(o => `code cell ${i}: ${o.textContent.slice(0, 300)}`));
const dialog = document.querySelector('.jp-Dialog');
return {
  tab: 'found',
  dialog: dialog ? dialog.textContent : null,
  panel: panel.id,
  kind: panel.classList.contains('jp-NotebookPanel') ? 'notebook'
    : panel.querySelector('.jp-FileEditor') ? 'text editor' : panel.className,
  dirty: tab.classList.contains('jp-mod-dirty'),
  kernel: indicator ? indicator.getAttribute('data-status') : null,
  prompts: [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim()),
  errors: errors.flat(),
  markdown: [...panel.querySelectorAll('.jp-MarkdownCell')].map(cell => {
    const rendered = cell.querySelector('.myst');
    return rendered ? rendered.textContent : null;
  }),
  exercises: [...panel.querySelectorAll('.myst .myst-exercise')].map(e => e.id || e.tagName.toLowerCase()),
  images: panel.querySelectorAll('.jp-OutputArea-output img').length,
};
"""

# The names in the file browser, once it is laid out on screen (JupyterLab fills it before then).
LISTING = """return [...document.querySelectorAll('#filebrowser .jp-DirListing-content .jp-DirListing-item')]
  .filter(item => item.getBoundingClientRect().height > 0)
  .map(item => item.querySelector('.jp-DirListing-itemText').textContent.trim());"""


def _read_cells(path):
    import jupytext

    notebook = jupytext.read(path)
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


@pytest.fixture(scope="module")
def student_session(lab, browser):
    """What a student does: open JupyterLab, double-click chapter 1, Run > Run All Cells, wait for
    the kernel, save. Returns what the page and the folder showed along the way."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    chrome, log, title = browser, lab["log"], f"{CHAPTER}.md"
    folder = lab["project"] / "notebooks"
    seen = {"started": time.monotonic()}
    chrome.get(f"{lab['url']}lab?token={lab['token']}")
    chapters = sorted(p.name for p in folder.glob("*.md"))
    seen["listing"] = _wait(
        lambda: chrome.execute_script(LISTING),
        lambda names: set(chapters) <= set(names),
        UI_TIMEOUT,
        f"the file browser listing the chapters {chapters}",
        log,
        browser=chrome,
    )
    seen["pairs on disk"] = sorted(p.name for p in folder.glob("*.ipynb"))

    # Double-click the chapter, as a student does.
    item = next(
        element
        for element in chrome.find_elements(By.CSS_SELECTOR, "#filebrowser .jp-DirListing-item")
        if element.get_attribute("textContent").strip().startswith(title)
    )
    ActionChains(chrome).double_click(item).perform()
    opened = _wait(
        lambda: chrome.execute_script(PANEL_STATE, title),
        # A notebook's cells render after its tab appears (later still on a busy machine): wait for
        # them, or for the tab to show something other than a notebook.
        lambda s: s.get("tab") == "found" and (s.get("kind") != "notebook" or bool(s.get("prompts"))),
        UI_TIMEOUT,
        f"{title} opened from the file browser, its code cells shown",
        log,
        browser=chrome,
    )
    assert opened["kind"] == "notebook", f"double-clicking {title} opened a {opened['kind']}, not a notebook"
    seen["opened"] = opened

    # The kernel the notebook starts: ready on the server, then in the page (Run All Cells before
    # that asks for a kernel, as it would ask a student).
    def kernel_on_server():
        sessions = lab["api"]("api/sessions")
        if not isinstance(sessions, list):
            return sessions
        kernels = [s["kernel"]["execution_state"] for s in sessions if s["path"].endswith(title)]
        return kernels[0] if kernels else f"no session for {title} among {[s['path'] for s in sessions]}"

    _wait(kernel_on_server, lambda s: s == "idle", UI_TIMEOUT, f"the kernel of {title} idle", log, 2, chrome)
    _wait(
        lambda: chrome.execute_script(PANEL_STATE, title),
        lambda s: s["kernel"] == "idle" and not s["dialog"],
        UI_TIMEOUT,
        f"{title} showing its kernel idle, no dialog open",
        log,
        browser=chrome,
    )

    # Run > Run All Cells, from the menu bar.
    chrome.find_element(By.XPATH, "//div[contains(@class, 'lm-MenuBar-itemLabel')][text()='Run']").click()
    menu_item = _wait(
        lambda: chrome.find_elements(
            By.CSS_SELECTOR, '.lm-Menu li.lm-Menu-item[data-command="runmenu:run-all"]'
        ),
        bool,
        UI_TIMEOUT,
        "the Run menu's 'Run All Cells'",
    )
    menu_item[0].click()
    start = time.monotonic()
    started = _wait(
        lambda: chrome.execute_script(PANEL_STATE, title),
        lambda s: any(p not in ("[ ]:", "") for p in s["prompts"]) or s["dialog"],
        UI_TIMEOUT,
        "Run All Cells starting",
        log,
        browser=chrome,
    )
    assert not started["dialog"], f"Run All Cells opened a dialog: {started['dialog']}"
    seen["ran"] = _wait(
        lambda: chrome.execute_script(PANEL_STATE, title),
        lambda s: s["kernel"] == "idle" and not any("*" in p for p in s["prompts"]),
        RUN_TIMEOUT,
        f"{title}: every cell run and the kernel idle",
        log,
        browser=chrome,
        interval=3,
    )
    seen["run seconds"] = time.monotonic() - start

    # Save with the notebook toolbar's save button; Jupytext writes the .md and its .ipynb pair.
    pair = folder / f"{CHAPTER}.ipynb"
    before = pair.stat().st_mtime_ns if pair.exists() else 0
    save = f'[id="{opened["panel"]}"] .jp-Toolbar [data-command="docmanager:save"]'
    chrome.find_element(By.CSS_SELECTOR, save).click()
    seen["saved"] = _wait(
        lambda: chrome.execute_script(PANEL_STATE, title),
        lambda s: not s["dirty"] and pair.exists() and pair.stat().st_mtime_ns > before,
        SAVE_TIMEOUT,
        f"{title} saved (tab no longer marked modified, {pair.name} rewritten)",
        log,
        browser=chrome,
    )
    # Markdown cells render asynchronously; all of them must have rendered by now.
    seen["final"] = _wait(
        lambda: chrome.execute_script(PANEL_STATE, title),
        lambda s: all(text is not None for text in s["markdown"]),
        UI_TIMEOUT,
        "every markdown cell rendered by jupyterlab-myst",
        log,
        browser=chrome,
    )
    seen["page text"] = chrome.execute_script("return document.body.textContent")
    seen["page config"] = json.loads(
        chrome.execute_script("return document.getElementById('jupyter-config-data').textContent")
    )
    seen["seconds"] = time.monotonic() - seen["started"]
    print(f"\n{title} in JupyterLab: run all {seen['run seconds']:.0f} s, in all {seen['seconds']:.0f} s")
    return seen


def test_file_browser_lists_each_chapter_once(student_session):
    names = student_session["listing"]
    assert names.count(f"{CHAPTER}.md") == 1, names
    chapters = sorted(path.name for path in (ROOT / "notebooks").glob("*.md"))
    assert all(names.count(name) == 1 for name in chapters), f"chapters {chapters}, listed {names}"
    assert f"{CHAPTER}.ipynb" in student_session["pairs on disk"], "`make lab` should have made the pairs"
    listed_pairs = [name for name in names if name.endswith(".ipynb")]
    assert not listed_pairs, f"the generated pairs are listed beside their chapters: {listed_pairs}"


def test_chapter_opens_as_a_notebook(student_session):
    opened = student_session["opened"]
    assert opened["kind"] == "notebook", opened["kind"]
    assert opened["prompts"], "the notebook shows no code cells"


def test_no_news_or_update_prompt(student_session, lab):
    assert NEWS_PROMPT not in student_session["page text"], "JupyterLab asks about the Jupyter news"
    config = student_session["page config"]
    assert config.get("news", {}).get("disabled") is True, f"news not disabled in the page config: {config}"
    # The defaults of jupyter-config/labconfig, as JupyterLab serves them.
    schema = lab["api"]("lab/api/settings/@jupyterlab/apputils-extension:notification")["schema"]
    defaults = {name: schema["properties"][name]["default"] for name in ("fetchNews", "checkForUpdates")}
    assert defaults == {"fetchNews": "false", "checkForUpdates": False}, defaults


def test_every_cell_ran_without_error(student_session):
    ran = student_session["ran"]
    not_run = [i for i, prompt in enumerate(ran["prompts"]) if not prompt.strip("[]: ").isdigit()]
    assert not ran["errors"], "error outputs in the notebook:\n" + "\n".join(ran["errors"])
    assert not not_run, f"code cells not run (by position): {not_run}; prompts {ran['prompts']}"
    assert ran["images"] > 0, "no figure was displayed"


def test_myst_is_rendered(student_session):
    rendered = student_session["final"]["markdown"]
    source = [text for kind, text in _read_cells(ROOT / "notebooks" / f"{CHAPTER}.md") if kind == "markdown"]
    assert len(rendered) == len(source), (
        f"{len(rendered)} markdown cells shown, the chapter has {len(source)}"
    )
    # Only a cell that closes a solution (```{solution-end}```) renders to no text.
    blank = [i for i, text in enumerate(rendered) if not text.strip()]
    closing = [i for i in blank if re.fullmatch(r"\s*```\{solution-end\}\s*```\s*", source[i])]
    assert blank == closing, f"markdown cells rendered blank: {[source[i][:80] for i in blank]}"
    for raw in ("{cite}", "{exercise}", "{solution}", "{solution-start}", "{solution-end}", ":::", ":label:"):
        shown = [text[:200] for text in rendered if raw in text]
        assert not shown, f"raw MyST {raw!r} in rendered markdown cells: {shown}"
    keys = sorted({key for cell in source for role in CITE.findall(cell) for key in role.split(",")})
    text = "\n".join(rendered)
    missing = [key for key in keys if key.strip() not in text]
    assert keys and not missing, f"citations not rendered: {missing}"
    exercises = student_session["final"]["exercises"]
    labels = ["ex-dv-constant", "ex-kl-variance", "ex-infonce-batch"]
    assert all(label in exercises for label in labels), f"exercise blocks rendered: {exercises}"
    assert len(exercises) > len(labels), f"no solution blocks among the rendered exercises: {exercises}"


def test_outputs_are_saved_in_the_ipynb_pair(student_session, lab):
    import nbformat

    notebook = nbformat.read(lab["project"] / "notebooks" / f"{CHAPTER}.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    not_run = [i for i, cell in enumerate(code) if cell.execution_count is None]
    errors = [
        (i, out.ename) for i, cell in enumerate(code) for out in cell.outputs if out.output_type == "error"
    ]
    assert not not_run and not errors, f"saved .ipynb: code cells not run {not_run}, errors {errors}"
    shown = [cell for cell in code if "plt.show()" in cell.source or "print(" in cell.source]
    silent = [cell.source[:80] for cell in shown if not cell.outputs]
    assert shown and not silent, f"code cells saved without their outputs: {silent}"
    assert any("image/png" in o.get("data", {}) for cell in code for o in cell.outputs), "no figure saved"


def test_md_pair_still_holds_the_source(student_session, lab):
    saved = lab["project"] / "notebooks" / f"{CHAPTER}.md"
    text = saved.read_text()
    for output_trace in ("execution_count", '"outputs"', "image/png", "Traceback"):
        assert output_trace not in text, f"{saved.name} holds outputs ({output_trace!r})"
    original, after = _read_cells(ROOT / "notebooks" / saved.name), _read_cells(saved)
    assert [c for c in after if c[0] == "code"] == [c for c in original if c[0] == "code"], (
        "the code cells of the saved .md differ from the chapter's"
    )
    assert after == original, "the saved .md differs from the chapter in its markdown cells"
