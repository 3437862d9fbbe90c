"""Accuracy of mi_lib's estimators on tasks with known mutual information, after the "Beyond normal"
benchmark (Czyz et al. 2023): Gaussians dense and sparse from 1x1 to 50x50, heavy tails (Student-t),
smooth maps of each coordinate, a map that mixes coordinates (the spiral), the mixture-vs-label task.

Each estimator sees the same samples: N pairs (default 5,000) drawn for every task and seed. For
every task it reports the relative error (estimate / truth - 1) averaged over seeds, its spread
over seeds (sample standard deviation), how many seeds land within 10% of the truth, and the
seconds per estimate; then, per estimator, the fraction of tasks whose mean over seeds is within
10% of the truth. Prints a Markdown table and writes benchmarks/results/accuracy.json.

Estimators, by name: `default` is `mi_lib.estimate(x, y, seed=s)`; `ksg` is
`mi_lib.classical.ksg(x, y)` (k = 3); `--config NAME='{"transform": "copula"}'` adds
`mi_lib.estimate(x, y, seed=s, **kwargs)` (an option that mi_lib refuses is reported as an error);
`--against REF` adds `default` as run by the mi_lib of another commit (a temporary git worktree),
on the same samples. The estimates run in worker processes (benchmarks/estimate_worker.py).

Usage:
    python benchmarks/accuracy.py [--against 4c9935c] [--config NAME=JSON ...] [--tasks a,b]
    python benchmarks/accuracy.py --quick --tasks normal-1x1,mixture-overlapping   # smoke test
"""

import argparse
import contextlib
import json
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from estimate_worker import ROOT, Worker, commit_of, worktree
from report import report
from scipy import special

from mi_lib import truth

TOLERANCE = 0.10  # "within 10% of the truth"


def _equicorrelated(dim, c):
    cov = np.full((dim, dim), c)
    np.fill_diagonal(cov, 1.0)
    return cov


def _paired(dim_x, dim_y, rho, pairs):
    """X_i and Y_i correlated (rho) for i < pairs; every other coordinate independent."""
    cov = np.eye(dim_x + dim_y)
    for i in range(pairs):
        cov[i, dim_x + i] = cov[dim_x + i, i] = rho
    return cov


def _spiral(v, a, b, speed=1 / 3):
    """Rotate coordinates (a, b) of each row by speed |v|^2 radians: a bijection of the space (it keeps
    |v|, so the rotation can be undone), smooth, and not coordinatewise (after bmi's spiral)."""
    theta = speed * (v**2).sum(axis=1)
    out = v.copy()
    out[:, a] = np.cos(theta) * v[:, a] - np.sin(theta) * v[:, b]
    out[:, b] = np.sin(theta) * v[:, a] + np.cos(theta) * v[:, b]
    return out


@dataclass(frozen=True)
class Task:
    name: str
    dims: str
    truth: float
    sample: Callable  # (n, seed) -> (x, y)
    about: str


def _gaussian(name, cov, dim_x, about, transform=None):
    def sample(n, seed):
        x, y = truth.gaussian_samples(n, cov, dim_x, seed=seed)
        return (x, y) if transform is None else (transform(x), transform(y))

    return Task(name, f"{dim_x}x{len(cov) - dim_x}", truth.gaussian_mi(cov, dim_x), sample, about)


def _student(name, scale, dim_x, df, about, transform=None):
    def sample(n, seed):
        x, y = truth.student_t_samples(n, scale, dim_x, df, seed=seed)
        return (x, y) if transform is None else (transform(x), transform(y))

    return Task(name, f"{dim_x}x{len(scale) - dim_x}", truth.student_t_mi(scale, dim_x, df), sample, about)


def _mixture(name, task, about):
    def sample(n, seed):
        x, z = task.sample(n, seed=seed)
        return x, z[:, None].astype(np.float64)

    return Task(name, "2x1", task.mutual_information()[0], sample, about)


def _spiral_task():
    cov, base = _paired(3, 3, 0.8, 2), "3x3 Gaussian, two pairs rho 0.8"

    def sample(n, seed):
        x, y = truth.gaussian_samples(n, cov, 3, seed=seed)
        return _spiral(x, 0, 1), _spiral(y, 1, 2)

    about = f"{base}; each side rotated by |v|^2 / 3 radians in one plane"
    return Task("spiral-3x3", "3x3", truth.gaussian_mi(cov, 3), sample, about)


def tasks():
    """The suite, in the order of the table."""
    half_cube = lambda v: v * np.sqrt(np.abs(v))  # noqa: E731
    return [
        _gaussian("normal-1x1", _paired(1, 1, 0.75, 1), 1, "bivariate Gaussian, rho 0.75"),
        _gaussian("normal-3x3-dense", _equicorrelated(6, 0.5), 3, "every correlation 0.5"),
        _gaussian("normal-5x5-dense", _equicorrelated(10, 0.5), 5, "every correlation 0.5"),
        _gaussian(
            "normal-25x25-sparse", _paired(25, 25, 0.8, 3), 25, "three pairs rho 0.8, the rest independent"
        ),
        _gaussian("normal-50x50-dense", _equicorrelated(100, 0.5), 50, "every correlation 0.5"),
        _student("student-1x1-dof1", _paired(1, 1, 0.5, 1), 1, 1, "Cauchy tails; scale correlation 0.5"),
        _student(
            "student-2x2-dof2",
            _equicorrelated(4, 0.5),
            2,
            2,
            "infinite variance; every scale correlation 0.5",
        ),
        _gaussian(
            "halfcube-3x3",
            _equicorrelated(6, 0.5),
            3,
            "normal-3x3-dense, each coordinate v |v|^0.5",
            half_cube,
        ),
        _student(
            "asinh-student-1x1-dof1",
            _paired(1, 1, 0.5, 1),
            1,
            1,
            "student-1x1-dof1 through asinh",
            np.arcsinh,
        ),
        _gaussian(
            "uniform-5x5",
            _paired(5, 5, 0.8, 2),
            5,
            "5x5 Gaussian, two pairs rho 0.8, margins uniform (normal CDF)",
            special.ndtr,
        ),
        _spiral_task(),
        _mixture(
            "mixture-overlapping", truth.MixtureTask.overlapping(), "MixtureTask.overlapping() vs its label"
        ),
        _mixture("mixture-separated", truth.MixtureTask.separated(), "MixtureTask.separated() vs its label"),
    ]


def data_seed(task_name, seed):
    return [zlib.crc32(task_name.encode()), seed]


def summarise(runs, truth_value):
    """One estimator on one task: runs over seeds -> the table's numbers."""
    errors = [r.get("error") for r in runs if "error" in r]
    if errors:
        return {"error": errors[0], "seeds": len(runs)}
    values = np.array([r["value"] for r in runs])
    rel = values / truth_value - 1
    summary = {
        "mean_value": float(values.mean()),
        "mean_relative_error": float(rel.mean()),
        "seed_spread": float(rel.std(ddof=1)) if len(rel) > 1 else 0.0,
        "within_10pct": int((np.abs(rel) <= TOLERANCE).sum()),
        "seeds": len(runs),
        "seconds": float(np.mean([r["seconds"] for r in runs])),
        "values": [float(v) for v in values],
    }
    stderrs = [r.get("stderr") for r in runs]
    if all(s is not None for s in stderrs):
        summary["stderrs"] = stderrs
    if any(r.get("diverged") for r in runs):
        summary["diverged"] = sum(bool(r.get("diverged")) for r in runs)
    return summary


def markdown_table(rows, names):
    head = ["task", "dims", "truth (nats)"]  # errors: mean over seeds ± their spread
    for name in names:
        head += [f"{name}: rel. error ± spread", "within 10%", "s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["task"], row["dims"], f"{row['truth']:.3f}"]
        for name in names:
            s = row["estimators"].get(name)
            if s is None:
                cells += ["", "", ""]
            elif "error" in s:
                cells += [f"error: {s['error'][:60]}", "", ""]
            else:
                flag = f" ({s['diverged']} diverged)" if s.get("diverged") else ""
                if "stderrs" in s:  # the mean half-width of the estimates' own 95% intervals
                    flag += f" [95% CI ±{100 * 1.96 * np.mean(s['stderrs']) / row['truth']:.1f}%]"
                cells += [
                    f"{100 * s['mean_relative_error']:+.1f}% ± {100 * s['seed_spread']:.1f}%{flag}",
                    f"{s['within_10pct']}/{s['seeds']}",
                    f"{s['seconds']:.1f}",
                ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def within_fraction(rows, name):
    done = [r["estimators"][name] for r in rows if name in r["estimators"]]
    good = sum("error" not in s and abs(s["mean_relative_error"]) <= TOLERANCE for s in done)
    return good, len(done)


def parse_configs(items):
    configs = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--config wants NAME=JSON, got {item!r}")
        try:
            kwargs = json.loads(text)
        except json.JSONDecodeError as error:
            raise SystemExit(f"--config {name}: not JSON ({error})") from None
        if not isinstance(kwargs, dict):
            raise SystemExit(f"--config {name}: wants a JSON object of keyword arguments, got {text!r}")
        configs[name] = kwargs
    return configs


def _dirty(path):
    return bool(
        subprocess.run(
            ["git", "status", "--porcelain", "--", path], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..SEEDS-1 (default 3)")
    parser.add_argument("--tasks", help="comma-separated task names (default all)")
    parser.add_argument(
        "--estimators",
        default="default,ksg",
        help="comma-separated: default, ksg (default both); configs are added",
    )
    parser.add_argument(
        "--config", action="append", default=[], metavar="NAME=JSON", help="mi_lib.estimate with these kwargs"
    )
    parser.add_argument("--against", metavar="REF", help="also run `default` with the mi_lib of commit REF")
    parser.add_argument("--quick", action="store_true", help="smoke test: N=2000, 1 seed, 300 training steps")
    parser.add_argument("--name", help="results file name (default accuracy, or accuracy-quick with --quick)")
    parser.add_argument("--list", action="store_true", help="list the tasks and exit")
    args = parser.parse_args()

    suite = tasks()
    if args.list:
        for t in suite:
            print(f"{t.name:24} {t.dims:6} {t.truth:.4f}  {t.about}")
        return
    if args.tasks:
        wanted = args.tasks.split(",")
        unknown = sorted(set(wanted) - {t.name for t in suite})
        if unknown:
            raise SystemExit(f"unknown tasks {unknown}; --list shows them")
        suite = [t for t in suite if t.name in wanted]
    samples, seeds = (2000, 1) if args.quick else (args.samples, args.seeds)
    extra = {"steps": 300} if args.quick else {}
    configs = parse_configs(args.config)
    names = [n for n in args.estimators.split(",") if n]
    unknown = sorted(set(names) - {"default", "ksg"})
    if unknown:
        raise SystemExit(f"--estimators: unknown {unknown}; use default, ksg, and --config for the others")
    names += list(configs)
    base_name = f"default@{commit_of(args.against)}" if args.against else None
    if base_name:
        names.append(base_name)

    head = commit_of("HEAD") + ("+changes" if _dirty("mi_lib") else "")
    print(
        f"accuracy: {len(suite)} tasks x {seeds} seeds, N = {samples}; mi_lib of {ROOT} ({head})", flush=True
    )
    rows, total, done = [], len(suite) * seeds * len(names), 0
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="accuracy-")))
        workers = {"new": stack.enter_context(Worker("this tree", ROOT))}
        if base_name:
            workers["base"] = stack.enter_context(
                Worker(base_name, stack.enter_context(worktree(args.against)))
            )
        for task in suite:
            runs = {name: [] for name in names}
            for seed in range(seeds):
                x, y = task.sample(samples, data_seed(task.name, seed))
                data = scratch / "data.npz"
                np.savez(data, x=x, y=y)
                for name in names:
                    if name == "ksg":
                        result = workers["new"].run(data, "ksg", k=3)
                    elif name == base_name:
                        result = workers["base"].run(data, seed=seed, **extra)
                    else:
                        result = workers["new"].run(data, seed=seed, **{**extra, **configs.get(name, {})})
                    runs[name].append(result)
                    done += 1
                    if "error" in result:
                        outcome = f"ERROR {result['error']}"
                    else:
                        rel = result["value"] / task.truth - 1
                        outcome = f"{result['value']:.4f} nats ({100 * rel:+.1f}%) {result['seconds']:.1f} s"
                    print(f"[{done}/{total}] {task.name} seed {seed} {name}: {outcome}", flush=True)
            rows.append(
                {
                    "task": task.name,
                    "dims": task.dims,
                    "truth": float(task.truth),
                    "about": task.about,
                    "estimators": {name: summarise(runs[name], task.truth) for name in names},
                }
            )

    table = markdown_table(rows, names)
    print()
    print(table)
    print()
    fractions = {}
    for name in names:
        good, count = within_fraction(rows, name)
        fractions[name] = f"{good}/{count}"
        share = f"{good}/{count} tasks ({100 * good / count:.0f}%)"
        print(f"{name}: mean over seeds within 10% of the truth on {share}")
    worse = []
    if base_name and "default" in names:
        for row in rows:
            new, base = row["estimators"]["default"], row["estimators"][base_name]
            if "error" not in new and "error" not in base:
                if abs(new["mean_relative_error"]) > abs(base["mean_relative_error"]) + new["seed_spread"]:
                    worse.append(row["task"])
        print(
            f"default worse than {base_name} by more than its seed spread on: {', '.join(worse) or 'no task'}"
        )
    print(flush=True)
    result = {
        "samples": samples,
        "seeds": seeds,
        "mi_lib": head,
        "estimators": {name: configs.get(name, {}) for name in names},
        "quick_kwargs": extra,
        "within_10pct_tasks": fractions,
        "rows": rows,
    }
    if base_name:
        result["worse_than_base_by_more_than_spread"] = worse
    report(args.name or ("accuracy-quick" if args.quick else "accuracy"), result)


if __name__ == "__main__":
    main()
