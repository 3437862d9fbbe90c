"""The on-disk cache of the records: named arrays in files, never half a file.

Runs are cached on disk, keyed by the configuration and a fingerprint of the data (:func:`_key`): a
checkpoint is written atomically at recorded epochs, so an interrupted (even killed) run resumes
where it stopped, and the finished record replaces the checkpoint atomically. A cache file that
cannot be read, or holds arrays of another layout, is reported and recomputed; two processes asking
for the same record train it once (the second waits for the first). ``$MI_CACHE_DIR`` moves the
cache; by default it is ``.mi_cache/`` at the root of the project (see :mod:`mi_lib._files`).

This module knows files, names, shapes and dtypes of arrays: not what the arrays mean, nor how they
are trained (:mod:`mi_lib.infoplane.training` does that and hands it a checkpoint callback).
"""

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from mi_lib._files import cache_dir, discard_unreadable, exclusive_lock, load_arrays, save_arrays

FORMAT = 1  # bump when the layout of the cached record changes


def _key(config, x, y):
    """The name of the record of ``config`` (a dataclass) on ``x``, ``y`` in the cache: a hash of
    the format, the configuration and the data (unchanged since the records were first cached)."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": FORMAT, **asdict(config)}, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(x, np.float64).tobytes())
    digest.update(np.ascontiguousarray(y, np.int64).tobytes())
    return digest.hexdigest()[:20]


def _layout_problem(arrays, expected):
    """Why ``arrays`` (name -> array) do not match ``expected`` (name -> (shape, dtype kind)); None
    when they do."""
    if set(arrays) != set(expected):
        return f"holds arrays {sorted(arrays)}, expected {sorted(expected)}"
    for name, (shape, kind) in expected.items():
        found = arrays[name]
        if found.shape != tuple(shape) or found.dtype.kind != kind:
            return f"{name} is {found.dtype} {found.shape}, expected kind {kind!r} {tuple(shape)}"
    return None


class _Entry:
    """The files of one record in the cache: the record, the checkpoint of its unfinished training,
    and the lock, in ``directory``/infoplane (by default :func:`mi_lib._files.cache_dir`)."""

    def __init__(self, directory, key):
        folder = (Path(directory) if directory is not None else cache_dir()) / "infoplane"
        self.record_path = folder / f"{key}.npz"
        self.checkpoint_path = folder / f"{key}.checkpoint.npz"
        self.lock_path = folder / f"{key}.lock"

    def load_or_compute(self, problem, compute):
        """The stored record's arrays when they are readable and ``problem(arrays)`` is None, else
        ``compute()`` (which stores them), under a lock: a second process waits for the first and
        reads what it stored. An unusable record is reported (with its problem) and removed."""
        arrays = self.load(problem)
        if arrays is None:
            with exclusive_lock(self.lock_path):
                arrays = self.load(problem)  # another process may have stored it while this one waited
                if arrays is None:
                    arrays = compute()
        return arrays

    def load(self, problem):
        """The stored record's arrays, or None when there are none or ``problem(arrays)`` says why
        they cannot be used (reported, and the file removed)."""
        arrays = load_arrays(self.record_path)
        if arrays is None:
            return None
        reason = problem(arrays)
        if reason is not None:
            discard_unreadable(self.record_path, reason)
            return None
        return arrays

    def restore(self, like):
        """The checkpoint's arrays when there is one with the names, shapes and dtype kinds of the
        arrays ``like`` (name -> array); else None (an unusable one is reported and removed)."""
        saved = load_arrays(self.checkpoint_path)
        if saved is None:
            return None
        problem = _layout_problem(saved, {name: (a.shape, a.dtype.kind) for name, a in like.items()})
        if problem is not None:
            discard_unreadable(self.checkpoint_path, problem)
            return None
        return saved

    def checkpoints(self, every_seconds, then=None):
        """The training loop's checkpoint callback: called with the epoch and the arrays to resume
        from, it writes them atomically once ``every_seconds`` have passed since its last write (or
        since it was made), then calls ``then(epoch)``."""
        last = time.perf_counter()

        def checkpoint(epoch, arrays):
            nonlocal last
            if time.perf_counter() - last >= every_seconds:
                save_arrays(self.checkpoint_path, arrays)
                last = time.perf_counter()
                if then is not None:
                    then(epoch)

        return checkpoint

    def store(self, arrays):
        """Write the finished record atomically, then remove the checkpoint it replaces."""
        save_arrays(self.record_path, arrays)
        self.checkpoint_path.unlink(missing_ok=True)
