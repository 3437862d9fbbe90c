"""Chapters in parallel: what running two TensorFlow processes at once gains over one at a time, with
TensorFlow's own thread count (what the Makefile's JOBS does) and with cores/2 threads each.

The work is a chapter's typical cell: a batch of seven MINE critics (estimate_many, d = 20, 5,000
pairs) and three single estimates. It runs alone, then as two processes at once with TensorFlow's
default threads (every core each), then as two processes with cores/2 threads each; all in one run,
so that the ratios are comparable on a shared machine. It also says whether these values change with
the thread count (they did not here; chapter 7's convolutions did, so the Makefile keeps TensorFlow's
default). Prints and writes benchmarks/results/parallel_jobs.json.

Usage: python benchmarks/parallel_jobs.py
"""

import json
import os
import subprocess
import sys
import time

from report import report

WORK = """
import json, time
import mi_lib
from mi_lib.truth import correlated_gaussians
mi_lib.setup(seed=0, verbose=False)
rhos = (0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.0)
xs, ys = zip(*[correlated_gaussians(5000, 20, r, seed=i) for i, r in enumerate(rhos)])
start = time.perf_counter()
values = [r.value for r in mi_lib.estimate_many(list(xs), list(ys), seeds=list(range(7)), steps=600)]
values += [mi_lib.estimate(xs[i], ys[i], seed=i, steps=300).value for i in range(3)]
print(json.dumps({"seconds": time.perf_counter() - start, "values": values}))
"""


def run(copies, threads=None):
    """``copies`` processes of WORK at once: (wall seconds, the values of the first)."""
    env = dict(os.environ)
    if threads:
        env.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads))
    start = time.perf_counter()
    command = [sys.executable, "-c", WORK]
    quiet = dict(stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    processes = [subprocess.Popen(command, env=env, **quiet) for _ in range(copies)]
    outputs = [json.loads(p.communicate()[0].decode().splitlines()[-1]) for p in processes]
    return time.perf_counter() - start, outputs[0]["values"]


def main():
    cores = os.cpu_count()
    alone, values = run(1)
    shared, _ = run(2)
    split, split_values = run(2, threads=max(1, cores // 2))
    report(
        "parallel_jobs",
        {
            "cores": cores,
            "one process, s": round(alone, 1),
            "two at once, default threads, s": round(shared, 1),
            "two at once, cores/2 threads each, s": round(split, 1),
            "throughput vs one at a time, default threads": round(2 * alone / shared, 2),
            "throughput vs one at a time, cores/2 threads": round(2 * alone / split, 2),
            "same values with cores/2 threads": values == split_values,
        },
    )


if __name__ == "__main__":
    main()
