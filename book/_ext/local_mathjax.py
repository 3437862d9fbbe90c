"""Serve MathJax from the book itself, so that math renders in a classroom without network.

MathJax 3.2.2 comes from the pinned PyPI package ``django-static-mathjax``; its es5 build is copied
to ``_static/mathjax`` of the HTML output and Sphinx is pointed at it instead of a CDN.
"""

import shutil
from pathlib import Path

MATHJAX_ENTRY = "tex-mml-chtml.js"


def _mathjax_es5():
    import mathjax  # the module of django-static-mathjax

    folder = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (folder / MATHJAX_ENTRY).is_file():
        raise RuntimeError(f"MathJax not found in {folder}: reinstall django-static-mathjax")
    return folder


def _use_local(app, config):
    _mathjax_es5()  # fail early, with a clear message, when the package is missing
    config.mathjax_path = f"mathjax/{MATHJAX_ENTRY}"


def _copy(app, exception):
    if exception is None and app.builder.format == "html":
        shutil.copytree(_mathjax_es5(), Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _use_local)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
