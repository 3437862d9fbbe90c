"""Wall time of the README's two commands on fresh clones: one commit against another, in one run.

For each commit (BASE first, then NEW, by default HEAD), a fresh clone in a temporary folder runs
`make book`, and another fresh clone runs `make test` (each stage's time as `make test` prints it).
The machine's matmul ceiling is measured in the same run, so that times taken on different machines
can be compared. Prints a table and writes benchmarks/results/build_time.json.

It takes about an hour on two cores, so it is not part of `make benchmark`:
    make benchmark-build BASE=<commit> [NEW=<commit>] [ONLY=test|book]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import report

ROOT = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"^== stage (?P<name>[\w-]+): (?P<seconds>\d+) s$", re.M)


def commit_of(name):
    return subprocess.run(
        ["git", "rev-parse", "--short", name], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def fresh_clone(commit, folder):
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(ROOT), str(folder)], check=True)
    subprocess.run(["git", "checkout", "--quiet", commit], cwd=folder, check=True)


def timed_make(commit, target, log_folder):
    """`make <target>` in a fresh clone of ``commit``: (seconds, stage seconds, log path)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MI_PROFILE")}
    log = log_folder / f"{commit}-{target}.log"
    with tempfile.TemporaryDirectory(prefix=f"build-{commit}-") as scratch:
        clone = Path(scratch) / "clone"
        fresh_clone(commit, clone)
        start = time.perf_counter()
        with log.open("w") as out:
            done = subprocess.run(["make", target], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"make {target} failed on {commit} (exit {done.returncode}); see {log}")
    stages = {m["name"]: int(m["seconds"]) for m in STAGE.finditer(log.read_text(errors="replace"))}
    return round(seconds), stages, log


def matmul_ceiling():
    from mine_throughput import matmul_gflops

    return round(matmul_gflops(1024, 3), 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", help="the commit to compare against (e.g. the last landed main)")
    parser.add_argument("new", nargs="?", default="HEAD", help="the commit measured (default HEAD)")
    parser.add_argument("--only", choices=("test", "book"), help="time one command only")
    args = parser.parse_args()
    targets = [args.only] if args.only else ["book", "test"]
    logs = Path(tempfile.mkdtemp(prefix="build-time-logs-"))
    result = {"matmul_gflops_before": matmul_ceiling()}
    for label, name in (("base", args.base), ("new", args.new)):
        commit = commit_of(name)
        result[f"{label}_commit"] = commit
        for target in targets:
            seconds, stages, log = timed_make(commit, target, logs)
            print(f"{label} {commit}: make {target} {seconds} s {stages or ''} (log {log})", flush=True)
            result[f"{label}_make_{target}_s"] = seconds
            if stages:
                result[f"{label}_make_{target}_stages_s"] = stages
    result["matmul_gflops_after"] = matmul_ceiling()
    for target in targets:
        result[f"make_{target}_new_over_base"] = round(
            result[f"new_make_{target}_s"] / result[f"base_make_{target}_s"], 3
        )
    report("build_time", result)


if __name__ == "__main__":
    main()
