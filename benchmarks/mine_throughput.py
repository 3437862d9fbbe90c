"""MINE training throughput for the reference critic against the machine's matmul ceiling.

The reference: a concatenated critic with two hidden layers of 256 units, batch 512, d = 20 on each
side, trained by mi_lib's compiled training loop. Both measurements run in the same process, side by
side, so that their ratio is meaningful on a shared, noisy machine. Prints steps/s, GFLOP/s and the
ratio, and writes them to benchmarks/results/mine_throughput.json.

Usage: python benchmarks/mine_throughput.py [--steps 1000] [--repeats 3]
"""

import argparse
import time

import tensorflow as tf
from report import report

from mi_lib import Options
from mi_lib._training import split, trainer_for
from mi_lib.critics import make_critic
from mi_lib.settings import banner, profile
from mi_lib.truth import correlated_gaussians

DIM, BATCH, HIDDEN = 20, 512, (256, 256)


def critic_flops_per_step():
    """Dense-layer FLOPs of one training step: forward on the b joint and b marginal pairs, and a
    backward pass of twice the forward cost (gradients for weights and for activations)."""
    widths = (2 * DIM, *HIDDEN, 1)
    macs_per_pair = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    forward = 2 * macs_per_pair * 2 * BATCH
    return 3 * forward


def best_time(run, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def mine_steps_per_second(steps, repeats):
    x, y = correlated_gaussians(20_000, DIM, 0.5, seed=0)
    critic = make_critic("concat", DIM, DIM, hidden=HIDDEN, seed=0)
    options = Options(critic="concat", hidden=HIDDEN, batch_size=BATCH, steps=10**6)
    trainer = trainer_for([critic], options, [split(x, y, options, seed=0)], key=None)
    chunk = tf.constant(steps, tf.int32)
    trainer.train_chunk(tf.constant(0, tf.int32), chunk).numpy()  # compile once
    seconds = best_time(lambda: trainer.train_chunk(tf.constant(0, tf.int32), chunk).numpy(), repeats)
    return steps / seconds


def matmul_gflops(size, repeats, inner=20):
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])

    @tf.function
    def work():
        acc = tf.zeros([size, size])
        for _ in tf.range(inner):
            acc += tf.matmul(a, b)
        return acc

    work().numpy()
    seconds = best_time(lambda: work().numpy(), repeats)
    return 2 * size**3 * inner / seconds / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--matmul-size", type=int, default=2048)
    args = parser.parse_args()
    print(banner(profile("quick")))
    ceiling = matmul_gflops(args.matmul_size, args.repeats)
    steps_per_second = mine_steps_per_second(args.steps, args.repeats)
    achieved = steps_per_second * critic_flops_per_step() / 1e9
    ceiling_after = matmul_gflops(args.matmul_size, args.repeats)  # bracket: the machine may drift
    ceiling = max(ceiling, ceiling_after)
    result = {
        "critic": f"concat {HIDDEN}, batch {BATCH}, d={DIM}",
        "mine_steps_per_second": round(steps_per_second, 1),
        "mine_gflops": round(achieved, 2),
        "matmul_gflops": round(ceiling, 2),
        "ratio": round(achieved / ceiling, 3),
    }
    report("mine_throughput", result)


if __name__ == "__main__":
    main()
