"""Seconds of a default `mi_lib.estimate` at N = 5,000: one commit's mi_lib against another's, side by
side in one run.

Each side runs in its own long-lived worker process (benchmarks/estimate_worker.py) that imports its
mi_lib once: the base from a temporary git worktree of --base (default 4c9935c, the estimator before
issue 15), the new one from this checkout (or a worktree of --new). Import time is left out, but
each call's tracing and compiling are in, as a user calling `estimate()` repeatedly pays them; one
warm-up estimate on another shape first takes each process's one-time start-up out of the
comparison. The calls alternate (base, new, base, new, ...) over the tasks and seeds, on the same
samples, so that drift of a shared machine falls on both sides alike. The tasks: the MINE-paper
Gaussian with rho = 0.5 in d = 2 and d = 20 (as in the other benchmarks) and the mixture-vs-label
task. Reports the seconds of each call, the ratio base/new per task (of mean seconds) and their
geometric mean, the training steps and milliseconds per step (a cheaper step told apart from an
earlier stop), the estimates themselves (value, and stderr where the Estimate has one) so that
equal accuracy can be checked, and the machine's matmul ceiling before and after (from
benchmarks/mine_throughput.py). Writes benchmarks/results/estimator_speed.json.

Usage: python benchmarks/estimator_speed.py [--base 4c9935c] [--new REF] [--seeds 3] [--samples 5000]
"""

import argparse
import contextlib
import tempfile
from pathlib import Path

import numpy as np
from estimate_worker import ROOT, Worker, commit_of, worktree
from report import report

from mi_lib import truth


def tasks(samples):
    """name -> (truth, sampler(seed) -> (x, y))."""
    mixture = truth.MixtureTask.overlapping()

    def gaussian(dim):
        return lambda seed: truth.correlated_gaussians(samples, dim, 0.5, seed=seed)

    def labelled(seed):
        x, z = mixture.sample(samples, seed=seed)
        return x, z[:, None].astype(np.float64)

    return {
        "gaussian-d2": (truth.correlated_gaussians_mi(2, 0.5), gaussian(2)),
        "gaussian-d20": (truth.correlated_gaussians_mi(20, 0.5), gaussian(20)),
        "mixture-overlapping": (mixture.mutual_information()[0], labelled),
    }


def matmul_ceiling():
    """GFLOP/s of benchmarks/mine_throughput.py's matmul loop (1024 x 1024), or why not."""
    try:
        from mine_throughput import matmul_gflops
    except Exception as error:  # mine_throughput imports mi_lib internals that a rewrite may move
        return f"unavailable: {type(error).__name__}: {error}"
    return round(matmul_gflops(1024, 3), 1)


def _fmt(run):
    if "error" in run:
        return f"ERROR {run['error']}"
    se = f" ± {run['stderr']:.4f}" if run.get("stderr") is not None else ""
    return f"{run['value']:.4f}{se} nats in {run['seconds']:.1f} s"


def _value_cell(values, truth_value):
    spread = f" ± {values.std(ddof=1):.3f}" if len(values) > 1 else ""
    return f"{values.mean():.3f}{spread} ({100 * (values.mean() / truth_value - 1):+.1f}%)"


def summarise(truths, runs):
    """Per task: mean seconds, steps, ms per step and estimates of each side; the ratio base/new.
    Returns (Markdown table lines, per-task dict, the ratios)."""
    lines = [
        "| task | truth (nats) | base s | new s | base / new | base steps | new steps | base ms/step "
        "| new ms/step | base estimate | new estimate |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios, per_task = [], {}
    for name, truth_value in truths.items():
        mine = {
            side: [r for r in runs if r["task"] == name and r["side"] == side] for side in ("base", "new")
        }
        if any("error" in r for side in mine.values() for r in side):
            per_task[name] = {"error": next(r["error"] for s in mine.values() for r in s if "error" in r)}
            lines.append(f"| {name} | {truth_value:.3f} | error: {per_task[name]['error'][:80]} ||||||||")
            continue
        seconds = {side: float(np.mean([r["seconds"] for r in mine[side]])) for side in mine}
        values = {side: np.array([r["value"] for r in mine[side]]) for side in mine}
        steps = {side: float(np.mean([r.get("steps", -1) for r in mine[side]])) for side in mine}
        per_step = {
            side: 1000 * seconds[side] / steps[side] if steps[side] > 0 else float("nan") for side in mine
        }
        ratio = seconds["base"] / seconds["new"]
        ratios.append(ratio)
        per_task[name] = {
            "truth": float(truth_value),
            "base_seconds": seconds["base"],
            "new_seconds": seconds["new"],
            "base_steps": steps["base"],
            "new_steps": steps["new"],
            "base_ms_per_step": per_step["base"],
            "new_ms_per_step": per_step["new"],
            "ratio_base_over_new": ratio,
            "base_mean_value": float(values["base"].mean()),
            "new_mean_value": float(values["new"].mean()),
        }
        lines.append(
            f"| {name} | {truth_value:.3f} | {seconds['base']:.1f} | {seconds['new']:.1f} | {ratio:.2f}x "
            f"| {steps['base']:.0f} | {steps['new']:.0f} | {per_step['base']:.1f} | {per_step['new']:.1f} "
            f"| {_value_cell(values['base'], truth_value)} | {_value_cell(values['new'], truth_value)} |"
        )
    return lines, per_task, ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="4c9935c", help="the commit measured against (default 4c9935c)")
    parser.add_argument("--new", help="a commit to measure (default: this checkout's mi_lib, as it is)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument(
        "--tasks", help="comma-separated subset of: gaussian-d2, gaussian-d20, mixture-overlapping"
    )
    parser.add_argument("--no-warmup", action="store_true", help="leave the first call's start-up in")
    args = parser.parse_args()
    suite = tasks(args.samples)
    if args.tasks:
        unknown = sorted(set(args.tasks.split(",")) - set(suite))
        if unknown:
            raise SystemExit(f"unknown tasks {unknown}; choose from {sorted(suite)}")
        suite = {name: suite[name] for name in args.tasks.split(",")}

    base_label = commit_of(args.base)
    new_label = commit_of(args.new) if args.new else "this checkout"
    result = {"base": base_label, "new": new_label, "samples": args.samples, "seeds": args.seeds}
    result["matmul_gflops_before"] = matmul_ceiling()
    print(f"matmul ceiling (GFLOP/s): {result['matmul_gflops_before']}", flush=True)
    runs = []
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="estimator-speed-")))
        base = stack.enter_context(Worker(base_label, stack.enter_context(worktree(args.base))))
        new_root = stack.enter_context(worktree(args.new)) if args.new else ROOT
        new = stack.enter_context(Worker(new_label, new_root))
        sides = (("base", base), ("new", new))
        if not args.no_warmup:
            x, y = truth.correlated_gaussians(2000, 1, 0.5, seed=99)
            np.savez(scratch / "warmup.npz", x=x, y=y)
            for side, worker in sides:
                print(f"warm-up {side}: {_fmt(worker.run(scratch / 'warmup.npz', seed=99))}", flush=True)
        for name, (_, sample) in suite.items():
            for seed in range(args.seeds):
                x, y = sample(seed)
                data = scratch / "data.npz"
                np.savez(data, x=x, y=y)
                for side, worker in sides:
                    run = worker.run(data, seed=seed)
                    runs.append({"task": name, "seed": seed, "side": side, **run})
                    print(f"{name} seed {seed} {side}: {_fmt(run)}", flush=True)
    result["matmul_gflops_after"] = matmul_ceiling()

    truths = {name: truth_value for name, (truth_value, _) in suite.items()}
    lines, per_task, ratios = summarise(truths, runs)
    overall = float(np.exp(np.mean(np.log(ratios)))) if ratios else None
    print()
    print("\n".join(lines))
    print("(ms/step: mean seconds over mean steps, so the cost of a step apart from when training stops;")
    print(" estimate: mean ± standard deviation over seeds, and its error against the truth)")
    if overall is not None:
        print(f"base / new, geometric mean over tasks: {overall:.2f}x")
    print(flush=True)
    result.update(per_task=per_task, ratio_geometric_mean=overall, runs=runs)
    report("estimator_speed", result)


if __name__ == "__main__":
    main()
