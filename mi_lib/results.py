"""What the chapters measured, kept for the reproduction report: one small JSON file per chapter.

A chapter calls ``record(chapter, profile, name=value, ...)`` on its key numbers; the report page
reads them back with ``load()``. The report therefore shows the numbers of the last execution of
each chapter and cannot drift from them. ``$MI_RESULTS_DIR`` moves the folder; by default it is
``_build/results`` in the project (the nearest folder at or above the working directory that holds
a ``pyproject.toml``).
"""

import json
import math
import os
import re
from pathlib import Path

from mi_lib._files import project_folder, write_file_atomically

RESULTS_VARIABLE = "MI_RESULTS_DIR"
CHAPTER_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def results_dir():
    """The folder of the results files (created by :func:`record` when missing)."""
    configured = os.environ.get(RESULTS_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    return project_folder() / "_build" / "results"


def _number(name, value):
    if (
        isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b"
    ):  # not a measurement
        raise ValueError(f"{name} must be a number, got {value!r}: record a count or a fraction instead")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def record(chapter, profile, **values):
    """Add ``values`` (numbers) to the results of ``chapter`` (a name such as ``03_mixture_test``),
    measured in ``profile`` (a Profile or its name). Earlier values of other names are kept; the file
    is replaced atomically, so a reader never sees half of it. Returns the file's path."""
    if not (isinstance(chapter, str) and CHAPTER_NAME.match(chapter)):
        raise ValueError(f"chapter must be a name of letters, digits, '_' or '-', got {chapter!r}")
    profile_name = getattr(profile, "name", profile)
    if profile_name not in ("quick", "full"):
        raise ValueError(f"profile must be the quick or full Profile (or its name), got {profile!r}")
    if not values:
        raise ValueError("values: record needs at least one value, given as name=number")
    numbers = {name: _number(name, value) for name, value in values.items()}
    path = results_dir() / f"{chapter}.json"
    current = load().get(chapter, {}) if path.exists() else {}
    if current.get("profile") != profile_name:
        current = {}  # numbers of another profile must not mix with these
    merged = {"profile": profile_name, "values": {**current.get("values", {}), **numbers}}
    return write_file_atomically(
        path, lambda file: json.dump(merged, file, indent=1, sort_keys=True), mode="w"
    )


def load():
    """Every chapter's results: ``{chapter: {"profile": name, "values": {name: number}}}``."""
    folder = results_dir()
    results = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            results[path.stem] = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"results file {path} is not valid JSON: {error}") from error
    return results
