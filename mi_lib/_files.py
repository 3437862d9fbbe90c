"""Where the project's generated files go, and how they are written and read so that a fault never
gives a reader half of one: the cache (``mi_lib.infoplane``, ``mi_lib.backbones``) and the chapters'
results (``mi_lib.results``).

- Writes are atomic: a temporary file in the same folder, flushed, then renamed over the target.
  Files are created with the mode an ordinary ``open`` gives (0666 less the umask: 0644 or 0664),
  so a cache shared by a group (a JupyterHub class) is readable by all of it.
- A temporary file left by a killed writer is removed by the next write in its folder: at once when
  its writer (named in the file name, with the host) has died, else once it is an hour old.
- A cache file that cannot be read completely (truncated, corrupt, of another layout) is reported in
  one line (a :class:`CacheWarning` naming the file), removed, and the caller recomputes it.
- :func:`exclusive_lock` serialises the processes that would compute the same entry (chapters run
  in parallel), so the second one waits and then reads what the first one stored.
"""

import contextlib
import os
import re
import socket
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

CACHE_VARIABLE = "MI_CACHE_DIR"
STALE_SECONDS = 3600.0  # a write takes seconds: a temporary file this old was left by a dead writer
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32]
_TEMPORARY = re.compile(r"\.(?P<host>[A-Za-z0-9]*)-(?P<pid>\d+)\.[^.]*\.tmp$")


class CacheWarning(UserWarning):
    """A cache file could not be read: it was removed and its content is recomputed."""


def project_folder():
    """The nearest folder at or above the working directory that holds a ``pyproject.toml`` (the
    project, whether a chapter runs in ``notebooks/`` or a test at the root), else the working
    directory."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here


def cache_dir():
    """``$MI_CACHE_DIR`` if set, else ``.mi_cache`` in the project (:func:`project_folder`)."""
    configured = os.environ.get(CACHE_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    return project_folder() / ".mi_cache"


def _umask():
    try:  # Linux says it without changing it
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode():
    """The permissions of a file created by ``open``: 0666 less the process's umask."""
    return 0o666 & ~_umask()


def _alive(pid):
    if os.name == "nt":  # os.kill(pid, 0) terminates the process on Windows: rely on the age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, under another user
        return True
    return True


def remove_stale_temporaries(folder, older_than=STALE_SECONDS):
    """Remove the temporary files of :func:`write_file_atomically` in ``folder`` whose writer is dead
    (a process of this host that no longer exists) or that are older than ``older_than`` seconds.
    Returns the paths removed."""
    removed = []
    for path in Path(folder).glob("*.tmp"):
        match = _TEMPORARY.search(path.name)
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            continue
        dead = match is not None and match["host"] == _HOST and not _alive(int(match["pid"]))
        if dead or age > older_than:
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def write_file_atomically(path, write, mode="wb"):
    """Create or replace ``path`` with what ``write(file)`` writes, so that ``path`` is always either
    absent, the old file or the complete new one: write a temporary file in the same folder (named
    after the target, this host and this process), flush it to disk, give it the mode of a new file,
    then rename it over ``path`` (atomic on POSIX and Windows). On any error the temporary file is
    removed and the old file is left as it was; one left by a killed writer is removed by a later
    write (:func:`remove_stale_temporaries`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    prefix = f"{path.name}.{_HOST}-{os.getpid()}."
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(handle, mode) as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, new_file_mode())  # mkstemp makes 0600: unreadable to the group
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def save_arrays(path, arrays):
    """Write ``arrays`` (a dict of numpy arrays) as an uncompressed .npz at ``path``, atomically."""
    return write_file_atomically(path, lambda file: np.savez(file, **arrays))


def discard_unreadable(path, reason):
    """Report in one line (a :class:`CacheWarning`) that the cache file ``path`` cannot be used and
    why, then remove it, so that it is recomputed and the warning is not repeated."""
    reason = " ".join(str(reason).split())  # one line, whatever the error says
    warnings.warn(
        f"cache file {path} is unreadable ({reason}): removed, recomputing it", CacheWarning, stacklevel=3
    )
    with contextlib.suppress(OSError):
        Path(path).unlink()


def load_arrays(path):
    """The arrays of the .npz at ``path`` as a dict, read completely (every array, its checksum
    checked); None when there is no such file, or when it cannot be read, which
    :func:`discard_unreadable` reports."""
    try:
        with open(path, "rb") as file, np.load(file, allow_pickle=False) as saved:
            return {name: saved[name] for name in saved.files}
    except FileNotFoundError:
        return None
    except Exception as error:  # truncated (BadZipFile), corrupt (bad CRC, bad header), unreadable
        discard_unreadable(path, f"{type(error).__name__}: {error}")
        return None


@contextlib.contextmanager
def exclusive_lock(path):
    """Hold an exclusive advisory lock (``fcntl.flock``) on the file ``path`` for the ``with`` block:
    another process (or thread) taking the same lock waits until this one is done. The lock file is
    removed on release. Where there is no ``flock`` (Windows, some network file systems) the block
    runs unlocked."""
    try:
        import fcntl
    except ImportError:
        fcntl = None
    path = Path(path)
    descriptor = None
    while fcntl is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, new_file_mode())
        except OSError:  # a read-only cache: nothing to protect
            break
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError:  # a file system without flock: run unlocked
            os.close(descriptor)
            descriptor = None
            break
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(os.fstat(descriptor), os.stat(path)):
                break  # locked, and the file is still the lock, not one that its holder removed
        os.close(descriptor)
        descriptor = None
    try:
        yield
    finally:
        if descriptor is not None:
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(descriptor)
