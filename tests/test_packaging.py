"""The pins agree across pyproject.toml, environment.yml and the lock file."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra, values in project["optional-dependencies"].items():
        if extra != "gpu":  # environment.yml is the CPU environment
            specs += values
    return dict(spec.split("==") for spec in specs)


def test_every_dependency_is_pinned_exactly():
    for name, version in pyproject_pins().items():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.]*", version), (name, version)


def test_environment_yml_carries_the_same_pins():
    listed = dict(
        re.findall(r"^\s+- ([A-Za-z0-9_.\[\]-]+)==([^\s#]+)", (ROOT / "environment.yml").read_text(), re.M)
    )
    assert listed == pyproject_pins()


def test_lock_file_agrees_with_the_direct_pins():
    lock = dict(
        line.split("==")
        for line in (ROOT / "requirements/lock.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    lock = {k.lower().replace("_", "-"): v for k, v in lock.items()}
    for name, version in pyproject_pins().items():
        assert lock.get(name.lower().replace("_", "-")) == version, name


def test_every_package_of_mi_lib_is_in_the_wheel():
    # setuptools' `packages` is not recursive: a package of mi_lib missing from it installs without
    # its modules (mi_lib.backbones, mi_lib.infoplane are packages of one module per concept).
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "mi_lib").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert sorted(listed) == sorted(found)
