"""How early stopping trades steps for accuracy, on the tasks of benchmarks/accuracy.py.

Each task and seed is trained once to the step cap (no early stop), and after every validation the
run records the validation bound, its standard error, and the test bound of the critic of that
moment. A stopping rule only decides where to stop on that trajectory (the learning-rate schedule
depends on the step cap, not on the stop), so every rule is then replayed on the same runs: it
stops at some evaluation and reports the test bound of the best validated critic up to there, as
`mi_lib.estimate` does. Rules: patience p (validations without improvement) and threshold c (an
improvement of the mean of the last `SMOOTHING` validations counts when it exceeds c validation
standard errors). Prints, per rule, each task's mean relative error over seeds / mean number of
validations, the tasks within 10% and the mean steps.

This chose mi_lib's rule (patience 6, c = 0.25): `python benchmarks/stopping_rule.py` (default
critic) and `--critic concat`, about 20 minutes each on two cores.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from accuracy import TOLERANCE, data_seed, tasks

import mi_lib
from mi_lib import _training

RULES = [(10, 0.0), *((p, c) for p in (3, 4, 5, 6, 8) for c in (0.0, 0.25, 0.5))]


def trajectory(task, seed, critic):
    """Validation bound, its stderr and the test bound after each chunk of a run to the step cap."""
    records, state = [], {}
    split, validation = _training.split, _training.Trainer.validation

    def recording_split(*args, **kwargs):
        state["split"] = split(*args, **kwargs)
        return state["split"]

    def recording_validation(trainer):
        values, stderrs = validation(trainer)
        s = state["split"]
        test, _ = _training.test_bound(trainer.critic, trainer.options, s.x_test, s.y_test, s.seed)
        records.append((values[0], stderrs[0], test))
        return values, stderrs

    _training.split, _training.Trainer.validation = recording_split, recording_validation
    try:
        x, y = task.sample(5000, data_seed(task.name, seed))
        started = time.perf_counter()
        mi_lib.estimate(x, y, seed=seed, critic=critic, patience=10**9)
        seconds = time.perf_counter() - started
    finally:
        _training.split, _training.Trainer.validation = split, validation
    return dict(task=task.name, truth=task.truth, seed=seed, seconds=seconds, records=records)


def replay(records, patience, threshold):
    """(validations until the rule stops, test bound of the best validated critic by then)."""
    val, stderr, test = np.asarray(records, np.float64).T
    best, rule = 0, _training.StoppingRule(patience, threshold)
    for i in range(len(val)):
        best = i if val[i] > val[best] else best
        if rule.stop(val[i], stderr[i]):
            return i + 1, test[best]
    return len(val), test[best]


def table(runs, eval_every):
    names = list(dict.fromkeys(r["task"] for r in runs))
    lines = [
        "| rule | " + " | ".join(names) + " | within 10% | mean steps |",
        "|" + "---|" * (len(names) + 3),
    ]
    for patience, threshold in RULES:
        cells, within, evaluations = [], 0, []
        for name in names:
            mine = [r for r in runs if r["task"] == name]
            stops = [replay(r["records"], patience, threshold) for r in mine]
            error = np.mean([value / r["truth"] - 1 for r, (_, value) in zip(mine, stops, strict=True)])
            within += abs(error) <= TOLERANCE
            evaluations += [n for n, _ in stops]
            cells.append(f"{100 * error:+.1f}% / {np.mean([n for n, _ in stops]):.1f}")
        rule = f"patience {patience}, c {threshold}"
        lines.append(
            f"| {rule} | "
            + " | ".join(cells)
            + f" | {within}/{len(names)} | {eval_every * np.mean(evaluations):.0f} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--critic", default="gaussian-residual")
    parser.add_argument("--tasks", help="comma-separated task names (default: all)")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    chosen = [t for t in tasks() if args.tasks is None or t.name in args.tasks.split(",")]
    runs = []
    for task in chosen:
        for seed in range(args.seeds):
            runs.append(trajectory(task, seed, args.critic))
            print(f"{task.name} seed {seed}: {runs[-1]['seconds']:.1f} s to the step cap", flush=True)
    out = Path(__file__).parent / "results" / f"stopping_rule-{args.critic}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(runs))
    print(table(runs, mi_lib.estimators.Options().eval_every))


if __name__ == "__main__":
    main()
