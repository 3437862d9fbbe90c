"""How generated files are written and read: group-readable, never half-written, stale temporary
files removed, unreadable cache files reported and removed, one writer at a time."""

import os
import stat
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

from mi_lib import _files
from mi_lib._files import CacheWarning


def umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("mask", [0o022, 0o002])
def test_written_files_get_the_mode_of_a_new_file(tmp_path, mask):
    previous = os.umask(mask)
    try:
        arrays = _files.save_arrays(tmp_path / "a.npz", {"a": np.arange(3)})
        text = _files.write_file_atomically(tmp_path / "b.json", lambda f: f.write("{}"), mode="w")
    finally:
        os.umask(previous)
    for path in (arrays, text):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask  # 0644 or 0664, not mkstemp's 0600


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporary_files_are_removed_by_the_next_write(tmp_path):
    host = _files._HOST
    dead = tmp_path / f"record.npz.{host}-{dead_pid()}.abc123.tmp"  # a writer that was killed
    live = tmp_path / f"record.npz.{host}-{os.getpid()}.def456.tmp"  # a writer at work
    old = tmp_path / f"other.npz.{host}-{os.getpid()}.ghi789.tmp"  # no write takes an hour
    remote = tmp_path / f"record.npz.otherhost-{dead_pid()}.jkl012.tmp"  # its pid means nothing here
    for path in (dead, live, old, remote):
        path.write_bytes(b"half a file")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    _files.save_arrays(tmp_path / "new.npz", {"a": np.arange(3)})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, remote.name, "new.npz"])


def test_an_unreadable_cache_file_is_reported_in_one_line_and_removed(tmp_path):
    path = _files.save_arrays(tmp_path / "record.npz", {"a": np.arange(1000), "b": np.ones((3, 4))})
    assert _files.load_arrays(path)["b"].shape == (3, 4)
    whole = path.read_bytes()
    for damaged in (
        whole[: len(whole) // 2],
        whole[:-1],
        b"not an npz at all",
        whole.replace(b"\x01", b"\x02"),
    ):
        path.write_bytes(damaged)
        with pytest.warns(CacheWarning, match=str(path)) as caught:
            assert _files.load_arrays(path) is None
        assert len(caught) == 1 and "\n" not in str(caught[0].message)
        assert not path.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _files.load_arrays(tmp_path / "absent.npz") is None  # absent is not unreadable


def test_the_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MI_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert _files.cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("MI_CACHE_DIR")
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    monkeypatch.chdir(project / "notebooks")
    assert _files.cache_dir() == project.resolve() / ".mi_cache"


def test_an_exclusive_lock_makes_the_second_holder_wait(tmp_path):
    lock = tmp_path / "entry.lock"
    events = []

    def second():
        with _files.exclusive_lock(lock):
            events.append("second")

    with _files.exclusive_lock(lock):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # waiting for the lock
        events.append("first")
    thread.join(timeout=10)
    assert events == ["first", "second"]
    assert not lock.exists()  # removed on release
