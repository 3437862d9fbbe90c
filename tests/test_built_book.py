"""The built HTML book, opened in headless Chromium: math rendered by the bundled MathJax, every
figure loaded, every internal link resolving. Run by `make book-check` after the book is built."""

import functools
import http.server
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import headless_chromium
import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SKIP = {"genindex.html", "search.html", "index.html"}  # index.html is a redirect
PAGES = (
    sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html") if "_static" not in p.parts)
    if HTML.exists()
    else []
)
PAGES = [p for p in PAGES if Path(p).name not in SKIP and not p.startswith("_")]
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\\(frac|mathbb|mathrm|log|sum|int|sup|Vert)\b")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


@functools.cache
def _parse(page):
    parser = _Links()
    parser.feed((HTML / page).read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def browser():
    if not HTML.exists():
        pytest.fail("no built book: run `make book` first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    chrome = headless_chromium.start("1280,2000")
    yield chrome, f"http://127.0.0.1:{server.server_address[1]}/"
    chrome.quit()
    server.shutdown()


def test_the_book_has_its_pages():
    assert "book/intro.html" in PAGES and "notebooks/01_dv_duality.html" in PAGES, PAGES


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_offline(browser, page):
    chrome, base = browser
    chrome.get(base + page)
    # MathJax typesets asynchronously: wait for it, and report whether it loaded at all.
    state = chrome.execute_async_script(
        """const done = arguments[arguments.length - 1];
        const wait = (tries) => {
          if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
            MathJax.startup.promise.then(() => done('typeset'));
          } else if (tries > 100) { done('no mathjax'); } else { setTimeout(() => wait(tries + 1), 100); }
        };
        wait(0);"""
    )
    math_nodes = chrome.execute_script("return document.querySelectorAll('.math').length")
    if math_nodes:
        assert state == "typeset", f"{page}: MathJax did not load from the book ({state})"
        assert chrome.execute_script("return document.querySelectorAll('mjx-container').length") >= math_nodes
        assert chrome.execute_script("return document.querySelectorAll('mjx-merror, mjx-error').length") == 0
    # No TeX left as text outside code: the prose and figures' captions must all be typeset.
    text = chrome.execute_script(
        """const main = document.querySelector('main').cloneNode(true);
        main.querySelectorAll('pre, code, mjx-container, script, .highlight').forEach(e => e.remove());
        return main.innerText;"""
    )
    leftover = RAW_TEX.findall(text)
    assert not leftover, f"{page}: raw TeX in the rendered text: {leftover[:5]}"
    # Every image (the chapters' figures) loaded.
    broken = chrome.execute_script(
        "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert not broken, f"{page}: images that did not load: {broken}"


def test_chapters_show_their_figures():
    parser = (HTML / "notebooks/01_dv_duality.html").read_text(encoding="utf-8")
    assert parser.count("<img") >= 2


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(page):
    broken = []
    for href in _parse(page).hrefs:
        url = urlparse(href)
        if url.scheme or href.startswith(("mailto:", "//")):
            continue
        target = urlparse(urljoin(page, href))
        path = unquote(target.path) or page
        if not (HTML / path).is_file():
            broken.append(href)
        elif target.fragment and path.endswith(".html") and target.fragment not in _parse(path).ids:
            broken.append(href)
    assert not broken, f"{page}: links to nowhere: {broken}"
