"""A sweep of 13 correlations in d = 20 (chapter 4): one estimate_many call against 13 sequential
estimate calls, on equal step counts (early stopping off), measured side by side in one run.

Beside the times: each side's rate in GFLOP/s (the critics' dense layers, counted as in
mine_throughput.py) and the machine's matmul ceiling, measured in the same run. Their ratio,
ceiling / sequential rate, is the most any batching could gain over the sequential runs here: when the
sequential runs already use half of the ceiling, no batched sweep can be twice as fast.

Usage: python benchmarks/batched_sweep.py [--steps 500] [--batch-size 512] [--samples 5000]
"""

import argparse
import time

from mine_throughput import BATCH, HIDDEN, critic_flops_per_step, matmul_gflops
from report import report

import mi_lib
from mi_lib.settings import banner, profile
from mi_lib.truth import correlated_gaussians

RHOS = (-0.99, -0.9, -0.7, -0.5, -0.3, -0.1, 0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99)
DIM = 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--samples", type=int, default=5_000)
    args = parser.parse_args()
    print(banner(profile("quick")))
    data = [correlated_gaussians(args.samples, DIM, r, seed=i) for i, r in enumerate(RHOS)]
    # One evaluation at the end and no early stopping: both sides train exactly `steps` steps.
    options = dict(steps=args.steps, eval_every=args.steps, patience=1, batch_size=args.batch_size)

    ceiling = matmul_gflops(2048, 3)
    start = time.perf_counter()
    mi_lib.estimate_many([d[0] for d in data], [d[1] for d in data], seeds=list(range(len(RHOS))), **options)
    batched = time.perf_counter() - start

    start = time.perf_counter()
    for seed, (x, y) in enumerate(data):
        mi_lib.estimate(x, y, seed=seed, **options)
    sequential = time.perf_counter() - start

    ceiling = max(matmul_gflops(2048, 3), ceiling)  # bracket: the machine may drift
    assert mi_lib.Options().hidden == HIDDEN, "count the FLOPs of the default critic"
    per_step = critic_flops_per_step() * args.batch_size / BATCH
    work = per_step * args.steps * len(RHOS) / 1e9  # GFLOP of the whole sweep
    result = {
        "tasks": len(RHOS),
        "dim": DIM,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "batched_seconds": round(batched, 2),
        "sequential_seconds": round(sequential, 2),
        "speedup": round(sequential / batched, 2),
        "batched_gflops": round(work / batched, 1),
        "sequential_gflops": round(work / sequential, 1),
        "matmul_gflops": round(ceiling, 1),
        # what batching could gain at most: the sequential runs brought to the matmul ceiling
        "speedup_limit": round(ceiling * sequential / work, 2),
    }
    report("batched_sweep", result)


if __name__ == "__main__":
    main()
