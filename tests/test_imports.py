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
    [
        "mi_lib",
        "mi_lib.truth",
        "mi_lib.classical",
        "mi_lib.data",
        "mi_lib.results",
        "mi_lib.settings",
        "mi_lib.infoplane",  # the Tishby network is numpy; Keras only for Recording.layer_model
        "mi_lib.backbones",  # Keras on first use: building, pretraining or loading a model
    ],
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


@pytest.mark.parametrize("package", ["mi_lib.backbones", "mi_lib.infoplane"])
def test_a_package_reexports_every_public_name_of_its_modules(package):
    # The split into one module per concept keeps the import paths of the single module it was:
    # `from mi_lib.infoplane import record_training`, `backbones.pretrain`, `backbones.ZOO`.
    run_python(
        f"""
import importlib, pkgutil, types
package = importlib.import_module({package!r})
modules = [m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")]
assert len(modules) >= 3, modules
names = set()
for name in modules:
    module = importlib.import_module(f"{package}.{{name}}")
    assert module.__doc__ and len(module.__doc__) > 100, f"{{module.__name__}} explains its concept"
    for public, value in vars(module).items():
        defined_here = getattr(value, "__module__", module.__name__) == module.__name__
        if public.startswith("_") or isinstance(value, types.ModuleType) or not defined_here:
            continue
        if not (callable(value) or public.isupper()):
            continue
        names.add(public)
        assert getattr(package, public, None) is value, f"{package}.{{public}} is not {{module.__name__}}'s"
missing = names - set(package.__all__)
assert not missing, f"{package}.__all__ lacks {{sorted(missing)}}"
for public in package.__all__:
    assert getattr(package, public) is not None, public
"""
    )
