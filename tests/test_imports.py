"""The numpy-only parts of mi_lib import without TensorFlow; the TensorFlow-backed names load lazily."""

import subprocess
import sys

import pytest


def run_python(code):
    """Run ``code`` in a fresh interpreter (this one has imported TensorFlow already); its stdout."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "module",
    ["mi_lib", "mi_lib.truth", "mi_lib.classical", "mi_lib.data", "mi_lib.results", "mi_lib.settings"],
)
def test_numpy_only_modules_do_not_import_tensorflow(module):
    # TensorFlow's start-up costs seconds and hundreds of MB; tools, tests and chapters that need only
    # the ground truth or the classical estimators should not pay it.
    loaded = run_python(
        f"import sys, {module}\nprint(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    assert loaded.strip() == "[]", (module, loaded)


def test_tensorflow_backed_names_load_on_first_use():
    run_python(
        """
import sys
import mi_lib
assert "tensorflow" not in sys.modules
assert mi_lib.setup is mi_lib.settings.setup and mi_lib.profile is mi_lib.settings.profile
assert {"estimate", "Options"} <= set(dir(mi_lib))
from mi_lib import estimate
assert "tensorflow" in sys.modules
import mi_lib.estimators
assert estimate is mi_lib.estimate is mi_lib.estimators.estimate
for name in mi_lib.__all__:  # every public name resolves, from where it is defined
    assert getattr(mi_lib, name) is not None, name
namespace = {}
exec("from mi_lib import *", namespace)
assert set(mi_lib.__all__) <= set(namespace)
assert mi_lib.bounds.__name__ == "mi_lib.bounds"  # submodules too, as when __init__ imported them
try:
    mi_lib.no_such_name
except AttributeError as error:
    assert "no_such_name" in str(error)
else:
    raise AssertionError("mi_lib.no_such_name resolved")
"""
    )
