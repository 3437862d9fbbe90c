"""Memory and time of the KDE estimators of mi_lib.classical (kde_bounds, sample_propagation) at
n = 4,096 (a Tishby layer of chapter 6) and n = 20,000 (the target: under 1 GB of peak memory).

Each case runs in a fresh Python process: the peak of numpy's allocations (tracemalloc), the
process's peak resident memory (getrusage, which includes Python, numpy and scipy themselves, about
100 MB) and the wall time of the call. Layer outputs t are standard Gaussian, d = 10, sigma = 0.5;
sample_propagation draws its default 10 noisy copies. Before the estimators worked in blocks of
rows they held about four n x n float64 matrices: 512 MB at n = 4,096 and 12.8 GB at n = 20,000.
Prints and writes benchmarks/results/classical_memory.json.

Usage: python benchmarks/classical_memory.py
"""

import json
import subprocess
import sys

from report import report

WORK = """
import json, resource, sys, time, tracemalloc
import numpy as np
from mi_lib.classical import kde_bounds, sample_propagation
estimator, n = sys.argv[1], int(sys.argv[2])
t = np.random.default_rng(0).normal(size=(n, 10))
call = {"kde_bounds": lambda: kde_bounds(t, 0.5), "sample_propagation": lambda: sample_propagation(t, 0.5)}
tracemalloc.start()
start = time.perf_counter()
value = call[estimator]()
seconds = time.perf_counter() - start
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"seconds": seconds, "numpy_peak_mb": peak / 2**20,
                  "process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "tensorflow_imported": "tensorflow" in sys.modules, "value": value}))
"""


def measure(estimator, n):
    done = subprocess.run(
        [sys.executable, "-c", WORK, estimator, str(n)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def main():
    result = {}
    for n in (4_096, 20_000):
        for estimator in ("kde_bounds", "sample_propagation"):
            run = measure(estimator, n)
            result[f"{estimator}, n = {n}"] = (
                f"{run['seconds']:.1f} s, numpy peak {run['numpy_peak_mb']:.0f} MB, "
                f"process peak {run['process_peak_mb']:.0f} MB"
                + (" (TensorFlow imported)" if run["tensorflow_imported"] else "")
            )
            if n == 20_000:
                assert run["process_peak_mb"] < 1024, (estimator, run)
    report("classical_memory", result)


if __name__ == "__main__":
    main()
