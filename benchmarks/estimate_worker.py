"""Estimates run by another commit's mi_lib, in a long-lived process: the side-by-side benchmarks'
common part (benchmarks/accuracy.py, benchmarks/estimator_speed.py).

`Worker(label, root)` starts this file as a subprocess with PYTHONPATH=root, so that it imports the
mi_lib of that tree (a `worktree(ref)` of another commit, or this checkout), and then runs estimates
on command, one at a time: the process's import time is paid once, while each call pays what a user
calling `mi_lib.estimate` repeatedly pays (its tracing and compiling included). Data travel as .npz
files, so both sides see the same samples. Commands and answers are JSON lines on the worker's
stdin and on a copy of its stdout; anything else it prints goes to stderr.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commit_of(ref):
    return subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


@contextlib.contextmanager
def worktree(ref):
    """A temporary detached `git worktree` of ``ref``, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"mi-{commit_of(ref)}-"))
    path = folder / "tree"
    subprocess.run(["git", "worktree", "add", "--quiet", "--detach", str(path), ref], cwd=ROOT, check=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)


class Worker:
    """A subprocess that imports the mi_lib of ``root`` and runs estimates on command."""

    def __init__(self, label, root):
        self.label, self.root = label, Path(root)
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
        )
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = self._answer()
        if "error" in hello:
            raise RuntimeError(f"{label}: mi_lib could not be imported from {root}: {hello['error']}")
        if not Path(hello["mi_lib"]).resolve().is_relative_to(self.root.resolve()):
            raise RuntimeError(f"{label}: imported mi_lib from {hello['mi_lib']}, not from {root}")
        self.mi_lib = hello["mi_lib"]

    def _answer(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.label}: the worker exited (code {self.process.wait()})")
        return json.loads(line)

    def run(self, data, estimator="estimate", **kwargs):
        """Run ``estimator`` (``estimate`` or ``ksg``) on the (x, y) saved in the .npz ``data``.
        Returns a dict: value, stderr (None when the Estimate has none), seconds (the call's wall
        time), steps and diverged where the Estimate has them; or error, a one-line message."""
        command = {"data": str(data), "estimator": estimator, "kwargs": kwargs}
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=60)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        if self.process.poll() is None:
            self.process.kill()


def _number(value):
    return None if value is None else float(value)


def _serve():
    # Keep the protocol on a private copy of stdout; whatever else prints (TensorFlow, Keras) goes to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def say(message):
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    try:
        import numpy as np

        import mi_lib
        import mi_lib.classical
    except Exception as error:  # reported to the parent, which says which tree failed
        say({"error": f"{type(error).__name__}: {error}"})
        return
    say({"mi_lib": mi_lib.__file__})
    for line in sys.stdin:
        command = json.loads(line)
        try:
            with np.load(command["data"]) as data:
                x, y = data["x"], data["y"]
            kwargs = command["kwargs"]
            started = time.perf_counter()
            if command["estimator"] == "ksg":
                result = mi_lib.classical.ksg(x, y, **kwargs)
                seconds = time.perf_counter() - started
                say({"value": float(result), "stderr": None, "seconds": seconds})
                continue
            result = mi_lib.estimate(x, y, **kwargs)
            seconds = time.perf_counter() - started
            say(
                {
                    "value": float(result.value),
                    "stderr": _number(getattr(result, "stderr", None)),
                    "seconds": seconds,
                    "steps": int(getattr(result, "steps", -1)),
                    "diverged": bool(getattr(result, "diverged", False)),
                }
            )
        except Exception as error:
            message = " ".join(f"{type(error).__name__}: {error}".split())
            say({"error": message[:300]})


if __name__ == "__main__":
    _serve()
