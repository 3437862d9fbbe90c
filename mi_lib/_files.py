"""Where the project's generated files go, and how they are written so that no reader ever sees half
of one: the cache (``mi_lib.infoplane``, ``mi_lib.backbones``) and the chapters' results
(``mi_lib.results``)."""

import os
import tempfile
from pathlib import Path


def project_folder():
    """The nearest folder at or above the working directory that holds a ``pyproject.toml`` (the
    project, whether a chapter runs in ``notebooks/`` or a test at the root), else the working
    directory."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here


def write_atomically(path, write, mode="wb"):
    """Create or replace ``path`` with what ``write(file)`` writes, so that ``path`` is always either
    absent, the old file or the complete new one: write a temporary file in the same folder, flush
    it to disk, then rename it over ``path`` (atomic on POSIX and Windows). On any error the
    temporary file is removed and the old file is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, mode) as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
