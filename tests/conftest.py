"""Fixtures shared by the test modules."""

import pytest


@pytest.fixture
def disable_autograph(monkeypatch):
    """A function that makes AutoGraph convert nothing for the rest of the test (undone after it), as
    once happened in CI to a traced ``for ... in tf.range`` loop: compiled code that needs no AutoGraph
    runs the same with it."""
    from tensorflow.python.autograph.impl import conversion
    from tensorflow.python.autograph.pyct import cache

    def disable():
        monkeypatch.setattr(conversion, "_ALLOWLIST_CACHE", cache.UnboundInstanceCache())
        monkeypatch.setattr(conversion, "is_unsupported", lambda entity: True)

    return disable
