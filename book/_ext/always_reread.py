"""Pages that report on other pages are read, and so executed, on every build, after the chapters.

Sphinx re-reads only the pages whose source changed, and reads them in the sorted order of their
names. The reproduction report (``reproduction/report``, after every ``notebooks/...`` page in that
order) reads the results the chapters write, so it must be executed again whenever they may have
changed: this extension marks it outdated on every build, and its notebook metadata asks myst-nb to
execute it without the cache.
"""

ALWAYS_REREAD = ("reproduction/report",)


def _outdated(app, env, added, changed, removed):
    return [name for name in ALWAYS_REREAD if name in env.found_docs]


def setup(app):
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
